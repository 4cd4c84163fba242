"""The process-wide runtime: config, storage and engine that SDK calls use.

Set explicitly with :func:`configure`, by ``switchyard dev`` / ``switchyard worker``, or
lazily from the project config the first time a task is triggered.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, overload

from switchyard.config import Config, load_config
from switchyard.core.clock import SYSTEM_CLOCK, Clock
from switchyard.engine import Engine
from switchyard.storage import Storage, open_storage

if TYPE_CHECKING:
    from switchyard.client import Client


class Runtime:
    """A config bound to an open storage and an engine."""

    def __init__(
        self, config: Config, *, clock: Clock = SYSTEM_CLOCK, storage: Storage | None = None
    ) -> None:
        self.config = config
        self.clock = clock
        self.storage = storage or open_storage(config.database_url)
        if config.auto_migrate:
            self.storage.migrate()
        self.engine = Engine(self.storage, clock, config.environment, config.defaults())

    def migrate(self) -> list[str]:
        """Apply pending database migrations; the names of those applied."""
        return self.storage.migrate()

    def close(self) -> None:
        """Close the storage."""
        self.storage.close()


_lock = threading.Lock()
_runtime: Runtime | None = None
_client: Client | None = None
_client_resolved = False
_generation = 0


def _client_of(config: Config) -> Client | None:
    if not (config.api_url and config.api_key):
        return None
    from switchyard.client import Client

    return Client(config.api_url, config.api_key)


@overload
def configure(
    config: Config | None = None, *, clock: Clock = SYSTEM_CLOCK, storage: Storage | None = None
) -> Runtime: ...
@overload
def configure(
    config: Config | None = None,
    *,
    clock: Clock = SYSTEM_CLOCK,
    storage: Storage | None = None,
    client: Client,
) -> Runtime | None: ...


def configure(
    config: Config | None = None,
    *,
    clock: Clock = SYSTEM_CLOCK,
    storage: Storage | None = None,
    client: Client | None = None,
) -> Runtime | None:
    """Use ``config`` (default: the loaded project config) for every SDK call in this process.

    ``client`` (a :class:`switchyard.Client`): what the SDK does outside runs
    (triggers, ``runs.*``, tokens, queues, the environment) goes over HTTP. Given
    alone, nothing else is set up (no database: returns None). A config with
    ``api_url`` and ``api_key`` makes such a client too.
    """
    global _runtime, _client, _client_resolved, _generation
    if client is not None and config is None and storage is None:
        with _lock:
            _client, _client_resolved = client, True
            _generation += 1
        return None
    runtime = Runtime(config or load_config(), clock=clock, storage=storage)
    with _lock:
        previous, _runtime = _runtime, runtime
        _client, _client_resolved = client or _client_of(runtime.config), True
        _generation += 1
    if previous is not None and previous.storage is not runtime.storage:
        previous.close()
    return runtime


def configuration() -> int:
    """Which configuration is in force: changes with every :func:`configure` and
    :func:`reset_runtime`, so what was picked for the last one can be picked again."""
    return _generation


def current_client() -> Client | None:
    """The client the SDK goes through (outside runs), or None to use the database.

    Set by :func:`configure`; otherwise from ``api_url`` + ``api_key`` in the project
    config or ``SWITCHYARD_API_URL`` + ``SWITCHYARD_API_KEY``.
    """
    global _client, _client_resolved
    if not _client_resolved:
        with _lock:
            if not _client_resolved:
                config = _runtime.config if _runtime is not None else load_config()
                _client, _client_resolved = _client_of(config), True
    return _client


def current_runtime() -> Runtime:
    """The configured runtime, configuring from the project config on first use."""
    global _runtime
    if _runtime is None:
        with _lock:
            if _runtime is None:
                _runtime = Runtime(load_config())
    return _runtime


def reset_runtime() -> None:
    """Forget (and close) the configured runtime."""
    global _runtime, _client, _client_resolved, _generation
    with _lock:
        previous, _runtime = _runtime, None
        _client, _client_resolved = None, False
        _generation += 1
    if previous is not None:
        previous.close()
