"""Runs: reading, listing, canceling, editing and explaining runs; what changed, for
realtime streams."""

from __future__ import annotations

from collections.abc import Sequence

from switchyard.core.models import Attempt, Run, RunFilter, RunPage
from switchyard.engine.base import EngineBase
from switchyard.engine.explain import Reason, explain
from switchyard.engine.hooks import CancelEvent


class Runs(EngineBase):
    """Reading runs and their attempts, cancel, reschedule, metadata, what changed, and
    why a run is not running."""

    def list_runs(
        self, filters: RunFilter | None = None, *, limit: int = 50, cursor: str | None = None
    ) -> RunPage:
        """Runs newest first, filtered."""
        filters = filters or RunFilter(environment=self.environment)
        return self.storage.list_runs(filters, max(1, min(limit, 1000)), cursor)

    def list_attempts(self, run_id: str) -> list[Attempt]:
        """A run's attempts."""
        return self.storage.list_attempts(run_id)

    def cancel(self, run_id: str) -> list[str]:
        """Cancel a run and its unfinished descendants."""
        self.get_run(run_id)
        now = self.now()
        canceled = self.storage.cancel(self.environment, run_id, now)
        if canceled:
            self.hooks.emit("after_cancel", CancelEvent(run_id, canceled, now))
        return canceled

    def explain(self, run_id: str) -> list[Reason]:
        """Why a run is not executing right now."""
        return explain(self.storage, self.get_run(run_id), self.now())

    def reschedule_run(
        self, run_id: str, delay_until: float, now: float
    ) -> tuple[Run | None, bool]:
        """Move a delayed, not yet started run to ``delay_until``; returns the run (None
        if there is none) and whether it moved."""
        return self.storage.reschedule_run(self.environment, run_id, delay_until, now)

    def update_run_metadata(self, run_id: str, metadata_json: str) -> Run | None:
        """Replace a run's metadata; the run, or None if there is none."""
        return self.storage.update_run_metadata(self.environment, run_id, metadata_json, self.now())

    def runs_changed(
        self,
        run_ids: Sequence[str],
        tags: Sequence[str],
        since: float,
        *,
        environment: str | None = None,
    ) -> list[tuple[str | None, Run]]:
        """Runs by id or tag updated after ``since``, each with the tag it matched (for
        realtime streams); ``environment`` defaults to the engine's."""
        return self.storage.runs_changed(environment or self.environment, run_ids, tags, since)
