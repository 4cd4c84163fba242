"""Runs: reading, listing, canceling and explaining runs."""

from __future__ import annotations

from switchyard.core.models import Attempt, RunFilter, RunPage
from switchyard.engine.base import EngineBase
from switchyard.engine.explain import Reason, explain
from switchyard.engine.hooks import CancelEvent


class Runs(EngineBase):
    """Reading runs and their attempts, cancel, and why a run is not running."""

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
