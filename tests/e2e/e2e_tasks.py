"""Tasks run by the real ``switchyard worker`` processes of the end-to-end tests.

Each attempt appends JSON lines to ``<payload["dir"]>/<pid>.jsonl`` (one file per
process, fsynced): a ``start`` line when it begins and an ``end`` line when its work is
done. ``time.monotonic()`` is the system-wide CLOCK_MONOTONIC on Linux, so the test
process can compare the times of different workers with its own.

Payload: ``{"dir": str, "sleep": float, "first_sleep": float (optional)}``; the first
attempt sleeps ``first_sleep`` (default ``sleep``), later attempts ``sleep``.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from pathlib import Path
from typing import Any

import switchyard as sy

RETRY = {"max_attempts": 3, "min_timeout": 0, "max_timeout": 0, "randomize": False}
LIMITED = sy.queue("e2e-limited", concurrency_limit=2)


def record(payload: dict[str, Any], ctx: sy.RunContext, event: str) -> float:
    """Append one fsynced JSON line for this attempt; return its monotonic time."""
    now = time.monotonic()
    line = {
        "event": event,
        "run": ctx.run.id,
        "attempt": ctx.attempt.number,
        "attempt_id": ctx.attempt.id,
        "worker": ctx.worker_id,
        "pid": os.getpid(),
        "t": now,
    }
    path = Path(payload["dir"]) / f"{os.getpid()}.jsonl"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    try:
        os.write(fd, (json.dumps(line) + "\n").encode())
        os.fsync(fd)
    finally:
        os.close(fd)
    return now


def _sleep_for(payload: dict[str, Any], ctx: sy.RunContext) -> float:
    if ctx.attempt.number == 1 and "first_sleep" in payload:
        return float(payload["first_sleep"])
    return float(payload.get("sleep", 0.0))


async def _recorded(payload: dict[str, Any], ctx: sy.RunContext) -> dict[str, Any]:
    record(payload, ctx, "start")
    await asyncio.sleep(_sleep_for(payload, ctx))
    record(payload, ctx, "end")
    return {"pid": os.getpid(), "attempt": ctx.attempt.number}


@sy.task(id="e2e-record", retry=RETRY)
async def e2e_record(payload: dict[str, Any], ctx: sy.RunContext) -> dict[str, Any]:
    """Record start and end, sleeping in between."""
    return await _recorded(payload, ctx)


@sy.task(id="e2e-record-sync", retry=RETRY)
def e2e_record_sync(payload: dict[str, Any], ctx: sy.RunContext) -> dict[str, Any]:
    """The same in a thread: sleeps in short steps so an interrupt lands quickly."""
    record(payload, ctx, "start")
    deadline = time.monotonic() + _sleep_for(payload, ctx)
    while time.monotonic() < deadline:
        time.sleep(0.02)
    record(payload, ctx, "end")
    return {"pid": os.getpid(), "attempt": ctx.attempt.number}


@sy.task(id="e2e-limited", queue=LIMITED, retry=RETRY)
async def e2e_limited(payload: dict[str, Any], ctx: sy.RunContext) -> dict[str, Any]:
    """Recorded runs in a queue that lets two execute at once across all workers."""
    return await _recorded(payload, ctx)


@sy.task(id="e2e-guarded", retry=RETRY)
async def e2e_guarded(payload: dict[str, Any], ctx: sy.RunContext) -> dict[str, Any]:
    """Like ``e2e-record``, but an attempt the worker stops records ``stopped`` as it ends,
    so the test knows exactly when it stopped executing."""
    record(payload, ctx, "start")
    try:
        await asyncio.sleep(_sleep_for(payload, ctx))
    except BaseException:
        record(payload, ctx, "stopped")
        raise
    record(payload, ctx, "end")
    return {"pid": os.getpid(), "attempt": ctx.attempt.number}


@sy.task(id="e2e-guarded-sync", retry=RETRY)
def e2e_guarded_sync(payload: dict[str, Any], ctx: sy.RunContext) -> dict[str, Any]:
    """``e2e-guarded`` in a thread, sleeping in short steps so an interrupt lands."""
    record(payload, ctx, "start")
    deadline = time.monotonic() + _sleep_for(payload, ctx)
    try:
        while time.monotonic() < deadline:
            time.sleep(0.02)
    except BaseException:
        record(payload, ctx, "stopped")
        raise
    record(payload, ctx, "end")
    return {"pid": os.getpid(), "attempt": ctx.attempt.number}


def _mark(payload: dict[str, Any], ctx: sy.RunContext, execution: str, event: str) -> None:
    record(payload, ctx, f"{event}:{execution}")


@sy.task(id="e2e-chaos-leaf", retry={"max_attempts": 20, "min_timeout": 0.05, "max_timeout": 0.5})
async def e2e_chaos_leaf(payload: dict[str, Any], ctx: sy.RunContext) -> int:
    """A child run of ``e2e-chaos``."""
    await asyncio.sleep(float(payload.get("sleep", 0.05)))
    return int(payload["n"]) * 2


@sy.task(id="e2e-chaos", retry={"max_attempts": 20, "min_timeout": 0.05, "max_timeout": 0.5})
async def e2e_chaos(payload: dict[str, Any], ctx: sy.RunContext) -> dict[str, Any]:
    """One durable operation (``kind``: wait, token, child or step) between two stretches
    of work. Each execution (an attempt, or its replay) records when it executes:
    ``start``/``resume`` open a stretch, ``pause`` (before a durable wait), ``end`` and
    ``stopped`` close it; ``stopped`` after a ``pause`` means it was evicted while parked."""
    execution = os.urandom(6).hex()
    _mark(payload, ctx, execution, "start")
    try:
        await asyncio.sleep(float(payload["sleep"]))
        kind = payload["kind"]
        result: Any = None
        if kind == "step":
            result = await sy.step("work", lambda: payload["n"])
        else:
            _mark(payload, ctx, execution, "pause")
            if kind == "wait":
                await sy.wait.for_(seconds=float(payload["wait"]))
            elif kind == "token":
                token = await sy.wait.create_token(timeout="1h", tags=[f"chaos:{ctx.run.id}"])
                result = (await sy.wait.for_token(token)).unwrap()
            else:
                result = (await e2e_chaos_leaf.trigger_and_wait({"n": payload["n"]})).unwrap()
            _mark(payload, ctx, execution, "resume")
        await asyncio.sleep(float(payload["sleep"]))
    except BaseException:
        _mark(payload, ctx, execution, "stopped")
        raise
    _mark(payload, ctx, execution, "end")
    return {"n": payload["n"], "result": result}


@sy.task(id="e2e-steps", retry=RETRY)
async def e2e_steps(payload: dict[str, Any], ctx: sy.RunContext) -> dict[str, Any]:
    """Three steps; each step's function records ``step1``, ``step2``, ``step3`` when it
    runs. Step 3 then sleeps (``first_sleep`` on attempt 1, ``sleep`` after: the test
    kills the worker in it). ``end`` is recorded when the run's work is done."""

    def mark(event: str, value: Any) -> Any:
        record(payload, ctx, event)
        return value

    async def slow() -> dict[str, int]:
        mark("step3", None)
        await asyncio.sleep(_sleep_for(payload, ctx))
        return {"attempt": ctx.attempt.number}

    one = await sy.step("one", lambda: mark("step1", "one"))
    two = await sy.step("two", lambda: mark("step2", "two"))
    three = await sy.step("three", slow)
    record(payload, ctx, "end")
    return {"steps": [one, two, three], "pid": os.getpid(), "attempt": ctx.attempt.number}
