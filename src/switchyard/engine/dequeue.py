"""Dequeue: claiming runs for a worker and resuming its parked runs when their timers
come due; each claim starts (or resumes) an attempt under a lease."""

from __future__ import annotations

from collections.abc import Sequence

from switchyard.core.models import Claim
from switchyard.core.waitpoints import Waitpoint
from switchyard.engine.base import EngineBase
from switchyard.engine.hooks import ClaimEvent, ResumeEvent


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
