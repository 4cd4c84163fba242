"""The storage interface: domain operations, each one transaction.

Engines and workers talk only to this interface; :mod:`switchyard.storage.sqlite` and
:mod:`switchyard.storage.postgres` implement it, and one contract test suite runs
against both.
"""

from __future__ import annotations

from abc import abstractmethod

from switchyard.storage.ports.access import AccessStore
from switchyard.storage.ports.changes import ChangeFeed
from switchyard.storage.ports.control import ControlStore
from switchyard.storage.ports.dequeue import DequeueStore, LeaseChannel, Notifier
from switchyard.storage.ports.runs import RunStore
from switchyard.storage.ports.waitpoints import WaitpointStore

__all__ = [
    "AccessStore",
    "ChangeFeed",
    "ControlStore",
    "DequeueStore",
    "LeaseChannel",
    "Notifier",
    "RunStore",
    "Storage",
    "WaitpointStore",
]


class Storage(RunStore, DequeueStore, WaitpointStore, ControlStore, AccessStore, ChangeFeed):
    """Every storage port at once: what a backend (SQLite, PostgreSQL) implements.

    Engine systems depend on the narrowest port they use; a backend is all of them.
    """

    url: str

    @abstractmethod
    def migrate(self) -> list[str]:
        """Apply pending numbered migrations; return the names applied."""

    @abstractmethod
    def close(self) -> None:
        """Close every connection."""
