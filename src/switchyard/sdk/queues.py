"""Queues from code: ``queues.pause(...)``, ``queues.retrieve(...)`` and friends.

A queue is named by its name, a :class:`~switchyard.Queue`, or a task (its queue).
Every call has a ``_sync`` twin.
"""

from __future__ import annotations

import builtins
from typing import Any

from switchyard.core.models import QueueInfo, QueueStats
from switchyard.sdk import transport
from switchyard.sdk.bridge import to_thread
from switchyard.sdk.queue import Queue
from switchyard.sdk.task import Task
from switchyard.sdk.transport import DEFAULT_STATS_WINDOW

QueueRef = str | Queue | Task[Any]


def _name(queue: QueueRef) -> str:
    if isinstance(queue, Task):
        return queue.queue.name
    return queue.name if isinstance(queue, Queue) else queue


def pause_sync(queue: QueueRef) -> None:
    """Pause: running runs finish, queued and resuming runs wait, triggers are accepted."""
    transport.current_transport().pause_queue(_name(queue))


def resume_sync(queue: QueueRef) -> None:
    """Resume a paused queue; waiting runs start in priority order."""
    transport.current_transport().resume_queue(_name(queue))


def override_limit_sync(queue: QueueRef, limit: int) -> None:
    """Set a runtime concurrency limit that wins over the one in code."""
    transport.current_transport().set_queue_limit(_name(queue), limit)


def reset_limit_sync(queue: QueueRef) -> None:
    """Drop the runtime override: the limit in code applies again."""
    transport.current_transport().set_queue_limit(_name(queue), None)


def retrieve_sync(queue: QueueRef, *, window: float = DEFAULT_STATS_WINDOW) -> QueueStats:
    """A queue's statistics: counts, limit, oldest queued age, throughput, queue wait."""
    return transport.current_transport().queue_stats(_name(queue), window)


def list_sync() -> builtins.list[QueueInfo]:
    """Every queue of the environment with queued and running counts."""
    return transport.current_transport().list_queues()


async def pause(queue: QueueRef) -> None:
    """Async form of :func:`pause_sync`."""
    await to_thread(pause_sync, queue)


async def resume(queue: QueueRef) -> None:
    """Async form of :func:`resume_sync`."""
    await to_thread(resume_sync, queue)


async def override_limit(queue: QueueRef, limit: int) -> None:
    """Async form of :func:`override_limit_sync`."""
    await to_thread(override_limit_sync, queue, limit)


async def reset_limit(queue: QueueRef) -> None:
    """Async form of :func:`reset_limit_sync`."""
    await to_thread(reset_limit_sync, queue)


async def retrieve(queue: QueueRef, *, window: float = DEFAULT_STATS_WINDOW) -> QueueStats:
    """Async form of :func:`retrieve_sync`."""
    return await to_thread(retrieve_sync, queue, window=window)


async def list() -> builtins.list[QueueInfo]:
    """Async form of :func:`list_sync`."""
    return await to_thread(list_sync)
