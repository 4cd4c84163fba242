"""Run and attempt states, and the allowed run transitions kept as data in one place.

Storage guards every status change with ``WHERE status IN (predecessors(target))`` so
an update that races with another (a cancel against a completion, say) simply does
not apply instead of corrupting the run.
"""

from __future__ import annotations

from enum import StrEnum

from switchyard.core.errors import InvalidTransitionError


class RunStatus(StrEnum):
    """Where a run is in its life."""

    DELAYED = "DELAYED"
    QUEUED = "QUEUED"
    EXECUTING = "EXECUTING"
    WAITING = "WAITING"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"
    CANCELED = "CANCELED"
    CRASHED = "CRASHED"
    EXPIRED = "EXPIRED"
    TIMED_OUT = "TIMED_OUT"
    SYSTEM_FAILURE = "SYSTEM_FAILURE"

    @property
    def is_final(self) -> bool:
        """True when the run will never change state again."""
        return self in FINAL_STATES

    @property
    def frees_idempotency_key(self) -> bool:
        """True when a new trigger with the same idempotency key makes a new run."""
        return self in KEY_FREEING_STATES


class AttemptStatus(StrEnum):
    """Outcome of one try of a run."""

    EXECUTING = "EXECUTING"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"
    CRASHED = "CRASHED"
    TIMED_OUT = "TIMED_OUT"
    CANCELED = "CANCELED"
    RELEASED = "RELEASED"


S = RunStatus

TRANSITIONS: dict[RunStatus, frozenset[RunStatus]] = {
    # A delayed run (the ``delay`` option, or a retry waiting out its backoff).
    S.DELAYED: frozenset({S.QUEUED, S.CANCELED, S.EXPIRED}),
    S.QUEUED: frozenset({S.EXECUTING, S.DELAYED, S.CANCELED, S.EXPIRED}),
    S.EXECUTING: frozenset(
        {
            S.COMPLETED,
            S.FAILED,
            S.CANCELED,
            S.CRASHED,
            S.TIMED_OUT,
            S.SYSTEM_FAILURE,
            S.WAITING,
            S.DELAYED,  # failed attempt, retry after backoff
            S.QUEUED,  # lease lapsed or handed back: try again now
        }
    ),
    S.WAITING: frozenset({S.QUEUED, S.CANCELED, S.SYSTEM_FAILURE}),
    S.COMPLETED: frozenset(),
    S.FAILED: frozenset(),
    S.CANCELED: frozenset(),
    S.CRASHED: frozenset(),
    S.EXPIRED: frozenset(),
    S.TIMED_OUT: frozenset(),
    S.SYSTEM_FAILURE: frozenset(),
}

FINAL_STATES = frozenset(s for s, nexts in TRANSITIONS.items() if not nexts)
ACTIVE_STATES = frozenset(RunStatus) - FINAL_STATES
KEY_FREEING_STATES = frozenset(
    {S.FAILED, S.CANCELED, S.CRASHED, S.EXPIRED, S.TIMED_OUT, S.SYSTEM_FAILURE}
)


def can_transition(source: RunStatus, target: RunStatus) -> bool:
    """Whether a run may move from ``source`` to ``target``."""
    return target in TRANSITIONS[source]


def check_transition(source: RunStatus, target: RunStatus) -> None:
    """Raise :class:`InvalidTransitionError` unless ``source -> target`` is allowed."""
    if not can_transition(source, target):
        raise InvalidTransitionError(f"a run cannot go from {source} to {target}")


def predecessors(target: RunStatus) -> tuple[RunStatus, ...]:
    """Every status from which ``target`` may be reached, in a stable order."""
    return tuple(s for s in RunStatus if target in TRANSITIONS[s])
