"""The RunStore port: triggering, reading, canceling and editing runs; registered tasks."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence

from switchyard.core.api_keys import RequestResponse
from switchyard.core.models import (
    Attempt,
    NewRun,
    Run,
    RunFilter,
    RunPage,
    TaskInfo,
    TriggerResult,
)


class RunStore(ABC):
    """Runs and tasks: trigger, read, cancel, edit."""

    @abstractmethod
    def trigger(
        self, runs: Sequence[NewRun], now: float, responses: Sequence[RequestResponse] = ()
    ) -> list[TriggerResult]:
        """Create runs (all or none), honouring idempotency keys; one result per input.

        ``responses`` are the responses of the ``Idempotency-Key`` requests these runs
        are for, stored in the same transaction; if a retry took one of those keys over
        (see :meth:`begin_request`), nothing is stored and
        :class:`~switchyard.core.api_keys.RequestTakenOverError` is raised.
        """

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

    @abstractmethod
    def update_run_metadata(
        self, environment: str, run_id: str, metadata_json: str, now: float
    ) -> Run | None:
        """Replace a run's metadata; the run, or None if there is none."""

    @abstractmethod
    def reschedule_run(
        self, environment: str, run_id: str, delay_until: float, now: float
    ) -> tuple[Run | None, bool]:
        """Move a delayed, not yet started run to a new time; (run, whether it moved)."""

    @abstractmethod
    def reset_idempotency_key(self, environment: str, task_id: str, key: str, now: float) -> int:
        """Free an idempotency key; returns how many runs held it (0 or 1)."""
