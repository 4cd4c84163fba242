"""Turning a trigger (payload + options + task defaults) into a stored :class:`NewRun`."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass

from switchyard.core import jsonutil
from switchyard.core.api_keys import RequestResponse
from switchyard.core.durations import parse_duration, parse_optional_duration
from switchyard.core.errors import InvalidOptionError
from switchyard.core.idempotency import IdempotencyKey, scoped_key
from switchyard.core.ids import new_id
from switchyard.core.models import DEFAULT_IDEMPOTENCY_TTL, NewRun, TaskInfo, TriggerResult
from switchyard.core.options import MAX_TAG_LENGTH, MAX_TAGS, TriggerOptions, parse_debounce
from switchyard.engine.base import Defaults, EngineBase
from switchyard.engine.hooks import TriggerEvent


@dataclass(frozen=True, slots=True)
class Parent:
    """The run that triggers, when a trigger happens inside a run."""

    run_id: str
    root_run_id: str | None
    attempt_number: int


def normalize_tags(tags: str | Sequence[str] | None) -> tuple[str, ...]:
    """Tags as a de-duplicated tuple; at most 10, each 1-128 characters."""
    if tags is None:
        return ()
    items = [tags] if isinstance(tags, str) else list(tags)
    out: list[str] = []
    for tag in items:
        if not isinstance(tag, str) or not tag or len(tag) > MAX_TAG_LENGTH:
            raise InvalidOptionError("tags", tag, f"strings of 1 to {MAX_TAG_LENGTH} characters")
        if tag not in out:
            out.append(tag)
    if len(out) > MAX_TAGS:
        raise InvalidOptionError("tags", items, f"at most {MAX_TAGS} tags per run")
    return tuple(out)


def resolve_delay(delay: object, now: float) -> float | None:
    """Absolute time a run may start: a duration from now, or a datetime."""
    if delay is None:
        return None
    if isinstance(delay, dt.datetime):
        if delay.tzinfo is None:
            raise InvalidOptionError("delay", delay, "a timezone-aware datetime")
        return delay.timestamp()
    return now + parse_duration(delay, option="delay")  # type: ignore[arg-type]


def resolve_idempotency_key(key: str | Sequence[str] | None, parent: Parent | None) -> str | None:
    """Raw strings inside a run are run-scoped; :class:`IdempotencyKey` is used as is."""
    if key is None or isinstance(key, IdempotencyKey):
        return key
    if parent is not None:
        return scoped_key(key if isinstance(key, str) else list(key), "run", run_id=parent.run_id)
    return scoped_key(key if isinstance(key, str) else list(key), "global")


def build_new_run(
    task: TaskInfo,
    payload_json: str,
    options: TriggerOptions,
    *,
    defaults: Defaults,
    environment: str,
    now: float,
    parent: Parent | None = None,
    batch_id: str | None = None,
    replayed_from: str | None = None,
    idempotency_key: str | None = None,
) -> NewRun:
    """Resolve options (per trigger > per task > config) into a :class:`NewRun`."""
    retry = defaults.retry.merged(task.retry).merged(options.retry)
    if options.max_attempts is not None:
        retry = retry.merged({"max_attempts": options.max_attempts})
    priority = options.priority
    if isinstance(priority, bool) or not isinstance(priority, int | float) or priority < 0:
        raise InvalidOptionError("priority", priority, "a number of seconds >= 0")
    max_duration = parse_optional_duration(options.max_duration, option="max_duration")
    if max_duration is None:
        max_duration = task.max_duration if task.max_duration is not None else defaults.max_duration
    ttl = parse_optional_duration(options.ttl, option="ttl")
    if ttl is None:
        ttl = task.ttl
    key = idempotency_key or resolve_idempotency_key(options.idempotency_key, parent)
    key_ttl = parse_optional_duration(options.idempotency_key_ttl, option="idempotency_key_ttl")
    delay_until = resolve_delay(options.delay, now)
    debounce_key = None
    if options.debounce is not None:
        mode, dkey, window = parse_debounce(options.debounce)
        if options.delay is not None or key is not None:
            raise InvalidOptionError(
                "debounce", dict(options.debounce), "no delay or idempotency_key alongside it"
            )
        if mode == "leading":
            # The first trigger runs now; the rest of the window returns that run.
            key = resolve_idempotency_key(["debounce", dkey], parent)
            key_ttl = window
        else:
            # The run waits out the window; each trigger in it pushes it back and
            # replaces its payload with the latest.
            debounce_key, delay_until = dkey, now + window
    if options.concurrency_key is not None and not isinstance(options.concurrency_key, str):
        raise InvalidOptionError("concurrency_key", options.concurrency_key, "a string")
    queue = options.queue or task.queue
    return NewRun(
        task_id=task.id,
        queue=queue,
        payload_json=payload_json,
        environment=environment,
        tags=normalize_tags(options.tags),
        metadata_json=jsonutil.dumps(
            dict(options.metadata or {}), what="metadata", limit=defaults.max_payload_bytes
        ),
        priority=float(priority),
        delay_until=delay_until,
        ttl=ttl,
        retry=retry,
        max_duration=max_duration,
        idempotency_key=key,
        idempotency_ttl=DEFAULT_IDEMPOTENCY_TTL if key_ttl is None else key_ttl,
        concurrency_key=options.concurrency_key,
        parent_run_id=parent.run_id if parent else None,
        root_run_id=(parent.root_run_id or parent.run_id) if parent else None,
        batch_id=batch_id,
        replayed_from=replayed_from,
        queue_concurrency_limit=task.queue_concurrency_limit if queue == task.queue else None,
        debounce_key=debounce_key,
    )


class Enqueue(EngineBase):
    """Triggers: resolving and storing runs, batches, replays; the task registry."""

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

    def replay(self, run_id: str, payload_json: str | None = None) -> TriggerResult:
        """A new run of the same task with the same (or an edited) payload and options."""
        return self.trigger([self.replay_run(run_id, payload_json)])[0]

    def replay_run(self, run_id: str, payload_json: str | None = None) -> NewRun:
        """The run :meth:`replay` makes, not yet stored (to store it with other writes)."""
        run = self.get_run(run_id)
        task = TaskInfo(id=run.task_id, queue=run.queue, environment=run.environment)
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

    def reset_idempotency_key(self, task_id: str, key: str) -> int:
        """Free an idempotency key (already scoped) of a task, so the next trigger with
        it makes a new run; returns how many runs held it (0 or 1)."""
        return self.storage.reset_idempotency_key(self.environment, task_id, key, self.now())

    def register(self, tasks: Sequence[TaskInfo], worker_id: str | None = None) -> None:
        """Record task definitions (a worker does this as it starts)."""
        self.storage.register(self.environment, tasks, worker_id, self.now())

    def get_task(self, task_id: str) -> TaskInfo | None:
        """A task registered by some worker, or None."""
        return self.storage.get_task(self.environment, task_id)

    def list_tasks(self) -> list[TaskInfo]:
        """Every registered task."""
        return self.storage.list_tasks(self.environment)
