"""What every part of :class:`~switchyard.worker.worker.Worker` stands on.

A run's record while it executes or is parked here (``_Active``), the signals raised
inside sync attempts (``AttemptStopped``, ``_MaxDuration``), and :class:`WorkerState`:
the attributes ``Worker.__init__`` sets, the helpers every loop uses (``_call``,
``_guarded``, ``_spawn``) and abstract declarations of the methods one part calls on
another.
"""

from __future__ import annotations

import asyncio
import logging
import random
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from typing import Any, TypeVar

from switchyard.core.group_commit import GroupCommit
from switchyard.core.models import Claim, Outcome
from switchyard.core.waitpoints import JournalRef, NewWaitpoint, Waitpoint
from switchyard.engine import Engine
from switchyard.runtime import Runtime
from switchyard.sdk.execution import Execution
from switchyard.sdk.registry import Registry
from switchyard.worker.leases import LeaseKeeper
from switchyard.worker.threads import ThreadRunner
from switchyard.worker.timers import DueTimers

log = logging.getLogger("switchyard.worker")
T = TypeVar("T")


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


class WorkerState(ABC):
    """The state the parts of a worker share; ``Worker.__init__`` sets every attribute."""

    runtime: Runtime
    engine: Engine
    registry: Registry
    task_ids: list[str]
    concurrency: int
    lease_seconds: float
    shutdown_grace: float
    inline_wait_max: float
    id: str
    started: asyncio.Event
    executed: int
    _sleeping: int
    _threads: ThreadRunner
    _db: ThreadPoolExecutor
    _active: dict[str, _Active]
    _parked: dict[str, _Active]
    _timers: DueTimers
    _background: set[asyncio.Task[None]]
    _creates: GroupCommit[tuple[NewWaitpoint, JournalRef | None], tuple[Waitpoint, bool]]
    _blocks: GroupCommit[
        tuple[str, str, Sequence[str], Sequence[tuple[Waitpoint, JournalRef]]], list[Waitpoint]
    ]
    _loads: GroupCommit[Sequence[str], list[Waitpoint]]
    _pending: list[Outcome]
    _wake: asyncio.Event
    _flushed: asyncio.Event
    _flush_now: asyncio.Event
    _stopping: asyncio.Event
    _rng: random.Random
    _fail_stop_exit: bool
    _keeper: LeaseKeeper | None

    # -- storage calls on the db thread -----------------------------------------------
    async def _call(self, fn: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._db, partial(fn, *args))

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

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(coro)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    # -- what one part calls on another ------------------------------------------------
    @abstractmethod
    async def _execute(self, active: _Active, after: asyncio.Task[None] | None = None) -> None:
        """Run one attempt (:mod:`switchyard.worker.executor`)."""

    @abstractmethod
    async def _resume(self, active: _Active, loaded: list[Waitpoint] | None = None) -> None:
        """Continue a parked run in place (:mod:`switchyard.worker.executor`)."""

    @abstractmethod
    def _evict(self, active: _Active) -> None:
        """Drop a parked coroutine (:mod:`switchyard.worker.parking`)."""

    @abstractmethod
    def _stop_attempt(self, run_id: str, attempt_id: str, why: str) -> None:
        """Stop an attempt and write no outcome for it (:mod:`switchyard.worker.stopping`)."""

    @abstractmethod
    def _drop_lease(self, active: _Active) -> None:
        """Stop keeping an attempt's lease (:mod:`switchyard.worker.stopping`)."""
