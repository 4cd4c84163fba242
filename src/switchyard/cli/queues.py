"""``switchyard queues …``, ``switchyard env …`` and ``switchyard runs explain``."""

from __future__ import annotations

import json
from dataclasses import asdict

import click
from rich.table import Table

from . import render
from .state import State, pass_state


def _seconds(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value * 1000:.0f}ms" if value < 1 else f"{value:.1f}s"


@click.command("show")
@click.argument("name")
@click.option(
    "--window",
    type=click.FloatRange(1),
    default=300.0,
    show_default=True,
    help="Seconds of history for throughput and queue wait.",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_state
def queues_show(state: State, name: str, window: float, as_json: bool) -> None:
    """A queue's counts, limit, oldest queued age, throughput and queue wait."""
    stats = state.runtime().engine.queue_stats(name, window)
    if as_json:
        click.echo(json.dumps(asdict(stats)))
        return
    grid = Table.grid(padding=(0, 2))
    limit = "-" if stats.concurrency_limit is None else str(stats.concurrency_limit)
    if stats.limit_override is not None:
        limit += (
            f" (override; code says {stats.base_limit if stats.base_limit is not None else '-'})"
        )
    rows = [
        ("status", "[bold yellow]paused[/]" if stats.paused else "[green]active[/]"),
        ("concurrency limit", limit),
        ("queued", str(stats.queued)),
        ("running", str(stats.running)),
        ("waiting", str(stats.waiting)),
        ("delayed", str(stats.delayed)),
        ("oldest queued", _seconds(stats.oldest_queued_age)),
        ("started / min", f"{stats.started_per_minute:.1f} (last {window:g}s)"),
        ("queue wait p50", _seconds(stats.wait_p50)),
        ("queue wait p95", _seconds(stats.wait_p95)),
    ]
    for key, value in rows:
        grid.add_row(f"[dim]{key}[/]", value)
    render.console.print(f"[bold]{stats.name}[/]")
    render.console.print(grid)


@click.command("pause")
@click.argument("name")
@pass_state
def queues_pause(state: State, name: str) -> None:
    """Stop starting runs from a queue (running ones finish; triggers are accepted)."""
    state.runtime().engine.pause_queue(name)
    render.console.print(f"queue [bold]{name}[/] paused")


@click.command("resume")
@click.argument("name")
@pass_state
def queues_resume(state: State, name: str) -> None:
    """Start runs from a paused queue again, in priority order."""
    state.runtime().engine.resume_queue(name)
    render.console.print(f"queue [bold]{name}[/] resumed")


@click.command("limit")
@click.argument("name")
@click.argument("limit", required=False, type=click.IntRange(0))
@click.option("--reset", is_flag=True, help="Drop the override: the limit in code applies.")
@pass_state
def queues_limit(state: State, name: str, limit: int | None, reset: bool) -> None:
    """Override a queue's concurrency limit at runtime, or --reset it."""
    if (limit is None) == (not reset):
        raise click.UsageError("give a LIMIT, or --reset to go back to the limit in code")
    state.runtime().engine.set_queue_limit(name, None if reset else limit)
    what = "reset to the limit in code" if reset else f"limited to {limit}"
    render.console.print(f"queue [bold]{name}[/] {what}")


@click.group("env")
def env_group() -> None:
    """The environment: pause everything, cap it, see what runs where."""


@env_group.command("show")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_state
def env_show(state: State, as_json: bool) -> None:
    """Paused or not, the limit, and running runs per worker."""
    info = state.runtime().engine.environment_info()
    if as_json:
        click.echo(json.dumps(asdict(info)))
        return
    status = "[bold yellow]PAUSED[/]" if info.paused else "[green]active[/]"
    limit = "-" if info.concurrency_limit is None else str(info.concurrency_limit)
    render.console.print(f"[bold]{info.name}[/]  {status}  running {info.running}  limit {limit}")
    table = Table(show_edge=False, header_style="bold")
    for column in ("WORKER", "HOST", "PID", "RUNNING", "LAST SEEN", "TASKS"):
        table.add_column(column)
    for w in info.workers:
        table.add_row(
            w.id,
            w.hostname,
            str(w.pid),
            str(w.running),
            render.ago(w.heartbeat_at),
            ", ".join(w.task_ids),
        )
    render.console.print(table)


@env_group.command("pause")
@pass_state
def env_pause(state: State) -> None:
    """Emergency stop: no run of this environment starts until `env resume`."""
    state.runtime().engine.pause_environment()
    render.console.print(f"environment [bold]{state.runtime().engine.environment}[/] paused")


@env_group.command("resume")
@pass_state
def env_resume(state: State) -> None:
    """Let the environment's runs start again."""
    state.runtime().engine.resume_environment()
    render.console.print(f"environment [bold]{state.runtime().engine.environment}[/] resumed")


@env_group.command("limit")
@click.argument("limit", required=False, type=click.IntRange(0))
@click.option("--reset", is_flag=True, help="Remove the environment-wide cap.")
@pass_state
def env_limit(state: State, limit: int | None, reset: bool) -> None:
    """Cap how many runs execute at once in the environment, or --reset."""
    if (limit is None) == (not reset):
        raise click.UsageError("give a LIMIT, or --reset to remove the cap")
    state.runtime().engine.set_environment_limit(None if reset else limit)
    render.console.print("environment limit " + ("removed" if reset else f"set to {limit}"))


@click.command("explain")
@click.argument("run_id")
@pass_state
def runs_explain(state: State, run_id: str) -> None:
    """Why is this run not running? (paused, limit reached, delayed, no worker…)"""
    reasons = state.runtime().engine.explain(run_id)
    if not reasons:
        render.console.print(f"{run_id} is executing")
    for reason in reasons:
        render.console.print(f"[bold]{reason.code}[/]: {reason.message}")


QUEUE_COMMANDS = [queues_show, queues_pause, queues_resume, queues_limit]
"""The ``switchyard queues`` commands defined here."""
