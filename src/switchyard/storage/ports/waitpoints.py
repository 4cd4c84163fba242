"""The WaitpointStore port: waitpoints, blocking and resuming runs, the journal and steps."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any

from switchyard.core.models import (
    NewRun,
    TriggerResult,
)
from switchyard.core.waitpoints import (
    JournalEntry,
    JournalRef,
    NewWaitpoint,
    Waitpoint,
    WaitpointFilter,
)


class WaitpointStore(ABC):
    """Waitpoints, blocking and resuming runs, the journal and steps."""

    @abstractmethod
    def trigger_children(
        self,
        runs: Sequence[NewRun],
        *,
        wait: str | None,
        journal: JournalRef | None,
        now: float,
    ) -> tuple[list[TriggerResult], Waitpoint | None]:
        """Trigger runs from a run, journaled, with a RUN (``wait="run"``) or BATCH waitpoint."""

    @abstractmethod
    def create_waitpoint(
        self, new: NewWaitpoint, journal: JournalRef | None, now: float
    ) -> tuple[Waitpoint, bool]:
        """Create a waitpoint or find the live one with its key; returns (it, is_cached)."""

    @abstractmethod
    def create_waitpoints(
        self, items: Sequence[tuple[NewWaitpoint, JournalRef | None]], now: float
    ) -> list[tuple[Waitpoint, bool] | BaseException]:
        """Many :meth:`create_waitpoint` in one transaction; an exception fails one item."""

    @abstractmethod
    def block_runs(
        self, items: Sequence[tuple[str, str, Sequence[str]]], now: float
    ) -> list[list[Waitpoint] | BaseException]:
        """Many :meth:`block_run` in one transaction; an exception fails one item."""

    @abstractmethod
    def create_and_block(
        self,
        items: Sequence[tuple[str, str, Sequence[str], Sequence[tuple[Waitpoint, JournalRef]]]],
        now: float,
    ) -> list[list[Waitpoint] | BaseException]:
        """:meth:`block_runs` with ``(run, attempt, waitpoint ids, new waitpoints)`` items.

        The new waitpoints (built in memory, each with its wait's journal entry) are
        stored first, in the same transaction.
        """

    @abstractmethod
    def get_waitpoints_many(
        self, id_lists: Sequence[Sequence[str]]
    ) -> list[list[Waitpoint] | BaseException]:
        """Many :meth:`get_waitpoints` in one read."""

    @abstractmethod
    def record_journal(
        self,
        ref: JournalRef,
        result_json: str | None,
        now: float,
        waitpoint_id: str | None = None,
    ) -> None:
        """Record a durable operation: a step's result, or the waitpoint a wait is on."""

    @abstractmethod
    def load_journal(self, run_id: str, attempt_number: int) -> list[JournalEntry]:
        """An attempt's journal with its waitpoints' current state."""

    @abstractmethod
    def record_step(
        self,
        ref: JournalRef,
        attempt_id: str,
        key: str | None,
        result_json: str,
        now: float,
    ) -> str:
        """Record a step's result in its attempt's journal and, under ``key`` (``name#n``),
        for the whole run, so later attempts return it instead of running the step again.

        ``key`` None records it for this attempt only (``step(..., per_attempt=True)``).
        Fenced: unless ``attempt_id`` is still the run's live attempt (executing, or
        suspended), nothing is stored and :class:`~switchyard.core.errors.RunNotExecutingError`
        is raised. The first record of a key wins; returns the result stored.
        """

    @abstractmethod
    def load_steps(self, run_id: str) -> dict[str, Any]:
        """The results of a run's once-per-run steps, by key (``name#n``)."""

    @abstractmethod
    def block_run(
        self, run_id: str, attempt_id: str, waitpoint_ids: Sequence[str], now: float
    ) -> list[Waitpoint]:
        """Suspend the run on waitpoints unless some already completed (those are returned)."""

    @abstractmethod
    def complete_waitpoint(
        self,
        environment: str,
        waitpoint_id: str,
        *,
        output_json: str | None = None,
        error: dict[str, Any] | None = None,
        timed_out: bool = False,
        now: float,
    ) -> Waitpoint | None:
        """Complete or time out a waitpoint (first wins); resumes runs blocked on it."""

    @abstractmethod
    def complete_due_waitpoints(self, now: float) -> int:
        """Complete due duration waits and time out expired tokens."""

    @abstractmethod
    def get_waitpoint(self, environment: str, waitpoint_id: str) -> Waitpoint | None:
        """One waitpoint, or None."""

    @abstractmethod
    def get_waitpoints(self, waitpoint_ids: Sequence[str]) -> list[Waitpoint]:
        """Several waitpoints by id."""

    @abstractmethod
    def list_waitpoints(
        self, filters: WaitpointFilter, limit: int, cursor: str | None
    ) -> tuple[list[Waitpoint], str | None]:
        """Waitpoints newest first, and the next page's cursor."""

    @abstractmethod
    def run_waitpoints(self, run_id: str) -> list[Waitpoint]:
        """Every waitpoint the run waited on (any attempt) or waits on now, oldest first."""

    @abstractmethod
    def blocking_waitpoints(self, run_id: str) -> list[Waitpoint]:
        """What a WAITING run is blocked on."""
