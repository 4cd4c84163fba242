"""Waitpoints and checkpoints on both backends, with the injected clock."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections import Counter
from typing import Any

import pytest

import switchyard as sy
from switchyard import wait
from switchyard.core.clock import FakeClock
from switchyard.runtime import Runtime
from tests.helpers import eventually, running_worker

effects: Counter[str] = Counter()
flags: dict[str, Any] = {}
approvals = sy.queue("wp-approvals", concurrency_limit=1)


@sy.task(id="wp-sleeper")
async def sleeper(payload: dict[str, Any]) -> str:
    await wait.for_(days=3)
    return "rested"


@sy.task(id="wp-until")
async def until_task(payload: dict[str, Any]) -> str:
    await wait.until(dt.datetime.fromtimestamp(payload["at"], dt.UTC))
    return "arrived"


@sy.task(id="wp-approval", queue=approvals)
async def approval(payload: dict[str, Any], ctx: sy.RunContext) -> Any:
    token = await wait.create_token(timeout=payload.get("timeout"), tags=["approval"])
    flags[ctx.run.id] = token
    result = await wait.for_token(token)
    if payload.get("unwrap", True):
        return result.unwrap()
    return {"ok": result.ok, "error": result.error}


@sy.task(id="wp-quick", queue=approvals)
async def quick(payload: Any) -> str:
    return "quick"


@sy.task(id="wp-journal", retry={"max_attempts": 1})
async def journaled(payload: dict[str, Any], ctx: sy.RunContext) -> Any:
    first = await sy.step("charge", lambda: effects.update([ctx.run.id]) or {"charged": 10})
    await wait.for_(hours=1)
    if flags.get("diverge"):
        await sy.step("surprise", lambda: 1)
    second = await sy.step("email", lambda: {"sent": effects[ctx.run.id]})
    return {"first": first, "second": second, "count": effects[ctx.run.id]}


@sy.task(id="wp-retry", retry={"max_attempts": 2, "min_timeout": 0, "randomize": False})
async def retried(payload: Any, ctx: sy.RunContext) -> int:
    await wait.for_(seconds=30, idempotency_key=ctx.run.id)
    effects[f"retry-{ctx.run.id}"] += 1
    if ctx.attempt.number == 1:
        raise RuntimeError("first attempt fails after the wait")
    return ctx.attempt.number


@sy.task(id="wp-child")
async def child(payload: dict[str, Any]) -> Any:
    if payload.get("fail"):
        raise sy.AbortTaskRunError("child says no")
    return {"doubled": payload["n"] * 2}


@sy.task(id="wp-parent")
async def parent(payload: dict[str, Any]) -> Any:
    one = await child.trigger_and_wait({"n": 1})
    bad = await child.trigger_and_wait({"n": 0, "fail": True})
    many = await child.batch_trigger_and_wait([{"n": 2}, {"n": 3}])
    with pytest.raises(sy.ChildRunFailedError, match="child says no"):
        bad.unwrap()
    return {"one": one.unwrap(), "bad_ok": bad.ok, "many": [r.output for r in many]}


@sy.task(id="wp-gather")
async def gatherer(payload: Any) -> Any:
    token = await wait.create_token()
    flags["gather-token"] = token.id
    results = await asyncio.gather(
        wait.for_(minutes=5),
        wait.for_token(token),
        child.trigger_and_wait({"n": 21}),
        wait.for_(minutes=1),
    )
    return {"token": results[1].output, "child": results[2].output}


@sy.task(id="wp-sync")
def sync_waiter(payload: Any) -> Any:
    wait.for_sync(minutes=10)
    token = wait.create_token_sync()
    flags["sync-token"] = token.id
    got = wait.for_token_sync(token).unwrap()
    kid = child.trigger_and_wait_sync({"n": 5}).unwrap()
    return {"got": got, "kid": kid, "step": sy.step_sync("s", lambda: 7)}


@sy.task(id="wp-bounded", max_duration=0.5)
async def bounded(payload: Any, ctx: sy.RunContext) -> str:
    token = await wait.create_token()
    flags[f"bounded-{ctx.run.id}"] = token.id
    await wait.for_token(token)
    return "waits do not count"


def status(runtime: Runtime, run_id: str) -> str:
    return runtime.engine.get_run(run_id).status


async def test_duration_wait_is_durable_and_frees_the_slot(
    runtime: Runtime, clock: FakeClock
) -> None:
    handle = await sleeper.trigger({})
    async with running_worker(runtime, ["wp-sleeper", "wp-child"], concurrency=1) as worker:
        await eventually(lambda: status(runtime, handle.id) == "WAITING")
        # WAITING is committed a moment before the worker parks the coroutine.
        await eventually(lambda: worker.parked == 1)
        # The only slot is free: another run executes meanwhile.
        other = await child.trigger({"n": 4})
        assert (await sy.runs.poll(other, timeout=10)).output == {"doubled": 8}
        clock.advance(3 * 86400 - 1)
        await asyncio.sleep(0.4)
        assert status(runtime, handle.id) == "WAITING"
        clock.advance(1)
        run = await sy.runs.poll(handle, timeout=10)
    assert run.output == "rested" and run.attempt_count == 1


async def test_worker_completes_its_parked_timers_itself(
    runtime: Runtime, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    # No maintenance tick completes the wait: the worker that parked the run does, when
    # it comes due, and continues the run in place (same attempt, no replay).
    monkeypatch.setattr(runtime.storage, "complete_due_waitpoints", lambda now: 0)
    handle = await sleeper.trigger({})
    async with running_worker(runtime, ["wp-sleeper"], concurrency=1) as worker:
        await eventually(lambda: status(runtime, handle.id) == "WAITING")
        await eventually(lambda: worker.parked == 1)  # parked a moment after the commit
        clock.advance(3 * 86400)
        run = await sy.runs.poll(handle, timeout=10)
        assert worker.parked == 0
    assert run.output == "rested" and run.attempt_count == 1
    assert len(runtime.engine.list_attempts(handle.id)) == 1


async def test_wait_until(runtime: Runtime, clock: FakeClock) -> None:
    handle = await until_task.trigger({"at": clock.now() + 7200})
    async with running_worker(runtime, ["wp-until"]):
        await eventually(lambda: status(runtime, handle.id) == "WAITING")
        clock.advance(7200)
        assert (await sy.runs.poll(handle, timeout=10)).output == "arrived"


async def test_token_wait_frees_a_limit_one_queue(runtime: Runtime) -> None:
    a = await approval.trigger({})
    async with running_worker(runtime, ["wp-approval", "wp-quick"]):
        await eventually(lambda: status(runtime, a.id) == "WAITING")
        b = await quick.trigger({})
        assert (await sy.runs.poll(b, timeout=10)).output == "quick"
        assert status(runtime, a.id) == "WAITING"
        token = flags[a.id]
        [listed], _ = await wait.list_tokens(status="PENDING", tag="approval")
        assert listed.id == token.id
        done = await wait.complete_token(token, {"approved": True})
        assert done.status == sy.WaitpointStatus.COMPLETED
        again = await wait.complete_token(token, {"approved": False})  # first one wins
        assert again.output == {"approved": True}
        run = await sy.runs.poll(a, timeout=10)
    assert run.output == {"approved": True}


async def test_token_completed_before_anyone_waits(runtime: Runtime) -> None:
    token = await wait.create_token(idempotency_key="early", tags=["x"])
    again = await wait.create_token(idempotency_key="early")
    assert again.id == token.id and again.is_cached and not token.is_cached
    assert token.url.endswith(f"/api/v1/waitpoints/tokens/{token.id}/callback/" + token.url[-40:])
    await wait.complete_token(token.id, {"early": 1})
    assert (await wait.retrieve_token(token)).output == {"early": 1}
    with pytest.raises(sy.InvalidOptionError, match="existing token"):
        await wait.complete_token("waitpoint_nope", {})


async def test_token_timeout_is_a_result_not_a_failure(runtime: Runtime, clock: FakeClock) -> None:
    soft = await approval.trigger({"timeout": "10m", "unwrap": False})
    hard = await approval.trigger({"timeout": "10m"}, max_attempts=1)
    async with running_worker(runtime, ["wp-approval"], concurrency=5):
        await eventually(
            lambda: status(runtime, soft.id) == "WAITING" and status(runtime, hard.id) == "WAITING"
        )
        clock.advance(600)
        soft_run = await sy.runs.poll(soft, timeout=10)
        hard_run = await sy.runs.poll(hard, timeout=10)
    assert soft_run.status == sy.RunStatus.COMPLETED
    assert soft_run.output["ok"] is False
    assert soft_run.output["error"]["type"] == "WaitpointTimeoutError"
    assert hard_run.status == sy.RunStatus.FAILED  # unwrap() raised
    assert hard_run.error is not None and hard_run.error["type"] == "WaitpointTimeoutError"


async def test_replay_on_another_worker_skips_recorded_steps(
    runtime: Runtime, clock: FakeClock
) -> None:
    flags.pop("diverge", None)
    handle = await journaled.trigger({})
    async with running_worker(runtime, ["wp-journal"]) as first:
        await eventually(lambda: status(runtime, handle.id) == "WAITING")
        assert first.parked == 1
    # The first worker is gone with its parked coroutine: the next one replays.
    clock.advance(3600)
    async with running_worker(runtime, ["wp-journal"]):
        run = await sy.runs.poll(handle, timeout=10)
    assert run.status == sy.RunStatus.COMPLETED and run.attempt_count == 1
    assert run.output == {"first": {"charged": 10}, "second": {"sent": 1}, "count": 1}
    assert effects[handle.id] == 1  # the step before the wait ran once


async def test_replay_that_diverges_is_a_clear_error(runtime: Runtime, clock: FakeClock) -> None:
    flags.pop("diverge", None)
    handle = await journaled.trigger({})
    async with running_worker(runtime, ["wp-journal"]):
        await eventually(lambda: status(runtime, handle.id) == "WAITING")
    flags["diverge"] = True
    clock.advance(3600)
    try:
        async with running_worker(runtime, ["wp-journal"]):
            # Replay matches up to the wait; the new step after it is simply new work.
            run = await sy.runs.poll(handle, timeout=10)
        assert run.status == sy.RunStatus.COMPLETED
        # Diverging before a recorded operation is the error case.
        handle2 = await journaled.trigger({})
        flags.pop("diverge")
        async with running_worker(runtime, ["wp-journal"]):
            await eventually(lambda: status(runtime, handle2.id) == "WAITING")
        journal = runtime.storage.load_journal(handle2.id, 1)
        assert [e.kind for e in journal] == ["step", "wait"]
    finally:
        flags.pop("diverge", None)


async def test_non_determinism_error(runtime: Runtime, clock: FakeClock) -> None:
    @sy.task(id="wp-nondet", retry={"max_attempts": 1})
    async def nondet(payload: Any) -> None:
        if flags.get("nondet-replay"):
            await sy.step("other", lambda: 1)
        await wait.for_(minutes=1)
        await sy.step("after", lambda: 2)

    flags.pop("nondet-replay", None)
    handle = await nondet.trigger({})
    async with running_worker(runtime, ["wp-nondet"]):
        await eventually(lambda: status(runtime, handle.id) == "WAITING")
    flags["nondet-replay"] = True
    clock.advance(60)
    async with running_worker(runtime, ["wp-nondet"]):
        run = await sy.runs.poll(handle, timeout=10)
    flags.pop("nondet-replay")
    assert run.status == sy.RunStatus.FAILED
    assert run.error is not None and run.error["type"] == "NonDeterminismError"
    assert "durable operation #0 is step 'other'" in run.error["message"]


async def test_retried_attempt_skips_an_idempotent_wait(runtime: Runtime, clock: FakeClock) -> None:
    handle = await retried.trigger({})
    async with running_worker(runtime, ["wp-retry"]):
        await eventually(lambda: status(runtime, handle.id) == "WAITING")
        clock.advance(30)
        run = await sy.runs.poll(handle, timeout=10)
    assert run.status == sy.RunStatus.COMPLETED and run.output == 2
    assert effects[f"retry-{handle.id}"] == 2
    # One durable wait for both attempts: the second found it already completed.
    waits = [e for a in (1, 2) for e in runtime.storage.load_journal(handle.id, a)]
    assert len({e.waitpoint_id for e in waits}) == 1


async def test_trigger_and_wait_and_batches(runtime: Runtime) -> None:
    handle = await parent.trigger({})
    async with running_worker(runtime, ["wp-parent", "wp-child"], concurrency=1):
        run = await sy.runs.poll(handle, timeout=15)
    assert run.status == sy.RunStatus.COMPLETED, run.error
    assert run.output == {
        "one": {"doubled": 2},
        "bad_ok": False,
        "many": [{"doubled": 4}, {"doubled": 6}],
    }
    children = (await sy.runs.list(task="wp-child")).runs
    assert len(children) == 4 and {c.parent_run_id for c in children} == {handle.id}


async def test_trigger_and_wait_on_a_finished_idempotent_child(runtime: Runtime) -> None:
    @sy.task(id="wp-cached-parent")
    async def cached_parent(payload: Any) -> Any:
        first = await child.trigger_and_wait({"n": 5}, idempotency_key="same-child")
        second = await child.trigger_and_wait({"n": 99}, idempotency_key="same-child")
        return [first.id == second.id, second.output]

    handle = await cached_parent.trigger({})
    async with running_worker(runtime, ["wp-cached-parent", "wp-child"]):
        run = await sy.runs.poll(handle, timeout=10)
    assert run.output == [True, {"doubled": 10}]


async def test_parallel_waits_of_every_kind(runtime: Runtime, clock: FakeClock) -> None:
    handle = await gatherer.trigger({})
    async with running_worker(runtime, ["wp-gather", "wp-child"]):
        await eventually(
            lambda: "gather-token" in flags and status(runtime, handle.id) == "WAITING"
        )
        await wait.complete_token(flags.pop("gather-token"), "yes")
        clock.advance(60)
        await asyncio.sleep(0.5)
        assert status(runtime, handle.id) == "WAITING"
        clock.advance(240)
        run = await sy.runs.poll(handle, timeout=10)
    assert run.output == {"token": "yes", "child": {"doubled": 42}}


async def test_sync_tasks_wait_too(runtime: Runtime, clock: FakeClock) -> None:
    flags.pop("sync-token", None)  # the replay after the token wait sets it again
    handle = await sync_waiter.trigger({})
    async with running_worker(runtime, ["wp-sync", "wp-child"]):
        await eventually(lambda: status(runtime, handle.id) == "WAITING")
        clock.advance(600)
        await eventually(lambda: "sync-token" in flags)
        await wait.complete_token(flags.pop("sync-token"), {"ok": 1})
        run = await sy.runs.poll(handle, timeout=10)
    assert run.output == {"got": {"ok": 1}, "kid": {"doubled": 10}, "step": 7}


async def test_cancel_a_waiting_run(runtime: Runtime) -> None:
    handle = await approval.trigger({})
    async with running_worker(runtime, ["wp-approval"]) as worker:
        await eventually(lambda: status(runtime, handle.id) == "WAITING")
        assert await sy.runs.cancel(handle) == [handle.id]
        await eventually(lambda: worker.parked == 0)
    assert status(runtime, handle.id) == "CANCELED"
    assert runtime.storage.blocking_waitpoints(handle.id) == []


async def test_max_duration_excludes_waits(runtime: Runtime) -> None:
    handle = await bounded.trigger({})
    async with running_worker(runtime, ["wp-bounded"]):
        key = f"bounded-{handle.id}"
        await eventually(lambda: key in flags and status(runtime, handle.id) == "WAITING")
        await asyncio.sleep(1.0)  # twice the max duration, spent waiting
        await wait.complete_token(flags.pop(key), None)
        run = await sy.runs.poll(handle, timeout=10)
    assert run.status == sy.RunStatus.COMPLETED and run.output == "waits do not count"


async def test_waits_outside_a_run_are_explained(runtime: Runtime) -> None:
    with pytest.raises(sy.NotInRunError, match=r"inside a running task"):
        await wait.for_(seconds=1)
    with pytest.raises(sy.NotInRunError, match="trigger_and_wait"):
        await child.trigger_and_wait({"n": 1})
    with pytest.raises(sy.InvalidOptionError, match="timeout"):
        await wait.create_token(timeout="whenever")
