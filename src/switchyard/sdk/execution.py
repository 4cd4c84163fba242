"""One attempt's execution: journal positions, durable operations and suspension.

Every durable operation (a wait, a token, a child trigger, a step) takes the next
position in the attempt's journal. On a first run the operation is performed and
recorded; on a replay (the worker that parked the run is gone) the recorded result
is returned instead, and a different operation at a position is a
:class:`~switchyard.NonDeterminismError`.

Waits register a future per waitpoint. Once nothing else is being recorded, the run
is suspended on every pending waitpoint at once (so ``asyncio.gather`` over several
waits suspends once); the worker then frees the run's slot and parks the coroutine.
When any waitpoint completes the run is queued again; resuming resolves the completed
futures, and waits still pending suspend the run again.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
from collections.abc import Callable, Iterator, Sequence
from typing import Any, Protocol, TypeVar

from switchyard.core.errors import NonDeterminismError, RunNotExecutingError
from switchyard.core.waitpoints import (
    JournalEntry,
    JournalRef,
    NewWaitpoint,
    Waitpoint,
    WaitpointKind,
    new_waitpoint,
)
from switchyard.engine import Engine

T = TypeVar("T")
# Loop turns to wait before suspending, so siblings in an asyncio.gather reach their waits.
_SETTLE_TURNS = 3
_TIMER_KINDS = (WaitpointKind.DURATION, WaitpointKind.DATETIME)


class ThreadSuspended(BaseException):
    """Unwinds a plain ``def`` task's thread out of a durable wait that has to suspend.

    A thread cannot be parked without keeping it, so the run is suspended in storage
    instead and the attempt replays its journal when it resumes. A BaseException, so
    that the task's ``except Exception`` does not swallow it.
    """


# Set in the context of coroutines that bridge.run_sync runs for a sync task's thread.
_in_thread: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "switchyard_in_thread", default=False
)


class ExecutionHost(Protocol):
    """What the worker provides to an execution."""

    async def db(self, fn: Callable[..., T], *args: Any) -> T:
        """Run an engine call off the event loop."""
        ...

    def now(self) -> float:
        """Domain time."""
        ...

    def suspended(self, execution: Execution) -> None:
        """The run is WAITING in storage: free its slot, park the coroutine."""
        ...

    async def sleep_until(self, moment: float) -> None:
        """Sleep through a short time wait in process (the run keeps its lease)."""
        ...

    async def create_waitpoint(
        self, new: NewWaitpoint, ref: JournalRef | None
    ) -> tuple[Waitpoint, bool]:
        """Create and journal a waitpoint (group-committed with other runs')."""
        ...

    async def block_run(
        self,
        run_id: str,
        attempt_id: str,
        waitpoint_ids: Sequence[str],
        new: Sequence[tuple[Waitpoint, JournalRef]] = (),
    ) -> list[Waitpoint]:
        """Store ``new`` waitpoints and suspend the run on the waitpoints (group-committed)."""
        ...


class Execution:
    """The durable state of one attempt while its function runs."""

    def __init__(
        self,
        *,
        host: ExecutionHost,
        engine: Engine,
        run_id: str,
        attempt_id: str,
        attempt_number: int,
        environment: str,
        journal: Sequence[JournalEntry] = (),
        inline_wait_max: float = 0.0,
    ) -> None:
        self.host = host
        self.engine = engine
        self.run_id = run_id
        self.attempt_id = attempt_id
        self.attempt_number = attempt_number
        self.environment = environment
        self.loop = asyncio.get_running_loop()
        self._step_calls: dict[str, int] = {}  # step name -> calls so far (see step_key)
        self._run_steps: asyncio.Task[dict[str, Any]] | None = None  # see recorded_step
        self._journal = {entry.position: entry for entry in journal}
        # Code before the journal's last operation already ran once: a replay of it
        # does not sleep through its short waits again.
        self._replayed_until = max(self._journal, default=-1) + 1
        self.inline_wait_max = inline_wait_max
        self._position = 0
        self._in_flight = 0
        self._waiting: dict[str, asyncio.Future[Waitpoint]] = {}
        self._due: dict[str, float] = {}  # timer waitpoint id -> when it completes
        self._unstored: dict[str, tuple[Waitpoint, JournalRef]] = {}  # see defer_waitpoint
        self._settling = False
        self.is_suspended = False
        self.suspending = False  # a suspension is being written
        self._unwound: dict[str, Waitpoint] = {}  # waits a sync task's thread unwound from

    # -- journal --------------------------------------------------------------------
    def next_ref(self, kind: str, name: str) -> tuple[JournalRef, JournalEntry | None]:
        """Take the next journal position for an operation; its entry when replaying."""
        position = self._position
        self._position += 1
        entry = self._journal.get(position)
        if entry is not None and (entry.kind, entry.name) != (kind, name):
            raise NonDeterminismError(
                f"run {self.run_id} attempt {self.attempt_number}: durable operation #{position} "
                f"is {kind} {name!r} on replay but was {entry.kind} {entry.name!r} when first "
                "run. Durable operations (waits, triggers, steps) must happen in the same "
                "order every time: move branching on time, randomness or external state into "
                "a step()"
            )
        return JournalRef(self.run_id, self.attempt_number, position, kind, name), entry

    async def record(self, fn: Callable[..., T], *args: Any) -> T:
        """Run an engine call that records a durable operation."""
        self._in_flight += 1
        try:
            return await self.host.db(fn, *args)
        finally:
            self._in_flight -= 1
            self._schedule_suspend()

    # -- steps ----------------------------------------------------------------------
    def step_key(self, name: str) -> str:
        """``name#n`` for the n-th call of ``step(name)`` in this execution.

        Every execution (an attempt, a replay of it) runs the task's code from the top
        with a new Execution, so each step finds its key again.
        """
        n = self._step_calls.get(name, 0) + 1
        self._step_calls[name] = n
        return f"{name}#{n}"

    async def recorded_step(self, key: str) -> tuple[bool, Any]:
        """``(True, result)`` if an earlier attempt of this run recorded the once-per-run
        step ``key``; else ``(False, None)``.

        Read once per execution, at its first step not in the attempt's own journal
        (which has what this attempt recorded). A first attempt has no earlier ones.
        """
        if self.attempt_number == 1:
            return False, None
        if self._run_steps is None:
            self._run_steps = self.loop.create_task(
                self.host.db(self.engine.load_steps, self.run_id)
            )
        loading = self._run_steps
        try:
            steps = await asyncio.shield(loading)  # shared by steps in an asyncio.gather
        except Exception:
            if self._run_steps is loading:
                self._run_steps = None  # the read failed: the next step reads again
            raise
        return (True, steps[key]) if key in steps else (False, None)

    @contextlib.contextmanager
    def working(self) -> Iterator[None]:
        """Keep the run from suspending while a step's function or backoff runs here.

        A sibling wait (``asyncio.gather``) would otherwise make the run WAITING, and
        give its slot back, under a step still running. Only on the event loop.
        """
        self._in_flight += 1
        try:
            yield
        finally:
            self._in_flight -= 1
            self._schedule_suspend()

    async def create_waitpoint(
        self, new: NewWaitpoint, ref: JournalRef | None
    ) -> tuple[Waitpoint, bool]:
        """Create (or find, by idempotency key) a waitpoint and journal it."""
        self._in_flight += 1
        try:
            return await self.host.create_waitpoint(new, ref)
        finally:
            self._in_flight -= 1
            self._schedule_suspend()

    def defer_waitpoint(self, new: NewWaitpoint, ref: JournalRef) -> Waitpoint:
        """A timer waitpoint stored with the suspension that waits on it, not before.

        Only for waitpoints nothing outside the run can see or share (a timer without
        an idempotency key): it saves a transaction per wait. If the run never
        suspends on it, it is never stored, nor is its journal entry, so a replay
        makes a new one, as it would had the attempt stopped before creating it.
        """
        waitpoint = new_waitpoint(new, self.host.now())
        self._unstored[waitpoint.id] = (waitpoint, ref)
        return waitpoint

    # -- waiting ----------------------------------------------------------------------
    async def sleep_inline(self, moment: float) -> bool:
        """Sleep through a time wait until ``moment`` if it is short (``inline_wait_max``):
        nothing is stored, the run stays EXECUTING. False when it is too long for that."""
        if moment - self.host.now() > self.inline_wait_max:
            return False
        if self._position < self._replayed_until:
            return True  # a replay of code that already slept here
        self._in_flight += 1  # siblings in an asyncio.gather do not suspend the run meanwhile
        try:
            await self.host.sleep_until(moment)
        finally:
            self._in_flight -= 1
            self._schedule_suspend()
        return True

    async def wait_for(self, waitpoint: Waitpoint) -> Waitpoint:
        """Block until the waitpoint is no longer pending; return it completed."""
        if not waitpoint.is_pending:
            return waitpoint
        if _in_thread.get():
            self._unwound[waitpoint.id] = waitpoint
            raise ThreadSuspended(f"run {self.run_id} waits on {waitpoint.id}")
        future = self._waiting.get(waitpoint.id)
        if future is None or future.done():
            future = self.loop.create_future()
            self._waiting[waitpoint.id] = future
        if waitpoint.kind in _TIMER_KINDS and waitpoint.complete_after is not None:
            self._due[waitpoint.id] = waitpoint.complete_after
        self._schedule_suspend()
        try:
            return await future
        finally:
            if future.done():
                self._waiting.pop(waitpoint.id, None)
                self._due.pop(waitpoint.id, None)

    def _schedule_suspend(self) -> None:
        if not self._settling and any(not f.done() for f in self._waiting.values()):
            self._settling = True
            self.loop.create_task(self._suspend_when_settled())

    async def _suspend_when_settled(self) -> None:
        try:
            for _ in range(_SETTLE_TURNS):
                await asyncio.sleep(0)
        finally:
            self._settling = False
        pending = [wid for wid, f in self._waiting.items() if not f.done()]
        if self._in_flight or not pending:
            return
        self.suspending = True
        new = [self._unstored.pop(w) for w in pending if w in self._unstored]
        try:
            completed = await self.host.block_run(self.run_id, self.attempt_id, pending, new)
        except RunNotExecutingError:
            return  # canceled or lease lost: the worker stops this attempt
        except BaseException:
            self._unstored.update((w.id, (w, ref)) for w, ref in new)  # not stored
            raise
        finally:
            self.suspending = False
        if completed:
            self.deliver(completed)
            return
        if not self.is_suspended:
            self.is_suspended = True
            self.host.suspended(self)

    def next_due(self) -> float | None:
        """When the first timer (``wait.for_``/``until``) still waited on completes."""
        due = [self._due[w] for w, f in self._waiting.items() if not f.done() and w in self._due]
        return min(due, default=None)

    def pending_waitpoint_ids(self) -> list[str]:
        """Waitpoints this execution is still waiting on."""
        return [wid for wid, f in self._waiting.items() if not f.done()]

    def deliver(self, waitpoints: Sequence[Waitpoint]) -> None:
        """Resolve the waits whose waitpoints are done; pending ones suspend again."""
        for waitpoint in waitpoints:
            future = self._waiting.get(waitpoint.id)
            if future is not None and not future.done() and not waitpoint.is_pending:
                future.set_result(waitpoint)
        self._schedule_suspend()

    def resumed(self, waitpoints: Sequence[Waitpoint]) -> None:
        """The worker claimed the run again: continue in place."""
        self.is_suspended = False
        self.deliver(waitpoints)

    # -- plain `def` tasks ------------------------------------------------------------
    @property
    def unwound(self) -> bool:
        """Whether a sync task's thread unwound from a wait (see :class:`ThreadSuspended`)."""
        return bool(self._unwound)

    def call_in_thread(self, fn: Callable[..., T], *args: Any) -> T:
        """Call a sync task's function in its thread; ThreadSuspended if it unwound.

        Code that swallowed the signal (a bare ``except``) and returned or raised
        anyway has not got past the wait: the run still suspends and replays.
        """
        try:
            result = fn(*args)
        except Exception:
            if not self._unwound:
                raise
        else:
            if not self._unwound:
                return result
        raise ThreadSuspended(f"run {self.run_id} waits on {', '.join(self._unwound)}")

    async def suspend_unwound(self) -> bool:
        """Suspend the run on the waits its thread unwound from, once the thread is free.

        True when the run is WAITING (or no longer executing this attempt); False when
        one of the waitpoints completed first: the run is still EXECUTING here and the
        attempt must run again from the top, replaying its journal.
        """
        ids = list(self._unwound)
        new = [self._unstored.pop(w) for w in ids if w in self._unstored]
        self.suspending = True
        try:
            completed = await self.host.block_run(self.run_id, self.attempt_id, ids, new)
        except RunNotExecutingError:
            return True  # canceled or lease lost: the worker stops this attempt
        finally:
            self.suspending = False
        return not completed


_current: contextvars.ContextVar[Execution | None] = contextvars.ContextVar(
    "switchyard_execution", default=None
)


def current_execution() -> Execution | None:
    """The execution of the attempt running here, or None outside runs."""
    return _current.get()


def set_execution(execution: Execution | None) -> contextvars.Token[Execution | None]:
    """Bind the execution for the current task or thread (workers do this)."""
    return _current.set(execution)


def sync_thread_context() -> contextvars.Context:
    """A copy of the calling thread's context (its run context and execution) in which a
    wait that must suspend unwinds the thread (:class:`ThreadSuspended`) instead of
    parking: for coroutines run on the run's loop on behalf of a sync task's thread."""
    ctx = contextvars.copy_context()
    ctx.run(_in_thread.set, True)
    return ctx
