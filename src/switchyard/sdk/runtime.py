"""The process-wide runtime: config, storage and engine that SDK calls use.

Set explicitly with :func:`configure`, by ``switchyard dev`` / ``switchyard worker``, or
lazily from the project config the first time a task is triggered.
"""

from __future__ import annotations

import threading

from switchyard.core.clock import SYSTEM_CLOCK, Clock
from switchyard.engine import Engine
from switchyard.sdk.config import Config, load_config
from switchyard.storage import Storage, open_storage


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

    def close(self) -> None:
        """Close the storage."""
        self.storage.close()


_lock = threading.Lock()
_runtime: Runtime | None = None


def configure(
    config: Config | None = None, *, clock: Clock = SYSTEM_CLOCK, storage: Storage | None = None
) -> Runtime:
    """Use ``config`` (default: the loaded project config) for every SDK call in this process."""
    global _runtime
    runtime = Runtime(config or load_config(), clock=clock, storage=storage)
    with _lock:
        previous, _runtime = _runtime, runtime
    if previous is not None and previous.storage is not runtime.storage:
        previous.close()
    return runtime


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
    global _runtime
    with _lock:
        previous, _runtime = _runtime, None
    if previous is not None:
        previous.close()
