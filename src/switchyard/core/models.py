"""Plain data that crosses layers: runs, attempts, trigger requests, claims, outcomes."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from switchyard.core.retry import RetryPolicy
from switchyard.core.states import AttemptStatus, RunStatus

DEFAULT_ENVIRONMENT = "dev"
DEFAULT_IDEMPOTENCY_TTL = 30 * 86400.0


def task_queue_name(task_id: str) -> str:
    """Name of the queue every task gets for itself."""
    return f"task/{task_id}"


@dataclass(frozen=True, slots=True)
class Run:
    """One triggered execution of a task, as stored."""

    id: str
    environment: str
    task_id: str
    queue: str
    status: RunStatus
    payload: Any
    output: Any
    error: dict[str, Any] | None
    tags: tuple[str, ...]
    metadata: dict[str, Any]
    priority: float
    order_key: float
    created_at: float
    queued_at: float
    delay_until: float | None
    expires_at: float | None
    started_at: float | None
    finished_at: float | None
    attempt_count: int
    current_attempt_id: str | None
    retry: RetryPolicy
    max_duration: float | None
    ttl: float | None
    idempotency_key: str | None
    idempotency_expires_at: float | None
    concurrency_key: str | None
    parent_run_id: str | None
    root_run_id: str | None
    batch_id: str | None
    replayed_from: str | None
    worker_id: str | None
    lease_expires_at: float | None
    updated_at: float

    @property
    def is_final(self) -> bool:
        """True once the run has finished one way or another."""
        return self.status.is_final


@dataclass(frozen=True, slots=True)
class Attempt:
    """One try of a run."""

    id: str
    run_id: str
    number: int
    status: AttemptStatus
    worker_id: str | None
    started_at: float
    finished_at: float | None
    error: dict[str, Any] | None


@dataclass(frozen=True, slots=True)
class NewRun:
    """A fully resolved trigger request, ready to store (options already parsed)."""

    task_id: str
    queue: str
    payload_json: str
    environment: str = DEFAULT_ENVIRONMENT
    tags: tuple[str, ...] = ()
    metadata_json: str = "{}"
    priority: float = 0.0
    delay_until: float | None = None
    ttl: float | None = None
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    max_duration: float | None = None
    idempotency_key: str | None = None
    idempotency_ttl: float = DEFAULT_IDEMPOTENCY_TTL
    concurrency_key: str | None = None
    parent_run_id: str | None = None
    root_run_id: str | None = None
    batch_id: str | None = None
    replayed_from: str | None = None
    queue_concurrency_limit: int | None = None
    debounce_key: str | None = None
    """Trailing debounce: later triggers with this key update this delayed run."""


@dataclass(frozen=True, slots=True)
class TriggerResult:
    """What a trigger gives back: the run id and whether it already existed."""

    run_id: str
    task_id: str
    is_cached: bool


@dataclass(frozen=True, slots=True)
class Claim:
    """A run a worker has just claimed, with the attempt it is to execute."""

    run: Run
    attempt_id: str
    attempt_number: int
    resumed: bool = False
    """True when the run continues an attempt that was waiting, not a new attempt."""


@dataclass(frozen=True, slots=True)
class Outcome:
    """How an attempt ended, decided by the worker and applied by storage.

    ``status`` is the run's next status: COMPLETED, a final failure status, or DELAYED
    (retry at ``retry_at``) / QUEUED (retry now). ``claim`` is the claim the attempt
    ran under, for hooks (task, queue, attempt number); storage does not read it.
    """

    run_id: str
    attempt_id: str
    status: RunStatus
    attempt_status: AttemptStatus
    output_json: str | None = None
    error: dict[str, Any] | None = None
    retry_at: float | None = None
    claim: Claim | None = field(default=None, compare=False, repr=False)

    def unstorable(self, reason: BaseException) -> Outcome:
        """This outcome as a failure, for when the database refused to store it.

        Retrying would most likely produce the same value, so the run fails for good;
        the message is ASCII so that it, at least, can always be stored.
        """
        return Outcome(
            self.run_id,
            self.attempt_id,
            RunStatus.FAILED,
            AttemptStatus.FAILED,
            error={
                "type": "OutcomeNotStorable",
                "message": (
                    "the database refused to store this attempt's outcome "
                    f"({type(reason).__name__}: {ascii(str(reason))[1:-1][:500]}); return "
                    "JSON values with valid Unicode text, no NUL characters and finite numbers"
                ),
            },
            claim=self.claim,
        )


@dataclass(frozen=True, slots=True)
class RunFilter:
    """Filters for listing runs; every field narrows the list."""

    environment: str = DEFAULT_ENVIRONMENT
    statuses: tuple[RunStatus, ...] = ()
    task_ids: tuple[str, ...] = ()
    tag: str | None = None
    queue: str | None = None
    created_after: float | None = None
    created_before: float | None = None
    idempotency_key: str | None = None
    batch_id: str | None = None
    parent_run_id: str | None = None


@dataclass(frozen=True, slots=True)
class RunPage:
    """A page of runs, newest first, with the cursor of the next page."""

    runs: list[Run]
    next_cursor: str | None


@dataclass(frozen=True, slots=True)
class QueueInfo:
    """A queue's definition and live counts."""

    name: str
    environment: str
    concurrency_limit: int | None
    paused: bool
    queued: int = 0
    running: int = 0


@dataclass(frozen=True, slots=True)
class TaskInfo:
    """A task as registered by a worker: enough to trigger it by id."""

    id: str
    queue: str
    environment: str = DEFAULT_ENVIRONMENT
    payload_schema: dict[str, Any] | None = None
    retry: dict[str, Any] | None = None
    max_duration: float | None = None
    ttl: float | None = None
    queue_concurrency_limit: int | None = None
    queue_rate_limit: int | None = None
    queue_rate_period: float | None = None


@dataclass(frozen=True, slots=True)
class QueueStats:
    """A queue's definition, live counts and recent throughput."""

    name: str
    environment: str
    paused: bool
    concurrency_limit: int | None
    """The limit in force: the runtime override if set, else the limit from code."""
    base_limit: int | None
    limit_override: int | None
    queued: int
    running: int
    waiting: int
    delayed: int
    oldest_queued_age: float | None
    started_per_minute: float
    wait_p50: float | None
    wait_p95: float | None
    window: float
    rate_limit: int | None = None
    rate_period: float | None = None
    rate_used: int = 0
    """Runs started in the current rate period."""


@dataclass(frozen=True, slots=True)
class WorkerInfo:
    """A worker process as it last reported, with what it runs now."""

    id: str
    hostname: str
    pid: int
    task_ids: tuple[str, ...]
    started_at: float
    heartbeat_at: float
    running: int


@dataclass(frozen=True, slots=True)
class EnvironmentInfo:
    """An environment: paused or not, its limit, and what is running where."""

    name: str
    paused: bool
    concurrency_limit: int | None
    running: int
    workers: tuple[WorkerInfo, ...]
