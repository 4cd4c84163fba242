"""What every engine system stands on: the storage, the clock, the environment, the
defaults and the hooks, with the two reads they all need (see :class:`Engine`)."""

from __future__ import annotations

from dataclasses import dataclass, field

from switchyard.core import jsonutil
from switchyard.core.clock import Clock
from switchyard.core.errors import RunNotFoundError
from switchyard.core.models import Run
from switchyard.core.retry import RetryPolicy
from switchyard.engine.hooks import HookRegistry
from switchyard.storage.base import Storage


@dataclass(frozen=True, slots=True)
class Defaults:
    """Config-level defaults that tasks and triggers override."""

    retry: RetryPolicy = field(default_factory=RetryPolicy)
    max_duration: float | None = None
    max_payload_bytes: int = jsonutil.DEFAULT_MAX_BYTES


class EngineBase:
    """The state the engine systems share; :class:`~switchyard.engine.engine.Engine`
    is the dataclass that holds it."""

    storage: Storage
    clock: Clock
    environment: str
    defaults: Defaults
    hooks: HookRegistry

    def now(self) -> float:
        """Domain time."""
        return self.clock.now()

    def get_run(self, run_id: str) -> Run:
        """A run by id, or :class:`RunNotFoundError`."""
        run = self.storage.get_run(self.environment, run_id)
        if run is None:
            raise RunNotFoundError(run_id)
        return run
