"""Hooks: the one place the engine reports what it did.

Every engine operation and every attempt emits an event here (dramatiq's middleware is
the model). Subclass :class:`Hooks`, override the methods you care about, and add an
instance to an engine's registry::

    class Announce(Hooks):
        def after_attempt(self, event: AttemptEvent) -> None:
            print(event.run_id, event.result)

    engine.hooks.add(Announce())

Rules every hook lives by:

- A hook is called after the operation committed (``before_trigger``: before it
  starts), on the thread that ran the operation (a worker's database thread, a request
  thread, the lease keeper's thread): keep it quick and thread-safe.
- A hook that raises is contained: the error is logged with the hook's name on the
  ``switchyard.hooks`` logger, the other hooks are still called, and the operation's
  result is unchanged. A hook can never lose a run.
- A method a hook does not override costs nothing: the registry keeps, per event, the
  hooks that override it, and the engine builds no event when that list is empty.

Batches (a claim of 200 runs, a flush of 500 outcomes) emit one event per run: each
event is a small frozen object, built only when some hook listens, and every consumer
(a log line, a span, a counter) works per run anyway.
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from switchyard.core.models import Claim, NewRun, Outcome, TriggerResult
from switchyard.core.states import RunStatus
from switchyard.core.waitpoints import Waitpoint, WaitpointKind

log = logging.getLogger("switchyard.hooks")


# -- events --------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class TriggerEvent:
    """Runs being created in one transaction (one ``trigger`` or ``batch_trigger``).

    ``before_trigger`` gets it with ``results`` None; ``after_trigger`` with one result
    per run (``is_cached``: an idempotency key returned an existing run), or with
    ``error`` set when storing failed (then ``results`` is empty).
    """

    runs: Sequence[NewRun]
    at: float
    results: Sequence[TriggerResult] | None = None
    error: BaseException | None = None


class _OfClaim:
    """What an event about a claimed attempt tells from its ``claim``."""

    __slots__ = ()
    claim: Claim

    @property
    def run_id(self) -> str:
        """The run."""
        return self.claim.run.id

    @property
    def task_id(self) -> str:
        """The run's task."""
        return self.claim.run.task_id

    @property
    def queue(self) -> str:
        """The run's queue."""
        return self.claim.run.queue

    @property
    def attempt_id(self) -> str:
        """The attempt that starts or continues."""
        return self.claim.attempt_id

    @property
    def attempt_number(self) -> int:
        """1 for the first attempt."""
        return self.claim.attempt_number


@dataclass(frozen=True, slots=True)
class ClaimEvent(_OfClaim):
    """A worker claimed a run: a new attempt starts (``after_claim``)."""

    claim: Claim
    worker_id: str
    at: float


@dataclass(frozen=True, slots=True)
class ResumeEvent(_OfClaim):
    """A WAITING run continues its attempt on a worker (``after_resume``).

    ``waitpoints``: the completed waitpoints, when the worker read them in the same
    transaction (a due timer); empty otherwise.
    """

    claim: Claim
    worker_id: str
    at: float
    waitpoints: Sequence[Waitpoint] = ()


class AttemptResult(enum.StrEnum):
    """How an attempt ended."""

    COMPLETED = "completed"
    RETRYING = "retrying"  # failed; the run retries after backoff
    FAILED = "failed"  # failed for good
    TIMED_OUT = "timed_out"  # ran past max_duration
    STOPPED = "stopped"  # canceled, or its lease was lost: no outcome written


@dataclass(frozen=True, slots=True)
class AttemptEvent:
    """An attempt ended and its outcome is stored (``after_attempt``).

    ``claim`` is the claim the attempt ran under (None when the outcome came without
    one); ``reason`` says why a STOPPED attempt stopped.
    """

    run_id: str
    attempt_id: str
    result: AttemptResult
    at: float
    status: RunStatus | None = None
    claim: Claim | None = None
    worker_id: str | None = None
    error: dict[str, Any] | None = None
    retry_at: float | None = None
    reason: str | None = None

    @property
    def task_id(self) -> str | None:
        """The run's task, when known."""
        return None if self.claim is None else self.claim.run.task_id

    @property
    def queue(self) -> str | None:
        """The run's queue, when known."""
        return None if self.claim is None else self.claim.run.queue

    @property
    def attempt_number(self) -> int | None:
        """The attempt's number, when known."""
        return None if self.claim is None else self.claim.attempt_number

    @classmethod
    def of(cls, outcome: Outcome, worker_id: str | None, at: float) -> AttemptEvent:
        """The event for an outcome the worker stored."""
        return cls(
            outcome.run_id,
            outcome.attempt_id,
            _RESULTS.get(outcome.status, AttemptResult.FAILED),
            at,
            status=outcome.status,
            claim=outcome.claim,
            worker_id=worker_id,
            error=outcome.error,
            retry_at=outcome.retry_at,
        )


_RESULTS = {
    RunStatus.COMPLETED: AttemptResult.COMPLETED,
    RunStatus.DELAYED: AttemptResult.RETRYING,
    RunStatus.QUEUED: AttemptResult.RETRYING,
    RunStatus.TIMED_OUT: AttemptResult.TIMED_OUT,
}


