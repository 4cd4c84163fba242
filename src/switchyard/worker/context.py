"""What a task sees of its run (``ctx``), made from the worker's claim."""

from __future__ import annotations

from switchyard.core.models import Claim
from switchyard.sdk.context import AttemptInfo, NamedRef, RunContext, RunInfo


def run_context(claim: Claim, worker_id: str, now: float) -> RunContext:
    """The :class:`RunContext` of a claimed attempt that starts (or resumes) at ``now``."""
    run = claim.run
    return RunContext(
        run=RunInfo(
            id=run.id,
            tags=run.tags,
            metadata=run.metadata,
            created_at=run.created_at,
            idempotency_key=run.idempotency_key,
            parent_run_id=run.parent_run_id,
            root_run_id=run.root_run_id,
            batch_id=run.batch_id,
            max_attempts=run.retry.max_attempts,
        ),
        attempt=AttemptInfo(claim.attempt_id, claim.attempt_number, now),
        task=NamedRef(run.task_id),
        queue=NamedRef(run.queue),
        environment=NamedRef(run.environment),
        worker_id=worker_id,
    )
