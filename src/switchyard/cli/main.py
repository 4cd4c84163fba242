"""``switchyard``: run workers and the dev environment, trigger and inspect runs."""

from __future__ import annotations

import dataclasses
import json
import logging
import socket
import sys
import time
from typing import Any

import click

from switchyard.config import import_app
from switchyard.core import jsonutil
from switchyard.core.clock import monotonic
from switchyard.core.errors import InvalidJSONValueError, InvalidOptionError
from switchyard.core.models import Run, RunFilter, TaskInfo
from switchyard.core.options import OPTION_NAMES, TriggerOptions, option_field
from switchyard.core.states import RunStatus
from switchyard.runtime import Runtime
from switchyard.sdk.registry import REGISTRY
from switchyard.storage import redacted_url

from . import keys as keys_cli
from . import queues as queues_cli
from . import render, serve
from . import tokens as tokens_cli
from .dev_console import RunStateLines, console_sink, log_sink
from .state import Cli, State, pass_state


@click.group(cls=Cli, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--config",
    "config_spec",
    envvar="SWITCHYARD_CONFIG",
    help="Project config: a .py file or module[:attr] defining `config = define_config(...)`. "
    "Default: ./switchyard_config.py if present.",
)
@click.option(
    "--database-url",
    envvar="SWITCHYARD_DATABASE_URL",
    help="sqlite:///path.db or postgresql://user@host/db (overrides the config).",
)
@click.option("--env", "environment", envvar="SWITCHYARD_ENV", help="Environment (default dev).")
@click.option(
    "--app",
    multiple=True,
    help="Module that defines tasks (repeatable; overrides the config's `app`).",
)
@click.option("-v", "--verbose", is_flag=True, help="Log debug details.")
@click.version_option(package_name="switchyard-tasks")
@click.pass_context
def cli(
    ctx: click.Context,
    config_spec: str | None,
    database_url: str | None,
    environment: str | None,
    app: tuple[str, ...],
    verbose: bool,
) -> None:
    """switchyard: durable background tasks for Python.

    \b
    Start here:
      switchyard dev                      run the bundled example (SQLite, worker, API)
      switchyard trigger hello-world --payload '{"name": "Ada"}'
      switchyard runs list                see what ran
    \b
    In production, point every process at PostgreSQL and run as many
    `switchyard worker` and `switchyard server` processes as the load needs.
    """
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    ctx.obj = State(config_spec, database_url, environment, app)


INLINE_WAIT_MAX = click.option(
    "--inline-wait-max",
    type=click.FloatRange(0, 60),
    help="Time waits this short (seconds) sleep in the worker instead of checkpointing "
    "(default 5; 0: checkpoint every wait).",
)


def _run_worker(
    runtime: Runtime,
    sock: socket.socket | None = None,
    api_key: str | None = None,
    **options: Any,
) -> int:
    """Run a worker (and the HTTP API on ``sock``, if given) until SIGTERM/SIGINT."""
    return serve.run_services(
        runtime, worker_options=options, sock=sock, access_log=False, api_key=api_key
    )


@cli.command()
@click.option("--concurrency", type=click.IntRange(1), help="Runs executing at once.")
@click.option("--threads", type=click.IntRange(1), help="Threads for plain `def` tasks.")
@click.option("--lease", "lease_seconds", type=click.FloatRange(0.5), help="Lease in seconds.")
@click.option("--task", "task_ids", multiple=True, help="Only run these task ids.")
@INLINE_WAIT_MAX
@pass_state
def worker(
    state: State,
    concurrency: int | None,
    threads: int | None,
    lease_seconds: float | None,
    task_ids: tuple[str, ...],
    inline_wait_max: float | None,
) -> None:
    """Claim and execute runs until SIGTERM (finishes or hands back what it holds)."""
    runtime = state.runtime(load_tasks=True)
    for task_id in task_ids:
        REGISTRY.get(task_id)
    worker_log = logging.getLogger("switchyard.worker")
    if worker_log.isEnabledFor(logging.DEBUG):  # -v: a line per run state change
        runtime.engine.hooks.add(RunStateLines(log_sink(worker_log)))
    _run_worker(
        runtime,
        task_ids=list(task_ids) or None,
        concurrency=concurrency,
        threads=threads,
        lease_seconds=lease_seconds,
        inline_wait_max=inline_wait_max,
        fail_stop_exit=True,
    )


