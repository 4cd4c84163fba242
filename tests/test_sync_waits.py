"""Durable waits in plain ``def`` tasks free the thread: the run suspends, then replays."""

from __future__ import annotations

from collections import Counter
from typing import Any

import switchyard as sy
from switchyard import wait
from switchyard.core.clock import FakeClock
from switchyard.runtime import Runtime
from tests.helpers import eventually, running_worker

effects: Counter[str] = Counter()
tokens: dict[str, str] = {}


@sy.task(id="sw-token")
def token_waiter(payload: Any, ctx: sy.RunContext) -> Any:
    effects[f"start-{ctx.run.id}"] += 1
    sy.step_sync("effect", lambda: effects.update([ctx.run.id]) or "done")
    token = wait.create_token_sync()
    tokens[ctx.run.id] = token.id
    return wait.for_token_sync(token).unwrap()


@sy.task(id="sw-sleep")
def sleeper(payload: Any, ctx: sy.RunContext) -> str:
    effects[f"start-{ctx.run.id}"] += 1
    wait.for_sync(seconds=60)
    return "rested"


@sy.task(id="sw-child")
async def child(payload: Any, ctx: sy.RunContext) -> Any:
    token = await wait.create_token()
    tokens[f"child-of-{ctx.run.parent_run_id}"] = token.id
    return {"child": (await wait.for_token(token)).unwrap()}


@sy.task(id="sw-parent")
def parent(payload: Any) -> Any:
    return child.trigger_and_wait_sync({}).unwrap()


@sy.task(id="sw-double")
async def double(payload: int) -> int:
    return payload * 2


@sy.task(id="sw-batch-parent")
def batch_parent(payload: Any) -> Any:
    return [r.unwrap() for r in double.batch_trigger_and_wait_sync([1, 2, 3])]


@sy.task(id="sw-catch")
def catcher(payload: Any, ctx: sy.RunContext) -> Any:
    token = wait.create_token_sync()
    tokens[ctx.run.id] = token.id
    try:
        return wait.for_token_sync(token).unwrap()
    except Exception:
        return "swallowed"
    finally:
        effects[f"finally-{ctx.run.id}"] += 1


@sy.task(id="sw-bare")
def bare(payload: Any, ctx: sy.RunContext) -> Any:
    token = wait.create_token_sync()
    tokens[ctx.run.id] = token.id
    try:
        return wait.for_token_sync(token).unwrap()
    except BaseException:
        return "swallowed everything"


@sy.task(id="sw-race")
def racer(payload: Any, ctx: sy.RunContext) -> Any:
    effects[f"start-{ctx.run.id}"] += 1
    token = wait.create_token_sync()
    try:
        return wait.for_token_sync(token).unwrap()
    finally:
        # Runs as the thread unwinds, before the run suspends: the token is done by then.
        wait.complete_token_sync(token, "raced")


def status(runtime: Runtime, run_id: str) -> str:
    return runtime.engine.get_run(run_id).status


async def test_waiting_sync_runs_hold_no_thread(runtime: Runtime) -> None:
    handles = [await token_waiter.trigger({"n": i}) for i in range(12)]
    async with running_worker(runtime, ["sw-token"], threads=4, concurrency=20) as worker:
        await eventually(lambda: all(status(runtime, h.id) == "WAITING" for h in handles))
        await eventually(lambda: all(h.id in tokens for h in handles))
        assert worker.busy_threads == 0
        assert worker.parked == 0
        for i, handle in enumerate(handles):
            await wait.complete_token(tokens[handle.id], {"approved": i})
        runs = [await sy.runs.poll(h, timeout=20) for h in handles]
        assert worker.busy_threads == 0
    assert [r.status for r in runs] == ["COMPLETED"] * 12
    assert [r.output for r in runs] == [{"approved": i} for i in range(12)]
    for run in runs:
        assert run.attempt_count == 1
        assert effects[run.id] == 1  # the step ran once
        assert effects[f"start-{run.id}"] == 2  # code before the wait ran again


async def test_long_time_wait_frees_the_thread(runtime: Runtime, clock: FakeClock) -> None:
    handle = await sleeper.trigger({})
    async with running_worker(runtime, ["sw-sleep"], threads=1) as worker:
        await eventually(lambda: status(runtime, handle.id) == "WAITING")
        assert worker.busy_threads == 0 and worker.parked == 0
        clock.advance(60)
        run = await sy.runs.poll(handle, timeout=10)
    assert run.output == "rested" and run.attempt_count == 1
    assert effects[f"start-{handle.id}"] == 2


async def test_trigger_and_wait_from_a_sync_parent(runtime: Runtime) -> None:
    handle = await parent.trigger({})
    async with running_worker(runtime, ["sw-parent", "sw-child"], threads=1) as worker:
        await eventually(lambda: status(runtime, handle.id) == "WAITING")
        await eventually(lambda: f"child-of-{handle.id}" in tokens)
        assert worker.busy_threads == 0
        await wait.complete_token(tokens[f"child-of-{handle.id}"], "yes")
        run = await sy.runs.poll(handle, timeout=10)
    assert run.output == {"child": "yes"} and run.attempt_count == 1


async def test_batch_trigger_and_wait_from_a_sync_parent(runtime: Runtime) -> None:
    handle = await batch_parent.trigger({})
    async with running_worker(runtime, ["sw-batch-parent", "sw-double"], threads=1) as worker:
        run = await sy.runs.poll(handle, timeout=10)
        assert worker.busy_threads == 0
    assert run.output == [2, 4, 6] and run.attempt_count == 1


async def test_except_exception_does_not_swallow_the_suspension(runtime: Runtime) -> None:
    handles = [await catcher.trigger({}), await bare.trigger({})]
    async with running_worker(runtime, ["sw-catch", "sw-bare"], threads=1) as worker:
        await eventually(lambda: all(status(runtime, h.id) == "WAITING" for h in handles))
        await eventually(lambda: all(h.id in tokens for h in handles))
        assert worker.busy_threads == 0
        assert effects[f"finally-{handles[0].id}"] == 1  # ran as the thread unwound
        for handle in handles:
            await wait.complete_token(tokens[handle.id], "approved")
        runs = [await sy.runs.poll(h, timeout=10) for h in handles]
    assert [r.output for r in runs] == ["approved", "approved"]
    assert effects[f"finally-{handles[0].id}"] == 2


async def test_waitpoint_completed_while_the_thread_unwinds(runtime: Runtime) -> None:
    handle = await racer.trigger({})
    async with running_worker(runtime, ["sw-race"], threads=1):
        run = await sy.runs.poll(handle, timeout=10)
    assert run.output == "raced" and run.attempt_count == 1
    assert effects[f"start-{handle.id}"] == 2  # replayed at once, never WAITING
