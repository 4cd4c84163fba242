"""Pause and limits across real worker processes on PostgreSQL, sampled while they run."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

import switchyard as sy
from switchyard.core.models import RunFilter
from switchyard.core.options import TriggerOptions
from switchyard.runtime import reset_runtime
from tests.conftest import make_config
from tests.processes import Proc, base_env, poll

pytestmark = pytest.mark.e2e

TASKS = """
import asyncio
from switchyard import queue, task

gate = queue("gate", concurrency_limit=2)

@task(id="qp-slow", queue=gate)
async def slow(payload):
    await asyncio.sleep(0.3)
    return payload
"""


def test_pause_and_limit_hold_across_workers(tmp_path: Path, pg_url: str) -> None:
    (tmp_path / "qp_tasks.py").write_text(TASKS)
    runtime = sy.configure(make_config(pg_url))
    engine = runtime.engine
    workers = [
        Proc(["--app", "qp_tasks", "worker"], tmp_path, base_env(pg_url), f"worker-{i}")
        for i in range(2)
    ]
    try:
        poll(lambda: engine.get_task("qp-slow"), what="workers registered", timeout=60)
        engine.pause_queue("gate")
        info = engine.get_task("qp-slow")
        assert info is not None
        engine.trigger([engine.new_run(info, f'{{"n": {i}}}', TriggerOptions()) for i in range(12)])
        deadline = time.monotonic() + 1.5
        while time.monotonic() < deadline:  # paused: nothing starts, on any worker
            assert engine.queue_stats("gate").running == 0
            time.sleep(0.05)
        assert engine.queue_stats("gate").queued == 12
        engine.resume_queue("gate")
        peak = 0
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            stats = engine.queue_stats("gate")
            peak = max(peak, stats.running)
            assert stats.running <= 2, f"{stats.running} running with limit 2"
            if stats.queued == 0 and stats.running == 0:
                break
            time.sleep(0.02)
        runs = engine.list_runs(RunFilter(task_ids=("qp-slow",)), limit=50).runs
        assert [r.status for r in runs] == ["COMPLETED"] * 12, [w.output() for w in workers]
        assert peak == 2
        attempts = [a for r in runs for a in engine.list_attempts(r.id)]
        assert len(attempts) == 12 and {a.status for a in attempts} == {"COMPLETED"}
    finally:
        for w in workers:
            w.stop()
        reset_runtime()
