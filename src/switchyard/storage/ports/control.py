"""The ControlStore port: pausing queues and environments, their limits and statistics."""

from __future__ import annotations

from abc import ABC, abstractmethod

from switchyard.core.models import (
    EnvironmentInfo,
    QueueInfo,
    QueueStats,
)


class ControlStore(ABC):
    """Queues and environments: pause, limits, statistics."""

    @abstractmethod
    def list_queues(self, environment: str) -> list[QueueInfo]:
        """Queues of the environment with their live counts."""

    @abstractmethod
    def set_queue_paused(self, environment: str, queue: str, paused: bool, now: float) -> None:
        """Pause or resume a queue."""

    @abstractmethod
    def set_queue_limit(self, environment: str, queue: str, limit: int | None, now: float) -> None:
        """Override a queue's limit; ``None`` resets it to the code's."""

    @abstractmethod
    def set_environment_paused(self, environment: str, paused: bool, now: float) -> None:
        """Pause or resume an environment."""

    @abstractmethod
    def set_environment_limit(self, environment: str, limit: int | None, now: float) -> None:
        """Cap an environment's running runs; ``None`` removes the cap."""

    @abstractmethod
    def queue_stats(
        self, environment: str, queue: str, now: float, window: float = 300.0
    ) -> QueueStats | None:
        """A queue's counts and recent throughput, or None if it does not exist."""

    @abstractmethod
    def environment_info(self, environment: str) -> EnvironmentInfo:
        """An environment's state and its workers."""