@cli.command()
@click.option("--concurrency", type=click.IntRange(1), help="Runs executing at once.")
@click.option("--host", default=serve.DEFAULT_HOST, show_default=True, help="API interface.")
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=serve.DEFAULT_PORT,
    show_default=True,
    help="API port (0: any free port).",
)
@INLINE_WAIT_MAX
@pass_state
def dev(
    state: State, concurrency: int | None, host: str, port: int, inline_wait_max: float | None
) -> None:
    """Run everything in one process on SQLite: migrations, worker, HTTP API, your tasks.

    Loads tasks from the config's `app` or --app. `make dev` runs it on the bundled
    example in examples/quickstart.
    """
    config = state.config()
    if not config.app:
        raise click.UsageError(
            "no task modules to load: pass --app MODULE, or run from a folder with a "
            "switchyard_config.py that sets app=[...] (see examples/quickstart)"
        )
    sock = serve.listen(host, port)
    runtime = state.runtime(load_tasks=True, config=serve.with_public_url(config, sock))
    render.console.print(
        f"[bold green]switchyard dev[/]  environment [bold]{runtime.config.environment}[/]  "
        f"database [bold]{redacted_url(runtime.storage.url)}[/]"
    )
    render.console.print(f"API: [bold]{serve.local_url(sock)}[/]")
    key, fresh = serve.dev_api_key(runtime.config.environment)
    link = serve.dashboard_link(sock, key) if fresh else f"{serve.local_url(sock)}/"
    render.console.print(f"dashboard: [bold]{link}[/]", soft_wrap=True)
    if fresh:
        render.console.print(
            "[dim]  (that link signs in with a key made for this process; it also works as "
            "'Authorization: Bearer' for the API until dev stops)[/]"
        )
    if runtime.config.public_url != serve.local_url(sock):
        render.console.print(f"token callback URLs use [bold]{runtime.config.public_url}[/]")
    render.console.print(f"tasks: {', '.join(REGISTRY.ids())}")
    if REGISTRY.find("hello-world"):
        render.console.print(
            "try, in another terminal:  "
            '[cyan]switchyard trigger hello-world --payload \'{"name": "Ada"}\' --wait[/]'
        )
    render.console.print("[dim]Ctrl-C to stop[/]")
    runtime.engine.hooks.add(RunStateLines(console_sink()))  # a line per run state change
    _run_worker(
        runtime, sock, api_key=key, concurrency=concurrency, inline_wait_max=inline_wait_max
    )


@cli.command()
@pass_state
def migrate(state: State) -> None:
    """Apply pending database migrations (dev and workers also do this on start)."""
    config = dataclasses.replace(state.config(), auto_migrate=False)
    runtime = Runtime(config)
    applied = runtime.migrate()
    runtime.close()
    if applied:
        for name in applied:
            render.console.print(f"applied [bold]{name}[/]")
    else:
        render.console.print("database is up to date")


def _poll(runtime: Runtime, run_id: str, timeout: float = 3600.0) -> Run:
    """Wait for a run to end, reading the CLI's own database (whatever client the
    environment configures for the SDK)."""
    deadline = monotonic() + timeout
    while True:
        run = runtime.engine.get_run(run_id)
        if run.is_final or monotonic() > deadline:
            return run
        time.sleep(0.05)


def _parse_json(text: str | None, what: str) -> Any:
    if text is None:
        return None
    try:
        return jsonutil.parse(text, what=what)
    except InvalidJSONValueError as exc:
        raise click.BadParameter(str(exc)) from None
    except ValueError as exc:
        raise click.BadParameter(f"{what} is not valid JSON: {exc}") from None


