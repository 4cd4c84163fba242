"""Journal: the durable operations of a run's attempts, recorded so a replay returns
what the first execution got (waits, child triggers, steps). The SDK's
:class:`~switchyard.sdk.execution.Execution` records through these; the worker reads
the journal back to replay an attempt."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from switchyard.core.models import NewRun, TriggerResult
from switchyard.core.waitpoints import JournalEntry, JournalRef, Waitpoint
from switchyard.engine.base import EngineBase


class Journal(EngineBase):
    """Record and read an attempt's journal, steps, and child triggers."""

    def record_journal(
        self,
        ref: JournalRef,
        result_json: str | None,
        now: float,
        waitpoint_id: str | None = None,
    ) -> None:
        """Record a durable operation at ``ref``: a result, or the waitpoint a wait is on."""
        self.storage.record_journal(ref, result_json, now, waitpoint_id)

    def load_journal(self, run_id: str, attempt_number: int) -> list[JournalEntry]:
        """An attempt's journal, with its waitpoints as they stand now (for a replay)."""
        return self.storage.load_journal(run_id, attempt_number)

    def record_step(
        self,
        ref: JournalRef,
        attempt_id: str,
        key: str | None,
        result_json: str,
        now: float,
    ) -> str:
        """Record a step's result, fenced by the live attempt; returns the result stored
        (an earlier record of ``key`` wins; see :meth:`WaitpointStore.record_step`)."""
        return self.storage.record_step(ref, attempt_id, key, result_json, now)

    def load_steps(self, run_id: str) -> dict[str, Any]:
        """The results of a run's once-per-run steps, by key (``name#n``)."""
        return self.storage.load_steps(run_id)

    def trigger_children(
        self,
        runs: Sequence[NewRun],
        *,
        wait: str | None,
        journal: JournalRef | None,
        now: float,
    ) -> tuple[list[TriggerResult], Waitpoint | None]:
        """Trigger runs from inside a run, journaled at ``journal``, with a RUN
        (``wait="run"``) or BATCH waitpoint to wait on (see
        :meth:`WaitpointStore.trigger_children`)."""
        return self.storage.trigger_children(runs, wait=wait, journal=journal, now=now)
