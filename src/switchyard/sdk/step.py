"""``step(name, fn)``: a side effect that runs once per run, across retries, crashes and
replays.

A step's result is recorded when ``fn`` returns. Any later execution of the same run —
a replay of the attempt on another worker, a retry after the task raised, the next
attempt after a worker died mid-run — returns the recorded result without calling
``fn`` again. Steps are found by **name and occurrence**: the n-th call of
``step("charge", ...)`` in an execution is ``charge#n``, so code whose control flow
changes between attempts still finds its steps (a step skipped this time leaves the
numbering of the other names alone). ``per_attempt=True`` records a step for its
attempt only: a retry runs it again.
"""

from __future__ import annotations

import inspect
import itertools
import json
from collections.abc import Awaitable, Callable, Mapping
from functools import partial
from typing import Any

from switchyard.core import jsonutil
from switchyard.core.errors import AbortTaskRunError, NotInRunError
from switchyard.core.retry import RetryPolicy
from switchyard.core.waitpoints import JournalRef
from switchyard.sdk.bridge import run_sync
from switchyard.sdk.execution import Execution, current_execution

RetryOption = Mapping[str, Any] | RetryPolicy | None


async def step(
    name: str,
    fn: Callable[[], Any] | Callable[[], Awaitable[Any]],
    *,
    per_attempt: bool = False,
    retry: RetryOption = None,
) -> Any:
    """Run ``fn`` once per run and record its result; later executions return the record.

    Use it for side effects (send an email, charge a card) and for anything
    non-deterministic (time, randomness, external reads) that decides which durable
    operations follow. The result must be JSON; what a later execution returns is the
    JSON form, so the first one returns that too.

    - The n-th call of ``step(name)`` in an execution is the step ``name#n``: a retry
      (or the attempt after a crash) returns what an earlier attempt recorded under that
      key, without calling ``fn``.
    - ``per_attempt=True``: recorded for this attempt only (its replays return it), run
      again by a retry. For values that must be fresh per attempt: "now" to compute
      this attempt's deadline, a nonce, a short-lived credential or presigned URL.
    - ``retry``: ``fn`` is retried in process, with backoff (a
      :class:`~switchyard.core.retry.RetryPolicy` or its dict, as for tasks:
      ``{"max_attempts": 3, "factor": 2, "min_timeout": 0.1, "max_timeout": 5,
      "randomize": True}``). Backoff sleeps in the worker, like a short wait: the run
      keeps its lease, on the injected clock. When the last
      try fails its exception reaches the task, whose own retry policy applies;
      :class:`~switchyard.AbortTaskRunError` is never retried. Without ``retry``,
      ``fn`` is called once.

    A step is recorded only while its attempt is still the run's live one: an attempt
    whose lease was lost (and whose run may already run elsewhere) records nothing and
    gets :class:`~switchyard.core.errors.RunNotExecutingError`.
    """
    execution = _execution("step")
    policy = _policy(retry)
    ref, key, found, result = _lookup(execution, name, per_attempt)
    if key is not None and not found:
        found, result = await execution.recorded_step(key)
    if found:
        return result
    with execution.working():
        for tries in itertools.count(1):
            try:
                result = fn()
                if inspect.isawaitable(result):
                    result = await result
                break
            except AbortTaskRunError:
                raise
            except Exception:
                if policy is None or not policy.should_retry(tries):
                    raise
            await execution.host.sleep_until(execution.host.now() + policy.backoff(tries))
    text = jsonutil.dumps(result, what=f"result of step {name!r}")
    stored = await execution.record(
        execution.engine.record_step, ref, execution.attempt_id, key, text, execution.host.now()
    )
    return json.loads(stored)  # an earlier record of the step wins over this one


def step_sync(
    name: str,
    fn: Callable[[], Any],
    *,
    per_attempt: bool = False,
    retry: RetryOption = None,
) -> Any:
    """Sync form of :func:`step` for plain ``def`` tasks (``fn`` runs in the task's thread,
    backoff sleeps in it too); same options and rules."""
    execution = _execution("step_sync")
    policy = _policy(retry)
    ref, key, found, result = _lookup(execution, name, per_attempt)
    if key is not None and not found:
        found, result = run_sync(partial(execution.recorded_step, key))
    if found:
        return result
    for tries in itertools.count(1):
        try:
            result = fn()
            break
        except AbortTaskRunError:
            raise
        except Exception:
            if policy is None or not policy.should_retry(tries):
                raise
        run_sync(partial(execution.host.sleep_until, execution.host.now() + policy.backoff(tries)))
    text = jsonutil.dumps(result, what=f"result of step {name!r}")
    stored = run_sync(
        lambda: execution.record(
            execution.engine.record_step,
            ref,
            execution.attempt_id,
            key,
            text,
            execution.host.now(),
        )
    )
    return json.loads(stored)  # an earlier record of the step wins over this one


def _execution(what: str) -> Execution:
    execution = current_execution()
    if execution is None:
        raise NotInRunError(f"{what}() only works inside a running task")
    return execution


def _policy(retry: RetryOption) -> RetryPolicy | None:
    """The step's retry policy, checked before anything runs; None: call ``fn`` once."""
    if retry is None or isinstance(retry, RetryPolicy):
        return retry
    return RetryPolicy().merged(retry)


def _lookup(
    execution: Execution, name: str, per_attempt: bool
) -> tuple[JournalRef, str | None, bool, Any]:
    """Take the step's journal position and key; ``found`` when its attempt's journal
    has it (a replay of this attempt)."""
    ref, entry = execution.next_ref("step", name)
    occurrence = execution.step_key(name)  # every call counts
    key = None if per_attempt else occurrence
    if entry is not None:
        return ref, key, True, entry.result
    return ref, key, False, None
