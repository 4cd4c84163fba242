"""Writing outcomes: finished attempts are written in batches, one transaction each."""

from __future__ import annotations

from switchyard.worker.state import WorkerState


class Outcomes(WorkerState):
    """Flushes the outcomes of finished attempts."""

    # -- flush ---------------------------------------------------------------------------
    async def _flush(self) -> None:
        while self._pending:
            batch, self._pending = self._pending, []
            try:
                await self._call(self.engine.finish, batch, self.engine.now(), self.id)
            except BaseException:
                # Keep them: nothing is lost while the db is down, nor when shutdown
                # cancels this flush before the db thread ran it (finish is idempotent).
                self._pending[:0] = batch
                raise
        self._flushed.set()

    async def _flush_loop(self) -> None:
        async def body() -> None:
            await self._flush_now.wait()
            self._flush_now.clear()
            await self._flush()

        await self._guarded("flush", body, 0.05)
