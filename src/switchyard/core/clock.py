"""The one place that reads the wall clock.

Every other module takes a :class:`Clock` so durable waits, delays and TTLs can be
tested by moving a :class:`FakeClock` instead of sleeping.
"""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Protocol


class Clock(Protocol):
    """Source of domain time, in seconds since the epoch."""

    def now(self) -> float:
        """Current time as a POSIX timestamp."""
        ...


class SystemClock:
    """The real wall clock."""

    def now(self) -> float:
        """Current wall-clock time."""
        return time.time()


class FakeClock:
    """A clock that only moves when told to; thread-safe."""

    def __init__(self, start: float = 1_767_225_600.0) -> None:
        self._now = start
        self._lock = threading.Lock()

    def now(self) -> float:
        """The fake current time."""
        with self._lock:
            return self._now

    def advance(self, seconds: float) -> float:
        """Move time forward and return the new time."""
        with self._lock:
            self._now += seconds
            return self._now

    def set(self, timestamp: float) -> None:
        """Jump to an absolute time (never backwards)."""
        with self._lock:
            if timestamp < self._now:
                raise ValueError("FakeClock cannot move backwards")
            self._now = timestamp


async def sleep_until(clock: Clock, moment: float, poll: float = 0.02) -> None:
    """Sleep until ``clock`` reads ``moment``: one timer on the real clock; any other
    clock is polled, so a test that moves a :class:`FakeClock` wakes the sleeper."""
    while (left := moment - clock.now()) > 0:
        await asyncio.sleep(left if isinstance(clock, SystemClock) else min(left, poll))


def monotonic() -> float:
    """Monotonic seconds for measuring durations inside one process."""
    return time.monotonic()


SYSTEM_CLOCK = SystemClock()
