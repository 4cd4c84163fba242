"""The context a run executes in: ``ctx.run.id``, ``ctx.attempt.number``, ``ctx.queue.name``."""

from __future__ import annotations

import contextvars
from dataclasses import dataclass
from typing import Any

from switchyard.core.errors import SwitchyardError


@dataclass(frozen=True, slots=True)
class RunInfo:
    """The run being executed."""

    id: str
    tags: tuple[str, ...]
    metadata: dict[str, Any]
    created_at: float
    idempotency_key: str | None
    parent_run_id: str | None
    root_run_id: str | None
    batch_id: str | None
    max_attempts: int


@dataclass(frozen=True, slots=True)
class AttemptInfo:
    """The attempt being executed (``number`` starts at 1)."""

    id: str
    number: int
    started_at: float


@dataclass(frozen=True, slots=True)
class NamedRef:
    """A task, queue or environment, by name."""

    id: str

    @property
    def name(self) -> str:
        """Same as ``id``."""
        return self.id


@dataclass(frozen=True, slots=True)
class RunContext:
    """Everything a task may want to know about where it runs."""

    run: RunInfo
    attempt: AttemptInfo
    task: NamedRef
    queue: NamedRef
    environment: NamedRef
    worker_id: str


_current: contextvars.ContextVar[RunContext | None] = contextvars.ContextVar(
    "switchyard_run_context", default=None
)


def current_context() -> RunContext | None:
    """The context of the run executing here, or None outside runs."""
    return _current.get()


def context() -> RunContext:
    """The context of the run executing here; raises outside a run."""
    ctx = _current.get()
    if ctx is None:
        raise SwitchyardError("switchyard.context() is only available inside a running task")
    return ctx


def set_context(ctx: RunContext | None) -> contextvars.Token[RunContext | None]:
    """Bind ``ctx`` for the current asyncio task or thread (used by workers)."""
    return _current.set(ctx)
