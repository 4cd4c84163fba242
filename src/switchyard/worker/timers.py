"""When this worker's parked runs come due, so it resumes them on time.

A run suspended on ``wait.for_``/``wait.until`` is parked in memory; the worker knows
when its timer completes and completes it itself at that moment (taking the run back
in the same transaction) instead of waiting for a maintenance tick and a claim.
"""

from __future__ import annotations

import heapq


class DueTimers:
    """A heap of ``(due time, run id)``; stale entries are skipped by the caller."""

    def __init__(self) -> None:
        self._heap: list[tuple[float, str]] = []

    def add(self, at: float, run_id: str) -> None:
        """Resume ``run_id`` at ``at`` (domain time)."""
        heapq.heappush(self._heap, (at, run_id))

    def pop_due(self, now: float, limit: int) -> list[str]:
        """Up to ``limit`` distinct runs due at ``now``, earliest first."""
        out: dict[str, None] = {}
        while self._heap and self._heap[0][0] <= now and len(out) < limit:
            out[heapq.heappop(self._heap)[1]] = None
        return list(out)

    def next_at(self) -> float | None:
        """When the earliest entry comes due, or None."""
        return self._heap[0][0] if self._heap else None

    def __len__(self) -> int:
        return len(self._heap)
