"""``step(name, fn)``: a side effect that runs once per attempt, even across replays."""

from __future__ import annotations

import inspect
import json
from collections.abc import Awaitable, Callable
from typing import Any

from switchyard.core import jsonutil
from switchyard.core.errors import NotInRunError
from switchyard.sdk.execution import current_execution, run_sync


async def step(name: str, fn: Callable[[], Any] | Callable[[], Awaitable[Any]]) -> Any:
    """Run ``fn`` and record its result; a replay of this attempt returns the record.

    Use it for side effects (send an email, charge a card) and for anything
    non-deterministic (time, randomness, external reads) that decides which durable
    operations follow. The result must be JSON; what a replay returns is the JSON form,
    so the first run returns that too.
    """
    execution = current_execution()
    if execution is None:
        raise NotInRunError("step() only works inside a running task")
    ref, entry = execution.next_ref("step", name)
    if entry is not None:
        return entry.result
    result = fn()
    if inspect.isawaitable(result):
        result = await result
    text = jsonutil.dumps(result, what=f"result of step {name!r}")
    await execution.record(execution.storage.record_journal, ref, text, execution.host.now())
    return json.loads(text)


def step_sync(name: str, fn: Callable[[], Any]) -> Any:
    """Sync form of :func:`step` for plain ``def`` tasks (``fn`` runs in the task's thread)."""
    execution = current_execution()
    if execution is None:
        raise NotInRunError("step_sync() only works inside a running task")
    ref, entry = execution.next_ref("step", name)
    if entry is not None:
        return entry.result
    text = jsonutil.dumps(fn(), what=f"result of step {name!r}")
    run_sync(
        lambda: execution.record(execution.storage.record_journal, ref, text, execution.host.now())
    )
    return json.loads(text)
