"""Waitpoints: suspending runs on them, completing them (first wins), skipping a time
wait by hand; completing one resumes the runs it blocks."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from switchyard.core.errors import NotWaitingError
from switchyard.core.states import RunStatus
from switchyard.core.waitpoints import JournalRef, NewWaitpoint, Waitpoint, WaitpointKind
from switchyard.engine.base import EngineBase
from switchyard.engine.hooks import SuspendEvent, WaitpointEvent
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


class Waitpoints(EngineBase):
    """Suspend, complete and skip waitpoints; a run's waitpoint history."""

    def run_waitpoints(self, run_id: str) -> list[Waitpoint]:
        """Every waitpoint the run waited on or waits on now, oldest first."""
        self.get_run(run_id)
        return self.storage.run_waitpoints(run_id)

    def get_waitpoint(self, waitpoint_id: str) -> Waitpoint | None:
        """A waitpoint of the environment by id, or None."""
        return self.storage.get_waitpoint(self.environment, waitpoint_id)

    def create_waitpoints(
        self, items: Sequence[tuple[NewWaitpoint, JournalRef | None]], now: float
    ) -> list[tuple[Waitpoint, bool] | BaseException]:
        """Create (or find by idempotency key) and journal waitpoints in one
        transaction; each is ``(it, is_cached)``, or the exception that failed it alone."""
        return self.storage.create_waitpoints(items, now)

    def get_waitpoints_many(
        self, id_lists: Sequence[Sequence[str]]
    ) -> list[list[Waitpoint] | BaseException]:
        """Several lists of waitpoints by id, in one read."""
        return self.storage.get_waitpoints_many(id_lists)

    def skip_wait(self, run_id: str) -> list[Waitpoint]:
        """End the time wait (``wait.for_`` / ``wait.until``) a WAITING run is in, now."""
        run = self.get_run(run_id)
        now = self.now()
        done = skip_time_waits(self.storage, run_id, run.status, now)
        listeners = self.hooks.listeners("after_waitpoint_complete")
        for waitpoint in done if listeners else ():
            event = WaitpointEvent(waitpoint, "skip", now)
            self.hooks.call("after_waitpoint_complete", listeners, event)
        return done

    def complete_waitpoint(
        self,
        waitpoint_id: str,
        *,
        door: str,
        output_json: str | None = None,
        error: dict[str, Any] | None = None,
        timed_out: bool = False,
        environment: str | None = None,
        now: float | None = None,
    ) -> Waitpoint | None:
        """Complete or time out a waitpoint (first wins); resumes the runs it blocks.

        Returns it as it now stands, or None if there is no such waitpoint. ``door``
        names the caller for hooks (``"sdk"``, ``"http"``, ``"cli"``); ``now`` (default:
        the clock's) is its completion time when this call is the first.
        """
        now = self.now() if now is None else now
        done = self.storage.complete_waitpoint(
            environment or self.environment,
            waitpoint_id,
            output_json=output_json,
            error=error,
            timed_out=timed_out,
            now=now,
        )
        # Completed by this call, not earlier: the first completion is the one reported.
        if done is not None and not done.is_pending and done.completed_at == now:
            self.hooks.emit("after_waitpoint_complete", WaitpointEvent(done, door, now))
        return done

    def block(
        self,
        items: Sequence[tuple[str, str, Sequence[str], Sequence[tuple[Waitpoint, JournalRef]]]],
        now: float,
        worker_id: str | None = None,
    ) -> list[list[Waitpoint] | BaseException]:
        """Suspend runs on waitpoints, storing new ones first (see
        :meth:`Storage.create_and_block`); an empty list: that run is WAITING now."""
        results = self.storage.create_and_block(items, now)
        listeners = self.hooks.listeners("after_suspend")
        if listeners:
            for (run_id, attempt_id, ids, new), result in zip(items, results, strict=True):
                if isinstance(result, list) and not result:
                    made = tuple(w for w, _ in new)
                    event = SuspendEvent(run_id, attempt_id, tuple(ids), now, worker_id, made)
                    self.hooks.call("after_suspend", listeners, event)
        return results
