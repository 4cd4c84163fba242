"""``step`` means once per run: the storage contract of recorded steps (both databases)
and in-process workers retrying runs whose steps already ran."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from typing import Any

import pytest

import switchyard as sy
from switchyard.core.clock import FakeClock
from switchyard.core.errors import RunNotExecutingError
from switchyard.core.models import Claim, NewRun
from switchyard.core.retry import RetryPolicy
from switchyard.core.waitpoints import JournalRef, NewWaitpoint, WaitpointKind
from switchyard.runtime import Runtime
from switchyard.storage import Storage
from tests.helpers import eventually, running_worker

T0 = 1_767_225_600.0
NO_WAIT = {"min_timeout": 0, "max_timeout": 0, "randomize": False}


# -- storage contract -------------------------------------------------------------------------
def claimed(storage: Storage, retry: RetryPolicy | None = None, now: float = T0) -> Claim:
    kw: dict[str, Any] = {} if retry is None else {"retry": retry}
    storage.trigger([NewRun(task_id="t", queue="task/t", payload_json="{}", **kw)], now)
    [claim] = storage.claim("dev", "worker_a", ["t"], 1, now, 10.0)
    return claim


def ref(claim: Claim, position: int, name: str = "charge") -> JournalRef:
    return JournalRef(claim.run.id, claim.attempt_number, position, "step", name)


def test_a_step_is_recorded_for_the_run_and_in_the_attempts_journal(storage: Storage) -> None:
    claim = claimed(storage)
    stored = storage.record_step(ref(claim, 0), claim.attempt_id, "charge#1", '{"id": 7}', T0)
    assert json.loads(stored) == {"id": 7}
    assert storage.load_steps(claim.run.id) == {"charge#1": {"id": 7}}
    [entry] = storage.load_journal(claim.run.id, 1)
    assert (entry.position, entry.kind, entry.name, entry.result) == (
        0,
        "step",
        "charge",
        {"id": 7},
    )
    assert storage.load_steps("run_unknown") == {}


def test_a_per_attempt_step_is_in_the_journal_only(storage: Storage) -> None:
    claim = claimed(storage)
    assert storage.record_step(ref(claim, 0, "now"), claim.attempt_id, None, "12.5", T0) == "12.5"
    assert storage.load_steps(claim.run.id) == {}
    assert [e.result for e in storage.load_journal(claim.run.id, 1)] == [12.5]


def test_the_first_record_of_a_step_wins(storage: Storage) -> None:
    claim = claimed(storage)
    storage.record_step(ref(claim, 0), claim.attempt_id, "charge#1", '"first"', T0)
    # The same step finished again (a stale execution of the attempt): the record stays.
    assert storage.record_step(ref(claim, 3), claim.attempt_id, "charge#1", '"again"', T0) == (
        '"first"'
    )
    assert storage.load_steps(claim.run.id) == {"charge#1": "first"}
    assert [e.result for e in storage.load_journal(claim.run.id, 1)] == ["first", "first"]


def test_a_step_of_an_attempt_that_lost_its_lease_is_refused(storage: Storage) -> None:
    first = claimed(storage, RetryPolicy(max_attempts=3))
    storage.record_step(ref(first, 0, "a"), first.attempt_id, "a#1", "1", T0)
    assert storage.recover_lapsed(T0 + 11) == [first.run.id]  # lease lost: run QUEUED
    with pytest.raises(RunNotExecutingError):
        storage.record_step(ref(first, 1, "b"), first.attempt_id, "b#1", "2", T0 + 11)
    [second] = storage.claim("dev", "worker_b", ["t"], 1, T0 + 12, 10.0)
    assert second.attempt_number == 2
    with pytest.raises(RunNotExecutingError):  # and while another attempt runs
        storage.record_step(ref(first, 1, "b"), first.attempt_id, "b#1", "2", T0 + 12)
    assert storage.load_steps(first.run.id) == {"a#1": 1}
    assert [e.name for e in storage.load_journal(first.run.id, 1)] == ["a"]
    # The live attempt records its steps next to the earlier attempt's.
    storage.record_step(ref(second, 1, "b"), second.attempt_id, "b#1", "3", T0 + 12)
    assert storage.load_steps(first.run.id) == {"a#1": 1, "b#1": 3}
    assert [e.result for e in storage.load_journal(first.run.id, 2)] == [3]


def test_a_step_of_a_suspended_attempt_is_kept_one_of_a_canceled_run_is_not(
    storage: Storage,
) -> None:
    claim = claimed(storage)
    token, _ = storage.create_waitpoint(NewWaitpoint(WaitpointKind.TOKEN, "dev"), None, T0)
    assert storage.block_run(claim.run.id, claim.attempt_id, [token.id], T0) == []
    # A sibling coroutine of the parked attempt finished a step: still the live attempt.
    storage.record_step(ref(claim, 0), claim.attempt_id, "charge#1", "1", T0)
    storage.cancel("dev", claim.run.id, T0 + 1)
    with pytest.raises(RunNotExecutingError):
        storage.record_step(ref(claim, 1, "email"), claim.attempt_id, "email#1", "2", T0 + 1)
    assert storage.load_steps(claim.run.id) == {"charge#1": 1}


# -- workers ----------------------------------------------------------------------------------
effects: Counter[str] = Counter()


def effect(name: str, run_id: str, value: Any) -> Any:
    effects[f"{name}:{run_id}"] += 1
    return value


@sy.task(id="st-once", retry={"max_attempts": 2, **NO_WAIT})
async def once(payload: Any, ctx: sy.RunContext) -> Any:
    run = ctx.run.id
    a = await sy.step("a", lambda: effect("a", run, {"attempt": ctx.attempt.number}))
    if ctx.attempt.number == 1:  # control flow that differs between attempts
        await sy.step("only-first", lambda: effect("only-first", run, 0))
    b = await sy.step("b", lambda: effect("b", run, ctx.attempt.number))
    b2 = await sy.step("b", lambda: effect("b2", run, 10 * ctx.attempt.number))  # b#2
    fresh = await sy.step(
        "fresh", lambda: effect("fresh", run, ctx.attempt.number), per_attempt=True
    )
    if ctx.attempt.number == 1:
        raise RuntimeError("attempt 1 fails after its steps")
    c = await sy.step("c", lambda: effect("c", run, ctx.attempt.number))
    return {"a": a, "b": b, "b2": b2, "fresh": fresh, "c": c}


@sy.task(id="st-once-sync", retry={"max_attempts": 2, **NO_WAIT})
def once_sync(payload: Any, ctx: sy.RunContext) -> Any:
    run = ctx.run.id
    a = sy.step_sync("a", lambda: effect("sync-a", run, ctx.attempt.number))
    fresh = sy.step_sync("t", lambda: effect("sync-t", run, ctx.attempt.number), per_attempt=True)
    if ctx.attempt.number == 1:
        raise RuntimeError("attempt 1 fails after its steps")
    return {"a": a, "fresh": fresh}


def flaky(name: str, run_id: str, failures: int) -> Any:
    """Fails ``failures`` times, then returns how many calls it took."""
    effects[f"{name}:{run_id}"] += 1
    if effects[f"{name}:{run_id}"] <= failures:
        raise ConnectionError(f"try {effects[f'{name}:{run_id}']} failed")
    return effects[f"{name}:{run_id}"]


@sy.task(id="st-retry", retry={"max_attempts": 1})
async def step_retry(payload: dict[str, Any], ctx: sy.RunContext) -> Any:
    retry = {"max_attempts": 3, "factor": 2, "min_timeout": 1, "max_timeout": 5, "randomize": False}
    return await sy.step(
        "call", lambda: flaky("call", ctx.run.id, payload["failures"]), retry=retry
    )


@sy.task(id="st-retry-sync", retry={"max_attempts": 1})
def step_retry_sync(payload: dict[str, Any], ctx: sy.RunContext) -> Any:
    return sy.step_sync(
        "call",
        lambda: flaky("sync-call", ctx.run.id, payload["failures"]),
        retry={"max_attempts": 3, **NO_WAIT},
    )


@sy.task(id="st-abort", retry={"max_attempts": 3, **NO_WAIT})
async def aborting(payload: Any, ctx: sy.RunContext) -> Any:
    def no() -> None:
        effects[f"abort:{ctx.run.id}"] += 1
        raise sy.AbortTaskRunError("not retried")

    return await sy.step("no", no, retry={"max_attempts": 5, **NO_WAIT})


async def test_a_retry_returns_the_steps_of_the_failed_attempt(runtime: Runtime) -> None:
    handle = await once.trigger({})
    async with running_worker(runtime, ["st-once"]):
        run = await sy.runs.poll(handle, timeout=10)
    assert run.status == sy.RunStatus.COMPLETED and run.attempt_count == 2
    # a, b (twice: b#1, b#2) ran on attempt 1 only; attempt 2 skipped "only-first" and
    # still found b#1 and b#2; the per-attempt step ran again; c is new work.
    assert run.output == {"a": {"attempt": 1}, "b": 1, "b2": 10, "fresh": 2, "c": 2}
    counts = {k.split(":")[0]: v for k, v in effects.items() if k.endswith(handle.id)}
    assert counts == {"a": 1, "only-first": 1, "b": 1, "b2": 1, "fresh": 2, "c": 1}
    assert set(runtime.storage.load_steps(handle.id)) == {
        "a#1",
        "only-first#1",
        "b#1",
        "b#2",
        "c#1",
    }


async def test_sync_steps_are_once_per_run_too(runtime: Runtime) -> None:
    handle = await once_sync.trigger({})
    async with running_worker(runtime, ["st-once-sync"]):
        run = await sy.runs.poll(handle, timeout=10)
    assert run.status == sy.RunStatus.COMPLETED and run.attempt_count == 2
    assert run.output == {"a": 1, "fresh": 2}
    assert effects[f"sync-a:{handle.id}"] == 1 and effects[f"sync-t:{handle.id}"] == 2


async def test_a_step_retries_its_function_with_backoff_on_the_clock(
    runtime: Runtime, clock: FakeClock
) -> None:
    handle = await step_retry.trigger({"failures": 2})
    key = f"call:{handle.id}"
    # Leases run on the fake clock too: moving it 3 s must not lapse the run's lease.
    async with running_worker(runtime, ["st-retry"], lease_seconds=60):
        await eventually(lambda: effects[key] == 1)
        await eventually(lambda: runtime.engine.get_run(handle.id).status == "EXECUTING")
        await asyncio.sleep(0.2)
        assert effects[key] == 1  # backing off 1 s on the fake clock
        clock.advance(1)
        await eventually(lambda: effects[key] == 2)
        clock.advance(1)
        await asyncio.sleep(0.2)
        assert effects[key] == 2  # the second backoff is 2 s
        clock.advance(1)
        run = await sy.runs.poll(handle, timeout=10)
    assert run.status == sy.RunStatus.COMPLETED and run.output == 3 and run.attempt_count == 1


async def test_a_step_that_keeps_failing_fails_the_attempt(
    runtime: Runtime, clock: FakeClock
) -> None:
    handle = await step_retry.trigger({"failures": 99})
    key = f"call:{handle.id}"
    async with running_worker(runtime, ["st-retry"], lease_seconds=60):
        for tries in (1, 2):
            await eventually(lambda: effects[key] == tries)  # noqa: B023
            clock.advance(2**tries)
        run = await sy.runs.poll(handle, timeout=10)
    assert run.status == sy.RunStatus.FAILED and run.attempt_count == 1
    assert run.error is not None and run.error["type"] == "ConnectionError"
    assert run.error["message"] == "try 3 failed" and effects[key] == 3
    assert runtime.storage.load_steps(handle.id) == {}


async def test_sync_step_retry(runtime: Runtime) -> None:
    ok = await step_retry_sync.trigger({"failures": 2})
    bad = await step_retry_sync.trigger({"failures": 3})
    async with running_worker(runtime, ["st-retry-sync"]):
        ok_run = await sy.runs.poll(ok, timeout=10)
        bad_run = await sy.runs.poll(bad, timeout=10)
    assert ok_run.status == sy.RunStatus.COMPLETED and ok_run.output == 3
    assert bad_run.status == sy.RunStatus.FAILED and effects[f"sync-call:{bad.id}"] == 3


async def test_abort_in_a_step_is_not_retried(runtime: Runtime) -> None:
    handle = await aborting.trigger({})
    async with running_worker(runtime, ["st-abort"]):
        run = await sy.runs.poll(handle, timeout=10)
    assert run.status == sy.RunStatus.FAILED and run.attempt_count == 1
    assert effects[f"abort:{handle.id}"] == 1


async def test_a_bad_step_retry_option_fails_before_the_step_runs(runtime: Runtime) -> None:
    @sy.task(id="st-bad-option", retry={"max_attempts": 1})
    async def bad_option(payload: Any) -> Any:
        return await sy.step("x", lambda: effects.update(["bad-option"]), retry={"tries": 3})

    handle = await bad_option.trigger({})
    async with running_worker(runtime, ["st-bad-option"]):
        run = await sy.runs.poll(handle, timeout=10)
    assert run.status == sy.RunStatus.FAILED
    assert run.error is not None and run.error["type"] == "InvalidOptionError"
    assert effects["bad-option"] == 0


gates: dict[str, Any] = {}


@sy.task(id="st-gather", retry={"max_attempts": 1})
async def gathered(payload: Any, ctx: sy.RunContext) -> Any:
    token = await sy.wait.create_token()
    gates["token"] = token.id

    async def slow() -> str:
        await gates["open"].wait()
        return "done"

    result, got = await asyncio.gather(sy.step("slow", slow), sy.wait.for_token(token))
    return {"step": result, "token": got.output}


async def test_a_running_step_keeps_a_sibling_wait_from_suspending_the_run(
    runtime: Runtime,
) -> None:
    gates["open"] = asyncio.Event()
    handle = await gathered.trigger({})
    async with running_worker(runtime, ["st-gather"]):
        await eventually(lambda: "token" in gates)
        await asyncio.sleep(0.3)
        # The token wait is pending, but the step is still running: no suspension.
        assert runtime.engine.get_run(handle.id).status == "EXECUTING"
        gates["open"].set()
        await eventually(lambda: runtime.engine.get_run(handle.id).status == "WAITING")
        await sy.wait.complete_token(gates["token"], {"ok": 1})
        run = await sy.runs.poll(handle, timeout=10)
    assert run.status == sy.RunStatus.COMPLETED
    assert run.output == {"step": "done", "token": {"ok": 1}}
