"""Stopping attempts, and the other callbacks of the lease keeper
(:mod:`switchyard.worker.leases`); they may be called from its threads."""

from __future__ import annotations

import asyncio
import logging
import os
from typing import Any

from switchyard.worker.state import AttemptStopped, WorkerState, _Active, log


class Stopping(WorkerState):
    """Stops attempts and answers the lease keeper."""

    def _stop_attempt(self, run_id: str, attempt_id: str, why: str) -> None:
        """Stop an attempt and write no outcome for it; callable from any thread."""
        active = self._active.get(run_id)
        if active is None or active.stopped or active.claim.attempt_id != attempt_id:
            return
        active.stopped = True
        log.warning("stopping run %s (task %r): %s", run_id, active.claim.run.task_id, why)
        self.engine.attempt_stopped(active.claim, self.id, why)
        self._threads.interrupt(attempt_id, AttemptStopped)
        task = active.task
        if task is not None:
            task.get_loop().call_soon_threadsafe(task.cancel)

    def _fail_stop(self, run_id: str) -> None:
        """A stopped attempt is still running as its lease runs out (keeper thread)."""
        active = self._active.get(run_id)
        task_id = "?" if active is None else active.claim.run.task_id
        if self._fail_stop_exit:
            log.critical(
                "run %s (task %r) did not stop before its lease ran out: exiting so that it "
                "cannot execute on two workers at once",
                run_id,
                task_id,
            )
            logging.shutdown()
            os._exit(70)
        log.error("run %s (task %r) did not stop before its lease ran out", run_id, task_id)

    def _drop_lease(self, active: _Active) -> None:
        if self._keeper is not None:
            self._keeper.drop(active.claim.run.id, active.claim.attempt_id)

    def _waiting(self, run_id: str) -> bool:
        """Whether a run needs no lease here: not executing, or WAITING in storage."""
        active = self._active.get(run_id)
        if active is None:
            return True
        execution = active.execution
        return execution is not None and execution.suspending

    def _describe(self, task: asyncio.Task[Any] | None) -> str:
        """Name what runs in ``task`` for a log line (keeper thread)."""
        if task is None:
            return "a callback outside any task"
        name = task.get_name()
        active = self._active.get(name.removeprefix("switchyard-"))
        if active is None:
            return f"the asyncio task {name!r}"
        return f"task {active.claim.run.task_id!r} (run {active.claim.run.id})"
