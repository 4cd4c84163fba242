"""Helpers shared by tests."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from switchyard.core.clock import monotonic
from switchyard.runtime import Runtime
from switchyard.worker import Worker


@asynccontextmanager
async def running_worker(
    runtime: Runtime, task_ids: list[str], **options: object
) -> AsyncIterator[Worker]:
    """A worker for ``task_ids`` running in this event loop until the block exits."""
    worker = Worker(runtime, task_ids=task_ids, **options)  # type: ignore[arg-type]
    job = asyncio.create_task(worker.run())
    await asyncio.wait_for(worker.started.wait(), 10)
    try:
        yield worker
    finally:
        worker.stop()
        await asyncio.wait_for(job, 30)


async def eventually(check: Callable[[], object], timeout: float = 10.0) -> object:
    """Poll ``check`` (sync) until it returns a truthy value."""
    deadline = monotonic() + timeout
    while True:
        value = await asyncio.to_thread(check)
        if value:
            return value
        if monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        await asyncio.sleep(0.02)
