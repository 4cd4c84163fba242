"""The ChangeFeed port: wake-ups for workers, run changes for realtime subscribers."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence

from switchyard.core.models import (
    Run,
)
from switchyard.storage.ports.dequeue import Notifier


class ChangeFeed(ABC):
    """What changed: wake-ups for workers, run changes for realtime subscribers."""

    @abstractmethod
    def open_notifier(self, environment: str) -> Notifier:
        """A notifier for new or newly claimable runs in ``environment``."""

    @abstractmethod
    def runs_changed(
        self,
        environment: str,
        run_ids: Sequence[str],
        tags: Sequence[str],
        since: float,
        limit: int = 5000,
    ) -> list[tuple[str | None, Run]]:
        """Runs by id or tag updated after ``since``, each with the tag it matched."""
