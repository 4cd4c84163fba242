"""The storage interface: domain operations, each one transaction.

Engines and workers talk only to this interface; :mod:`switchyard.storage.sqlite` and
:mod:`switchyard.storage.postgres` implement it, and one contract test suite runs
against both.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any

from switchyard.core.api_keys import ApiKey, RequestResponse, StoredRequest
from switchyard.core.models import (
    Attempt,
    Claim,
    EnvironmentInfo,
    NewRun,
    Outcome,
    QueueInfo,
    QueueStats,
    Run,
    RunFilter,
    RunPage,
    TaskInfo,
    TriggerResult,
)
from switchyard.core.waitpoints import (
    JournalEntry,
    JournalRef,
    NewWaitpoint,
    Waitpoint,
    WaitpointFilter,
)


class Notifier(ABC):
    """Wakes a worker when something it may claim has (probably) changed."""

    @abstractmethod
    async def wait(self, timeout: float) -> bool:
        """Return True when woken, False after ``timeout`` seconds without news."""

    @abstractmethod
    async def close(self) -> None:
        """Release the notifier's connection."""


class LeaseChannel(ABC):
    """A connection of its own for keeping a worker's leases.

    The worker renews on a thread of its own through this channel, never behind its
    other database calls, and with network timeouts well under the lease: a renewal
    that cannot be confirmed in time fails (or hangs) alone, and the worker stops its
    runs before anyone else may take them over.
    """

    @abstractmethod
    def renew(self, worker_id: str, now: float, lease_seconds: float) -> dict[str, str | None]:
        """Extend every lease the worker holds; return ``{run_id: attempt_id}`` still held."""

    @abstractmethod
    def release(self, worker_id: str, run_ids: Sequence[str], now: float) -> int:
        """Hand runs whose attempts this worker stopped back to their queue."""

    @abstractmethod
    def close(self) -> None:
        """Close the channel's connection."""


