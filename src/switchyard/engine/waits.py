"""Skipping a time wait by hand (dashboard, API, CLI)."""

from __future__ import annotations

from switchyard.core.errors import NotWaitingError
from switchyard.core.states import RunStatus
from switchyard.core.waitpoints import Waitpoint, WaitpointKind
from switchyard.storage.base import Storage

TIME_WAITS = (WaitpointKind.DURATION, WaitpointKind.DATETIME)
"""Waitpoints that complete by themselves at a time (``wait.for_`` / ``wait.until``)."""


def skip_time_waits(
    storage: Storage, run_id: str, status: RunStatus, now: float
) -> list[Waitpoint]:
    """End the pending time waits a WAITING run is blocked on, now; returns them.

    Raises :class:`NotWaitingError` when the run is not waiting, or waits on something
    that only an outside event completes (a token, a child run).
    """
    if status != RunStatus.WAITING:
        raise NotWaitingError(f"run {run_id} is {status}, not waiting; nothing to skip")
    blocking = storage.blocking_waitpoints(run_id)
    waits = [w for w in blocking if w.kind in TIME_WAITS and w.is_pending]
    if not waits:
        kinds = ", ".join(sorted({str(w.kind) for w in blocking})) or "nothing"
        raise NotWaitingError(
            f"run {run_id} is not in a time wait (it waits on {kinds}); complete its "
            "token instead, or wait for its child runs"
        )
    done = []
    for waitpoint in waits:
        completed = storage.complete_waitpoint(waitpoint.environment, waitpoint.id, now=now)
        done.append(completed or waitpoint)
    return done
