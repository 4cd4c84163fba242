"""The engine: storage plus a clock plus defaults, with the operations callers need."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from switchyard.core.api_keys import RequestResponse
from switchyard.core.clock import SYSTEM_CLOCK, Clock
from switchyard.core.errors import QueueNotFoundError, RunNotFoundError
from switchyard.core.ids import new_id
from switchyard.core.models import (
    DEFAULT_ENVIRONMENT,
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
from switchyard.core.options import TriggerOptions, check_limit
from switchyard.core.waitpoints import JournalRef, Waitpoint
from switchyard.engine import maintenance, waits
from switchyard.engine.enqueue import Defaults, Parent, build_new_run
from switchyard.engine.explain import Reason, explain
from switchyard.engine.hooks import (
    AttemptEvent,
    AttemptResult,
    CancelEvent,
    ClaimEvent,
    HookRegistry,
    RecoverEvent,
    ResumeEvent,
    SuspendEvent,
    TriggerEvent,
    WaitpointEvent,
)
from switchyard.storage.base import Storage

EngineDefaults = Defaults


@dataclass
class Engine:
    """Operations over one environment of one storage.

    ``hooks``: the :class:`~switchyard.engine.hooks.HookRegistry` every operation
    reports to (``engine.hooks.add(MyHook())``; see :mod:`switchyard.engine.hooks`).
    """

    storage: Storage
    clock: Clock = SYSTEM_CLOCK
    environment: str = DEFAULT_ENVIRONMENT
    defaults: Defaults = field(default_factory=Defaults)
    hooks: HookRegistry = field(default_factory=HookRegistry)

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

    def trigger(
        self, runs: Sequence[NewRun], responses: Sequence[RequestResponse] = ()
    ) -> list[TriggerResult]:
        """Store runs in one transaction (with the ``Idempotency-Key`` responses they
        answer, see :meth:`Storage.trigger`)."""
        now = self.now()
        before = self.hooks.listeners("before_trigger")
        if before:
            self.hooks.call("before_trigger", before, TriggerEvent(runs, now))
        after = self.hooks.listeners("after_trigger")
        try:
            results = self.storage.trigger(runs, now, responses)
        except Exception as exc:
            if after:
                self.hooks.call("after_trigger", after, TriggerEvent(runs, now, (), exc))
            raise
        if after:
            self.hooks.call("after_trigger", after, TriggerEvent(runs, now, results))
        return results

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
        now = self.now()
        done = waits.skip_time_waits(self.storage, run_id, run.status, now)
        listeners = self.hooks.listeners("after_waitpoint_complete")
        for waitpoint in done if listeners else ():
            event = WaitpointEvent(waitpoint, "skip", now)
            self.hooks.call("after_waitpoint_complete", listeners, event)
        return done

    def cancel(self, run_id: str) -> list[str]:
        """Cancel a run and its unfinished descendants."""
        self.get_run(run_id)
        now = self.now()
        canceled = self.storage.cancel(self.environment, run_id, now)
        if canceled:
            self.hooks.emit("after_cancel", CancelEvent(run_id, canceled, now))
        return canceled

    def complete_waitpoint(
        self,
        waitpoint_id: str,
        *,
        door: str,
        output_json: str | None = None,
        error: dict[str, Any] | None = None,
        timed_out: bool = False,
        environment: str | None = None,
        now: float | None = None,
    ) -> Waitpoint | None:
        """Complete or time out a waitpoint (first wins); resumes the runs it blocks.

        Returns it as it now stands, or None if there is no such waitpoint. ``door``
        names the caller for hooks (``"sdk"``, ``"http"``, ``"cli"``); ``now`` (default:
        the clock's) is its completion time when this call is the first.
        """
        now = self.now() if now is None else now
        done = self.storage.complete_waitpoint(
            environment or self.environment,
            waitpoint_id,
            output_json=output_json,
            error=error,
            timed_out=timed_out,
            now=now,
        )
        # Completed by this call, not earlier: the first completion is the one reported.
        if done is not None and not done.is_pending and done.completed_at == now:
            self.hooks.emit("after_waitpoint_complete", WaitpointEvent(done, door, now))
        return done

    # -- the worker's door: claims, outcomes, suspensions ------------------------------
    def claim(
        self,
        worker_id: str,
        task_ids: Sequence[str],
        limit: int,
        now: float,
        lease_seconds: float,
    ) -> list[Claim]:
        """Claim up to ``limit`` runs for ``worker_id`` (see :meth:`Storage.claim`)."""
        claims = self.storage.claim(
            self.environment, worker_id, task_ids, limit, now, lease_seconds
        )
        if claims:
            self._claimed([(c, ()) for c in claims], worker_id, now)
        return claims

    def resume_due(
        self,
        worker_id: str,
        task_ids: Sequence[str],
        parked: Sequence[tuple[str, str, Sequence[str]]],
        limit: int,
        now: float,
        lease_seconds: float,
    ) -> list[tuple[Claim, list[Waitpoint]]]:
        """Complete the due timers of parked runs; resume up to ``limit`` of them here
        (see :meth:`Storage.resume_due`)."""
        resumed = self.storage.resume_due(
            self.environment, worker_id, task_ids, parked, limit, now, lease_seconds
        )
        if resumed:
            self._claimed(resumed, worker_id, now)
        return resumed

    def _claimed(
        self,
        claims: Sequence[tuple[Claim, Sequence[Waitpoint]]],
        worker_id: str,
        now: float,
    ) -> None:
        started = self.hooks.listeners("after_claim")
        resumed = self.hooks.listeners("after_resume")
        if not (started or resumed):
            return
        for claim, waitpoints in claims:
            if claim.resumed:
                if resumed:
                    event = ResumeEvent(claim, worker_id, now, waitpoints)
                    self.hooks.call("after_resume", resumed, event)
            elif started:
                self.hooks.call("after_claim", started, ClaimEvent(claim, worker_id, now))

    def finish(self, outcomes: Sequence[Outcome], now: float, worker_id: str | None = None) -> int:
        """Store attempt outcomes (see :meth:`Storage.finish`); returns how many applied."""
        applied = self.storage.finish(outcomes, now)
        listeners = self.hooks.listeners("after_attempt")
        for outcome in outcomes if listeners else ():
            self.hooks.call("after_attempt", listeners, AttemptEvent.of(outcome, worker_id, now))
        return applied

    def attempt_stopped(self, claim: Claim, worker_id: str, reason: str) -> None:
        """Report an attempt the worker stopped (canceled, lease lost): no outcome."""
        listeners = self.hooks.listeners("after_attempt")
        if listeners:
            event = AttemptEvent(
                claim.run.id,
                claim.attempt_id,
                AttemptResult.STOPPED,
                self.now(),
                claim=claim,
                worker_id=worker_id,
                reason=reason,
            )
            self.hooks.call("after_attempt", listeners, event)

    def block(
        self,
        items: Sequence[tuple[str, str, Sequence[str], Sequence[tuple[Waitpoint, JournalRef]]]],
        now: float,
        worker_id: str | None = None,
    ) -> list[list[Waitpoint] | BaseException]:
        """Suspend runs on waitpoints, storing new ones first (see
        :meth:`Storage.create_and_block`); an empty list: that run is WAITING now."""
        results = self.storage.create_and_block(items, now)
        listeners = self.hooks.listeners("after_suspend")
        if listeners:
            for (run_id, attempt_id, ids, new), result in zip(items, results, strict=True):
                if isinstance(result, list) and not result:
                    made = tuple(w for w, _ in new)
                    event = SuspendEvent(run_id, attempt_id, tuple(ids), now, worker_id, made)
                    self.hooks.call("after_suspend", listeners, event)
        return results

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
        now = self.now()
        report = maintenance.tick(self.storage, now)
        listeners = self.hooks.listeners("after_recover")
        if listeners and report.changed:
            event = RecoverEvent(
                report.recovered, report.expired, report.promoted, report.waitpoints, now
            )
            self.hooks.call("after_recover", listeners, event)
        return report