class Storage(ABC):
    """Domain operations over runs, attempts, queues and tasks."""

    url: str

    @abstractmethod
    def migrate(self) -> list[str]:
        """Apply pending numbered migrations; return the names applied."""

    @abstractmethod
    def close(self) -> None:
        """Close every connection."""

    @abstractmethod
    def open_notifier(self, environment: str) -> Notifier:
        """A notifier for new or newly claimable runs in ``environment``."""

    # -- enqueue -----------------------------------------------------------------
    @abstractmethod
    def trigger(
        self, runs: Sequence[NewRun], now: float, responses: Sequence[RequestResponse] = ()
    ) -> list[TriggerResult]:
        """Create runs (all or none), honouring idempotency keys; one result per input.

        ``responses`` are the responses of the ``Idempotency-Key`` requests these runs
        are for, stored in the same transaction; if a retry took one of those keys over
        (see :meth:`begin_request`), nothing is stored and
        :class:`~switchyard.core.api_keys.RequestTakenOverError` is raised.
        """

    @abstractmethod
    def register(
        self, environment: str, tasks: Sequence[TaskInfo], worker_id: str | None, now: float
    ) -> None:
        """Record task definitions (and their queues' limits) as a worker deploys them."""

    @abstractmethod
    def get_task(self, environment: str, task_id: str) -> TaskInfo | None:
        """A registered task, or None."""

    @abstractmethod
    def list_tasks(self, environment: str) -> list[TaskInfo]:
        """Every registered task of the environment."""

    # -- dequeue and attempts ----------------------------------------------------
    @abstractmethod
    def claim(
        self,
        environment: str,
        worker_id: str,
        task_ids: Sequence[str],
        limit: int,
        now: float,
        lease_seconds: float,
    ) -> list[Claim]:
        """Claim up to ``limit`` queued runs in dequeue order within concurrency limits."""

    @abstractmethod
    def finish(self, outcomes: Sequence[Outcome], now: float) -> int:
        """Apply attempt outcomes; stale ones (lease lost, run canceled) are ignored.

        Returns how many were applied.
        """

    @abstractmethod
    def release(self, worker_id: str, run_ids: Sequence[str], now: float) -> int:
        """Hand runs back to their queue (graceful shutdown); returns how many."""

    @abstractmethod
    def open_lease_channel(self, timeout: float) -> LeaseChannel:
        """A :class:`LeaseChannel` whose calls give up within about ``timeout`` seconds."""

    # -- maintenance -------------------------------------------------------------
    @abstractmethod
    def promote_delayed(self, now: float) -> int:
        """Queue delayed runs whose time has come."""

    @abstractmethod
    def expire(self, now: float) -> int:
        """Expire queued or delayed runs past their TTL."""

    @abstractmethod
    def recover_lapsed(self, now: float) -> list[str]:
        """Retry or crash runs whose worker stopped renewing its lease; return their ids."""

    # -- runs ----------------------------------------------------------------------
    @abstractmethod
    def get_run(self, environment: str, run_id: str) -> Run | None:
        """One run, or None."""

    @abstractmethod
    def list_runs(self, filters: RunFilter, limit: int, cursor: str | None) -> RunPage:
        """Runs matching ``filters``, newest first."""

    @abstractmethod
    def list_attempts(self, run_id: str) -> list[Attempt]:
        """A run's attempts, oldest first."""

    @abstractmethod
    def cancel(self, environment: str, run_id: str, now: float) -> list[str]:
        """Cancel a run and, recursively, its unfinished children; return canceled ids."""

    # -- queues ----------------------------------------------------------------------
    @abstractmethod
    def list_queues(self, environment: str) -> list[QueueInfo]:
        """Queues of the environment with their live counts."""

    # -- queue and environment control --------------------------------------------------
    @abstractmethod
    def set_queue_paused(self, environment: str, queue: str, paused: bool, now: float) -> None:
        """Pause or resume a queue."""

    @abstractmethod
    def set_queue_limit(self, environment: str, queue: str, limit: int | None, now: float) -> None:
        """Override a queue's limit; ``None`` resets it to the code's."""

    @abstractmethod
    def set_environment_paused(self, environment: str, paused: bool, now: float) -> None:
        """Pause or resume an environment."""

    @abstractmethod
    def set_environment_limit(self, environment: str, limit: int | None, now: float) -> None:
        """Cap an environment's running runs; ``None`` removes the cap."""

    @abstractmethod
    def reset_idempotency_key(self, environment: str, task_id: str, key: str, now: float) -> int:
        """Free an idempotency key; returns how many runs held it (0 or 1)."""

    @abstractmethod
    def queue_stats(
        self, environment: str, queue: str, now: float, window: float = 300.0
    ) -> QueueStats | None:
        """A queue's counts and recent throughput, or None if it does not exist."""

    @abstractmethod
    def environment_info(self, environment: str) -> EnvironmentInfo:
        """An environment's state and its workers."""

    # -- waitpoints and the journal ----------------------------------------------------
    @abstractmethod
    def trigger_children(
        self,
        runs: Sequence[NewRun],
        *,
        wait: str | None,
        journal: JournalRef | None,
        now: float,
    ) -> tuple[list[TriggerResult], Waitpoint | None]:
        """Trigger runs from a run, journaled, with a RUN (``wait="run"``) or BATCH waitpoint."""

    @abstractmethod
    def create_waitpoint(
        self, new: NewWaitpoint, journal: JournalRef | None, now: float
    ) -> tuple[Waitpoint, bool]:
        """Create a waitpoint or find the live one with its key; returns (it, is_cached)."""

    @abstractmethod
    def create_waitpoints(
        self, items: Sequence[tuple[NewWaitpoint, JournalRef | None]], now: float
    ) -> list[tuple[Waitpoint, bool] | BaseException]:
        """Many :meth:`create_waitpoint` in one transaction; an exception fails one item."""

    @abstractmethod
    def block_runs(
        self, items: Sequence[tuple[str, str, Sequence[str]]], now: float
    ) -> list[list[Waitpoint] | BaseException]:
        """Many :meth:`block_run` in one transaction; an exception fails one item."""

    @abstractmethod
    def create_and_block(
        self,
        items: Sequence[tuple[str, str, Sequence[str], Sequence[tuple[Waitpoint, JournalRef]]]],
        now: float,
    ) -> list[list[Waitpoint] | BaseException]:
        """:meth:`block_runs` with ``(run, attempt, waitpoint ids, new waitpoints)`` items.

        The new waitpoints (built in memory, each with its wait's journal entry) are
        stored first, in the same transaction.
        """

    @abstractmethod
    def get_waitpoints_many(
        self, id_lists: Sequence[Sequence[str]]
    ) -> list[list[Waitpoint] | BaseException]:
        """Many :meth:`get_waitpoints` in one read."""

    @abstractmethod
    def record_journal(
        self,
        ref: JournalRef,
        result_json: str | None,
        now: float,
        waitpoint_id: str | None = None,
    ) -> None:
        """Record a durable operation: a step's result, or the waitpoint a wait is on."""

    @abstractmethod
    def load_journal(self, run_id: str, attempt_number: int) -> list[JournalEntry]:
        """An attempt's journal with its waitpoints' current state."""

    @abstractmethod
    def record_step(
        self,
        ref: JournalRef,
        attempt_id: str,
        key: str | None,
        result_json: str,
        now: float,
    ) -> str:
        """Record a step's result in its attempt's journal and, under ``key`` (``name#n``),
        for the whole run, so later attempts return it instead of running the step again.

        ``key`` None records it for this attempt only (``step(..., per_attempt=True)``).
        Fenced: unless ``attempt_id`` is still the run's live attempt (executing, or
        suspended), nothing is stored and :class:`~switchyard.core.errors.RunNotExecutingError`
        is raised. The first record of a key wins; returns the result stored.
        """

    @abstractmethod
    def load_steps(self, run_id: str) -> dict[str, Any]:
        """The results of a run's once-per-run steps, by key (``name#n``)."""

    @abstractmethod
    def block_run(
        self, run_id: str, attempt_id: str, waitpoint_ids: Sequence[str], now: float
    ) -> list[Waitpoint]:
        """Suspend the run on waitpoints unless some already completed (those are returned)."""

    @abstractmethod
    def complete_waitpoint(
        self,
        environment: str,
        waitpoint_id: str,
        *,
        output_json: str | None = None,
        error: dict[str, Any] | None = None,
        timed_out: bool = False,
        now: float,
    ) -> Waitpoint | None:
        """Complete or time out a waitpoint (first wins); resumes runs blocked on it."""

    @abstractmethod
    def complete_due_waitpoints(self, now: float) -> int:
        """Complete due duration waits and time out expired tokens."""

    @abstractmethod
    def resume_due(
        self,
        environment: str,
        worker_id: str,
        task_ids: Sequence[str],
        parked: Sequence[tuple[str, str, Sequence[str]]],
        limit: int,
        now: float,
        lease_seconds: float,
    ) -> list[tuple[Claim, list[Waitpoint]]]:
        """Complete the due timers parked runs ``(run, attempt, waitpoints)`` wait on.

        Up to ``limit`` unblocked runs a claim would take now resume on ``worker_id``
        (returned with their completed waitpoints); the rest are queued.
        """

    @abstractmethod
    def get_waitpoint(self, environment: str, waitpoint_id: str) -> Waitpoint | None:
        """One waitpoint, or None."""

    @abstractmethod
    def get_waitpoints(self, waitpoint_ids: Sequence[str]) -> list[Waitpoint]:
        """Several waitpoints by id."""

    @abstractmethod
    def list_waitpoints(
        self, filters: WaitpointFilter, limit: int, cursor: str | None
    ) -> tuple[list[Waitpoint], str | None]:
        """Waitpoints newest first, and the next page's cursor."""

    @abstractmethod
    def run_waitpoints(self, run_id: str) -> list[Waitpoint]:
        """Every waitpoint the run waited on (any attempt) or waits on now, oldest first."""

    @abstractmethod
    def blocking_waitpoints(self, run_id: str) -> list[Waitpoint]:
        """What a WAITING run is blocked on."""

    @abstractmethod
    def run_states(self, run_ids: Sequence[str]) -> dict[str, tuple[str, str | None, str | None]]:
        """``{run_id: (status, attempt id, worker id)}``."""

    @abstractmethod
    def secret(self, name: str) -> str:
        """A random secret kept in the database, made on first use."""

    # -- the HTTP API: keys, request idempotency, run edits, realtime --------------------
    @abstractmethod
    def create_api_key(self, key: ApiKey) -> None:
        """Store a new API key (its hash and prefix, never the key)."""

    @abstractmethod
    def list_api_keys(self, environment: str | None) -> list[ApiKey]:
        """Keys of one environment (of all for None), oldest first."""

    @abstractmethod
    def find_api_key(self, key_hash: str) -> ApiKey | None:
        """The key with this hash, revoked or not, or None."""

    @abstractmethod
    def revoke_api_key(self, key_id: str, now: float) -> ApiKey | None:
        """Revoke a key; returns it, or None if there is no such key."""

    @abstractmethod
    def touch_api_key(self, key_id: str, now: float) -> None:
        """Record that a key was used."""

    @abstractmethod
    def begin_request(
        self,
        environment: str,
        key: str,
        request_hash: str,
        now: float,
        ttl: float,
        stale_after: float,
    ) -> StoredRequest | None:
        """Reserve an idempotency key for a request (None), or return what is stored.

        The reservation is known by ``now``: pass it as ``reserved_at`` to
        :meth:`trigger` (``responses``), :meth:`finish_request` and
        :meth:`release_request`. One older than ``stale_after`` seconds is taken over.
        """

    @abstractmethod
    def finish_request(
        self,
        environment: str,
        key: str,
        reserved_at: float,
        status: int,
        response: str,
        now: float,
        ttl: float,
    ) -> bool:
        """Store the response of the reservation made at ``reserved_at`` (the ``now`` of
        its :meth:`begin_request`); False if a retry took the key over meanwhile."""

    @abstractmethod
    def release_request(self, environment: str, key: str, reserved_at: float) -> None:
        """Drop the reservation made at ``reserved_at`` of a request that failed."""

    @abstractmethod
    def purge_requests(self, now: float) -> int:
        """Delete expired request records."""

    @abstractmethod
    def update_run_metadata(
        self, environment: str, run_id: str, metadata_json: str, now: float
    ) -> Run | None:
        """Replace a run's metadata; the run, or None if there is none."""

    @abstractmethod
    def reschedule_run(
        self, environment: str, run_id: str, delay_until: float, now: float
    ) -> tuple[Run | None, bool]:
        """Move a delayed, not yet started run to a new time; (run, whether it moved)."""

    @abstractmethod
    def runs_changed(
        self,
        environment: str,
        run_ids: Sequence[str],
        tags: Sequence[str],
        since: float,
        limit: int = 5000,
    ) -> list[tuple[str | None, Run]]:
        """Runs by id or tag updated after ``since``, each with the tag it matched."""
