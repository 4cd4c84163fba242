"""Turning database rows into domain models."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from switchyard.core import jsonutil
from switchyard.core.models import Attempt, Claim, Run, TaskInfo
from switchyard.core.retry import RetryPolicy
from switchyard.core.states import AttemptStatus, RunStatus
from switchyard.core.waitpoints import Waitpoint, WaitpointKind, WaitpointStatus

Row = Mapping[str, Any]


def _json(text: str | None) -> Any:
    # NaN/Infinity in rows written before the JSON rules read as null (see jsonutil).
    return jsonutil.loads(text)


@lru_cache(maxsize=1024)
def _retry(text: str) -> RetryPolicy:
    # Runs of one task share a policy: parse each distinct one once (hot in claims).
    return RetryPolicy.from_json(json.loads(text))


def run_from_row(row: Row) -> Run:
    """Build a :class:`Run` from a ``SELECT * FROM runs`` row."""
    return Run(
        id=row["id"],
        environment=row["environment"],
        task_id=row["task_id"],
        queue=row["queue"],
        status=RunStatus(row["status"]),
        payload=_json(row["payload"]),
        output=_json(row["output"]),
        error=_json(row["error"]),
        tags=tuple(_json(row["tags"]) or ()),
        metadata=_json(row["metadata"]) or {},
        priority=row["priority"],
        order_key=row["order_key"],
        created_at=row["created_at"],
        queued_at=row["queued_at"],
        delay_until=row["delay_until"],
        expires_at=row["expires_at"],
        started_at=row["started_at"],
        finished_at=row["finished_at"],
        attempt_count=row["attempt_count"],
        current_attempt_id=row["current_attempt_id"],
        retry=_retry(row["retry"]),
        max_duration=row["max_duration"],
        ttl=row["ttl"],
        idempotency_key=row["idempotency_key"],
        idempotency_expires_at=row["idempotency_expires_at"],
        concurrency_key=row["concurrency_key"],
        parent_run_id=row["parent_run_id"],
        root_run_id=row["root_run_id"],
        batch_id=row["batch_id"],
        replayed_from=row["replayed_from"],
        worker_id=row["worker_id"],
        lease_expires_at=row["lease_expires_at"],
        updated_at=row["updated_at"],
    )


def attempt_from_row(row: Row) -> Attempt:
    """Build an :class:`Attempt` from a ``SELECT * FROM attempts`` row."""
    return Attempt(
        id=row["id"],
        run_id=row["run_id"],
        number=row["number"],
        status=AttemptStatus(row["status"]),
        worker_id=row["worker_id"],
        started_at=row["started_at"],
        finished_at=row["finished_at"],
        error=_json(row["error"]),
    )


def task_from_row(row: Row) -> TaskInfo:
    """Build a :class:`TaskInfo` from a ``tasks`` row joined with its queue's limit."""
    return TaskInfo(
        id=row["id"],
        queue=row["queue"],
        environment=row["environment"],
        payload_schema=_json(row["payload_schema"]),
        retry=_json(row["retry"]),
        max_duration=row["max_duration"],
        ttl=row["ttl"],
        queue_concurrency_limit=row["queue_concurrency_limit"],
    )


def waitpoint_from_row(row: Row) -> Waitpoint:
    """Build a :class:`Waitpoint` from a ``SELECT * FROM waitpoints`` row."""
    return Waitpoint(
        id=row["id"],
        environment=row["environment"],
        kind=WaitpointKind(row["kind"]),
        status=WaitpointStatus(row["status"]),
        output=_json(row["output"]),
        error=_json(row["error"]),
        complete_after=row["complete_after"],
        timeout_at=row["timeout_at"],
        idempotency_key=row["idempotency_key"],
        idempotency_expires_at=row["idempotency_expires_at"],
        tags=tuple(_json(row["tags"]) or ()),
        child_run_id=row["child_run_id"],
        batch_id=row["batch_id"],
        batch_total=row["batch_total"],
        created_by_run_id=row["created_by_run_id"],
        created_at=row["created_at"],
        completed_at=row["completed_at"],
    )


def waitpoint_params(waitpoint: Waitpoint) -> dict[str, Any]:
    """Parameters of ``insert_waitpoint`` for a new waitpoint."""
    return {
        "id": waitpoint.id,
        "environment": waitpoint.environment,
        "kind": waitpoint.kind,
        "status": waitpoint.status,
        "output": None,
        "error": None,
        "complete_after": waitpoint.complete_after,
        "timeout_at": waitpoint.timeout_at,
        "idempotency_key": waitpoint.idempotency_key,
        "idempotency_expires_at": waitpoint.idempotency_expires_at,
        "tags": json.dumps(list(waitpoint.tags)),
        "child_run_id": waitpoint.child_run_id,
        "batch_id": waitpoint.batch_id,
        "batch_total": waitpoint.batch_total,
        "created_by_run_id": waitpoint.created_by_run_id,
        "completed_at": None,
        "now": waitpoint.created_at,
    }


def dump_json(value: Any) -> str | None:
    """A value as compact JSON text for a column (None stays NULL)."""
    return None if value is None else json.dumps(value, separators=(",", ":"))


def resumed_claim(row: Any, worker_id: str, lease_expires_at: float, now: float) -> Claim:
    """The claim of a run taken back to continue its current attempt (after a wait)."""
    run = dataclasses.replace(
        run_from_row(row),
        status=RunStatus.EXECUTING,
        worker_id=worker_id,
        lease_expires_at=lease_expires_at,
        updated_at=now,
    )
    return Claim(run, run.current_attempt_id or "", run.attempt_count, resumed=True)
