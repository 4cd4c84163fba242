"""``idempotency_keys.create(key, scope=...)``: keys scoped to a run, an attempt, or global."""

from __future__ import annotations

from switchyard.core.idempotency import IdempotencyKey, Scope, scoped_key
from switchyard.sdk.context import current_context

__all__ = ["IdempotencyKey", "create"]


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
