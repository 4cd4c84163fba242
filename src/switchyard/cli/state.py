"""What every command shares: the global options (``State``) and the error handling."""

from __future__ import annotations

import dataclasses
import sys
from typing import Any

import click

from switchyard.config import Config, import_app, load_config
from switchyard.core.errors import SwitchyardError
from switchyard.runtime import Runtime, configure

from . import render


@dataclasses.dataclass
class State:
    """Options shared by every command."""

    config_spec: str | None
    database_url: str | None
    environment: str | None
    app: tuple[str, ...]
    _runtime: Runtime | None = None

    def config(self) -> Config:
        config = load_config(self.config_spec)
        changes: dict[str, Any] = {}
        if self.database_url:
            changes["database_url"] = self.database_url
        if self.environment:
            changes["environment"] = self.environment
        if self.app:
            changes["app"] = self.app
        return dataclasses.replace(config, **changes)

    def runtime(self, *, load_tasks: bool = False, config: Config | None = None) -> Runtime:
        if self._runtime is None:
            config = config or self.config()
            if load_tasks:
                import_app(config.app)
            self._runtime = configure(config)
        return self._runtime


pass_state = click.make_pass_decorator(State)


class Cli(click.Group):
    """Turns switchyard errors into a one-line message and exit code 2."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except SwitchyardError as exc:
            render.err_console.print(f"[bold red]error:[/] {exc}")
            sys.exit(2)
