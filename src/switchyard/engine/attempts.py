"""Deciding how an attempt ended: completed, retried after backoff, or failed for good."""

from __future__ import annotations

import random
import traceback
from collections.abc import Sequence
from typing import Any

from switchyard.core.errors import (
    AbortTaskRunError,
    MaxDurationExceededError,
    NotSerializableError,
    PayloadTooLargeError,
    PayloadValidationError,
)
from switchyard.core.models import Claim, Outcome
from switchyard.core.states import AttemptStatus, RunStatus
from switchyard.engine.base import EngineBase
from switchyard.engine.hooks import AttemptEvent, AttemptResult

# Errors that will fail the same way on every attempt, so retrying only wastes time.
NON_RETRYABLE: tuple[type[BaseException], ...] = (
    AbortTaskRunError,
    PayloadValidationError,
    NotSerializableError,
    PayloadTooLargeError,
)


def error_document(exc: BaseException) -> dict[str, Any]:
    """A JSON-able description of an exception: type, message and stack."""
    return {
        "type": type(exc).__name__,
        "message": _printable(str(exc)),
        "stack": _printable("".join(traceback.format_exception(exc))),
    }


def _printable(text: str) -> str:
    # A message may quote a lone surrogate, which no read could encode as UTF-8.
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def completed(claim: Claim, output_json: str) -> Outcome:
    """The attempt returned normally."""
    return Outcome(
        claim.run.id,
        claim.attempt_id,
        RunStatus.COMPLETED,
        AttemptStatus.COMPLETED,
        output_json=output_json,
        claim=claim,
    )


def failed(
    claim: Claim, exc: BaseException, now: float, rng: random.Random | None = None
) -> Outcome:
    """The attempt raised: retry after backoff if the policy allows, else fail the run."""
    error = error_document(exc)
    if isinstance(exc, MaxDurationExceededError):
        return Outcome(
            claim.run.id,
            claim.attempt_id,
            RunStatus.TIMED_OUT,
            AttemptStatus.TIMED_OUT,
            error=error,
            claim=claim,
        )
    policy = claim.run.retry
    if not isinstance(exc, NON_RETRYABLE) and policy.should_retry(claim.attempt_number):
        return Outcome(
            claim.run.id,
            claim.attempt_id,
            RunStatus.DELAYED,
            AttemptStatus.FAILED,
            error=error,
            retry_at=now + policy.backoff(claim.attempt_number, rng),
            claim=claim,
        )
    return Outcome(
        claim.run.id,
        claim.attempt_id,
        RunStatus.FAILED,
        AttemptStatus.FAILED,
        error=error,
        claim=claim,
    )


class Attempts(EngineBase):
    """Outcomes of attempts: stored, and reported to the hooks."""

    def finish(self, outcomes: Sequence[Outcome], now: float, worker_id: str | None = None) -> int:
        """Store attempt outcomes (see :meth:`Storage.finish`); returns how many applied."""
        applied = self.storage.finish(outcomes, now)
        listeners = self.hooks.listeners("after_attempt")
        for outcome in outcomes if listeners else ():
            self.hooks.call("after_attempt", listeners, AttemptEvent.of(outcome, worker_id, now))
        return applied

    def attempt_stopped(self, claim: Claim, worker_id: str, reason: str) -> None:
        """Report an attempt the worker stopped (canceled, lease lost): no outcome."""
        listeners = self.hooks.listeners("after_attempt")
        if listeners:
            event = AttemptEvent(
                claim.run.id,
                claim.attempt_id,
                AttemptResult.STOPPED,
                self.now(),
                claim=claim,
                worker_id=worker_id,
                reason=reason,
            )
            self.hooks.call("after_attempt", listeners, event)
