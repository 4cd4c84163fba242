"""Waitpoints: what a run can block on, and the journal that checkpoints a run."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from switchyard.core.ids import new_id


class WaitpointKind(StrEnum):
    """What completes the waitpoint."""

    DURATION = "DURATION"  # wait.for_: completes by itself after a time
    DATETIME = "DATETIME"  # wait.until: completes by itself at a time
    TOKEN = "TOKEN"  # completed from outside: SDK, callback URL, dashboard, CLI
    RUN = "RUN"  # a child run finishing (trigger_and_wait)
    BATCH = "BATCH"  # every run of a batch finishing (batch_trigger_and_wait)


class WaitpointStatus(StrEnum):
    """Pending until completed (with an output) or timed out (with an error)."""

    PENDING = "PENDING"
    COMPLETED = "COMPLETED"
    TIMED_OUT = "TIMED_OUT"


@dataclass(frozen=True, slots=True)
class Waitpoint:
    """A waitpoint as stored."""

    id: str
    environment: str
    kind: WaitpointKind
    status: WaitpointStatus
    output: Any
    error: dict[str, Any] | None
    complete_after: float | None
    timeout_at: float | None
    idempotency_key: str | None
    idempotency_expires_at: float | None
    tags: tuple[str, ...]
    child_run_id: str | None
    batch_id: str | None
    batch_total: int | None
    created_by_run_id: str | None
    created_at: float
    completed_at: float | None

    @property
    def is_pending(self) -> bool:
        """True until completed or timed out."""
        return self.status == WaitpointStatus.PENDING


@dataclass(frozen=True, slots=True)
class NewWaitpoint:
    """A waitpoint to create."""

    kind: WaitpointKind
    environment: str
    complete_after: float | None = None
    timeout_at: float | None = None
    idempotency_key: str | None = None
    idempotency_ttl: float | None = None
    tags: tuple[str, ...] = ()
    child_run_id: str | None = None
    batch_id: str | None = None
    batch_total: int | None = None
    created_by_run_id: str | None = None


@dataclass(frozen=True, slots=True)
class JournalRef:
    """Where a durable operation stands in an attempt's journal."""

    run_id: str
    attempt_number: int
    position: int
    kind: str
    name: str


@dataclass(frozen=True, slots=True)
class JournalEntry:
    """A recorded durable operation, with its waitpoint when it has one."""

    position: int
    kind: str
    name: str
    waitpoint_id: str | None
    result: Any
    waitpoint: Waitpoint | None


@dataclass(frozen=True, slots=True)
class WaitpointFilter:
    """Filters for listing waitpoints (tokens)."""

    environment: str
    kinds: tuple[WaitpointKind, ...] = (WaitpointKind.TOKEN,)
    statuses: tuple[WaitpointStatus, ...] = ()
    tag: str | None = None
    idempotency_key: str | None = None
    created_after: float | None = None
    created_before: float | None = None
    created_by_run_id: str | None = None


def new_waitpoint(new: NewWaitpoint, now: float) -> Waitpoint:
    """The pending waitpoint ``new`` makes at ``now``, with a fresh id (not stored yet)."""
    key = new.idempotency_key
    expires = (
        now + new.idempotency_ttl if key is not None and new.idempotency_ttl is not None else None
    )
    return Waitpoint(
        id=new_id("waitpoint", now),
        environment=new.environment,
        kind=new.kind,
        status=WaitpointStatus.PENDING,
        output=None,
        error=None,
        complete_after=new.complete_after,
        timeout_at=new.timeout_at,
        idempotency_key=key,
        idempotency_expires_at=expires,
        tags=tuple(new.tags),
        child_run_id=new.child_run_id,
        batch_id=new.batch_id,
        batch_total=new.batch_total,
        created_by_run_id=new.created_by_run_id,
        created_at=now,
        completed_at=None,
    )
