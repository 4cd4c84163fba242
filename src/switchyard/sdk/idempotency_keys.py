"""``idempotency_keys.create(key, scope=...)``: keys scoped to a run, an attempt, or global."""

from __future__ import annotations

from typing import Any

from switchyard.core.idempotency import IdempotencyKey, Scope, scoped_key
from switchyard.sdk import transport
from switchyard.sdk.bridge import to_thread
from switchyard.sdk.context import current_context

__all__ = ["IdempotencyKey", "create", "reset", "reset_sync"]


def create(key: str | list[str], *, scope: Scope = "run") -> IdempotencyKey:
    """A key for triggers and waits.

    ``run`` (the default) makes the key unique to the current run, so a retried attempt
    finds what the first attempt triggered; ``attempt`` makes it unique to the current
    attempt; ``global`` uses it as is across all runs. Outside a run every scope is
    global.
    """
    ctx = current_context()
    if ctx is None or scope == "global":
        return scoped_key(key, "global")
    return scoped_key(key, scope, run_id=ctx.run.id, attempt_number=ctx.attempt.number)


def reset_sync(task: Any, key: str | list[str]) -> bool:
    """Free ``key`` for ``task`` (a Task or its id): the next trigger makes a new run.

    A plain string is taken as given (a global key), like a trigger outside a run.
    Returns whether a run held the key.
    """
    task_id = task if isinstance(task, str) else task.id
    resolved = key if isinstance(key, IdempotencyKey) else scoped_key(key, "global")
    return transport.current_transport().reset_idempotency_key(task_id, resolved)


async def reset(task: Any, key: str | list[str]) -> bool:
    """Async form of :func:`reset_sync`."""
    return await to_thread(reset_sync, task, key)
