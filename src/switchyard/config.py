"""The project config (Trigger.dev's ``defineConfig``): one Python object.

Loaded from ``switchyard_config.py`` in the working directory, from the file or
``module:attribute`` given with ``--config`` / ``SWITCHYARD_CONFIG``, or built with
:func:`define_config`. Environment variables override what holds URLs and secrets:
``SWITCHYARD_DATABASE_URL``, ``SWITCHYARD_ENV``, ``SWITCHYARD_APP``,
``SWITCHYARD_PUBLIC_URL``, ``SWITCHYARD_API_URL``, ``SWITCHYARD_API_KEY``,
``SWITCHYARD_DASHBOARD_PASSWORD``.
"""

from __future__ import annotations

import dataclasses
import importlib
import importlib.util
import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from switchyard.core import jsonutil
from switchyard.core.durations import DurationLike, parse_optional_duration
from switchyard.core.errors import ConfigError
from switchyard.core.models import DEFAULT_ENVIRONMENT
from switchyard.core.retry import RetryPolicy
from switchyard.engine.base import Defaults

DEFAULT_DATABASE_URL = "sqlite:///.switchyard/switchyard.db"
DEFAULT_PUBLIC_URL = "http://127.0.0.1:3030"
CONFIG_FILE = "switchyard_config.py"


@dataclass(frozen=True)
class WorkerSettings:
    """How a worker process runs tasks."""

    concurrency: int = 100
    """Runs executing at once in one worker process (async and sync together)."""
    threads: int = 16
    """Threads for plain ``def`` tasks."""
    lease_seconds: float = 30.0
    """A run whose worker has not renewed its lease for this long is recovered."""
    shutdown_grace: float = 30.0
    """On SIGTERM, seconds to let running attempts finish before handing them back."""
    inline_wait_max: float = 5.0
    """Time waits (``wait.for_`` / ``wait.until`` without an idempotency key) this short
    or shorter sleep in the worker instead of checkpointing, as in Trigger.dev: the run
    stays EXECUTING and keeps its queue slot, but not one of the worker's concurrency
    slots, and the time counts toward ``max_duration``. 0 checkpoints every wait."""

    def __post_init__(self) -> None:
        if not 0 <= self.inline_wait_max <= 60:
            raise ConfigError(
                f"invalid worker inline_wait_max={self.inline_wait_max!r}: seconds from 0 "
                "(checkpoint every wait) to 60"
            )


@dataclass(frozen=True)
class Config:
    """Everything a switchyard process needs to know about the project."""

    database_url: str = field(default=DEFAULT_DATABASE_URL, repr=False)  # may hold a password
    environment: str = DEFAULT_ENVIRONMENT
    app: tuple[str, ...] = ()
    """Modules that define tasks; imported by workers and ``switchyard dev``."""
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    max_duration: float | None = None
    max_payload_bytes: int = jsonutil.DEFAULT_MAX_BYTES
    worker: WorkerSettings = field(default_factory=WorkerSettings)
    auto_migrate: bool = True
    """Apply pending migrations when a process first opens the database."""
    public_url: str = DEFAULT_PUBLIC_URL
    """Where ``switchyard server`` is reachable from outside; token callback URLs use it."""
    telemetry: Any = None
    """Telemetry exporters (see the telemetry docs)."""
    api_url: str | None = None
    """A ``switchyard server`` URL: with ``api_key``, what the SDK does outside runs
    (triggers, ``runs.*``, tokens, queues) goes over HTTP instead of to the database
    (``SWITCHYARD_API_URL``)."""
    api_key: str | None = None
    """The API key for ``api_url`` (``SWITCHYARD_API_KEY``)."""
    dashboard_password: str | None = field(default=None, repr=False)
    """Lets people sign in to the dashboard with this password instead of an API key
    (``SWITCHYARD_DASHBOARD_PASSWORD``)."""

    def __post_init__(self) -> None:
        password = self.dashboard_password
        if password is not None and len(password) < 8:
            raise ConfigError(
                "the dashboard password (dashboard_password / SWITCHYARD_DASHBOARD_PASSWORD) "
                "is shorter than 8 characters; choose a longer one"
            )

    def defaults(self) -> Defaults:
        """The engine defaults this config sets."""
        return Defaults(
            retry=self.retry,
            max_duration=self.max_duration,
            max_payload_bytes=self.max_payload_bytes,
        )

    def with_env_overrides(self, environ: Mapping[str, str] | None = None) -> Config:
        """This config with ``SWITCHYARD_*`` environment variables applied."""
        env = os.environ if environ is None else environ
        changes: dict[str, Any] = {}
        if env.get("SWITCHYARD_DATABASE_URL"):
            changes["database_url"] = env["SWITCHYARD_DATABASE_URL"]
        if env.get("SWITCHYARD_ENV"):
            changes["environment"] = env["SWITCHYARD_ENV"]
        if env.get("SWITCHYARD_PUBLIC_URL"):
            changes["public_url"] = env["SWITCHYARD_PUBLIC_URL"]
        if env.get("SWITCHYARD_API_URL"):
            changes["api_url"] = env["SWITCHYARD_API_URL"]
        if env.get("SWITCHYARD_API_KEY"):
            changes["api_key"] = env["SWITCHYARD_API_KEY"]
        if env.get("SWITCHYARD_DASHBOARD_PASSWORD"):
            changes["dashboard_password"] = env["SWITCHYARD_DASHBOARD_PASSWORD"]
        if env.get("SWITCHYARD_APP"):
            changes["app"] = tuple(m.strip() for m in env["SWITCHYARD_APP"].split(",") if m)
        return dataclasses.replace(self, **changes) if changes else self


