"""Tables and colours for people; JSON for scripts."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from rich.console import Console
from rich.table import Table

from switchyard.core.clock import SYSTEM_CLOCK
from switchyard.core.models import Attempt, QueueInfo, Run
from switchyard.core.states import RunStatus

console = Console()
err_console = Console(stderr=True)

STATUS_STYLE = {
    RunStatus.DELAYED: "magenta",
    RunStatus.QUEUED: "cyan",
    RunStatus.EXECUTING: "bold blue",
    RunStatus.WAITING: "yellow",
    RunStatus.COMPLETED: "green",
    RunStatus.FAILED: "bold red",
    RunStatus.CANCELED: "dim",
    RunStatus.CRASHED: "bold red",
    RunStatus.EXPIRED: "dim yellow",
    RunStatus.TIMED_OUT: "red",
    RunStatus.SYSTEM_FAILURE: "bold red",
}


def status_text(status: RunStatus) -> str:
    """The status with its colour, as rich markup."""
    return f"[{STATUS_STYLE[status]}]{status}[/]"


def ago(timestamp: float | None) -> str:
    """``12s ago`` / ``in 5m`` relative to now."""
    if timestamp is None:
        return "-"
    delta = SYSTEM_CLOCK.now() - timestamp
    future = delta < 0
    delta = abs(delta)
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if delta >= size:
            text = f"{int(delta // size)}{unit}"
            break
    else:
        text = f"{delta:.0f}s" if delta >= 1 else f"{delta * 1000:.0f}ms"
    return f"in {text}" if future else f"{text} ago"


def iso(timestamp: float | None) -> str:
    """ISO 8601 in UTC, or ``-``."""
    if timestamp is None:
        return "-"
    return dt.datetime.fromtimestamp(timestamp, dt.UTC).isoformat(timespec="milliseconds")


def duration(run: Run) -> str:
    """How long the run has been executing or took."""
    if run.started_at is None:
        return "-"
    end = run.finished_at if run.finished_at is not None else SYSTEM_CLOCK.now()
    seconds = end - run.started_at
    return f"{seconds * 1000:.0f}ms" if seconds < 1 else f"{seconds:.1f}s"


def runs_table(runs: list[Run]) -> Table:
    """A table of runs, newest first."""
    table = Table(show_edge=False, header_style="bold")
    for column in ("ID", "TASK", "STATUS", "CREATED", "DURATION", "ATTEMPTS", "TAGS"):
        table.add_column(column, no_wrap=column in ("ID", "STATUS"))
    for run in runs:
        table.add_row(
            run.id,
            run.task_id,
            status_text(run.status),
            ago(run.created_at),
            duration(run),
            str(run.attempt_count),
            ", ".join(run.tags),
        )
    return table


def run_panel(run: Run, attempts: list[Attempt]) -> None:
    """Print one run in detail."""
    console.print(f"[bold]{run.id}[/]  {status_text(run.status)}")
    rows: list[tuple[str, Any]] = [
        ("task", run.task_id),
        ("queue", run.queue),
        ("created", f"{iso(run.created_at)} ({ago(run.created_at)})"),
        ("started", iso(run.started_at)),
        ("finished", iso(run.finished_at)),
        ("duration", duration(run)),
        ("attempts", f"{run.attempt_count} of {run.retry.max_attempts}"),
        ("priority", f"{run.priority:g}s"),
        ("tags", ", ".join(run.tags) or "-"),
        ("idempotency key", run.idempotency_key or "-"),
        ("parent", run.parent_run_id or "-"),
        ("batch", run.batch_id or "-"),
        ("replay of", run.replayed_from or "-"),
    ]
    if run.delay_until is not None:
        rows.append(("delayed until", f"{iso(run.delay_until)} ({ago(run.delay_until)})"))
    if run.expires_at is not None:
        rows.append(("expires", f"{iso(run.expires_at)} ({ago(run.expires_at)})"))
    table = Table.grid(padding=(0, 2))
    for key, value in rows:
        table.add_row(f"[dim]{key}[/]", str(value))
    console.print(table)
    console.print("[bold]payload[/]")
    console.print_json(json.dumps(run.payload))
    if run.metadata:
        console.print("[bold]metadata[/]")
        console.print_json(json.dumps(run.metadata))
    if run.status == RunStatus.COMPLETED:
        console.print("[bold]output[/]")
        console.print_json(json.dumps(run.output))
    if run.error:
        console.print(f"[bold red]error[/] {run.error.get('type')}: {run.error.get('message')}")
    if attempts:
        att = Table(show_edge=False, header_style="bold", title="attempts", title_justify="left")
        for column in ("#", "STATUS", "STARTED", "WORKER", "ERROR"):
            att.add_column(column)
        for a in attempts:
            err = f"{a.error.get('type')}: {a.error.get('message')}" if a.error else ""
            att.add_row(str(a.number), a.status, iso(a.started_at), a.worker_id or "-", err)
        console.print(att)


def queues_table(queues: list[QueueInfo]) -> Table:
    """A table of queues with live counts."""
    table = Table(show_edge=False, header_style="bold")
    for column in ("QUEUE", "QUEUED", "RUNNING", "LIMIT", "PAUSED"):
        table.add_column(column)
    for q in queues:
        table.add_row(
            q.name,
            str(q.queued),
            str(q.running),
            "-" if q.concurrency_limit is None else str(q.concurrency_limit),
            "[bold yellow]paused[/]" if q.paused else "",
        )
    return table


def run_json(run: Run) -> dict[str, Any]:
    """A run as a JSON-able dict."""
    from dataclasses import asdict

    data = asdict(run)
    data["status"] = str(run.status)
    data["retry"] = run.retry.to_json()
    data["tags"] = list(run.tags)
    return data
