"""One line per run state change, for the person watching ``switchyard dev``.

A hook on the engine (:mod:`switchyard.engine.hooks`): ``switchyard dev`` prints the
lines with rich; ``switchyard -v worker`` logs them at DEBUG on ``switchyard.worker``.
"""

from __future__ import annotations

import atexit
import datetime as dt
import logging
import queue
import threading
from collections.abc import Callable

from rich.console import Console
from rich.markup import escape

from switchyard.core.states import RunStatus
from switchyard.engine.hooks import (
    AttemptEvent,
    AttemptResult,
    CancelEvent,
    ClaimEvent,
    Hooks,
    RecoverEvent,
    ResumeEvent,
    SuspendEvent,
    TriggerEvent,
    WaitpointEvent,
)

from . import render

Sink = Callable[[float, str, str, str, str], None]
"""``(at, run id, task id, state, detail)`` → wherever the line goes."""

_STYLE = {str(status): style for status, style in render.STATUS_STYLE.items()} | {
    "TRIGGERED": "cyan",
    "RESUMED": "bold blue",
    "RETRYING": "yellow",
    "STOPPED": "dim",
    "RECOVERED": "yellow",
}


class RunStateLines(Hooks):
    """Turns engine events into ``run task STATE detail`` lines for a sink."""

    name = "dev-console"

    def __init__(self, sink: Sink) -> None:
        self._sink = sink
        # run id -> task id, and attempt id -> start: for lines whose events lack them
        # (a suspension, an attempt's duration). Emptied as attempts end.
        self._tasks: dict[str, str] = {}
        self._started: dict[str, float] = {}
        self._lock = threading.Lock()  # hooks run on the db thread and the lease keeper's

    def after_trigger(self, event: TriggerEvent) -> None:
        """``TRIGGERED`` (or ``DELAYED``) per new run; a cached one says so."""
        for new, result in zip(event.runs, event.results or (), strict=False):
            if result.is_cached:
                detail = "idempotency key matched an existing run"
            elif new.delay_until is not None and new.delay_until > event.at:
                detail = f"delayed {new.delay_until - event.at:.1f}s"
            else:
                detail = f"queue {new.queue}"
            self._sink(event.at, result.run_id, result.task_id, "TRIGGERED", detail)

    def after_claim(self, event: ClaimEvent) -> None:
        """``EXECUTING attempt N``."""
        with self._lock:
            self._tasks[event.run_id] = event.task_id
            self._started[event.attempt_id] = event.at
        detail = f"attempt {event.attempt_number}"
        self._sink(event.at, event.run_id, event.task_id, str(RunStatus.EXECUTING), detail)

    def after_attempt(self, event: AttemptEvent) -> None:
        """``COMPLETED in 0.21s``, ``FAILED attempt 1: ValueError: boom — retrying in 2s``…"""
        with self._lock:
            started = self._started.pop(event.attempt_id, None)
            task = event.task_id or self._tasks.get(event.run_id, "")
            if event.result != AttemptResult.RETRYING:
                self._tasks.pop(event.run_id, None)
        took = "" if started is None else f" in {event.at - started:.2f}s"
        number = event.attempt_number
        error = event.error or {}
        why = f"{error.get('type', 'Error')}: {error.get('message', '')}".rstrip(": ")
        if event.result == AttemptResult.COMPLETED:
            state, detail = str(RunStatus.COMPLETED), took.strip()
        elif event.result == AttemptResult.RETRYING:
            wait = 0.0 if event.retry_at is None else max(0.0, event.retry_at - event.at)
            state, detail = "FAILED", f"attempt {number}: {why} — retrying in {wait:.1f}s"
        elif event.result == AttemptResult.TIMED_OUT:
            state, detail = str(RunStatus.TIMED_OUT), f"attempt {number}: {why}"
        elif event.result == AttemptResult.STOPPED:
            state, detail = "STOPPED", f"attempt {number}: {event.reason or 'stopped'}"
        else:
            state, detail = str(event.status or "FAILED"), f"attempt {number}: {why}{took}"
        self._sink(event.at, event.run_id, task, state, detail)

    def after_suspend(self, event: SuspendEvent) -> None:
        """``WAITING on duration waitpoint_…`` (kinds of waitpoints made earlier are not
        known here: they are named by id)."""
        kinds = {w.id: f"{w.kind} " for w in event.new_waitpoints}
        on = ", ".join(f"{kinds.get(w, '')}{w}" for w in event.waitpoint_ids)
        with self._lock:
            task = self._tasks.get(event.run_id, "")
        self._sink(event.at, event.run_id, task, str(RunStatus.WAITING), f"on {on}")

    def after_resume(self, event: ResumeEvent) -> None:
        """``RESUMED attempt N``."""
        with self._lock:
            self._tasks[event.run_id] = event.task_id
        detail = f"attempt {event.attempt_number}"
        self._sink(event.at, event.run_id, event.task_id, "RESUMED", detail)

    def after_waitpoint_complete(self, event: WaitpointEvent) -> None:
        """``waitpoint_… token COMPLETED via http``."""
        how = str(event.waitpoint.status)
        self._sink(event.at, event.id, str(event.kind), how, f"via {event.door}")

    def after_cancel(self, event: CancelEvent) -> None:
        """``CANCELED`` with how many descendants went with it."""
        more = len(event.canceled) - 1
        detail = f"and {more} descendant run(s)" if more > 0 else ""
        with self._lock:
            task = self._tasks.get(event.run_id, "")
        self._sink(event.at, event.run_id, task, str(RunStatus.CANCELED), detail)

    def after_recover(self, event: RecoverEvent) -> None:
        """Runs taken back from a worker that stopped renewing its lease; TTL expiries."""
        for run_id in event.recovered:
            self._sink(event.at, run_id, "", "RECOVERED", "its worker's lease lapsed")
        if event.expired:
            self._sink(event.at, "", "", str(RunStatus.EXPIRED), f"{event.expired} run(s)")


def console_sink(console: Console | None = None) -> Sink:
    """Print each line with rich: ``12:03:04 run_… hello-world  EXECUTING  attempt 1``.

    Hooks run inside the engine's operations (on the worker's database thread), so the
    sink only queues the line; a thread of its own formats and prints it, and whatever
    is queued is printed at exit. Printing never slows a claim or a resume.
    """
    out = console or render.console
    lines: queue.SimpleQueue[tuple[float, str, str, str, str] | None] = queue.SimpleQueue()

    def show(at: float, run_id: str, task_id: str, state: str, detail: str) -> None:
        clock = dt.datetime.fromtimestamp(at).strftime("%H:%M:%S")
        style = _STYLE.get(state, "bold")
        out.print(
            f"[dim]{clock}[/] {escape(run_id)} [bold]{escape(task_id)}[/]  "
            f"[{style}]{state}[/]  {escape(detail)}",
            soft_wrap=True,
            highlight=False,
        )

    def printer() -> None:
        while (line := lines.get()) is not None:
            show(*line)

    def drain() -> None:
        lines.put(None)
        thread.join(timeout=2)

    thread = threading.Thread(target=printer, name="switchyard-dev-console", daemon=True)
    thread.start()
    atexit.register(drain)

    def sink(at: float, run_id: str, task_id: str, state: str, detail: str) -> None:
        lines.put((at, run_id, task_id, state, detail))

    return sink


def log_sink(logger: logging.Logger) -> Sink:
    """Log each line at DEBUG on ``logger``."""

    def sink(at: float, run_id: str, task_id: str, state: str, detail: str) -> None:
        logger.debug("%s %s %s %s", run_id, task_id, state, detail)

    return sink
