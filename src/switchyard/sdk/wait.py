"""Durable waits: ``wait.for_``, ``wait.until``, tokens.

Inside a run every wait is durable: the run gives its worker slot back, survives
restarts, and continues (in place, or by replaying its journal on any worker) when
the wait is over. Each call has a ``_sync`` twin for plain ``def`` tasks and sync code.
"""

from __future__ import annotations

import builtins
import datetime as dt
from collections.abc import Sequence
from typing import Any

from switchyard.core.durations import DurationLike, parse_duration, parse_optional_duration
from switchyard.core.errors import InvalidOptionError, NotInRunError
from switchyard.core.handles import Token, WaitResult
from switchyard.core.idempotency import IdempotencyKey, scoped_key
from switchyard.core.models import DEFAULT_ENVIRONMENT, DEFAULT_IDEMPOTENCY_TTL
from switchyard.core.waitpoints import (
    NewWaitpoint,
    Waitpoint,
    WaitpointFilter,
    WaitpointKind,
    WaitpointStatus,
)
from switchyard.engine.tokens import TimeoutLike, token_signature
from switchyard.runtime import Runtime, current_runtime
from switchyard.sdk import transport
from switchyard.sdk.bridge import run_sync, to_thread
from switchyard.sdk.execution import Execution, current_execution

__all__ = [
    "complete_token",
    "complete_token_sync",
    "create_token",
    "create_token_sync",
    "for_",
    "for_sync",
    "for_token",
    "for_token_sync",
    "list_tokens",
    "list_tokens_sync",
    "retrieve_token",
    "retrieve_token_sync",
    "token_signature",
    "token_url",
    "until",
    "until_sync",
]


def _execution(what: str) -> Execution:
    execution = current_execution()
    if execution is None:
        raise NotInRunError(
            f"{what} only works inside a running task; outside one use asyncio.sleep, "
            "or trigger a task that waits"
        )
    return execution


def _key(key: str | Sequence[str] | None, execution: Execution | None) -> str | None:
    if key is None or isinstance(key, IdempotencyKey):
        return key
    parts = key if isinstance(key, str) else list(key)
    if execution is not None:
        return scoped_key(parts, "run", run_id=execution.run_id)
    return scoped_key(parts, "global")


def token_url(runtime: Runtime, token_id: str) -> str:
    """The callback URL of a token: POST JSON there to complete it."""
    return runtime.engine.token_url(runtime.config.public_url, token_id)


# -- durations -----------------------------------------------------------------------
async def _wait_until(
    timestamp: float,
    kind: WaitpointKind,
    idempotency_key: str | Sequence[str] | None,
    idempotency_key_ttl: DurationLike | None,
) -> None:
    execution = _execution("wait.for_ / wait.until")
    if idempotency_key is None and await execution.sleep_inline(timestamp):
        return  # short: slept in the worker, no checkpoint (as in Trigger.dev)
    ref, entry = execution.next_ref("wait", kind)
    if entry is not None and entry.waitpoint is not None:
        waitpoint = entry.waitpoint
    else:
        ttl = parse_optional_duration(idempotency_key_ttl, option="idempotency_key_ttl")
        new = NewWaitpoint(
            kind,
            execution.environment,
            complete_after=timestamp,
            idempotency_key=_key(idempotency_key, execution),
            idempotency_ttl=DEFAULT_IDEMPOTENCY_TTL if ttl is None else ttl,
            created_by_run_id=execution.run_id,
        )
        if new.idempotency_key is None:
            waitpoint = execution.defer_waitpoint(new, ref)  # stored as the run suspends
        else:
            waitpoint, _ = await execution.create_waitpoint(new, ref)
    await execution.wait_for(waitpoint)


async def for_(
    *,
    seconds: float = 0,
    minutes: float = 0,
    hours: float = 0,
    days: float = 0,
    weeks: float = 0,
    idempotency_key: str | Sequence[str] | None = None,
    idempotency_key_ttl: DurationLike | None = None,
) -> None:
    """Wait for a time. The run frees its slot and continues after any restart.

    Waits of the worker's ``inline_wait_max`` (5 s) or less, without an idempotency
    key, sleep in the worker instead: the run stays EXECUTING and keeps its queue slot.

    With an ``idempotency_key`` (``ctx.run.id``, say) a retried attempt that reaches
    the same wait finds it already done and goes straight on.
    """
    total = seconds + 60 * minutes + 3600 * hours + 86400 * days + 604800 * weeks
    parse_duration(total, option="wait.for_ duration")
    execution = _execution("wait.for_")
    await _wait_until(
        execution.host.now() + total,
        WaitpointKind.DURATION,
        idempotency_key,
        idempotency_key_ttl,
    )


async def until(
    date: dt.datetime,
    *,
    idempotency_key: str | Sequence[str] | None = None,
    idempotency_key_ttl: DurationLike | None = None,
) -> None:
    """Wait until a (timezone-aware) datetime."""
    if not isinstance(date, dt.datetime) or date.tzinfo is None:
        raise InvalidOptionError("date", date, "a timezone-aware datetime")
    await _wait_until(
        date.timestamp(), WaitpointKind.DATETIME, idempotency_key, idempotency_key_ttl
    )


