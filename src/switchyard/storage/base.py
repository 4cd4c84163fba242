"""The storage interface: domain operations, each one transaction.

Engines and workers talk only to this interface; :mod:`switchyard.storage.sqlite` and
:mod:`switchyard.storage.postgres` implement it, and one contract test suite runs
against both.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence

from switchyard.core.models import (
    Attempt,
    Claim,
    NewRun,
    Outcome,
    QueueInfo,
    Run,
    RunFilter,
    RunPage,
    TaskInfo,
    TriggerResult,
)


class Notifier(ABC):
    """Wakes a worker when something it may claim has (probably) changed."""

    @abstractmethod
    async def wait(self, timeout: float) -> bool:
        """Return True when woken, False after ``timeout`` seconds without news."""

    @abstractmethod
    async def close(self) -> None:
        """Release the notifier's connection."""


class Storage(ABC):
    """Domain operations over runs, attempts, queues and tasks."""

    url: str

    @abstractmethod
    def migrate(self) -> list[str]:
        """Apply pending numbered migrations; return the names applied."""

    @abstractmethod
    def close(self) -> None:
        """Close every connection."""

    @abstractmethod
    def open_notifier(self, environment: str) -> Notifier:
        """A notifier for new or newly claimable runs in ``environment``."""

    # -- enqueue -----------------------------------------------------------------
    @abstractmethod
    def trigger(self, runs: Sequence[NewRun], now: float) -> list[TriggerResult]:
        """Create runs (all or none), honouring idempotency keys; one result per input."""

    @abstractmethod
    def register(
        self, environment: str, tasks: Sequence[TaskInfo], worker_id: str | None, now: float
    ) -> None:
        """Record task definitions (and their queues' limits) as a worker deploys them."""

    @abstractmethod
    def get_task(self, environment: str, task_id: str) -> TaskInfo | None:
        """A registered task, or None."""

    @abstractmethod
    def list_tasks(self, environment: str) -> list[TaskInfo]:
        """Every registered task of the environment."""

    # -- dequeue and attempts ----------------------------------------------------
    @abstractmethod
    def claim(
        self,
        environment: str,
        worker_id: str,
        task_ids: Sequence[str],
        limit: int,
        now: float,
        lease_seconds: float,
    ) -> list[Claim]:
        """Claim up to ``limit`` queued runs in dequeue order within concurrency limits."""

    @abstractmethod
    def finish(self, outcomes: Sequence[Outcome], now: float) -> int:
        """Apply attempt outcomes; stale ones (lease lost, run canceled) are ignored.

        Returns how many were applied.
        """

    @abstractmethod
    def renew_leases(
        self, worker_id: str, now: float, lease_seconds: float
    ) -> dict[str, str | None]:
        """Extend every lease the worker holds; return ``{run_id: attempt_id}`` still held."""

    @abstractmethod
    def release(self, worker_id: str, run_ids: Sequence[str], now: float) -> int:
        """Hand runs back to their queue (graceful shutdown); returns how many."""

    # -- maintenance -------------------------------------------------------------
    @abstractmethod
    def promote_delayed(self, now: float) -> int:
        """Queue delayed runs whose time has come."""

    @abstractmethod
    def expire(self, now: float) -> int:
        """Expire queued or delayed runs past their TTL."""

    @abstractmethod
    def recover_lapsed(self, now: float) -> list[str]:
        """Retry or crash runs whose worker stopped renewing its lease; return their ids."""

    # -- runs ----------------------------------------------------------------------
    @abstractmethod
    def get_run(self, environment: str, run_id: str) -> Run | None:
        """One run, or None."""

    @abstractmethod
    def list_runs(self, filters: RunFilter, limit: int, cursor: str | None) -> RunPage:
        """Runs matching ``filters``, newest first."""

    @abstractmethod
    def list_attempts(self, run_id: str) -> list[Attempt]:
        """A run's attempts, oldest first."""

    @abstractmethod
    def cancel(self, environment: str, run_id: str, now: float) -> list[str]:
        """Cancel a run and, recursively, its unfinished children; return canceled ids."""

    # -- queues ----------------------------------------------------------------------
    @abstractmethod
    def list_queues(self, environment: str) -> list[QueueInfo]:
        """Queues of the environment with their live counts."""
