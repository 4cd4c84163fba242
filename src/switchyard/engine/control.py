"""Control: pausing queues and the environment, their limits, and their statistics;
whether the database answers."""

from __future__ import annotations

from switchyard.core.errors import QueueNotFoundError
from switchyard.core.models import EnvironmentInfo, QueueInfo, QueueStats
from switchyard.core.options import check_limit
from switchyard.engine.base import EngineBase


class Control(EngineBase):
    """Queues and the environment: pause, resume, limits, statistics."""

    def list_queues(self) -> list[QueueInfo]:
        """Queues with live counts."""
        return self.storage.list_queues(self.environment)

    def pause_queue(self, queue: str) -> None:
        """Pause a queue: running runs finish, queued ones wait, triggers are accepted."""
        self.storage.set_queue_paused(self.environment, queue, True, self.now())

    def resume_queue(self, queue: str) -> None:
        """Resume a queue; its runs start in priority order."""
        self.storage.set_queue_paused(self.environment, queue, False, self.now())

    def set_queue_limit(self, queue: str, limit: int | None) -> None:
        """Override a queue's concurrency limit at runtime; ``None`` resets to the code's."""
        check_limit(limit)
        self.storage.set_queue_limit(self.environment, queue, limit, self.now())

    def pause_environment(self) -> None:
        """Pause every queue of the environment at once."""
        self.storage.set_environment_paused(self.environment, True, self.now())

    def resume_environment(self) -> None:
        """Resume the environment."""
        self.storage.set_environment_paused(self.environment, False, self.now())

    def set_environment_limit(self, limit: int | None) -> None:
        """Cap how many runs of the environment execute at once (``None``: no cap)."""
        check_limit(limit)
        self.storage.set_environment_limit(self.environment, limit, self.now())

    def queue_stats(self, queue: str, window: float = 300.0) -> QueueStats:
        """A queue's counts, limit, oldest queued age, starts per minute, wait p50/p95."""
        stats = self.storage.queue_stats(self.environment, queue, self.now(), window)
        if stats is None:
            names = ", ".join(q.name for q in self.list_queues()) or "none yet"
            raise QueueNotFoundError(
                f"no queue {queue!r} in {self.environment!r} (queues: {names})"
            )
        return stats

    def environment_info(self) -> EnvironmentInfo:
        """Paused or not, the limit, and what runs on which worker."""
        return self.storage.environment_info(self.environment)

    def ping(self) -> None:
        """Raise if the database does not answer (a cheap read; for health checks)."""
        self.storage.get_waitpoint(self.environment, "healthz")
