"""Sync and async, bridged in one place.

- :func:`to_thread`: the async twin of a sync SDK function outside a run runs the sync
  one in a thread (the transports are blocking: a database or an HTTP client).
- :func:`run_sync`: a sync call made inside a run (a plain ``def`` task's thread) runs
  the async, journaled operation on the run's event loop and waits for it.

Every ``async def x`` / ``def x_sync`` pair in ``switchyard.sdk`` goes through these.
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Callable, Coroutine
from typing import Any, ParamSpec, TypeVar

from switchyard.sdk.execution import current_execution, sync_thread_context

T = TypeVar("T")
P = ParamSpec("P")

__all__ = ["run_sync", "to_thread"]


async def to_thread(fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
    """Run the sync ``fn`` in a worker thread (with this context) and await its result."""
    return await asyncio.to_thread(fn, *args, **kwargs)


def run_sync(coro_factory: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run an execution coroutine from a sync task's thread on the run's loop."""
    execution = current_execution()
    if execution is None:
        raise RuntimeError("no execution in this thread")
    ctx = sync_thread_context()  # a wait that must suspend unwinds this thread
    future = asyncio.run_coroutine_threadsafe(_in_context(ctx, coro_factory), execution.loop)
    return future.result()


async def _in_context(ctx: contextvars.Context, fn: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run ``fn()`` in the calling thread's context (its run context and execution)."""
    task: asyncio.Task[T] = asyncio.get_running_loop().create_task(fn(), context=ctx)
    return await task
