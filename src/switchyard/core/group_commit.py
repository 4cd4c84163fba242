"""Group commit: writes of one kind made at about the same time share a transaction.

Callers submit items one by one and each waits for its own result; while a write is in
flight, new items queue up and the next write takes all of them (up to ``max_size``).
Under load this turns thousands of tiny transactions (runs creating their waitpoints,
runs suspending, HTTP trigger requests) into a few large ones, since commits wait for
the disk; alone, an item is written at once. The worker (waitpoints, suspensions) and
the HTTP server (trigger requests) both write through it.

Pure asyncio: the blocking write is handed to ``call`` (the worker's database thread,
the server's thread pool).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Generic, TypeVar

I = TypeVar("I")  # noqa: E741 - item
R = TypeVar("R")


class GroupCommit(Generic[I, R]):
    """Submits items one by one; ``write`` stores a list of them in one transaction and
    returns one result per item, or an exception in place of a result to fail just that
    item.

    ``writers``: how many writes may be in flight at once. ``size`` weighs an item (a
    trigger request by its runs) and a group stays under ``max_size`` (a single item
    over it is written alone). ``isolate``: when a write of several items raises, write
    each alone, so only the item at fault fails (else they all get the exception).
    """

    def __init__(
        self,
        call: Callable[..., Awaitable[Any]],
        write: Callable[[Sequence[I]], Sequence[R | BaseException]],
        *,
        max_size: int = 500,
        size: Callable[[I], int] = lambda item: 1,
        writers: int = 1,
        isolate: bool = False,
    ) -> None:
        self._call = call
        self._write = write
        self._max = max_size
        self._size = size
        self._writers = writers
        self._isolate = isolate
        self._queue: list[tuple[I, asyncio.Future[R]]] = []
        self._in_flight = 0
        self._tasks: set[asyncio.Task[None]] = set()

    async def submit(self, item: I) -> R:
        """Queue ``item`` for the next write and wait for its result."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[R] = loop.create_future()
        self._queue.append((item, future))
        if self._in_flight < self._writers:
            self._in_flight += 1
            task = loop.create_task(self._drain())
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return await future

    async def _drain(self) -> None:
        try:
            while self._queue:
                group: list[tuple[I, asyncio.Future[R]]] = []
                total = 0
                while self._queue and (
                    not group or total + self._size(self._queue[0][0]) <= self._max
                ):
                    entry = self._queue.pop(0)
                    group.append(entry)
                    total += self._size(entry[0])
                await self._commit(group)
        finally:
            self._in_flight -= 1

    async def _commit(self, group: list[tuple[I, asyncio.Future[R]]]) -> None:
        try:
            results = await self._call(self._write, [item for item, _ in group])
        except BaseException as exc:
            if self._isolate and len(group) > 1 and isinstance(exc, Exception):
                for entry in group:  # one bad item broke the write: write each alone
                    await self._commit([entry])
                return
            for _, future in group:
                if not future.done():
                    future.set_exception(exc)
            if not isinstance(exc, Exception):
                raise
            return
        for (_, future), result in zip(group, results, strict=True):
            if future.done():
                continue
            if isinstance(result, BaseException):
                future.set_exception(result)
            else:
                future.set_result(result)
