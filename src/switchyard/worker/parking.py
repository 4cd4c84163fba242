"""Parked runs: coroutines of WAITING runs kept in memory until they resume here, and
evicted when the run was canceled or continues on another worker."""

from __future__ import annotations

import asyncio
import contextlib

from switchyard.worker.state import WorkerState, _Active


class Parking(WorkerState):
    """Checks and evicts parked runs."""

    # -- parked runs -----------------------------------------------------------------------
    async def _parked_loop(self) -> None:
        async def body() -> None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), min(self.lease_seconds / 3, 2.0))
                return
            await self._check_parked()

        await self._guarded("parked check", body, 0.5)

    async def _check_parked(self) -> None:
        """Evict parked runs that were canceled or are executing on another worker."""
        if not self._parked:
            return
        ids = list(self._parked)[:500]
        states = await self._call(self.engine.run_states, ids)
        for run_id in ids:
            active = self._parked.get(run_id)
            if active is None:
                continue
            status, attempt_id, worker_id = states.get(run_id, ("MISSING", None, None))
            gone = status not in ("WAITING", "QUEUED", "EXECUTING")
            elsewhere = status == "EXECUTING" and worker_id != self.id
            if gone or elsewhere or attempt_id != active.claim.attempt_id:
                self._evict(active)

    def _evict(self, active: _Active) -> None:
        """Drop a parked coroutine; the run continues elsewhere by replay."""
        self._parked.pop(active.claim.run.id, None)
        active.stopped = True
        if active.task is not None:
            active.task.cancel()
