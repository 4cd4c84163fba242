"""How runs, attempts, tasks and queues look in the API (JSON), and per-app helpers."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from starlette.requests import Request

from switchyard.core.models import Attempt, QueueInfo, Run, TaskInfo
from switchyard.core.waitpoints import Waitpoint
from switchyard.server.inputs import iso

T = TypeVar("T")


def run_json(run: Run) -> dict[str, Any]:
    """A run as the API returns it (times in ISO 8601 UTC)."""
    return {
        "id": run.id,
        "task_id": run.task_id,
        "environment": run.environment,
        "queue": run.queue,
        "status": str(run.status),
        "is_final": run.is_final,
        "payload": run.payload,
        "output": run.output,
        "error": run.error,
        "tags": list(run.tags),
        "metadata": run.metadata,
        "priority": run.priority,
        "attempt_count": run.attempt_count,
        "created_at": iso(run.created_at),
        "queued_at": iso(run.queued_at),
        "delay_until": iso(run.delay_until),
        "expires_at": iso(run.expires_at),
        "started_at": iso(run.started_at),
        "finished_at": iso(run.finished_at),
        "updated_at": iso(run.updated_at),
        "retry": run.retry.to_json(),
        "max_duration": run.max_duration,
        "ttl": run.ttl,
        "idempotency_key": run.idempotency_key,
        "idempotency_expires_at": iso(run.idempotency_expires_at),
        "concurrency_key": run.concurrency_key,
        "parent_run_id": run.parent_run_id,
        "root_run_id": run.root_run_id,
        "batch_id": run.batch_id,
        "replayed_from": run.replayed_from,
    }


def attempt_json(attempt: Attempt) -> dict[str, Any]:
    """An attempt as the API returns it."""
    return {
        "id": attempt.id,
        "number": attempt.number,
        "status": str(attempt.status),
        "worker_id": attempt.worker_id,
        "started_at": iso(attempt.started_at),
        "finished_at": iso(attempt.finished_at),
        "error": attempt.error,
    }


def waitpoint_json(waitpoint: Waitpoint) -> dict[str, Any]:
    """A waitpoint of any kind (a time wait, a token, a child run, a batch)."""
    return {
        "id": waitpoint.id,
        "kind": str(waitpoint.kind),
        "status": str(waitpoint.status),
        "output": waitpoint.output,
        "error": waitpoint.error,
        "complete_after": iso(waitpoint.complete_after),
        "timeout_at": iso(waitpoint.timeout_at),
        "idempotency_key": waitpoint.idempotency_key,
        "tags": list(waitpoint.tags),
        "child_run_id": waitpoint.child_run_id,
        "batch_id": waitpoint.batch_id,
        "batch_total": waitpoint.batch_total,
        "created_by_run_id": waitpoint.created_by_run_id,
        "created_at": iso(waitpoint.created_at),
        "completed_at": iso(waitpoint.completed_at),
    }


def task_json(task: TaskInfo) -> dict[str, Any]:
    """A registered task, with the JSON Schema of its payload (schema tasks)."""
    return {
        "id": task.id,
        "queue": task.queue,
        "payload_schema": task.payload_schema,
        "retry": task.retry,
        "max_duration": task.max_duration,
        "ttl": task.ttl,
        "queue_concurrency_limit": task.queue_concurrency_limit,
    }


def queue_json(queue: QueueInfo, **extra: Any) -> dict[str, Any]:
    """A queue with its live counts."""
    return {
        "name": queue.name,
        "environment": queue.environment,
        "concurrency_limit": queue.concurrency_limit,
        "paused": queue.paused,
        "queued": queue.queued,
        "running": queue.running,
        **extra,
    }


def app_singleton(request: Request, name: str, make: Callable[[], T]) -> T:
    """One object per app (a cache, a writer, the realtime hub), made on first use."""
    state = request.app.state
    found: T | None = getattr(state, name, None)
    if found is None:
        found = make()
        setattr(state, name, found)
    return found
