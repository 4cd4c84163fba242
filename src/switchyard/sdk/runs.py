"""Working with runs from anywhere: retrieve, list, cancel, replay, poll."""

from __future__ import annotations

import asyncio
import builtins
import time
from collections.abc import Sequence
from typing import Any

from switchyard.core.clock import monotonic
from switchyard.core.handles import RunHandle
from switchyard.core.models import Run, RunFilter, RunPage
from switchyard.core.states import RunStatus
from switchyard.sdk import transport
from switchyard.sdk.bridge import to_thread

RunRef = str | RunHandle


def _id(run: RunRef) -> str:
    return run.id if isinstance(run, RunHandle) else run


def retrieve_sync(run: RunRef) -> Run:
    """The run as stored now."""
    return transport.current_transport().retrieve_run(_id(run))


async def retrieve(run: RunRef) -> Run:
    """The run as stored now."""
    return await to_thread(retrieve_sync, run)


def list_sync(
    *,
    status: RunStatus | str | Sequence[RunStatus | str] | None = None,
    task: str | Sequence[str] | None = None,
    tag: str | None = None,
    queue: str | None = None,
    created_after: float | None = None,
    created_before: float | None = None,
    idempotency_key: str | None = None,
    batch_id: str | None = None,
    limit: int = 50,
    cursor: str | None = None,
) -> RunPage:
    """Runs newest first; every filter narrows the list."""
    statuses = (status,) if isinstance(status, str) else tuple(status or ())
    tasks = (task,) if isinstance(task, str) else tuple(task or ())
    filters = RunFilter(  # the environment is the transport's
        statuses=tuple(RunStatus(s) for s in statuses),
        task_ids=tuple(tasks),
        tag=tag,
        queue=queue,
        created_after=created_after,
        created_before=created_before,
        idempotency_key=idempotency_key,
        batch_id=batch_id,
    )
    return transport.current_transport().list_runs(filters, limit, cursor)


async def list(**filters: Any) -> RunPage:
    """Async form of :func:`list_sync`."""
    return await to_thread(list_sync, **filters)


def cancel_sync(run: RunRef) -> builtins.list[str]:
    """Cancel a run and its unfinished children; returns the ids canceled."""
    return transport.current_transport().cancel_run(_id(run))


async def cancel(run: RunRef) -> builtins.list[str]:
    """Async form of :func:`cancel_sync`."""
    return await to_thread(cancel_sync, run)


def replay_sync(run: RunRef, payload: Any = None) -> RunHandle:
    """A new run of the same task with the same payload (or ``payload`` if given)."""
    return transport.current_transport().replay_run(_id(run), payload)


async def replay(run: RunRef, payload: Any = None) -> RunHandle:
    """Async form of :func:`replay_sync`."""
    return await to_thread(replay_sync, run, payload)


def poll_sync(run: RunRef, *, timeout: float = 60.0, interval: float = 0.05) -> Run:
    """Wait until the run is final and return it; ``TimeoutError`` after ``timeout``."""
    deadline = monotonic() + timeout
    while True:
        current = retrieve_sync(run)
        if current.is_final:
            return current
        if monotonic() >= deadline:
            raise TimeoutError(f"run {current.id} is still {current.status} after {timeout}s")
        time.sleep(interval)


async def poll(run: RunRef, *, timeout: float = 60.0, interval: float = 0.05) -> Run:
    """Wait until the run is final and return it; ``TimeoutError`` after ``timeout``."""
    deadline = monotonic() + timeout
    while True:
        current = await retrieve(run)
        if current.is_final:
            return current
        if monotonic() >= deadline:
            raise TimeoutError(f"run {current.id} is still {current.status} after {timeout}s")
        await asyncio.sleep(interval)
