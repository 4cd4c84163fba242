"""Short time waits sleep in the worker instead of checkpointing (as in Trigger.dev),
on both backends, with the injected clock: no waitpoint, the run stays EXECUTING, the
worker's slot is free meanwhile, a replay does not sleep again, and idempotency keys or
``inline_wait_max=0`` still checkpoint."""

from __future__ import annotations

import dataclasses
from collections import Counter
from typing import Any

import pytest

import switchyard as sy
from switchyard import wait
from switchyard.config import WorkerSettings
from switchyard.core.clock import FakeClock
from switchyard.runtime import Runtime
from tests.helpers import eventually, running_worker

calls: Counter[str] = Counter()


@sy.task(id="sw-nap")
async def nap(payload: dict[str, Any], ctx: sy.RunContext) -> str:
    calls[f"before:{ctx.run.id}"] += 1
    await wait.for_(seconds=payload.get("seconds", 2), idempotency_key=payload.get("key"))
    calls[f"after:{ctx.run.id}"] += 1
    return "rested"


@sy.task(id="sw-nap-then-hour")
async def nap_then_hour(payload: dict[str, Any], ctx: sy.RunContext) -> str:
    await sy.step("first", lambda: calls.update([f"step:{ctx.run.id}"]) or 1)
    await wait.for_(seconds=3)
    calls[f"napped:{ctx.run.id}"] += 1
    await wait.for_(hours=1)
    return "done"


@sy.task(id="sw-quick")
async def quick(payload: Any) -> str:
    return "quick"


def status(runtime: Runtime, run_id: str) -> str:
    return str(runtime.engine.get_run(run_id).status)


async def test_short_wait_sleeps_in_process_without_a_slot(
    runtime: Runtime, clock: FakeClock
) -> None:
    handle = await nap.trigger({"seconds": 2})
    async with running_worker(runtime, ["sw-nap", "sw-quick"], concurrency=1) as worker:
        await eventually(lambda: worker.sleeping == 1)
        # The only slot is free while it sleeps: another run executes meanwhile.
        other = await quick.trigger({})
        assert (await sy.runs.poll(other, timeout=10)).output == "quick"
        assert status(runtime, handle.id) == "EXECUTING"  # no checkpoint, lease kept
        assert runtime.engine.run_waitpoints(handle.id) == []
        assert worker.parked == 0 and calls[f"after:{handle.id}"] == 0
        assert calls[f"before:{handle.id}"] == 1
        clock.advance(2)
        run = await sy.runs.poll(handle, timeout=10)
    assert run.output == "rested" and run.attempt_count == 1


@pytest.mark.parametrize("why", ["idempotency key", "inline_wait_max=0", "longer"])
async def test_these_waits_checkpoint(runtime: Runtime, clock: FakeClock, why: str) -> None:
    payload: dict[str, Any] = {"seconds": 2}
    if why == "idempotency key":
        payload["key"] = "nap-1"
    elif why == "longer":
        payload["seconds"] = 5.5
    else:
        worker = dataclasses.replace(runtime.config.worker, inline_wait_max=0)
        runtime.config = dataclasses.replace(runtime.config, worker=worker)
    handle = await nap.trigger(payload)
    async with running_worker(runtime, ["sw-nap"]):
        await eventually(lambda: status(runtime, handle.id) == "WAITING")
        [waitpoint] = runtime.engine.run_waitpoints(handle.id)
        assert waitpoint.kind == "DURATION"
        clock.advance(payload["seconds"])
        assert (await sy.runs.poll(handle, timeout=10)).output == "rested"


async def test_a_replay_does_not_sleep_again(runtime: Runtime, clock: FakeClock) -> None:
    handle = await nap_then_hour.trigger({})
    async with running_worker(runtime, ["sw-nap-then-hour"]) as first:
        await eventually(lambda: first.sleeping == 1)  # the sleep began: its end is fixed
        clock.advance(3)
        await eventually(lambda: status(runtime, handle.id) == "WAITING")
        assert first.parked == 1
    # The parked coroutine is gone: the next worker replays from the top. The short
    # wait before the journaled one already ran, so the replay goes straight past it
    # (the fake clock does not move: a sleep would never end).
    clock.advance(3600)
    async with running_worker(runtime, ["sw-nap-then-hour"]):
        run = await sy.runs.poll(handle, timeout=10)
    assert run.output == "done" and run.attempt_count == 1
    assert calls[f"step:{handle.id}"] == 1 and calls[f"napped:{handle.id}"] == 2


def test_inline_wait_max_is_checked() -> None:
    with pytest.raises(sy.ConfigError, match="inline_wait_max"):
        WorkerSettings(inline_wait_max=-1)
    assert sy.define_config(worker={"inline_wait_max": 0}).worker.inline_wait_max == 0
