"""The engine: storage plus a clock plus defaults, with the operations callers need."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from switchyard.core.clock import SYSTEM_CLOCK, Clock
from switchyard.core.errors import QueueNotFoundError, RunNotFoundError
from switchyard.core.ids import new_id
from switchyard.core.models import (
    DEFAULT_ENVIRONMENT,
    Attempt,
    EnvironmentInfo,
    NewRun,
    QueueInfo,
    QueueStats,
    Run,
    RunFilter,
    RunPage,
    TaskInfo,
    TriggerResult,
)
from switchyard.core.options import TriggerOptions, check_limit
from switchyard.core.waitpoints import Waitpoint
from switchyard.engine import maintenance, waits
from switchyard.engine.enqueue import Defaults, Parent, build_new_run
from switchyard.engine.explain import Reason, explain
from switchyard.storage.base import Storage

EngineDefaults = Defaults


@dataclass
class Engine:
    """Operations over one environment of one storage."""

    storage: Storage
    clock: Clock = SYSTEM_CLOCK
    environment: str = DEFAULT_ENVIRONMENT
    defaults: Defaults = field(default_factory=Defaults)

    def now(self) -> float:
        """Domain time."""
        return self.clock.now()

    def new_run(
        self,
        task: TaskInfo,
        payload_json: str,
        options: TriggerOptions,
        *,
        parent: Parent | None = None,
        batch_id: str | None = None,
        replayed_from: str | None = None,
        idempotency_key: str | None = None,
    ) -> NewRun:
        """Resolve a trigger into a :class:`NewRun` for this environment."""
        return build_new_run(
            task,
            payload_json,
            options,
            defaults=self.defaults,
            environment=self.environment,
            now=self.now(),
            parent=parent,
            batch_id=batch_id,
            replayed_from=replayed_from,
            idempotency_key=idempotency_key,
        )

    def trigger(self, runs: Sequence[NewRun]) -> list[TriggerResult]:
        """Store runs in one transaction."""
        return self.storage.trigger(runs, self.now())

    @staticmethod
    def new_batch_id(now: float) -> str:
        """An id for a batch of runs."""
        return new_id("batch", now)

    def get_run(self, run_id: str) -> Run:
        """A run by id, or :class:`RunNotFoundError`."""
        run = self.storage.get_run(self.environment, run_id)
        if run is None:
            raise RunNotFoundError(run_id)
        return run

    def list_runs(
        self, filters: RunFilter | None = None, *, limit: int = 50, cursor: str | None = None
    ) -> RunPage:
        """Runs newest first, filtered."""
        filters = filters or RunFilter(environment=self.environment)
        return self.storage.list_runs(filters, max(1, min(limit, 1000)), cursor)

    def list_attempts(self, run_id: str) -> list[Attempt]:
        """A run's attempts."""
        return self.storage.list_attempts(run_id)

    def run_waitpoints(self, run_id: str) -> list[Waitpoint]:
        """Every waitpoint the run waited on or waits on now, oldest first."""
        self.get_run(run_id)
        return self.storage.run_waitpoints(run_id)

    def skip_wait(self, run_id: str) -> list[Waitpoint]:
        """End the time wait (``wait.for_`` / ``wait.until``) a WAITING run is in, now."""
        run = self.get_run(run_id)
        return waits.skip_time_waits(self.storage, run_id, run.status, self.now())

    def cancel(self, run_id: str) -> list[str]:
        """Cancel a run and its unfinished descendants."""
        self.get_run(run_id)
        return self.storage.cancel(self.environment, run_id, self.now())

    def replay(self, run_id: str, payload_json: str | None = None) -> TriggerResult:
        """A new run of the same task with the same (or an edited) payload and options."""
        return self.trigger([self.replay_run(run_id, payload_json)])[0]

    def replay_run(self, run_id: str, payload_json: str | None = None) -> NewRun:
        """The run :meth:`replay` makes, not yet stored (to store it with other writes)."""
        run = self.get_run(run_id)
        task = TaskInfo(id=run.task_id, queue=run.queue, environment=run.environment)
        import json

        return build_new_run(
            task,
            payload_json if payload_json is not None else json.dumps(run.payload),
            TriggerOptions(
                tags=run.tags,
                metadata=run.metadata,
                retry=run.retry.to_json(),
                max_duration=run.max_duration,
                ttl=run.ttl,
                priority=run.priority,
                concurrency_key=run.concurrency_key,
            ),
            defaults=self.defaults,
            environment=self.environment,
            now=self.now(),
            replayed_from=run.id,
        )

    def register(self, tasks: Sequence[TaskInfo], worker_id: str | None = None) -> None:
        """Record task definitions (a worker does this as it starts)."""
        self.storage.register(self.environment, tasks, worker_id, self.now())

    def get_task(self, task_id: str) -> TaskInfo | None:
        """A task registered by some worker, or None."""
        return self.storage.get_task(self.environment, task_id)

    def list_tasks(self) -> list[TaskInfo]:
        """Every registered task."""
        return self.storage.list_tasks(self.environment)

    def list_queues(self) -> list[QueueInfo]:
        """Queues with live counts."""
        return self.storage.list_queues(self.environment)

    # -- queues and the environment ---------------------------------------------------
    def pause_queue(self, queue: str) -> None:
        """Pause a queue: running runs finish, queued ones wait, triggers are accepted."""
        self.storage.set_queue_paused(self.environment, queue, True, self.now())

    def resume_queue(self, queue: str) -> None:
        """Resume a queue; its runs start in priority order."""
        self.storage.set_queue_paused(self.environment, queue, False, self.now())

    def set_queue_limit(self, queue: str, limit: int | None) -> None:
        """Override a queue's concurrency limit at runtime; ``None`` resets to the code's."""
        check_limit(limit)
        self.storage.set_queue_limit(self.environment, queue, limit, self.now())

    def pause_environment(self) -> None:
        """Pause every queue of the environment at once."""
        self.storage.set_environment_paused(self.environment, True, self.now())

    def resume_environment(self) -> None:
        """Resume the environment."""
        self.storage.set_environment_paused(self.environment, False, self.now())

    def set_environment_limit(self, limit: int | None) -> None:
        """Cap how many runs of the environment execute at once (``None``: no cap)."""
        check_limit(limit)
        self.storage.set_environment_limit(self.environment, limit, self.now())

    def queue_stats(self, queue: str, window: float = 300.0) -> QueueStats:
        """A queue's counts, limit, oldest queued age, starts per minute, wait p50/p95."""
        stats = self.storage.queue_stats(self.environment, queue, self.now(), window)
        if stats is None:
            names = ", ".join(q.name for q in self.list_queues()) or "none yet"
            raise QueueNotFoundError(
                f"no queue {queue!r} in {self.environment!r} (queues: {names})"
            )
        return stats

    def environment_info(self) -> EnvironmentInfo:
        """Paused or not, the limit, and what runs on which worker."""
        return self.storage.environment_info(self.environment)

    def explain(self, run_id: str) -> list[Reason]:
        """Why a run is not executing right now."""
        return explain(self.storage, self.get_run(run_id), self.now())

    def tick(self) -> maintenance.TickReport:
        """One round of time-driven upkeep."""
        return maintenance.tick(self.storage, self.now())
