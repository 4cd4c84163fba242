"""Running plain ``def`` tasks in threads, with best-effort interruption.

Python cannot kill a thread. To end a sync attempt (max duration, cancel, lost lease)
we raise an exception inside it with ``PyThreadState_SetAsyncExc``: it lands at the
next Python bytecode, so a blocking C call (``time.sleep``, a socket read) finishes
first.
"""

from __future__ import annotations

import asyncio
import contextvars
import ctypes
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any


class ThreadRunner:
    """A thread pool whose jobs can be interrupted one by one."""

    def __init__(self, threads: int) -> None:
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="switchyard-task")
        self._lock = threading.Lock()
        self._threads: dict[object, int] = {}

    async def run(self, job: object, fn: Callable[[], Any]) -> Any:
        """Run ``fn`` in a thread with the caller's context; ``job`` names it for interrupt."""
        ctx = contextvars.copy_context()

        def call() -> Any:
            with self._lock:
                self._threads[job] = threading.get_ident()
            try:
                return ctx.run(fn)
            finally:
                with self._lock:
                    self._threads.pop(job, None)

        return await asyncio.get_running_loop().run_in_executor(self._pool, call)

    @property
    def running(self) -> int:
        """How many jobs hold a thread now."""
        with self._lock:
            return len(self._threads)

    def interrupt(self, job: object, exc_type: type[BaseException]) -> bool:
        """Raise ``exc_type`` inside the thread running ``job``; False if it is not running."""
        with self._lock:
            ident = self._threads.get(job)
            if ident is None:
                return False
            done = ctypes.pythonapi.PyThreadState_SetAsyncExc(
                ctypes.c_ulong(ident), ctypes.py_object(exc_type)
            )
        return bool(done == 1)

    def shutdown(self) -> None:
        """Stop taking jobs; running ones go on in the background."""
        self._pool.shutdown(wait=False, cancel_futures=True)
