"""Dequeue: claiming runs for a worker and resuming its parked runs when their timers
come due; each claim starts (or resumes) an attempt under a lease. Also what else a
worker needs of storage: handing runs back, the state of its parked runs, its lease
channel and its wake-ups."""

from __future__ import annotations

from collections.abc import Sequence

from switchyard.core.models import Claim
from switchyard.core.waitpoints import Waitpoint
from switchyard.engine.base import EngineBase
from switchyard.engine.hooks import ClaimEvent, ResumeEvent
from switchyard.storage.base import LeaseChannel, Notifier


class Dequeue(EngineBase):
    """Claims and resumes: the worker's way in (see :class:`Storage.claim`)."""

    def claim(
        self,
        worker_id: str,
        task_ids: Sequence[str],
        limit: int,
        now: float,
        lease_seconds: float,
    ) -> list[Claim]:
        """Claim up to ``limit`` runs for ``worker_id`` (see :meth:`Storage.claim`)."""
        claims = self.storage.claim(
            self.environment, worker_id, task_ids, limit, now, lease_seconds
        )
        if claims:
            self._claimed([(c, ()) for c in claims], worker_id, now)
        return claims

    def resume_due(
        self,
        worker_id: str,
        task_ids: Sequence[str],
        parked: Sequence[tuple[str, str, Sequence[str]]],
        limit: int,
        now: float,
        lease_seconds: float,
    ) -> list[tuple[Claim, list[Waitpoint]]]:
        """Complete the due timers of parked runs; resume up to ``limit`` of them here
        (see :meth:`Storage.resume_due`)."""
        resumed = self.storage.resume_due(
            self.environment, worker_id, task_ids, parked, limit, now, lease_seconds
        )
        if resumed:
            self._claimed(resumed, worker_id, now)
        return resumed

    def release(self, worker_id: str, run_ids: Sequence[str], now: float) -> int:
        """Hand runs the worker will not finish back to their queue (shutdown, or a
        parked run it could not resume); returns how many."""
        return self.storage.release(worker_id, run_ids, now)

    def run_states(self, run_ids: Sequence[str]) -> dict[str, tuple[str, str | None, str | None]]:
        """``{run_id: (status, attempt id, worker id)}``: whether parked runs are still
        this worker's to continue."""
        return self.storage.run_states(run_ids)

    def open_lease_channel(self, timeout: float) -> LeaseChannel:
        """A connection of its own to renew a worker's leases on, whose calls give up
        within about ``timeout`` seconds (see :class:`LeaseChannel`)."""
        return self.storage.open_lease_channel(timeout)

    def open_notifier(self) -> Notifier:
        """Wake-ups for new or newly claimable runs of the environment."""
        return self.storage.open_notifier(self.environment)

    def _claimed(
        self,
        claims: Sequence[tuple[Claim, Sequence[Waitpoint]]],
        worker_id: str,
        now: float,
    ) -> None:
        started = self.hooks.listeners("after_claim")
        resumed = self.hooks.listeners("after_resume")
        if not (started or resumed):
            return
        for claim, waitpoints in claims:
            if claim.resumed:
                if resumed:
                    event = ResumeEvent(claim, worker_id, now, waitpoints)
                    self.hooks.call("after_resume", resumed, event)
            elif started:
                self.hooks.call("after_claim", started, ClaimEvent(claim, worker_id, now))
