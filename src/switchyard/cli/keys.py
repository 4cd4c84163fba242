"""``switchyard keys create|list|revoke``: secret API keys for the HTTP API.

A key belongs to one environment (``--env``, default the config's). Only its hash is
stored: the key is printed once, when it is created.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import click
from rich.table import Table

from switchyard.core.api_keys import ApiKey, hash_key, key_prefix, new_key, new_key_id
from switchyard.core.errors import SwitchyardError

from . import render

if TYPE_CHECKING:
    from .state import State


def _iso(timestamp: float | None) -> str | None:
    return None if timestamp is None else render.iso(timestamp)


def _key_json(key: ApiKey) -> dict[str, object]:
    return {
        "id": key.id,
        "environment": key.environment,
        "name": key.name,
        "prefix": key.prefix,
        "created_at": _iso(key.created_at),
        "last_used_at": _iso(key.last_used_at),
        "revoked_at": _iso(key.revoked_at),
    }


@click.group()
def keys() -> None:
    """Create, list and revoke secret API keys (one environment each)."""


@keys.command("create")
@click.option("--name", default="default", show_default=True, help="What the key is for.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_obj
def keys_create(state: State, name: str, as_json: bool) -> None:
    """Create a key for the environment; it is shown once: store it now."""
    if not name or len(name) > 200:
        raise click.BadParameter("--name must be 1 to 200 characters")
    runtime = state.runtime()
    environment = runtime.engine.environment
    secret = new_key(environment)
    key = ApiKey(
        id=new_key_id(),
        environment=environment,
        name=name,
        prefix=key_prefix(secret),
        key_hash=hash_key(secret),
        created_at=runtime.clock.now(),
    )
    runtime.engine.create_api_key(key)
    if as_json:
        click.echo(json.dumps({**_key_json(key), "key": secret}))
        return
    render.console.print(
        f"created API key [bold]{key.id}[/] ({name}) for environment [bold]{environment}[/]"
    )
    click.echo(secret)
    render.console.print(
        "[dim]store it now: it is not shown again. Send it as "
        "'Authorization: Bearer <key>'; revoke it with `switchyard keys revoke "
        f"{key.id}`[/]"
    )


@keys.command("list")
@click.option("--all", "all_envs", is_flag=True, help="Keys of every environment.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON lines.")
@click.pass_obj
def keys_list(state: State, all_envs: bool, as_json: bool) -> None:
    """Keys of the environment (prefixes only: keys are stored hashed)."""
    runtime = state.runtime()
    found = runtime.engine.list_api_keys(all_environments=all_envs)
    if as_json:
        for key in found:
            click.echo(json.dumps(_key_json(key)))
        return
    if not found:
        render.console.print("no API keys yet: create one with [cyan]switchyard keys create[/]")
        return
    table = Table(show_edge=False, header_style="bold")
    for column in ("ID", "NAME", "ENV", "KEY", "CREATED", "LAST USED", "STATUS"):
        table.add_column(column, no_wrap=column in ("ID", "KEY"))
    for key in found:
        table.add_row(
            key.id,
            key.name,
            key.environment,
            key.prefix,
            render.ago(key.created_at),
            "-" if key.last_used_at is None else render.ago(key.last_used_at),
            "[green]active[/]"
            if key.is_active
            else f"[red]revoked[/] {render.ago(key.revoked_at)}",
        )
    render.console.print(table)


@keys.command("revoke")
@click.argument("key_id")
@click.pass_obj
def keys_revoke(state: State, key_id: str) -> None:
    """Revoke a key by id (servers stop accepting it within seconds)."""
    runtime = state.runtime()
    key = runtime.engine.revoke_api_key(key_id)
    if key is None:
        raise SwitchyardError(f"no API key {key_id!r}: see `switchyard keys list --all`")
    render.console.print(f"revoked [bold]{key.id}[/] ({key.name}, {key.prefix})")
