"""Handles returned by triggers."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from switchyard.core.errors import ChildRunFailedError, WaitpointTimeoutError


@dataclass(frozen=True, slots=True)
class RunHandle:
    """A triggered run: its id, its task, and whether it already existed (idempotency)."""

    id: str
    task_id: str
    is_cached: bool = False


@dataclass(frozen=True, slots=True)
class BatchHandle:
    """A batch of runs triggered together."""

    batch_id: str
    runs: tuple[RunHandle, ...]


@dataclass(frozen=True, slots=True)
class Token:
    """A waitpoint token: complete it via the SDK, the CLI, the dashboard or ``url``.

    ``url`` accepts an HTTP POST whose JSON body becomes the token's output.
    """

    id: str
    url: str
    is_cached: bool = False


@dataclass(frozen=True, slots=True)
class WaitResult:
    """The outcome of waiting for a token: ``ok`` with ``output``, or an ``error``."""

    ok: bool
    output: Any = None
    error: dict[str, Any] | None = None

    def unwrap(self) -> Any:
        """The output; raises :class:`~switchyard.WaitpointTimeoutError` if it timed out."""
        if not self.ok:
            raise WaitpointTimeoutError((self.error or {}).get("message", "the token timed out"))
        return self.output


@dataclass(frozen=True, slots=True)
class TaskRunResult:
    """The outcome of a child run: ``ok`` with ``output``, or an ``error``."""

    ok: bool
    id: str
    task_id: str
    output: Any = None
    error: dict[str, Any] | None = None

    def unwrap(self) -> Any:
        """The output; raises :class:`~switchyard.ChildRunFailedError` if the child failed."""
        if not self.ok:
            error = self.error or {}
            raise ChildRunFailedError(
                f"child run {self.id} of task {self.task_id!r} ended "
                f"{error.get('status', 'FAILED')}: {error.get('type', 'Error')}: "
                f"{error.get('message', '')}"
            )
        return self.output


@dataclass(frozen=True, slots=True)
class BatchItem:
    """One item of a batch trigger with its own options."""

    payload: Any
    options: Mapping[str, Any] = field(default_factory=dict)