def _task_info(runtime: Runtime, task_id: str) -> TaskInfo:
    info = runtime.engine.get_task(task_id)
    if info is None:
        known = [t.id for t in runtime.engine.list_tasks()]
        from switchyard.core.errors import UnknownTaskError

        raise UnknownTaskError(task_id, known)
    return info


def _flag(name: str) -> str:
    kind = option_field(name).flag
    return "--" + (name.removesuffix("s") if kind == "many" else name).replace("_", "-")


def _trigger_option_flags(command: Any) -> Any:
    """A flag for each trigger option that has one, made from its TriggerOptions field
    (``--delay``, ``--tag`` repeatable, ``--retry '{"max_attempts": 5}'``, ...)."""
    for name in reversed(OPTION_NAMES):
        spec = option_field(name)
        if spec.flag == "many":
            option = click.option(_flag(name), name, multiple=True, help=f"{spec.help} Repeatable.")
        elif spec.flag is not None:
            kind = click.INT if spec.flag == "int" else click.STRING
            extra = " (JSON)" if spec.flag == "json" else ""
            option = click.option(_flag(name), name, type=kind, help=spec.help + extra)
        else:
            continue
        command = option(command)
    return command


def _trigger_options(flags: dict[str, Any]) -> TriggerOptions:
    raw: dict[str, Any] = {}
    for name, value in flags.items():
        kind = option_field(name).flag
        if kind == "json":
            value = _parse_json(value, _flag(name))
        raw[name] = (list(value) or None) if kind == "many" else value
    try:
        return TriggerOptions.parse(raw, where=None)
    except InvalidOptionError as exc:
        raise click.BadParameter(str(exc)) from None


