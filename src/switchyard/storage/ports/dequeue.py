"""The DequeueStore port: claims, finishes, leases and the upkeep of queued runs."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence

from switchyard.core.models import (
    Claim,
    Outcome,
)
from switchyard.core.waitpoints import (
    Waitpoint,
)


class Notifier(ABC):
    """Wakes a worker when something it may claim has (probably) changed."""

    @abstractmethod
    async def wait(self, timeout: float) -> bool:
        """Return True when woken, False after ``timeout`` seconds without news."""

    @abstractmethod
    async def close(self) -> None:
        """Release the notifier's connection."""


class LeaseChannel(ABC):
    """A connection of its own for keeping a worker's leases.

    The worker renews on a thread of its own through this channel, never behind its
    other database calls, and with network timeouts well under the lease: a renewal
    that cannot be confirmed in time fails (or hangs) alone, and the worker stops its
    runs before anyone else may take them over.
    """

    @abstractmethod
    def renew(self, worker_id: str, now: float, lease_seconds: float) -> dict[str, str | None]:
        """Extend every lease the worker holds; return ``{run_id: attempt_id}`` still held."""

    @abstractmethod
    def release(self, worker_id: str, run_ids: Sequence[str], now: float) -> int:
        """Hand runs whose attempts this worker stopped back to their queue."""

    @abstractmethod
    def close(self) -> None:
        """Close the channel's connection."""


class DequeueStore(ABC):
    """Claiming, finishing and leases, and the time-driven upkeep of queued runs."""

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
    def release(self, worker_id: str, run_ids: Sequence[str], now: float) -> int:
        """Hand runs back to their queue (graceful shutdown); returns how many."""

    @abstractmethod
    def open_lease_channel(self, timeout: float) -> LeaseChannel:
        """A :class:`LeaseChannel` whose calls give up within about ``timeout`` seconds."""

    @abstractmethod
    def promote_delayed(self, now: float) -> int:
        """Queue delayed runs whose time has come."""

    @abstractmethod
    def expire(self, now: float) -> int:
        """Expire queued or delayed runs past their TTL."""

    @abstractmethod
    def recover_lapsed(self, now: float) -> list[str]:
        """Retry or crash runs whose worker stopped renewing its lease; return their ids."""

    @abstractmethod
    def resume_due(
        self,
        environment: str,
        worker_id: str,
        task_ids: Sequence[str],
        parked: Sequence[tuple[str, str, Sequence[str]]],
        limit: int,
        now: float,
        lease_seconds: float,
    ) -> list[tuple[Claim, list[Waitpoint]]]:
        """Complete the due timers parked runs ``(run, attempt, waitpoints)`` wait on.

        Up to ``limit`` unblocked runs a claim would take now resume on ``worker_id``
        (returned with their completed waitpoints); the rest are queued.
        """

    @abstractmethod
    def run_states(self, run_ids: Sequence[str]) -> dict[str, tuple[str, str | None, str | None]]:
        """``{run_id: (status, attempt id, worker id)}``."""
