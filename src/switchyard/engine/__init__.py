"""Domain services over storage: enqueue, attempts, maintenance, runs.

One module per concern; the :class:`~switchyard.engine.engine.Engine` ties them to a
storage and a clock.
"""

from switchyard.engine.engine import Engine, EngineDefaults

__all__ = ["Engine", "EngineDefaults"]
