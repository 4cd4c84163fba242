"""Trigger options as the caller gives them, before resolution."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from switchyard.core.durations import DurationLike
from switchyard.core.errors import InvalidOptionError

MAX_TAGS = 10
MAX_TAG_LENGTH = 128


@dataclass(frozen=True, slots=True)
class TriggerOptions:
    """Per-trigger options; ``None`` means "use the task's or the config's default"."""

    delay: DurationLike | dt.datetime | None = None
    ttl: DurationLike | None = None
    priority: float = 0.0
    tags: str | Sequence[str] | None = None
    metadata: Mapping[str, Any] | None = None
    max_attempts: int | None = None
    retry: Mapping[str, Any] | None = None
    max_duration: DurationLike | None = None
    queue: str | None = None
    concurrency_key: str | None = None
    idempotency_key: str | Sequence[str] | None = None
    idempotency_key_ttl: DurationLike | None = None
    debounce: Mapping[str, Any] | None = None


def check_limit(limit: object, option: str = "concurrency_limit") -> int | None:
    """A concurrency limit: an integer >= 0, or None for no limit."""
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 0):
        raise InvalidOptionError(option, limit, "an integer >= 0, or None")
    return limit
