"""Taking work: the claim loop (it resumes parked runs whose timers are due first), the
maintenance loop and the notifier that wakes the claim loop."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Any

from switchyard.core.clock import monotonic
from switchyard.core.models import Claim
from switchyard.core.waitpoints import Waitpoint
from switchyard.worker.leases import STOP_AT
from switchyard.worker.state import T, WorkerState, _Active, log

_CLAIM_BATCH = 200
_RESUME_BATCH = 500  # parked runs whose timers one resume_due transaction completes
_IDLE_WAIT = 1.0
_MAINTENANCE_EVERY = 0.25


class ClaimLoop(WorkerState):
    """Claims runs into free slots and starts them; keeps the database maintained."""

    # -- claim --------------------------------------------------------------------------
    async def _claim_loop(self) -> None:
        async def body() -> None:
            self._wake.clear()
            free = self.concurrency - len(self._active) + self._sleeping
            if free > 0 and await self._resume_due(free):
                return  # more timers are due: resume those before claiming
            free = self.concurrency - len(self._active) + self._sleeping
            if free > 0:
                want = min(free, _CLAIM_BATCH)
                sent, claims = await self._call(
                    self._leased, self.engine.claim, self.id, self.task_ids, want
                )
                for claim in claims:
                    self._start(claim, sent)
                if len(claims) == want:
                    return  # there may be more: claim again at once
            if self._stopping.is_set():
                return
            pause = _IDLE_WAIT
            next_due = self._timers.next_at()
            if next_due is not None:
                pause = min(pause, max(0.0, next_due - self.engine.now()))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), pause)

        await self._guarded("claim", body, 0.05)

    async def _resume_due(self, free: int) -> bool:
        """Resume up to ``free`` parked runs whose timers are due; True if more are due.

        Their runs are older than any run triggered after they suspended, so they go
        before a claim (which would take them first too, were they queued).
        """
        now = self.engine.now()
        batch = []
        for run_id in self._timers.pop_due(now, min(free, _RESUME_BATCH)):
            active = self._parked.get(run_id)
            execution = None if active is None else active.execution
            if active is None or active.stopped or execution is None:
                continue  # resumed or evicted meanwhile
            due = execution.next_due()
            if due is None or due > now:
                continue  # waits on a later timer now: that one has its own entry
            batch.append((run_id, active.claim.attempt_id, execution.pending_waitpoint_ids()))
        if not batch:
            return False
        try:
            sent, resumed = await self._call(
                self._leased, self.engine.resume_due, self.id, self.task_ids, batch, free
            )
        except Exception:
            for run_id, _, _ in batch:  # retried with the next claim (or a tick gets them)
                self._timers.add(now, run_id)
            raise
        for claim, waitpoints in resumed:
            self._start(claim, sent, waitpoints)
        next_due = self._timers.next_at()
        return next_due is not None and next_due <= now

    def _leased(self, take: Callable[..., T], *args: Any) -> tuple[float, T]:
        """Call ``take(*args, now, lease_seconds)`` (a claim) on the database thread.

        The lease runs from this moment on both clocks: the database's expiry is
        ``now + lease_seconds`` and the keeper counts from ``sent``, both read here, as
        the claim starts, not when it was queued (the thread may be busy for seconds, and
        a lease computed from then could lapse before the claim even returned).
        """
        sent = monotonic()
        return sent, take(*args, self.engine.now(), self.lease_seconds)

    def _start(self, claim: Claim, sent: float, waitpoints: list[Waitpoint] | None = None) -> None:
        """Execute a claimed run, or resume it in place if parked here.

        ``sent``: when the claim was sent (its lease runs from then, on this worker's
        clock); ``waitpoints``: the completed waitpoints of a parked run, when already read.
        """
        assert self._keeper is not None
        late = monotonic() - sent
        if late >= self.lease_seconds * STOP_AT:
            # The claim took so long (a stalled database, a starved machine) that its
            # lease may lapse before the watchdog could stop the run: never start it.
            log.warning(
                "run %s: its claim came back %.1fs after it was sent (lease %gs); "
                "handing it back unstarted",
                claim.run.id,
                late,
                self.lease_seconds,
            )
            self._keeper.abandon(claim.run.id, claim.attempt_id)
            parked = self._parked.get(claim.run.id)
            if parked is not None:
                self._evict(parked)
            return
        self._keeper.hold(claim.run.id, claim.attempt_id, sent)
        if claim.resumed:
            parked = self._parked.pop(claim.run.id, None)
            if (
                parked is not None
                and parked.claim.attempt_id == claim.attempt_id
                and not parked.stopped
                and parked.execution is not None
            ):
                parked.claim = claim
                self._active[claim.run.id] = parked
                self._spawn(self._resume(parked, waitpoints))
                return
            if parked is not None:
                self._evict(parked)
        before = self._active.get(claim.run.id)
        if before is not None:
            # Its lease lapsed and the run came back here before the attempt ended:
            # stop that one and start this one only once it has.
            self._stop_attempt(
                claim.run.id, before.claim.attempt_id, "the run was claimed again meanwhile"
            )
        active = _Active(claim)
        self._active[claim.run.id] = active
        active.task = asyncio.create_task(
            self._execute(active, None if before is None else before.task),
            name=f"switchyard-{claim.run.id}",
        )

    # -- maintenance -------------------------------------------------------------------------
    async def _maintenance_loop(self) -> None:
        async def body() -> None:
            report = await self._call(self.engine.tick)
            if report.changed:
                self._wake.set()
            if report.recovered:
                log.warning("recovered %d runs from lapsed leases", len(report.recovered))
            pause = _MAINTENANCE_EVERY * (0.5 + self._rng.random())
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), pause)

        await self._guarded("maintenance", body, 0.25)

    async def _notify_loop(self, notifier: Any) -> None:
        async def body() -> None:
            if await notifier.wait(_IDLE_WAIT):
                self._wake.set()

        await self._guarded("notifier", body, 0.1)
