"""Retry policy: how many attempts a run gets and how long to back off between them."""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from typing import Any

from switchyard.core.durations import parse_duration
from switchyard.core.errors import InvalidOptionError


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Exponential backoff; ``max_attempts`` counts the first attempt.

    The delay before attempt ``n + 1`` is ``min_timeout * factor ** (n - 1)`` capped at
    ``max_timeout``, times a random factor in ``[1, 2)`` when ``randomize`` is on (so
    many failing runs do not retry in lock-step). Defaults match Trigger.dev's.
    """

    max_attempts: int = 3
    factor: float = 2.0
    min_timeout: float = 1.0
    max_timeout: float = 60.0
    randomize: bool = True

    def __post_init__(self) -> None:
        if not isinstance(self.max_attempts, int) or self.max_attempts < 1:
            raise InvalidOptionError("retry.max_attempts", self.max_attempts, "an integer >= 1")
        if self.factor < 1:
            raise InvalidOptionError("retry.factor", self.factor, "a number >= 1")
        if self.min_timeout < 0 or self.max_timeout < self.min_timeout:
            raise InvalidOptionError(
                "retry.max_timeout", self.max_timeout, "a number >= retry.min_timeout"
            )

    def backoff(self, failed_attempt: int, rng: random.Random | None = None) -> float:
        """Seconds to wait after attempt number ``failed_attempt`` (1-based) failed."""
        base = min(self.max_timeout, self.min_timeout * self.factor ** (failed_attempt - 1))
        if self.randomize:
            base *= 1.0 + (rng or random).random()
        return min(base, self.max_timeout * 2)

    def should_retry(self, failed_attempt: int) -> bool:
        """Whether another attempt follows attempt number ``failed_attempt``."""
        return failed_attempt < self.max_attempts

    def to_json(self) -> dict[str, Any]:
        """A JSON-able dict, as stored on each run."""
        return {f.name: getattr(self, f.name) for f in fields(self)}

    def merged(self, overrides: Mapping[str, Any] | RetryPolicy | None) -> RetryPolicy:
        """This policy with the keys in ``overrides`` replaced (per trigger > task > config)."""
        if overrides is None:
            return self
        if isinstance(overrides, RetryPolicy):
            return overrides
        known = {f.name for f in fields(self)}
        unknown = set(overrides) - known
        if unknown:
            raise InvalidOptionError(
                "retry", dict(overrides), f"only the keys {', '.join(sorted(known))}"
            )
        values: dict[str, Any] = dict(overrides)
        for key in ("min_timeout", "max_timeout"):
            if key in values:
                values[key] = parse_duration(values[key], option=f"retry.{key}")
        return replace(self, **values)

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | None) -> RetryPolicy:
        """Inverse of :meth:`to_json`; missing keys take the defaults."""
        return cls().merged(data) if data else cls()


NO_RETRY = RetryPolicy(max_attempts=1)
