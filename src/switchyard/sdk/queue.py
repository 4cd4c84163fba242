"""Queues: where runs wait for a worker, optionally with a concurrency or rate limit."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from switchyard.core.durations import parse_duration
from switchyard.core.errors import InvalidOptionError
from switchyard.core.options import check_limit


@dataclass(frozen=True, slots=True)
class Queue:
    """A named queue; tasks that share it share its limits."""

    name: str
    concurrency_limit: int | None = None
    rate_limit: int | None = None
    """At most this many runs start per ``rate_period`` seconds, across all workers."""
    rate_period: float | None = None

    def __post_init__(self) -> None:
        if not self.name or not isinstance(self.name, str) or len(self.name) > 128:
            raise InvalidOptionError("queue name", self.name, "a string of 1 to 128 characters")
        check_limit(self.concurrency_limit)
        check_limit(self.rate_limit, "rate_limit.limit")


def _rate(rate_limit: Mapping[str, Any] | None) -> tuple[int | None, float | None]:
    if rate_limit is None:
        return None, None
    if not isinstance(rate_limit, Mapping) or set(rate_limit) != {"limit", "period"}:
        raise InvalidOptionError("rate_limit", rate_limit, "a dict {'limit': N, 'period': '1m'}")
    period = parse_duration(rate_limit["period"], option="rate_limit.period")
    if period <= 0:
        raise InvalidOptionError("rate_limit.period", rate_limit["period"], "a duration > 0")
    return check_limit(rate_limit["limit"], "rate_limit.limit"), period


def queue(
    name: str,
    *,
    concurrency_limit: int | None = None,
    rate_limit: Mapping[str, Any] | None = None,
) -> Queue:
    """Declare a queue shared by tasks.

    ``queue("payments", concurrency_limit=5)`` runs at most 5 at once;
    ``queue("emails", rate_limit={"limit": 100, "period": "1m"})`` starts at most 100
    runs a minute. Both hold across every worker.
    """
    if name.startswith("task/"):
        raise InvalidOptionError("queue name", name, "a name not starting with 'task/' (reserved)")
    limit, period = _rate(rate_limit)
    return Queue(name, concurrency_limit, limit, period)
