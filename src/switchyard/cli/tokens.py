"""``switchyard tokens …`` and ``switchyard runs skip-wait``: act on waitpoints by hand."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import click
from rich.table import Table

from switchyard.core import jsonutil
from switchyard.core.errors import InvalidJSONValueError
from switchyard.core.waitpoints import Waitpoint, WaitpointFilter, WaitpointStatus
from switchyard.runtime import Runtime

from . import render

if TYPE_CHECKING:
    from .state import State

TOKEN_STYLE = {
    WaitpointStatus.PENDING: "yellow",
    WaitpointStatus.COMPLETED: "green",
    WaitpointStatus.TIMED_OUT: "red",
}


def _status(status: WaitpointStatus) -> str:
    return f"[{TOKEN_STYLE[status]}]{status}[/]"


def _token_json(runtime: Runtime, token: Waitpoint) -> dict[str, Any]:
    from switchyard.server.tokens import token_json

    return token_json(runtime, runtime.engine.callback_secret(), token)


def _timeout_text(token: Waitpoint) -> str:
    if token.timeout_at is None:
        return "-"
    if not token.is_pending:
        return render.iso(token.timeout_at)
    return render.ago(token.timeout_at)


@click.group()
def tokens() -> None:
    """List, inspect, complete and time out tokens."""


@tokens.command("list")
@click.option(
    "--status",
    "statuses",
    multiple=True,
    type=click.Choice([s.value for s in WaitpointStatus], case_sensitive=False),
    help="Only tokens in this status (repeatable).",
)
@click.option("--tag", help="Only tokens with this tag.")
@click.option("--limit", type=click.IntRange(1, 1000), default=25, show_default=True)
@click.option("--cursor", help="Continue after this token id (printed under the table).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON lines.")
@click.pass_obj
def tokens_list(
    state: State,
    statuses: tuple[str, ...],
    tag: str | None,
    limit: int,
    cursor: str | None,
    as_json: bool,
) -> None:
    """Tokens, newest first."""
    runtime = state.runtime()
    filters = WaitpointFilter(
        environment=runtime.engine.environment,
        statuses=tuple(WaitpointStatus(s.upper()) for s in statuses),
        tag=tag,
    )
    page, next_cursor = runtime.engine.list_tokens(filters, limit, cursor)
    if as_json:
        for token in page:
            click.echo(json.dumps(_token_json(runtime, token)))
        return
    if not page:
        render.console.print("no tokens: a task makes one with [cyan]wait.create_token()[/]")
        return
    table = Table(show_edge=False, header_style="bold")
    for column in ("ID", "STATUS", "TAGS", "CREATED", "TIMEOUT"):
        table.add_column(column, no_wrap=column in ("ID", "STATUS"))
    for token in page:
        table.add_row(
            token.id,
            _status(token.status),
            ", ".join(token.tags),
            render.ago(token.created_at),
            _timeout_text(token),
        )
    render.console.print(table)
    if next_cursor:
        render.console.print(f"[dim]more: --cursor {next_cursor}[/]")


@tokens.command("show")
@click.argument("token_id")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_obj
def tokens_show(state: State, token_id: str, as_json: bool) -> None:
    """One token: status, output or error, and its callback URL."""
    runtime = state.runtime()
    token = runtime.engine.get_token(token_id)
    data = _token_json(runtime, token)
    if as_json:
        click.echo(json.dumps(data))
        return
    render.console.print(f"[bold]{token.id}[/]  {_status(token.status)}")
    grid = Table.grid(padding=(0, 2))
    rows = [
        ("created", f"{render.iso(token.created_at)} ({render.ago(token.created_at)})"),
        ("timeout", _timeout_text(token)),
        ("completed", render.iso(token.completed_at)),
        ("tags", ", ".join(token.tags) or "-"),
        ("idempotency key", token.idempotency_key or "-"),
        ("created by run", token.created_by_run_id or "-"),
        ("callback URL", data["url"]),
    ]
    for key, value in rows:
        grid.add_row(f"[dim]{key}[/]", value)
    render.console.print(grid)
    if token.status == WaitpointStatus.COMPLETED:
        render.console.print("[bold]output[/]")
        render.console.print_json(json.dumps(token.output))
    if token.error:
        render.console.print(
            f"[red]error[/] {token.error.get('type')}: {token.error.get('message')}"
        )


def _report(after: Waitpoint, already: bool, verb: str) -> None:
    if not already:
        render.console.print(f"{verb} [bold]{after.id}[/]: {_status(after.status)}")
    else:
        render.console.print(
            f"{after.id} was already {_status(after.status)}; nothing changed "
            "(the first completion wins)"
        )


@tokens.command("complete")
@click.argument("token_id")
@click.option("--data", help="JSON output for the token, e.g. '{\"approved\": true}'.")
@click.pass_obj
def tokens_complete(state: State, token_id: str, data: str | None) -> None:
    """Complete a token; runs waiting on it continue with DATA as its output."""
    value = None
    if data is not None:
        try:
            value = jsonutil.parse(data, what="--data")
        except InvalidJSONValueError:
            raise  # a one-line error naming the place (the CLI's error handler)
        except ValueError as exc:
            raise click.BadParameter(f"--data is not valid JSON: {exc}") from None
    runtime = state.runtime()
    output = jsonutil.dumps(value, what="--data", limit=runtime.config.max_payload_bytes)
    after, already = runtime.engine.complete_token(token_id, output, door="cli")
    _report(after, already, "completed")


@tokens.command("timeout")
@click.argument("token_id")
@click.pass_obj
def tokens_timeout(state: State, token_id: str) -> None:
    """Time a token out now; runs waiting on it get a timed-out result."""
    after, already = state.runtime().engine.time_out_token(token_id, door="cli")
    _report(after, already, "timed out")


@click.command("skip-wait")
@click.argument("run_id")
@click.pass_obj
def runs_skip_wait(state: State, run_id: str) -> None:
    """End the time wait (wait.for_ / wait.until) a WAITING run is in, now."""
    waits = state.runtime().engine.skip_wait(run_id)
    render.console.print(
        f"skipped {len(waits)} wait(s) of [bold]{run_id}[/]: it continues now "
        f"({', '.join(w.id for w in waits)})"
    )
