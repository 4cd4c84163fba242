"""Leases that user code cannot starve, and outcomes the database refuses.

These run a real worker on the real clock (leases lapse in real time) on SQLite and
PostgreSQL; the partition tests with a TCP proxy are in ``tests/faults/``.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

import switchyard as sy
from switchyard import runtime as runtime_module
from switchyard.core.clock import FakeClock
from switchyard.core.states import AttemptStatus, RunStatus
from switchyard.runtime import Runtime, reset_runtime
from tests.conftest import make_config
from tests.helpers import eventually, running_worker

RETRY = {"max_attempts": 3, "min_timeout": 0, "max_timeout": 0, "randomize": False}


@sy.task(id="lease-blocker", retry=RETRY)
async def blocker(payload: Any) -> str:
    time.sleep(float(payload))  # noqa: ASYNC251 - blocks the event loop on purpose
    return "blocked"


@sy.task(id="lease-patient", retry=RETRY)
async def patient(payload: Any, ctx: sy.RunContext) -> int:
    await asyncio.sleep(0.1)
    return ctx.attempt.number


@sy.task(id="lease-poison", retry=RETRY)
async def poison(payload: Any) -> Any:
    return {"s": "\ud800"} if payload == "poison" else payload


@sy.task(id="lease-bad-error", retry={"max_attempts": 1})
async def bad_error(payload: Any) -> None:
    raise ValueError("broken text: \ud800 and \x00")


@pytest.fixture
def real_runtime(database_url: str) -> Iterator[Runtime]:
    """The runtime on the real clock: leases lapse as time really passes."""
    rt = runtime_module.configure(make_config(database_url))
    try:
        yield rt
    finally:
        reset_runtime()


async def test_a_task_blocking_the_loop_cannot_cost_another_run_its_lease(
    real_runtime: Runtime, caplog: pytest.LogCaptureFixture
) -> None:
    """Lease 2 s, loop blocked 4 s: the other run keeps its lease and runs once."""
    engine = real_runtime.engine
    lapsed: list[str] = []
    sampling = threading.Event()

    def recover_meanwhile() -> None:
        # What any other worker would do while this one's loop is blocked.
        while not sampling.wait(0.1):
            lapsed.extend(engine.tick().recovered)

    caplog.set_level(logging.WARNING, logger="switchyard.worker")
    async with running_worker(
        real_runtime, ["lease-blocker", "lease-patient"], lease_seconds=2.0
    ) as worker:
        other = await patient.trigger(None)
        await eventually(lambda: engine.get_run(other.id).status == RunStatus.EXECUTING)
        sampler = threading.Thread(target=recover_meanwhile)
        sampler.start()
        try:
            slow = await blocker.trigger(4.0)
            done = await asyncio.to_thread(sy.runs.poll_sync, slow, timeout=30)
        finally:
            sampling.set()
            await asyncio.to_thread(sampler.join)
        finished = await asyncio.to_thread(sy.runs.poll_sync, other, timeout=30)
        assert worker.executed == 2
    assert lapsed == []
    assert done.status == RunStatus.COMPLETED and done.output == "blocked"
    assert finished.status == RunStatus.COMPLETED and finished.output == 1
    assert [a.status for a in engine.list_attempts(other.id)] == [AttemptStatus.COMPLETED]
    warnings = [r.getMessage() for r in caplog.records if "event loop" in r.getMessage()]
    assert any(
        f"task 'lease-blocker' (run {slow.id}) blocked the event loop for" in m for m in warnings
    ), warnings
    ended = [m for m in warnings if "blocked the event loop for" in m]
    seconds = [float(m.rsplit(" for ", 1)[1].rstrip("s")) for m in ended]
    assert seconds and max(seconds) >= 3.5, warnings


async def test_a_poison_output_fails_only_its_own_run(real_runtime: Runtime) -> None:
    """A value the database refuses fails its run; 40 finished alongside it are kept."""
    async with running_worker(real_runtime, ["lease-poison", "lease-bad-error"], concurrency=50):
        bad = await poison.trigger("poison")
        good = await poison.batch_trigger([{"n": i} for i in range(40)])
        bad_text = await bad_error.trigger(None)
        canary = await poison.trigger("canary")
        runs = [
            await asyncio.to_thread(sy.runs.poll_sync, h, timeout=30)
            for h in [bad, *good.runs, bad_text, canary]
        ]
    assert runs[0].status == RunStatus.FAILED
    assert runs[0].error is not None and "Unicode" in runs[0].error["message"]
    assert [r.output for r in runs[1:41]] == [{"n": i} for i in range(40)]
    assert runs[41].status == RunStatus.FAILED and runs[41].error is not None
    assert "broken text" in runs[41].error["message"]
    assert runs[42].status == RunStatus.COMPLETED and runs[42].output == "canary"


spans: dict[str, list[tuple[str, int, float]]] = {}


@sy.task(id="lease-long", retry=RETRY)
async def long_one(payload: Any, ctx: sy.RunContext) -> int:
    log = spans.setdefault(ctx.run.id, [])
    log.append(("start", ctx.attempt.number, time.monotonic()))
    try:
        await asyncio.sleep(float(payload) if ctx.attempt.number == 1 else 0.05)
    finally:
        log.append(("end", ctx.attempt.number, time.monotonic()))
    return ctx.attempt.number


async def test_a_run_claimed_again_here_starts_only_once_its_old_attempt_ended(
    runtime: Runtime, clock: FakeClock
) -> None:
    """The worker's lease lapsed (here: the clock jumped) and recovery queued the run
    again while its first attempt still executed here; this worker claims it again. The
    second attempt must not start before the first has stopped."""
    engine = runtime.engine
    async with running_worker(runtime, ["lease-long"], lease_seconds=30.0) as worker:
        handle = await long_one.trigger(30)
        await eventually(lambda: spans.get(handle.id))
        clock.advance(120)  # every lease lapses at once, as after a long stall
        recovered = await asyncio.to_thread(engine.tick)
        assert handle.id in recovered.recovered
        worker._wake.set()  # claim now rather than at the next idle tick
        run = await asyncio.to_thread(sy.runs.poll_sync, handle, timeout=30)
    assert run.status == RunStatus.COMPLETED and run.output == 2
    (s1, a1, _), (e1, b1, u1), (s2, a2, t2), (e2, b2, _) = spans[handle.id]
    assert (s1, a1, e1, b1, s2, a2, e2, b2) == ("start", 1, "end", 1, "start", 2, "end", 2)
    assert u1 <= t2, "the second attempt started before the first one ended"


async def test_a_claim_that_comes_back_too_late_is_handed_back_unstarted(
    real_runtime: Runtime, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A claim that took most of the lease (a stalled database) is never started: its
    lease could lapse before the watchdog stopped it. It is handed back and runs later."""
    engine = real_runtime.engine
    claim = engine.claim
    slow = {"on": True}

    def stalled_claim(*args: Any) -> Any:
        claims = claim(*args)
        if claims and slow["on"]:
            slow["on"] = False
            time.sleep(1.8)  # the claim committed, then the answer was this late
        return claims

    monkeypatch.setattr(engine, "claim", stalled_claim)
    caplog.set_level(logging.WARNING, logger="switchyard.worker")
    async with running_worker(real_runtime, ["lease-patient"], lease_seconds=2.0):
        handle = await patient.trigger(None)
        run = await asyncio.to_thread(sy.runs.poll_sync, handle, timeout=30)
    assert run.status == RunStatus.COMPLETED
    statuses = [a.status for a in engine.list_attempts(handle.id)]
    assert statuses[-1] == AttemptStatus.COMPLETED and len(statuses) == 2, statuses
    assert statuses[0] in (AttemptStatus.RELEASED, AttemptStatus.CRASHED), statuses
    assert any("handing it back unstarted" in r.getMessage() for r in caplog.records)