@dataclass(frozen=True, slots=True)
class SuspendEvent:
    """A run is WAITING on waitpoints and gave its slot back (``after_suspend``).

    ``new_waitpoints`` are those this suspension stored (time waits); the others in
    ``waitpoint_ids`` existed before (tokens, child runs).
    """

    run_id: str
    attempt_id: str
    waitpoint_ids: Sequence[str]
    at: float
    worker_id: str | None = None
    new_waitpoints: Sequence[Waitpoint] = ()


@dataclass(frozen=True, slots=True)
class WaitpointEvent:
    """A waitpoint completed or timed out (``after_waitpoint_complete``).

    ``door`` is where it came from: ``"sdk"`` (``wait.complete_token``), ``"http"``
    (API, callback URL, dashboard), ``"cli"``, ``"skip"`` (skip-wait).
    """

    waitpoint: Waitpoint
    door: str
    at: float

    @property
    def id(self) -> str:
        """The waitpoint."""
        return self.waitpoint.id

    @property
    def kind(self) -> WaitpointKind:
        """Token, duration, run, …"""
        return self.waitpoint.kind

    @property
    def output(self) -> Any:
        """What it completed with."""
        return self.waitpoint.output


@dataclass(frozen=True, slots=True)
class CancelEvent:
    """A run and its unfinished descendants were canceled (``after_cancel``)."""

    run_id: str
    canceled: Sequence[str]
    at: float


@dataclass(frozen=True, slots=True)
class RecoverEvent:
    """A maintenance tick moved runs (``after_recover``).

    ``recovered``: runs whose worker stopped renewing its lease (retried or crashed);
    ``expired``: runs past their TTL; ``promoted``: delayed runs now queued;
    ``waitpoints``: due time waits completed and tokens timed out.
    """

    recovered: Sequence[str]
    expired: int
    promoted: int
    waitpoints: int
    at: float


# -- hooks and their registry ------------------------------------------------------------
class Hooks:
    """Base class of hooks: every method is a no-op; override the events you want."""

    def before_trigger(self, event: TriggerEvent) -> None:
        """Runs are about to be stored."""

    def after_trigger(self, event: TriggerEvent) -> None:
        """Runs were stored (or storing them failed: ``event.error``)."""

    def after_claim(self, event: ClaimEvent) -> None:
        """An attempt started on a worker."""

    def after_attempt(self, event: AttemptEvent) -> None:
        """An attempt ended."""

    def after_suspend(self, event: SuspendEvent) -> None:
        """A run is waiting on waitpoints."""

    def after_resume(self, event: ResumeEvent) -> None:
        """A waiting run continues."""

    def after_waitpoint_complete(self, event: WaitpointEvent) -> None:
        """A waitpoint completed or timed out."""

    def after_cancel(self, event: CancelEvent) -> None:
        """Runs were canceled."""

    def after_recover(self, event: RecoverEvent) -> None:
        """Maintenance recovered, expired, promoted runs or completed time waits."""


EVENTS: tuple[str, ...] = tuple(n for n in vars(Hooks) if n.startswith(("before_", "after_")))
"""Every event name, in declaration order."""

Listener = tuple[str, Callable[[Any], None]]


def hook_name(hook: object) -> str:
    """A hook's name for log lines: its ``name`` attribute, else its class."""
    name = getattr(hook, "name", None)
    return name if isinstance(name, str) else type(hook).__qualname__


def _overrides(hook: object, event: str) -> bool:
    if isinstance(hook, Hooks):
        return getattr(type(hook), event) is not getattr(Hooks, event)
    return callable(getattr(hook, event, None))  # duck-typed hooks: whatever they define


class HookRegistry:
    """The hooks of one engine, with a precomputed listener list per event."""

    def __init__(self, hooks: Sequence[object] = ()) -> None:
        self._hooks: tuple[object, ...] = ()
        self._table: dict[str, tuple[Listener, ...]] = dict.fromkeys(EVENTS, ())
        for hook in hooks:
            self.add(hook)

    def add(self, hook: object) -> None:
        """Call ``hook`` on every event it overrides, after the hooks added before it."""
        self._hooks = (*self._hooks, hook)
        self._rebuild()

    def remove(self, hook: object) -> None:
        """Stop calling ``hook`` (no error if it was not added)."""
        self._hooks = tuple(h for h in self._hooks if h is not hook)
        self._rebuild()

    def __iter__(self) -> Iterator[object]:
        return iter(self._hooks)

    def __len__(self) -> int:
        return len(self._hooks)

    def _rebuild(self) -> None:
        # Built aside and swapped in one assignment: threads emitting meanwhile see the
        # old table or the new one, never half of either.
        self._table = {
            event: tuple(
                (hook_name(h), getattr(h, event)) for h in self._hooks if _overrides(h, event)
            )
            for event in EVENTS
        }

    def listeners(self, event: str) -> tuple[Listener, ...]:
        """The hooks that override ``event`` (empty: emit nothing, build no event)."""
        return self._table[event]

    def call(self, event: str, listeners: tuple[Listener, ...], payload: object) -> None:
        """Call each listener with ``payload``; a failing one is logged and skipped."""
        for name, method in listeners:
            try:
                method(payload)
            except Exception:
                log.exception("hook %s failed in %s; the operation is unaffected", name, event)

    def emit(self, event: str, payload: object) -> None:
        """Call every hook that overrides ``event`` (for events built anyway)."""
        listeners = self._table[event]
        if listeners:
            self.call(event, listeners, payload)
