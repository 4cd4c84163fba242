"""When the clients retry a request, and how long they wait first.

Retried, whatever the request:

- ``429 rate_limited`` and ``503``: the server did not handle the request;
- ``409 request_in_progress``: the first request with the same ``Idempotency-Key`` is
  still being handled (or its server died and a retry will take the key over).

Retried only when repeating the request is safe (a ``GET``, ``PUT`` or ``DELETE``, a
``POST`` with an ``Idempotency-Key`` such as every trigger, or a ``POST`` that is
harmless to repeat such as a cancel): connection errors and timeouts, ``502`` and
``504`` (the request may or may not have been handled). A connection that could not
be opened at all is retried for every request: nothing was sent.

The wait before retry ``n`` (from 0) is exponential with jitter, between half and all
of ``min(cap, base * 2**n)`` seconds, but never shorter than the ``Retry-After`` the
server sent (seconds or an HTTP date). At most ``max_retries`` retries, and none that
would start more than ``max_time`` seconds after the first attempt: a ``Retry-After``
beyond that gives up at once.
"""

from __future__ import annotations

import datetime as dt
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime

import httpx

ALWAYS = frozenset({429, 503})
"""Statuses that mean the request was not handled: retried for every request."""
IF_SAFE = frozenset({502, 504})
"""Statuses after which the request may have been handled: retried only if safe."""
IN_PROGRESS = "request_in_progress"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})


def retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (seconds or an HTTP date)."""
    if not value:
        return None
    text = value.strip()
    try:
        return max(0.0, float(text))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


@dataclass(frozen=True)
class RetryBudget:
    """How many retries, for how long, and the backoff between them."""

    max_retries: int = 6
    max_time: float = 60.0
    base: float = 1.0
    cap: float = 10.0
    rand: Callable[[], float] = field(default=random.random, compare=False)
    clock: Callable[[], float] = field(default=time.monotonic, compare=False)

    def __post_init__(self) -> None:
        if self.max_retries < 0 or self.max_time < 0:
            raise ValueError("max_retries and max_retry_time must be >= 0")

    def backoff(self, retry: int) -> float:
        """The jittered exponential wait before retry ``retry`` (0-based)."""
        ceiling = min(self.cap, self.base * 2.0 ** min(retry, 30))
        return ceiling / 2 + self.rand() * ceiling / 2

    def start(self, method: str, *, keyed: bool, repeatable: bool = False) -> Attempts:
        """The retry state of one request (``keyed``: it has an ``Idempotency-Key``)."""
        safe = keyed or repeatable or method.upper() in SAFE_METHODS
        return Attempts(self, safe, self.clock() + self.max_time)


@dataclass
class Attempts:
    """One request's retries so far; each ``after_*`` says how long to wait, or None
    to give up."""

    budget: RetryBudget
    safe: bool
    deadline: float
    retries: int = 0

    def after_error(self, exc: httpx.TransportError) -> float | None:
        """After a connection error or timeout."""
        unsent = isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout)
        return self._wait(None) if self.safe or unsent else None

    def after_response(
        self, status: int, code: str, retry_after_header: str | None
    ) -> float | None:
        """After an error response (``code`` from its body)."""
        if status in ALWAYS or (status == 409 and code == IN_PROGRESS):
            return self._wait(retry_after(retry_after_header))
        if status in IF_SAFE and self.safe:
            return self._wait(retry_after(retry_after_header))
        return None

    def _wait(self, asked: float | None) -> float | None:
        if self.retries >= self.budget.max_retries:
            return None
        wait = self.budget.backoff(self.retries)
        if asked is not None:
            wait = max(wait, asked)
        if self.budget.clock() + wait > self.deadline:
            return None
        self.retries += 1
        return wait
