"""Queues: where runs wait for a worker, optionally with a concurrency limit."""

from __future__ import annotations

from dataclasses import dataclass

from switchyard.core.errors import InvalidOptionError
from switchyard.core.options import check_limit


@dataclass(frozen=True, slots=True)
class Queue:
    """A named queue; tasks that share it share its concurrency limit."""

    name: str
    concurrency_limit: int | None = None

    def __post_init__(self) -> None:
        if not self.name or not isinstance(self.name, str) or len(self.name) > 128:
            raise InvalidOptionError("queue name", self.name, "a string of 1 to 128 characters")
        check_limit(self.concurrency_limit)


def queue(name: str, *, concurrency_limit: int | None = None) -> Queue:
    """Declare a queue shared by tasks: ``payments = queue("payments", concurrency_limit=5)``."""
    if name.startswith("task/"):
        raise InvalidOptionError("queue name", name, "a name not starting with 'task/' (reserved)")
    return Queue(name, concurrency_limit)