# -- tokens -------------------------------------------------------------------------
async def create_token(
    *,
    timeout: TimeoutLike = None,
    idempotency_key: str | Sequence[str] | None = None,
    idempotency_key_ttl: DurationLike | None = None,
    tags: str | Sequence[str] | None = None,
) -> Token:
    """Create a token that something outside completes (a human, a webhook).

    ``timeout`` (a duration or a datetime) times the token out, completing it with an
    error; without one the token waits until it is completed or timed out by hand.
    """
    execution = current_execution()
    if execution is None:
        return await to_thread(
            create_token_sync,
            timeout=timeout,
            idempotency_key=idempotency_key,
            idempotency_key_ttl=idempotency_key_ttl,
            tags=tags,
        )
    runtime = current_runtime()
    name = str(idempotency_key) if isinstance(idempotency_key, str) else ""
    ref, entry = execution.next_ref("token", name)
    if entry is not None and entry.waitpoint is not None:
        waitpoint, cached = entry.waitpoint, True
    else:
        new = _new_token(runtime, execution, timeout, idempotency_key, idempotency_key_ttl, tags)
        waitpoint, cached = await execution.create_waitpoint(new, ref)
    url = await execution.host.db(token_url, runtime, waitpoint.id)
    return Token(waitpoint.id, url, cached)


def _new_token(
    runtime: Runtime,
    execution: Execution | None,
    timeout: TimeoutLike,
    idempotency_key: str | Sequence[str] | None,
    idempotency_key_ttl: DurationLike | None,
    tags: str | Sequence[str] | None,
) -> NewWaitpoint:
    return runtime.engine.new_token(
        timeout=timeout,
        idempotency_key=_key(idempotency_key, execution),
        idempotency_key_ttl=idempotency_key_ttl,
        tags=tags,
        created_by_run_id=None if execution is None else execution.run_id,
    )


def create_token_sync(
    *,
    timeout: TimeoutLike = None,
    idempotency_key: str | Sequence[str] | None = None,
    idempotency_key_ttl: DurationLike | None = None,
    tags: str | Sequence[str] | None = None,
) -> Token:
    """Sync form of :func:`create_token`."""
    if current_execution() is not None:
        return run_sync(
            lambda: create_token(
                timeout=timeout,
                idempotency_key=idempotency_key,
                idempotency_key_ttl=idempotency_key_ttl,
                tags=tags,
            )
        )
    return transport.current_transport().create_token(
        timeout, _key(idempotency_key, None), idempotency_key_ttl, tags
    )


def _token_id(token: Token | Waitpoint | str) -> str:
    return token if isinstance(token, str) else token.id


def _result(waitpoint: Waitpoint) -> WaitResult:
    if waitpoint.status == WaitpointStatus.TIMED_OUT:
        return WaitResult(False, None, waitpoint.error)
    return WaitResult(True, waitpoint.output, None)


async def for_token(token: Token | Waitpoint | str) -> WaitResult:
    """Wait until the token is completed (``ok``, with its output) or times out."""
    execution = _execution("wait.for_token")
    token_id = _token_id(token)
    ref, entry = execution.next_ref("wait_token", token_id)
    if entry is not None and entry.waitpoint is not None:
        waitpoint = entry.waitpoint
    else:
        found = await execution.host.db(execution.engine.get_waitpoint, token_id)
        if found is None or found.kind != WaitpointKind.TOKEN:
            raise InvalidOptionError("token", token_id, "the id of an existing token")
        await execution.record(
            execution.engine.record_journal, ref, None, execution.host.now(), found.id
        )
        waitpoint = found
    return _result(await execution.wait_for(waitpoint))


async def complete_token(token: Token | Waitpoint | str, data: Any = None) -> Waitpoint:
    """Complete a token with ``data`` as its output. The first completion wins."""
    return await to_thread(complete_token_sync, token, data)


def complete_token_sync(token: Token | Waitpoint | str, data: Any = None) -> Waitpoint:
    """Sync form of :func:`complete_token`."""
    return transport.current_transport().complete_token(_token_id(token), data)


def retrieve_token_sync(token: Token | Waitpoint | str) -> Waitpoint:
    """A token's current state."""
    return transport.current_transport().retrieve_token(_token_id(token))


async def retrieve_token(token: Token | Waitpoint | str) -> Waitpoint:
    """A token's current state."""
    return await to_thread(retrieve_token_sync, token)


def list_tokens_sync(
    *,
    status: str | Sequence[str] | None = None,
    tag: str | None = None,
    idempotency_key: str | None = None,
    created_after: float | dt.datetime | None = None,
    created_before: float | dt.datetime | None = None,
    limit: int = 50,
    cursor: str | None = None,
) -> tuple[builtins.list[Waitpoint], str | None]:
    """Tokens newest first, filtered; returns the page and the next cursor."""
    statuses = (status,) if isinstance(status, str) else tuple(status or ())

    def ts(value: float | dt.datetime | None) -> float | None:
        return value.timestamp() if isinstance(value, dt.datetime) else value

    filters = WaitpointFilter(
        environment=DEFAULT_ENVIRONMENT,  # not used: the transport's environment
        statuses=tuple(WaitpointStatus(s.upper()) for s in statuses),
        tag=tag,
        idempotency_key=idempotency_key,
        created_after=ts(created_after),
        created_before=ts(created_before),
    )
    return transport.current_transport().list_tokens(filters, limit, cursor)


async def list_tokens(**filters: Any) -> tuple[builtins.list[Waitpoint], str | None]:
    """Async form of :func:`list_tokens_sync`."""
    return await to_thread(list_tokens_sync, **filters)


# -- sync twins for plain `def` tasks -----------------------------------------------------
def for_sync(**kwargs: Any) -> None:
    """Sync form of :func:`for_` (inside a plain ``def`` task)."""
    _execution("wait.for_sync")
    run_sync(lambda: for_(**kwargs))


def until_sync(date: dt.datetime, **kwargs: Any) -> None:
    """Sync form of :func:`until`."""
    _execution("wait.until_sync")
    run_sync(lambda: until(date, **kwargs))


def for_token_sync(token: Token | Waitpoint | str) -> WaitResult:
    """Sync form of :func:`for_token`."""
    _execution("wait.for_token_sync")
    return run_sync(lambda: for_token(token))