@cli.command()
@click.argument("task_id")
@click.option("--payload", help='JSON payload, e.g. \'{"name": "Ada"}\'.')
@_trigger_option_flags
@click.option("--wait", "wait_for", is_flag=True, help="Wait for the run to finish.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_state
def trigger(
    state: State,
    /,
    task_id: str,
    payload: str | None,
    wait_for: bool,
    as_json: bool,
    **flags: Any,
) -> None:
    """Trigger a run of TASK_ID."""
    data = _parse_json(payload, "--payload")
    options = _trigger_options(flags)
    runtime = state.runtime()
    if runtime.config.app:
        import_app(runtime.config.app)
    task = REGISTRY.find(task_id)
    if task is not None:
        info = task.info()
        payload_json = task.payload_json(data, runtime.config.max_payload_bytes)
    else:
        info = _task_info(runtime, task_id)
        payload_json = jsonutil.dumps(data, what="payload", limit=runtime.config.max_payload_bytes)
    result = runtime.engine.trigger([runtime.engine.new_run(info, payload_json, options)])[0]
    if not wait_for:
        if as_json:
            click.echo(json.dumps({"id": result.run_id, "is_cached": result.is_cached}))
        else:
            cached = " [dim](existing run: idempotency key)[/]" if result.is_cached else ""
            render.console.print(f"triggered [bold]{result.run_id}[/]{cached}")
        return
    with render.console.status(f"waiting for {result.run_id}…"):
        run = _poll(runtime, result.run_id)
    if as_json:
        click.echo(json.dumps(render.run_json(run)))
    else:
        render.run_panel(run, runtime.engine.list_attempts(run.id))
    if run.status != RunStatus.COMPLETED:
        sys.exit(1)


@cli.group()
def runs() -> None:
    """List, inspect, cancel and replay runs."""


@runs.command("list")
@click.option(
    "--status",
    "statuses",
    multiple=True,
    type=click.Choice([s.value for s in RunStatus], case_sensitive=False),
    help="Only runs in this status (repeatable).",
)
@click.option("--task", "task_ids", multiple=True, help="Only runs of this task (repeatable).")
@click.option("--tag", help="Only runs with this tag.")
@click.option("--queue", help="Only runs in this queue.")
@click.option("--limit", type=click.IntRange(1, 1000), default=25, show_default=True)
@click.option("--cursor", help="Continue after this run id (printed under the table).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON lines.")
@pass_state
def runs_list(
    state: State,
    statuses: tuple[str, ...],
    task_ids: tuple[str, ...],
    tag: str | None,
    queue: str | None,
    limit: int,
    cursor: str | None,
    as_json: bool,
) -> None:
    """Runs, newest first."""
    engine = state.runtime().engine
    page = engine.list_runs(
        RunFilter(
            environment=engine.environment,
            statuses=tuple(RunStatus(s.upper()) for s in statuses),
            task_ids=task_ids,
            tag=tag,
            queue=queue,
        ),
        limit=limit,
        cursor=cursor,
    )
    if as_json:
        for run in page.runs:
            click.echo(json.dumps(render.run_json(run)))
        return
    if not page.runs:
        render.console.print("no runs yet: trigger one with [cyan]switchyard trigger TASK[/]")
        return
    render.console.print(render.runs_table(page.runs))
    if page.next_cursor:
        render.console.print(f"[dim]more: --cursor {page.next_cursor}[/]")


@runs.command("show")
@click.argument("run_id")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_state
def runs_show(state: State, run_id: str, as_json: bool) -> None:
    """One run in detail: payload, output or error, attempts."""
    engine = state.runtime().engine
    run = engine.get_run(run_id)
    if as_json:
        click.echo(json.dumps(render.run_json(run)))
    else:
        render.run_panel(run, engine.list_attempts(run_id))


@runs.command("cancel")
@click.argument("run_id")
@pass_state
def runs_cancel(state: State, run_id: str) -> None:
    """Cancel a run and, recursively, its unfinished children."""
    canceled = state.runtime().engine.cancel(run_id)
    if canceled:
        render.console.print(f"canceled {len(canceled)} run(s): {', '.join(canceled)}")
    else:
        render.console.print(f"{run_id} had already finished; nothing to cancel")


@runs.command("replay")
@click.argument("run_id")
@click.option("--payload", help="Replay with this JSON payload instead.")
@pass_state
def runs_replay(state: State, run_id: str, payload: str | None) -> None:
    """Trigger a new run with the same task, payload and options."""
    data = _parse_json(payload, "--payload")
    runtime = state.runtime()
    limit = runtime.config.max_payload_bytes
    payload_json = None if payload is None else jsonutil.dumps(data, what="--payload", limit=limit)
    result = runtime.engine.replay(run_id, payload_json)
    render.console.print(f"replayed {run_id} as [bold]{result.run_id}[/]")


@cli.group()
def tasks() -> None:
    """Tasks registered by workers."""


@tasks.command("list")
@pass_state
def tasks_list(state: State) -> None:
    """Tasks that workers have registered in this environment."""
    infos = state.runtime().engine.list_tasks()
    if not infos:
        render.console.print("no tasks registered yet: start `switchyard dev` or a worker")
        return
    from rich.table import Table

    table = Table(show_edge=False, header_style="bold")
    for column in ("TASK", "QUEUE", "SCHEMA", "MAX DURATION"):
        table.add_column(column)
    for t in infos:
        table.add_row(
            t.id,
            t.queue,
            "yes" if t.payload_schema else "-",
            "-" if t.max_duration is None else f"{t.max_duration:g}s",
        )
    render.console.print(table)


@cli.group()
def queues() -> None:
    """Queues and their live counts."""


@queues.command("list")
@pass_state
def queues_list(state: State) -> None:
    """Every queue with queued and running counts and its limit."""
    render.console.print(render.queues_table(state.runtime().engine.list_queues()))


cli.add_command(serve.server)
cli.add_command(tokens_cli.tokens)
cli.add_command(keys_cli.keys)
runs.add_command(tokens_cli.runs_skip_wait)

# Registers `queues show|pause|resume|limit`, `env …` and `runs explain` on the groups above.
for _command in queues_cli.QUEUE_COMMANDS:
    queues.add_command(_command)
cli.add_command(queues_cli.env_group)
runs.add_command(queues_cli.runs_explain)


def main() -> None:
    """Entry point of the ``switchyard`` command."""
    cli()


if __name__ == "__main__":
    main()
