"""Group commit: storage calls of one kind made at about the same time share a transaction.

While one batch is being written, new requests queue up; the next write takes all of
them. Under load this turns thousands of tiny transactions (each run creating its
waitpoint, each run suspending) into a few large ones; when idle a request is
written at once.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Generic, TypeVar

I = TypeVar("I")  # noqa: E741 - item
R = TypeVar("R")


class Batcher(Generic[I, R]):
    """Submits items one by one; ``bulk`` writes a list of them and returns one result each.

    ``bulk`` may return an exception in place of a result to fail just that item.
    """

    def __init__(
        self,
        call: Callable[..., Awaitable[Any]],
        bulk: Callable[[Sequence[I]], Sequence[R | BaseException]],
        max_batch: int = 500,
    ) -> None:
        self._call = call
        self._bulk = bulk
        self._max = max_batch
        self._queue: list[tuple[I, asyncio.Future[R]]] = []
        self._writer: asyncio.Task[None] | None = None

    async def submit(self, item: I) -> R:
        """Queue ``item`` for the next write and wait for its result."""
        future: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        self._queue.append((item, future))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write())
        return await future

    async def _write(self) -> None:
        while self._queue:
            batch, self._queue = self._queue[: self._max], self._queue[self._max :]
            try:
                results = await self._call(self._bulk, [item for item, _ in batch])
            except Exception as exc:
                for _, future in batch:
                    if not future.done():
                        future.set_exception(exc)
                continue
            for (_, future), result in zip(batch, results, strict=True):
                if future.done():
                    continue
                if isinstance(result, BaseException):
                    future.set_exception(result)
                else:
                    future.set_result(result)