def define_config(
    *,
    database_url: str = DEFAULT_DATABASE_URL,
    environment: str = DEFAULT_ENVIRONMENT,
    app: str | Sequence[str] = (),
    retry: Mapping[str, Any] | RetryPolicy | None = None,
    max_duration: DurationLike | None = None,
    max_payload_bytes: int = jsonutil.DEFAULT_MAX_BYTES,
    worker: WorkerSettings | Mapping[str, Any] | None = None,
    auto_migrate: bool = True,
    public_url: str = DEFAULT_PUBLIC_URL,
    telemetry: Any = None,
    api_url: str | None = None,
    api_key: str | None = None,
    dashboard_password: str | None = None,
) -> Config:
    """Build a :class:`Config`, checking every value (bad ones raise with the fix)."""
    if isinstance(worker, Mapping):
        try:
            worker = WorkerSettings(**worker)
        except TypeError as exc:
            raise ConfigError(
                f"invalid worker settings {worker!r}: {exc}; known settings: "
                + ", ".join(f.name for f in dataclasses.fields(WorkerSettings))
            ) from exc
    return Config(
        database_url=database_url,
        environment=environment,
        app=(app,) if isinstance(app, str) else tuple(app),
        retry=RetryPolicy().merged(retry),
        max_duration=parse_optional_duration(max_duration, option="max_duration"),
        max_payload_bytes=max_payload_bytes,
        worker=worker or WorkerSettings(),
        auto_migrate=auto_migrate,
        public_url=public_url,
        telemetry=telemetry,
        api_url=api_url,
        api_key=api_key,
        dashboard_password=dashboard_password,
    )


def _load_file(path: Path) -> Any:
    folder = str(path.parent.resolve())
    if folder not in sys.path:
        sys.path.insert(0, folder)
    spec = importlib.util.spec_from_file_location(f"_switchyard_config_{path.stem}", path)
    if spec is None or spec.loader is None:
        raise ConfigError(f"cannot load config file {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def load_config(spec: str | None = None, environ: Mapping[str, str] | None = None) -> Config:
    """Load the project config; see the module docstring for where it is looked for."""
    env = os.environ if environ is None else environ
    spec = spec or env.get("SWITCHYARD_CONFIG")
    config: Any = None
    if spec is None:
        if Path(CONFIG_FILE).is_file():
            config = getattr(_load_file(Path(CONFIG_FILE)), "config", None)
            if config is None:
                raise ConfigError(f"{CONFIG_FILE} defines no 'config = define_config(...)'")
        else:
            config = Config()
    elif spec.endswith(".py") or Path(spec).is_file():
        if not Path(spec).is_file():
            raise ConfigError(f"config file {spec} does not exist")
        config = getattr(_load_file(Path(spec)), "config", None)
        if config is None:
            raise ConfigError(f"{spec} defines no 'config = define_config(...)'")
    else:
        module_name, _, attr = spec.partition(":")
        if os.getcwd() not in sys.path:
            sys.path.insert(0, os.getcwd())
        try:
            module = importlib.import_module(module_name)
        except ImportError as exc:
            raise ConfigError(f"cannot import config module {module_name!r}: {exc}") from exc
        config = getattr(module, attr or "config", None)
    if not isinstance(config, Config):
        raise ConfigError(f"config {spec!r} is not a switchyard Config (use define_config)")
    return config.with_env_overrides(env)


def import_app(modules: Sequence[str]) -> None:
    """Import the modules that define tasks (the working directory is importable)."""
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    for name in modules:
        try:
            importlib.import_module(name)
        except ImportError as exc:
            raise ConfigError(
                f"cannot import task module {name!r}: {exc}. Run from the project folder "
                "or fix 'app' in the config / --app"
            ) from exc
