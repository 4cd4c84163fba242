"""A worker in this process executing runs: outcomes, retries, time, cancel."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

import pytest
from pydantic import BaseModel

import switchyard as sy
from switchyard.core.clock import FakeClock
from switchyard.core.models import NewRun
from switchyard.runtime import Runtime
from tests.helpers import eventually, running_worker

calls: dict[str, list[Any]] = {}
release = threading.Event()


@sy.task(id="w-echo")
async def echo(payload: Any, ctx: sy.RunContext) -> dict[str, Any]:
    return {
        "payload": payload,
        "run": ctx.run.id,
        "attempt": ctx.attempt.number,
        "queue": ctx.queue.name,
        "tags": list(ctx.run.tags),
        "task": ctx.task.id,
    }


@sy.task(id="w-sync")
def sync_task(payload: int) -> dict[str, Any]:
    return {"double": payload * 2, "thread": threading.current_thread().name}


@sy.task(id="w-flaky", retry={"max_attempts": 3, "min_timeout": 5, "factor": 2, "randomize": False})
async def flaky(payload: Any, ctx: sy.RunContext) -> int:
    calls.setdefault(ctx.run.id, []).append(ctx.attempt.number)
    if ctx.attempt.number < 3:
        raise RuntimeError(f"fail {ctx.attempt.number}")
    return ctx.attempt.number


@sy.task(id="w-always-fails", retry={"max_attempts": 2, "min_timeout": 0, "randomize": False})
def always_fails(payload: Any) -> None:
    raise ValueError("nope")


@sy.task(id="w-abort", retry={"max_attempts": 5})
async def abort(payload: Any) -> None:
    raise sy.AbortTaskRunError("bad input, do not retry")


@sy.task(id="w-slow-async", max_duration=0.3)
async def slow_async(payload: Any) -> None:
    await asyncio.sleep(30)


@sy.task(id="w-slow-sync", max_duration=0.3)
def slow_sync(payload: Any) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        time.sleep(0.01)


@sy.task(id="w-blocker")
async def blocker(payload: Any) -> str:
    await asyncio.sleep(60)
    return "finished"


@sy.task(id="w-unserializable")
async def unserializable(payload: Any) -> object:
    return object()


started_order: list[str] = []


@sy.task(id="w-record")
async def record(payload: dict[str, str]) -> None:
    started_order.append(payload["name"])


@sy.task(id="w-parent")
async def parent(payload: Any) -> list[str]:
    a = await echo.trigger({"child": 1})
    batch = await echo.batch_trigger([{"child": 2}, {"child": 3}])
    return [a.id, *[h.id for h in batch.runs]]


class Order(BaseModel):
    sku: str
    quantity: int


@sy.schema_task(id="w-order", schema=Order)
async def order(o: Order) -> dict[str, Any]:
    assert isinstance(o, Order)
    return {"sku": o.sku, "total": o.quantity * 3}


async def test_async_task_gets_its_context_and_output_is_stored(runtime: Runtime) -> None:
    handle = await echo.trigger({"x": 1}, tags=["a", "b"])
    async with running_worker(runtime, ["w-echo"]):
        run = await sy.runs.poll(handle, timeout=10)
    assert run.status == sy.RunStatus.COMPLETED
    assert run.output == {
        "payload": {"x": 1},
        "run": handle.id,
        "attempt": 1,
        "queue": "task/w-echo",
        "tags": ["a", "b"],
        "task": "w-echo",
    }
    [attempt] = runtime.engine.list_attempts(handle.id)
    assert attempt.status == sy.AttemptStatus.COMPLETED


async def test_sync_task_runs_in_a_thread(runtime: Runtime) -> None:
    handle = sync_task.trigger_sync(21)
    async with running_worker(runtime, ["w-sync"]):
        run = await sy.runs.poll(handle, timeout=10)
    assert run.output["double"] == 42
    assert run.output["thread"].startswith("switchyard-task")


async def test_retries_back_off_on_the_injected_clock(runtime: Runtime, clock: FakeClock) -> None:
    handle = await flaky.trigger()
    async with running_worker(runtime, ["w-flaky"]):

        def delayed_after(attempts: int) -> bool:
            run = runtime.engine.get_run(handle.id)
            return run.status == sy.RunStatus.DELAYED and run.attempt_count == attempts

        await eventually(lambda: delayed_after(1))
        run = runtime.engine.get_run(handle.id)
        assert run.delay_until == clock.now() + 5  # min_timeout
        assert run.error is not None and run.error["message"] == "fail 1"
        await asyncio.sleep(0.5)
        assert delayed_after(1)
        clock.advance(5)
        await eventually(lambda: delayed_after(2))
        assert runtime.engine.get_run(handle.id).delay_until == clock.now() + 10  # x factor
        clock.advance(10)
        run = await sy.runs.poll(handle, timeout=10)
    assert run.status == sy.RunStatus.COMPLETED and run.output == 3
    assert calls[handle.id] == [1, 2, 3]
    assert [a.status for a in runtime.engine.list_attempts(handle.id)] == [
        sy.AttemptStatus.FAILED,
        sy.AttemptStatus.FAILED,
        sy.AttemptStatus.COMPLETED,
    ]


async def test_failure_after_the_last_attempt(runtime: Runtime) -> None:
    handle = await always_fails.trigger()
    async with running_worker(runtime, ["w-always-fails"]):
        run = await sy.runs.poll(handle, timeout=10)
    assert run.status == sy.RunStatus.FAILED and run.attempt_count == 2
    assert run.error is not None
    assert run.error["type"] == "ValueError" and "nope" in run.error["stack"]


async def test_per_trigger_max_attempts_overrides_the_task(runtime: Runtime) -> None:
    handle = await always_fails.trigger(max_attempts=1)
    async with running_worker(runtime, ["w-always-fails"]):
        run = await sy.runs.poll(handle, timeout=10)
    assert run.status == sy.RunStatus.FAILED and run.attempt_count == 1


async def test_abort_fails_without_retrying(runtime: Runtime) -> None:
    handle = await abort.trigger()
    async with running_worker(runtime, ["w-abort"]):
        run = await sy.runs.poll(handle, timeout=10)
    assert run.status == sy.RunStatus.FAILED and run.attempt_count == 1
    assert run.error is not None and run.error["type"] == "AbortTaskRunError"


@pytest.mark.parametrize("task", [slow_async, slow_sync], ids=["async", "sync"])
async def test_max_duration_times_out(runtime: Runtime, task: sy.Task[Any]) -> None:
    handle = await task.trigger()
    started = time.monotonic()
    async with running_worker(runtime, [task.id], shutdown_grace=0.5):
        run = await sy.runs.poll(handle, timeout=10)
    assert run.status == sy.RunStatus.TIMED_OUT and run.attempt_count == 1
    assert time.monotonic() - started < 5
    assert runtime.engine.list_attempts(handle.id)[0].status == sy.AttemptStatus.TIMED_OUT


async def test_delay_holds_the_run_until_due(runtime: Runtime, clock: FakeClock) -> None:
    handle = await echo.trigger({}, delay="1h")
    async with running_worker(runtime, ["w-echo"]):
        await asyncio.sleep(0.5)
        assert runtime.engine.get_run(handle.id).status == sy.RunStatus.DELAYED
        clock.advance(3600)
        run = await sy.runs.poll(handle, timeout=10)
    assert run.status == sy.RunStatus.COMPLETED


async def test_ttl_expires_a_run_nobody_started(runtime: Runtime, clock: FakeClock) -> None:
    handle = await echo.trigger({}, ttl="10s")
    async with running_worker(runtime, ["w-sync"]):  # nobody runs w-echo
        clock.advance(11)
        run = await sy.runs.poll(handle, timeout=10)
    assert run.status == sy.RunStatus.EXPIRED


async def test_cancel_stops_an_executing_run(runtime: Runtime) -> None:
    handle = await blocker.trigger()
    async with running_worker(runtime, ["w-blocker"]):
        await eventually(lambda: runtime.engine.get_run(handle.id).status == "EXECUTING")
        assert await sy.runs.cancel(handle) == [handle.id]
        run = await sy.runs.poll(handle, timeout=5)
        worker_empty = await eventually(lambda: True)
    assert worker_empty and run.status == sy.RunStatus.CANCELED
    assert runtime.engine.list_attempts(handle.id)[0].status == sy.AttemptStatus.CANCELED


async def test_shutdown_hands_back_unfinished_runs(runtime: Runtime) -> None:
    handle = await blocker.trigger()
    async with running_worker(runtime, ["w-blocker"], shutdown_grace=0.2):
        await eventually(lambda: runtime.engine.get_run(handle.id).status == "EXECUTING")
    run = runtime.engine.get_run(handle.id)
    assert run.status == sy.RunStatus.QUEUED and run.worker_id is None
    assert runtime.engine.list_attempts(handle.id)[0].status == sy.AttemptStatus.RELEASED


async def test_unserializable_output_fails_without_retry(runtime: Runtime) -> None:
    handle = await unserializable.trigger()
    async with running_worker(runtime, ["w-unserializable"]):
        run = await sy.runs.poll(handle, timeout=10)
    assert run.status == sy.RunStatus.FAILED and run.attempt_count == 1
    assert run.error is not None and run.error["type"] == "NotSerializableError"


async def test_children_know_their_parent_and_cancel_follows_them(runtime: Runtime) -> None:
    handle = await parent.trigger()
    async with running_worker(runtime, ["w-parent"]):
        run = await sy.runs.poll(handle, timeout=10)
    children = [runtime.engine.get_run(i) for i in run.output]
    assert {c.parent_run_id for c in children} == {handle.id}
    assert {c.root_run_id for c in children} == {handle.id}
    assert children[1].batch_id is not None and children[1].batch_id == children[2].batch_id
    canceled = await sy.runs.cancel(handle)
    assert set(canceled) == set(run.output)


async def test_schema_task_validates_on_trigger_and_run(runtime: Runtime) -> None:
    with pytest.raises(sy.PayloadValidationError) as info:
        await order.trigger({"sku": "a", "quantity": "many"})
    assert info.value.errors[0]["loc"] == ["quantity"]
    assert (await sy.runs.list()).runs == []  # no run was created
    good = await order.trigger(Order(sku="a", quantity=2))
    # A payload that went around validation (e.g. written by an older version).
    [bad] = runtime.engine.trigger(
        [NewRun(task_id="w-order", queue="task/w-order", payload_json='{"sku": 1}')]
    )
    async with running_worker(runtime, ["w-order"]):
        ok = await sy.runs.poll(good, timeout=10)
        failed = await sy.runs.poll(bad.run_id, timeout=10)
    assert ok.output == {"sku": "a", "total": 6}
    assert failed.status == sy.RunStatus.FAILED and failed.attempt_count == 1
    assert failed.error is not None and failed.error["type"] == "PayloadValidationError"


async def test_replay_makes_a_new_run_with_the_same_payload(runtime: Runtime) -> None:
    first = await echo.trigger({"n": 1}, tags=["t1"])
    again = await sy.runs.replay(first)
    edited = await sy.runs.replay(first, payload={"n": 2})
    async with running_worker(runtime, ["w-echo"]):
        r2 = await sy.runs.poll(again, timeout=10)
        r3 = await sy.runs.poll(edited, timeout=10)
    assert r2.payload == {"n": 1} and r2.replayed_from == first.id and r2.tags == ("t1",)
    assert r3.payload == {"n": 2}


async def test_priority_orders_starts_within_a_queue(runtime: Runtime, clock: FakeClock) -> None:
    started_order.clear()
    low = await record.trigger({"name": "low"})
    clock.advance(1)
    high = await record.trigger({"name": "high"}, priority=10)
    clock.advance(1)
    mid = await record.trigger({"name": "mid"}, priority=1.5)
    clock.advance(1)
    top = await record.trigger({"name": "top"}, priority=1e9)
    async with running_worker(runtime, ["w-record"], concurrency=1):
        for h in (low, high, mid, top):
            await sy.runs.poll(h, timeout=10)
    # Keys: low T, high T+1-10, mid T+2-1.5, top ~ -inf.
    assert started_order == ["top", "high", "low", "mid"]


async def test_idempotent_trigger_returns_the_same_run(runtime: Runtime) -> None:
    a = await echo.trigger({"n": 1}, idempotency_key="order-7", idempotency_key_ttl="5m")
    b = await echo.trigger({"n": 2}, idempotency_key="order-7")
    assert b.id == a.id and b.is_cached and not a.is_cached
    batch = await echo.batch_trigger([{"i": 0}, {"i": 1}], idempotency_key="batch-1")
    again = await echo.batch_trigger([{"i": 0}, {"i": 1}, {"i": 2}], idempotency_key="batch-1")
    assert [h.id for h in again.runs[:2]] == [h.id for h in batch.runs]
    assert [h.is_cached for h in again.runs] == [True, True, False]
    with pytest.raises(sy.InvalidOptionError, match="idempotency_key_ttl"):
        await echo.trigger({}, idempotency_key="x", idempotency_key_ttl="forever")


async def test_bad_options_are_clear_errors(runtime: Runtime) -> None:
    with pytest.raises(sy.InvalidOptionError, match="delay"):
        await echo.trigger({}, delay="tomorrow-ish")
    with pytest.raises(sy.InvalidOptionError, match="priority"):
        await echo.trigger({}, priority=-1)
    with pytest.raises(sy.InvalidOptionError, match="tags"):
        await echo.trigger({}, tags=[f"t{i}" for i in range(11)])
    with pytest.raises(sy.NotSerializableError):
        await echo.trigger(object())
    with pytest.raises(sy.PayloadTooLargeError, match="limit"):
        await echo.trigger("x" * (4 * 1024 * 1024))
    assert (await sy.runs.list()).runs == []
