"""The worker process loop.

One asyncio event loop runs:

- the claim loop: claims as many runs as it has free slots, in one transaction; first
  it resumes parked runs whose timers are due (see ``Storage.resume_due``), at the
  moment they come due;
- attempts: ``async def`` tasks on the loop, plain ``def`` tasks in threads;
- the flush loop: writes finished attempts in batches, one transaction each;
- the lease keeper (:mod:`switchyard.worker.leases`), on threads of its own: renews
  every lease this worker holds, and stops attempts whose run was canceled, whose lease
  was lost, or whose lease it cannot confirm in time;
- the parked loop: evicts parked runs that were canceled or continue elsewhere;
- the maintenance loop: promotes delayed runs, expires TTLs, recovers lapsed leases;
- the notifier: wakes the claim loop when runs may be claimable.

All other storage calls go through one dedicated thread so the loop never blocks on I/O.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import random
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from functools import partial
from typing import Any, TypeVar

from switchyard.core import jsonutil
from switchyard.core.clock import monotonic, sleep_until
from switchyard.core.errors import MaxDurationExceededError, SwitchyardError
from switchyard.core.ids import new_id
from switchyard.core.models import Claim, Outcome
from switchyard.core.waitpoints import JournalRef, NewWaitpoint, Waitpoint
from switchyard.engine import attempts
from switchyard.runtime import Runtime
from switchyard.sdk.context import set_context
from switchyard.sdk.execution import Execution, ThreadSuspended, set_execution
from switchyard.sdk.registry import REGISTRY, Registry
from switchyard.sdk.task import Task
from switchyard.worker.batcher import Batcher
from switchyard.worker.context import run_context
from switchyard.worker.leases import LeaseKeeper
from switchyard.worker.threads import ThreadRunner
from switchyard.worker.timers import DueTimers

log = logging.getLogger("switchyard.worker")
T = TypeVar("T")

_CLAIM_BATCH = 200
_RESUME_BATCH = 500  # parked runs whose timers one resume_due transaction completes
_IDLE_WAIT = 1.0
_MAINTENANCE_EVERY = 0.25


class AttemptStopped(BaseException):
    """Raised inside a sync attempt whose run was canceled or whose lease was lost."""


class _MaxDuration(BaseException):
    """Raised inside a sync attempt that ran past its max duration."""


@dataclass
class _Active:
    claim: Claim
    task: asyncio.Task[None] | None = None
    stopped: bool = False  # canceled, lease lost or evicted: write no outcome
    execution: Execution | None = None
    timeout: asyncio.Timeout | None = None
    remaining: float | None = None  # max_duration left while suspended


class Worker:
    """Executes runs of the registered tasks until stopped."""

    def __init__(
        self,
        runtime: Runtime,
        *,
        registry: Registry = REGISTRY,
        task_ids: list[str] | None = None,
        concurrency: int | None = None,
        threads: int | None = None,
        lease_seconds: float | None = None,
        shutdown_grace: float | None = None,
        worker_id: str | None = None,
        inline_wait_max: float | None = None,
        fail_stop_exit: bool = False,
    ) -> None:
        settings = runtime.config.worker
        self.runtime = runtime
        self.engine = runtime.engine
        self.storage = runtime.storage
        self.registry = registry
        self.task_ids = task_ids or registry.ids()
        self.concurrency = concurrency or settings.concurrency
        self.lease_seconds = lease_seconds or settings.lease_seconds
        self.shutdown_grace = settings.shutdown_grace if shutdown_grace is None else shutdown_grace
        self.inline_wait_max = (
            settings.inline_wait_max if inline_wait_max is None else inline_wait_max
        )
        self._sleeping = 0  # runs sleeping through a short wait: they hold no slot
        self.id = worker_id or new_id("worker", runtime.clock.now())
        self._threads = ThreadRunner(threads or settings.threads)
        self._db = ThreadPoolExecutor(max_workers=1, thread_name_prefix="switchyard-db")
        self._active: dict[str, _Active] = {}
        self._parked: dict[str, _Active] = {}
        self._timers = DueTimers()
        self._background: set[asyncio.Task[None]] = set()
        storage = self.storage
        self._creates: Batcher[tuple[NewWaitpoint, JournalRef | None], tuple[Waitpoint, bool]] = (
            Batcher(self._call, lambda items: storage.create_waitpoints(items, self.now()))
        )
        self._blocks: Batcher[
            tuple[str, str, Sequence[str], Sequence[tuple[Waitpoint, JournalRef]]], list[Waitpoint]
        ] = Batcher(self._call, lambda items: self.engine.block(items, self.now(), self.id))
        self._loads: Batcher[Sequence[str], list[Waitpoint]] = Batcher(
            self._call, storage.get_waitpoints_many
        )
        self._pending: list[Outcome] = []
        self._wake = asyncio.Event()
        self._flushed = asyncio.Event()
        self._flush_now = asyncio.Event()
        self._stopping = asyncio.Event()
        self._rng = random.Random()
        self._fail_stop_exit = fail_stop_exit
        self._keeper: LeaseKeeper | None = None
        self.started = asyncio.Event()
        self.executed = 0

    # -- public -----------------------------------------------------------------------
    def stop(self) -> None:
        """Stop claiming, let running attempts finish (up to the grace period), then exit."""
        self._stopping.set()
        self._wake.set()

    async def run(self) -> None:
        """Run until :meth:`stop` is called."""
        if not self.task_ids:
            raise SwitchyardError(
                "this worker has no tasks to run: import the modules that define them "
                "(config 'app' or --app)"
            )
        tasks = [self.registry.get(t) for t in self.task_ids]
        await self._call(self.engine.register, [t.info() for t in tasks], self.id)
        notifier = self.storage.open_notifier(self.engine.environment)
        self._keeper = keeper = LeaseKeeper(
            self.storage.open_lease_channel(max(1.0, self.lease_seconds / 4)),
            self.id,
            self.lease_seconds,
            self.engine.now,
            stop=self._stop_attempt,
            fail_stop=self._fail_stop,
            waiting=self._waiting,
            loop=asyncio.get_running_loop(),
            describe=self._describe,
        )
        keeper.start()
        loops = [
            asyncio.create_task(self._claim_loop(), name="switchyard-claim"),
            asyncio.create_task(self._flush_loop(), name="switchyard-flush"),
            asyncio.create_task(self._parked_loop(), name="switchyard-parked"),
            asyncio.create_task(self._maintenance_loop(), name="switchyard-maintenance"),
            asyncio.create_task(self._notify_loop(notifier), name="switchyard-notify"),
        ]
        log.info(
            "worker %s started: %d tasks, concurrency %d", self.id, len(tasks), self.concurrency
        )
        self.started.set()
        try:
            await self._stopping.wait()
            await loops[0]
            await self._drain()
        finally:
            for loop in loops:
                loop.cancel()
            await asyncio.gather(*loops, return_exceptions=True)
            await self._flush()
            await notifier.close()
            await asyncio.to_thread(keeper.close)
            self._threads.shutdown()
            self._db.shutdown(wait=True)
            log.info("worker %s stopped after %d attempts", self.id, self.executed)

    # -- storage calls on the db thread -----------------------------------------------
    async def _call(self, fn: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._db, partial(fn, *args))

    # -- ExecutionHost ----------------------------------------------------------------
    async def db(self, fn: Callable[..., T], *args: Any) -> T:
        """Run a storage call on the worker's database thread."""
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

    @property
    def parked(self) -> int:
        """How many waiting runs this worker keeps in memory."""
        return len(self._parked)

    @property
    def sleeping(self) -> int:
        """How many runs sleep through a short wait here (see ``inline_wait_max``)."""
        return self._sleeping

    @property
    def busy_threads(self) -> int:
        """How many plain ``def`` attempts hold one of this worker's threads now."""
        return self._threads.running

    async def _guarded(self, name: str, body: Callable[[], Awaitable[None]], pause: float) -> None:
        """Run a loop body forever; a failure (database down) is logged and retried."""
        failures = 0
        while not self._stopping.is_set():
            try:
                await body()
                failures = 0
            except asyncio.CancelledError:
                raise
            except Exception:
                failures += 1
                log.exception("%s failed (%d in a row); retrying", name, failures)
                await asyncio.sleep(min(pause * 2**failures, 5.0))

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
        await self._call(self.storage.release, self.id, [run_id], self.engine.now())
        return None

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(coro)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    def _evict(self, active: _Active) -> None:
        """Drop a parked coroutine; the run continues elsewhere by replay."""
        self._parked.pop(active.claim.run.id, None)
        active.stopped = True
        if active.task is not None:
            active.task.cancel()

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
                    self.storage.load_journal, claim.run.id, claim.attempt_number
                )
            active.execution = Execution(
                host=self,
                storage=self.storage,
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
            await self._call(self.storage.release, self.id, [run_id], self.engine.now())
            return
        if waiting or self._active.get(run_id) is not active:
            return  # _execute's cleanup frees the slot and drops the lease
        again = _Active(replace(active.claim, resumed=True))
        self._active[run_id] = again  # keeps the lease of the attempt
        again.task = asyncio.create_task(self._execute(again), name=f"switchyard-{run_id}")

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
        states = await self._call(self.storage.run_states, ids)
        for run_id in ids:
            active = self._parked.get(run_id)
            if active is None:
                continue
            status, attempt_id, worker_id = states.get(run_id, ("MISSING", None, None))
            gone = status not in ("WAITING", "QUEUED", "EXECUTING")
            elsewhere = status == "EXECUTING" and worker_id != self.id
            if gone or elsewhere or attempt_id != active.claim.attempt_id:
                self._evict(active)

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

    # -- shutdown ----------------------------------------------------------------------------
    async def _drain(self) -> None:
        """Wait for running attempts up to the grace period, then hand the rest back."""
        for parked in list(self._parked.values()):
            self._evict(parked)  # WAITING in storage: any worker replays it later
        deadline = monotonic() + self.shutdown_grace
        while self._active and monotonic() < deadline:
            await asyncio.sleep(0.02)
        if not self._active:
            return
        leftover = list(self._active.values())
        log.warning("handing %d unfinished runs back to their queues", len(leftover))
        for active in leftover:
            active.stopped = True
            self._threads.interrupt(active.claim.attempt_id, AttemptStopped)
            if active.task is not None:
                active.task.cancel()
        await asyncio.gather(*(a.task for a in leftover if a.task), return_exceptions=True)
        await self._call(
            self.storage.release, self.id, [a.claim.run.id for a in leftover], self.engine.now()
        )
