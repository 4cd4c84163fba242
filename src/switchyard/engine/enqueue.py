"""Turning a trigger (payload + options + task defaults) into a stored :class:`NewRun`."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field

from switchyard.core import jsonutil
from switchyard.core.durations import parse_duration, parse_optional_duration
from switchyard.core.errors import InvalidOptionError
from switchyard.core.idempotency import IdempotencyKey, scoped_key
from switchyard.core.models import DEFAULT_IDEMPOTENCY_TTL, NewRun, TaskInfo
from switchyard.core.options import MAX_TAG_LENGTH, MAX_TAGS, TriggerOptions, parse_debounce
from switchyard.core.retry import RetryPolicy


@dataclass(frozen=True, slots=True)
class Parent:
    """The run that triggers, when a trigger happens inside a run."""

    run_id: str
    root_run_id: str | None
    attempt_number: int


@dataclass(frozen=True, slots=True)
class Defaults:
    """Config-level defaults that tasks and triggers override."""

    retry: RetryPolicy = field(default_factory=RetryPolicy)
    max_duration: float | None = None
    max_payload_bytes: int = jsonutil.DEFAULT_MAX_BYTES


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
