"""Handles returned by triggers."""

from __future__ import annotations

from dataclasses import dataclass


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
