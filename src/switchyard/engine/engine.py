"""The engine: one facade over the engine systems, each in a module of its own.

``Engine`` holds the storage, the clock, the environment, the defaults and the hooks;
its operations come from the systems it is made of:

- :mod:`~switchyard.engine.enqueue`: trigger, batch, replay, idempotency, debounce;
- :mod:`~switchyard.engine.dequeue`: claims and resumes (the worker's way in), release,
  parked runs' states, lease channel, wake-ups;
- :mod:`~switchyard.engine.attempts`: how an attempt ended, its outcome stored;
- :mod:`~switchyard.engine.waitpoints`: suspend, complete, skip; the run's waits;
- :mod:`~switchyard.engine.journal`: an attempt's journal, steps, child triggers;
- :mod:`~switchyard.engine.tokens`: tokens and their signed callback URLs;
- :mod:`~switchyard.engine.runs`: read, list, cancel, reschedule, metadata, changes,
  explain;
- :mod:`~switchyard.engine.control`: queues and the environment; ping;
- :mod:`~switchyard.engine.access`: secrets, API keys, Idempotency-Key requests;
- :mod:`~switchyard.engine.recovery`: delayed runs, timers, TTLs, lapsed leases.

Every door (SDK, worker, server, CLI) calls these and nothing below them; each
operation reports to :attr:`Engine.hooks`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from switchyard.core.clock import SYSTEM_CLOCK, Clock
from switchyard.core.models import DEFAULT_ENVIRONMENT
from switchyard.engine.access import Access
from switchyard.engine.attempts import Attempts
from switchyard.engine.base import Defaults
from switchyard.engine.control import Control
from switchyard.engine.dequeue import Dequeue
from switchyard.engine.enqueue import Enqueue
from switchyard.engine.hooks import HookRegistry
from switchyard.engine.journal import Journal
from switchyard.engine.recovery import Recovery
from switchyard.engine.runs import Runs
from switchyard.engine.tokens import Tokens
from switchyard.engine.waitpoints import Waitpoints
from switchyard.storage.base import Storage

EngineDefaults = Defaults


@dataclass
class Engine(
    Enqueue, Dequeue, Attempts, Tokens, Waitpoints, Journal, Runs, Control, Access, Recovery
):
    """Operations over one environment of one storage.

    ``hooks``: the :class:`~switchyard.engine.hooks.HookRegistry` every operation
    reports to (``engine.hooks.add(MyHook())``; see :mod:`switchyard.engine.hooks`).
    """

    storage: Storage
    clock: Clock = SYSTEM_CLOCK
    environment: str = DEFAULT_ENVIRONMENT
    defaults: Defaults = field(default_factory=Defaults)
    hooks: HookRegistry = field(default_factory=HookRegistry)
