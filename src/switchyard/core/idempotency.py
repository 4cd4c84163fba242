"""Idempotency keys and their scopes.

A key can be scoped to the current run, the current attempt, or be global. Scoped
keys are hashed together with the run id (and attempt number) so the same string in
two different runs never collides.
"""

from __future__ import annotations

import hashlib
from typing import Literal

from switchyard.core.errors import InvalidOptionError

Scope = Literal["run", "attempt", "global"]
_MAX_KEY = 512


class IdempotencyKey(str):
    """A key already resolved to its scope; used as is by triggers and waits."""

    __slots__ = ()


def scoped_key(
    key: str | list[str] | tuple[str, ...],
    scope: Scope,
    *,
    run_id: str | None = None,
    attempt_number: int | None = None,
) -> IdempotencyKey:
    """Resolve ``key`` for ``scope`` (``run``/``attempt`` need the current run)."""
    parts = [key] if isinstance(key, str) else [str(p) for p in key]
    if not parts or any(not p for p in parts):
        raise InvalidOptionError("idempotency_key", key, "a non-empty string or list of strings")
    if scope == "global":
        if len(parts) == 1 and len(parts[0]) <= _MAX_KEY:
            return IdempotencyKey(parts[0])
    elif scope in ("run", "attempt"):
        if run_id is None:
            raise InvalidOptionError(
                "scope", scope, "'global' outside a run: run and attempt scopes need a run"
            )
        parts = [*parts, run_id]
        if scope == "attempt":
            parts.append(str(attempt_number))
    else:
        raise InvalidOptionError("scope", scope, "'run', 'attempt' or 'global'")
    return IdempotencyKey(hashlib.sha256("\x1f".join(parts).encode()).hexdigest())
