"""Executing attempts: start, resume in place, suspend, and the ``ExecutionHost`` that an
attempt's :class:`~switchyard.sdk.execution.Execution` calls back."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import replace
from functools import partial
from typing import Any

from switchyard.core import jsonutil
from switchyard.core.clock import sleep_until
from switchyard.core.errors import MaxDurationExceededError
from switchyard.core.models import Outcome
from switchyard.core.waitpoints import JournalRef, NewWaitpoint, Waitpoint
from switchyard.engine import attempts
from switchyard.sdk.context import set_context
from switchyard.sdk.execution import Execution, ThreadSuspended, set_execution
from switchyard.sdk.task import Task
from switchyard.worker.context import run_context
from switchyard.worker.state import AttemptStopped, T, WorkerState, _Active, _MaxDuration, log


class Executor(WorkerState):
    """Runs attempts on the loop or in threads; hosts their executions."""

    # -- ExecutionHost ----------------------------------------------------------------
    async def db(self, fn: Callable[..., T], *args: Any) -> T:
        """Run an engine call on the worker's database thread."""
        return await self._call(fn, *args)

    def now(self) -> float:
        """Domain time."""
        return self.engine.now()

    async def sleep_until(self, moment: float) -> None:
        """A short wait slept in process: the run keeps its lease but not a slot."""
        self._sleeping += 1
        self._wake.set()
        try:
            await sleep_until(self.engine.clock, moment)
        finally:
            self._sleeping -= 1

    def suspended(self, execution: Execution) -> None:
        """The run is WAITING: free its slot and park the coroutine until it resumes."""
        active = self._active.pop(execution.run_id, None)
        if active is None:
            return
        self._drop_lease(active)
        if active.timeout is not None and active.timeout.when() is not None:
            loop = asyncio.get_running_loop()
            active.remaining = max(0.0, (active.timeout.when() or 0) - loop.time())
            active.timeout.reschedule(None)
        self._parked[execution.run_id] = active
        due = execution.next_due()
        if due is not None:
            self._timers.add(due, execution.run_id)
        self._wake.set()

    async def create_waitpoint(
        self, new: NewWaitpoint, ref: JournalRef | None
    ) -> tuple[Waitpoint, bool]:
        """Create and journal a waitpoint, group-committed with other runs'."""
        return await self._creates.submit((new, ref))

    async def block_run(
        self,
        run_id: str,
        attempt_id: str,
        waitpoint_ids: Sequence[str],
        new: Sequence[tuple[Waitpoint, JournalRef]] = (),
    ) -> list[Waitpoint]:
        """Store new waitpoints and suspend a run, group-committed with other runs'."""
        return await self._blocks.submit((run_id, attempt_id, waitpoint_ids, new))

    # -- execute -----------------------------------------------------------------------
    async def _resume(self, active: _Active, loaded: list[Waitpoint] | None = None) -> None:
        """Continue a parked run in place with the waitpoints that completed."""
        execution = active.execution
        assert execution is not None
        waitpoints = loaded if loaded is not None else await self._load_waitpoints(active)
        if waitpoints is None:
            return
        if active.timeout is not None and active.remaining is not None:
            active.timeout.reschedule(asyncio.get_running_loop().time() + active.remaining)
            active.remaining = None
        execution.resumed(waitpoints)

    async def _load_waitpoints(self, active: _Active) -> list[Waitpoint] | None:
        """The waitpoints a resumed run waits on; None (run handed back) if unreadable."""
        assert active.execution is not None
        run_id = active.claim.run.id
        for tries in range(5):
            try:
                return await self._loads.submit(active.execution.pending_waitpoint_ids())
            except Exception:
                log.exception("could not load the waitpoints of %s (try %d)", run_id, tries + 1)
                await asyncio.sleep(0.2 * 2**tries)
        # Hand it back: another claim starts a fresh attempt.
        self._active.pop(run_id, None)
        self._drop_lease(active)
        self._evict(active)
        await self._call(self.engine.release, self.id, [run_id], self.engine.now())
        return None

    async def _execute(self, active: _Active, after: asyncio.Task[None] | None = None) -> None:
        """Run one attempt; ``after``: an attempt of the same run to let end first."""
        claim = active.claim
        outcome: Outcome | None = None
        try:
            if after is not None:
                await asyncio.wait({after})
            task = self.registry.get(claim.run.task_id)
            set_context(run_context(claim, self.id, self.engine.now()))
            journal = []
            if claim.resumed:  # parked elsewhere, or this worker restarted: replay
                journal = await self._call(
                    self.engine.load_journal, claim.run.id, claim.attempt_number
                )
            active.execution = Execution(
                host=self,
                engine=self.engine,
                run_id=claim.run.id,
                attempt_id=claim.attempt_id,
                attempt_number=claim.attempt_number,
                environment=claim.run.environment,
                journal=journal,
                inline_wait_max=self.inline_wait_max,
            )
            set_execution(active.execution)
            try:
                result = await self._invoke(task, active)
                output = jsonutil.dumps(
                    result,
                    what=f"output of task {task.id!r}",
                    limit=self.runtime.config.max_payload_bytes,
                )
                outcome = attempts.completed(claim, output)
            except asyncio.CancelledError:
                if not active.stopped:
                    raise  # the worker is shutting down: the run is handed back
            except AttemptStopped:
                pass
            except ThreadSuspended:
                await self._suspend_unwound(active)
            except Exception as exc:
                outcome = attempts.failed(claim, exc, self.engine.now(), self._rng)
        finally:
            # Not active any more: its lease went with it, and a claim that resumed the
            # run here since holds the lease of the same attempt.
            if self._active.get(claim.run.id) is active:
                del self._active[claim.run.id]
                self._drop_lease(active)
            if self._parked.get(claim.run.id) is active:
                del self._parked[claim.run.id]
            self.executed += 1
            if outcome is not None and not active.stopped:
                self._pending.append(outcome)
                self._flush_now.set()
            self._wake.set()

    async def _invoke(self, task: Task[Any], active: _Active) -> Any:
        claim = active.claim
        payload = task.parse_payload(claim.run.payload)
        ctx = run_context(claim, self.id, self.engine.now())
        limit = claim.run.max_duration
        if task.is_async:
            if limit is None:
                return await task.call(payload, ctx)
            timeout = asyncio.timeout(limit)
            active.timeout = timeout
            try:
                async with timeout:
                    return await task.call(payload, ctx)
            except TimeoutError as exc:
                if timeout.expired():
                    raise MaxDurationExceededError(
                        f"attempt ran longer than max_duration={limit:g}s (waits excluded)"
                    ) from exc
                raise
        assert active.execution is not None
        call = partial(active.execution.call_in_thread, task.call, payload, ctx)
        job = self._threads.run(claim.attempt_id, call)
        if limit is None:
            return await job
        fut = asyncio.ensure_future(job)
        done, _ = await asyncio.wait({fut}, timeout=limit)
        if fut in done:
            return fut.result()
        self._threads.interrupt(claim.attempt_id, _MaxDuration)
        fut.add_done_callback(lambda f: f.cancelled() or f.exception())
        raise MaxDurationExceededError(f"attempt ran longer than max_duration={limit:g}s")

    async def _suspend_unwound(self, active: _Active) -> None:
        """A sync task's thread unwound from a wait (it is free now): suspend the run.

        Nothing is parked: the run replays its journal when it resumes. If a waitpoint
        completed first, the run is still executing here: it replays at once.
        """
        execution, run_id = active.execution, active.claim.run.id
        assert execution is not None
        for tries in range(5):
            if active.stopped:
                return
            try:
                waiting = await execution.suspend_unwound()
                break
            except Exception:
                log.exception("could not suspend %s (try %d)", run_id, tries + 1)
                await asyncio.sleep(0.2 * 2**tries)
        else:  # hand it back: another claim starts a fresh attempt
            await self._call(self.engine.release, self.id, [run_id], self.engine.now())
            return
        if waiting or self._active.get(run_id) is not active:
            return  # _execute's cleanup frees the slot and drops the lease
        again = _Active(replace(active.claim, resumed=True))
        self._active[run_id] = again  # keeps the lease of the attempt
        again.task = asyncio.create_task(self._execute(again), name=f"switchyard-{run_id}")
