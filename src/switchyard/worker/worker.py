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

All other database calls (engine operations) go through one dedicated thread so the loop
never blocks on I/O.

:class:`Worker` is composed of one part per concern, mixins over a shared base:

- :mod:`switchyard.worker.state`: ``WorkerState``, the base (every attribute, ``_call``
  to the database thread, ``_guarded`` loops, ``_spawn``); a run's ``_Active`` record;
  the signals ``AttemptStopped`` and ``_MaxDuration``;
- :mod:`switchyard.worker.claims`: the claim loop (``_resume_due``, ``_leased``,
  ``_start``), the maintenance loop and the notifier;
- :mod:`switchyard.worker.executor`: the ``ExecutionHost`` methods and the attempts
  (``_execute``, ``_invoke``, ``_resume``, ``_suspend_unwound``);
- :mod:`switchyard.worker.outcomes`: the flush loop;
- :mod:`switchyard.worker.parking`: the parked loop and ``_evict``;
- :mod:`switchyard.worker.stopping`: ``_stop_attempt`` and the lease keeper's other
  callbacks;
- this module: ``Worker`` itself: its settings, ``run``, ``stop``, the public counters
  and the drain at shutdown.
"""

from __future__ import annotations

import asyncio
import random
from concurrent.futures import ThreadPoolExecutor

from switchyard.core.clock import monotonic
from switchyard.core.errors import SwitchyardError
from switchyard.core.group_commit import GroupCommit
from switchyard.core.ids import new_id
from switchyard.core.models import Outcome
from switchyard.runtime import Runtime
from switchyard.sdk.registry import REGISTRY, Registry
from switchyard.worker.claims import ClaimLoop
from switchyard.worker.executor import Executor
from switchyard.worker.leases import LeaseKeeper
from switchyard.worker.outcomes import Outcomes
from switchyard.worker.parking import Parking
from switchyard.worker.state import AttemptStopped, _Active, log
from switchyard.worker.stopping import Stopping
from switchyard.worker.threads import ThreadRunner
from switchyard.worker.timers import DueTimers


class Worker(ClaimLoop, Executor, Outcomes, Parking, Stopping):
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
        engine = self.engine
        # Group commits (see switchyard.core.group_commit); typed in WorkerState.
        self._creates = GroupCommit(
            self._call, lambda items: engine.create_waitpoints(items, self.now())
        )
        self._blocks = GroupCommit(
            self._call, lambda items: self.engine.block(items, self.now(), self.id)
        )
        self._loads = GroupCommit(self._call, engine.get_waitpoints_many)
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
        notifier = self.engine.open_notifier()
        self._keeper = keeper = LeaseKeeper(
            self.engine.open_lease_channel(max(1.0, self.lease_seconds / 4)),
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
            self.engine.release, self.id, [a.claim.run.id for a in leftover], self.engine.now()
        )
