"""Partitions: a worker cut off from PostgreSQL stops its runs before anyone takes them.

Worker ``a`` reaches PostgreSQL through a :class:`~tests.faults.proxy.FaultProxy`;
worker ``b`` directly. Once ``a`` holds runs, the proxy blackholes or resets its
traffic: ``a`` must stop every attempt before its lease can lapse, ``b`` must take the
runs over only after that, and no attempt may overlap another of the same run. When the
network heals, ``a`` works again.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

import switchyard as sy
from tests.e2e.e2e_tasks import e2e_guarded, e2e_guarded_sync
from tests.e2e.test_worker_processes import Workers, connect, intervals, poll_all, wait_until
from tests.faults.proxy import FaultProxy

pytestmark = pytest.mark.e2e

LEASE = 3.0
PG = ("127.0.0.1", 5432)


@pytest.mark.parametrize(
    ("fault", "task"),
    [("blackhole", e2e_guarded), ("reset", e2e_guarded), ("blackhole", e2e_guarded_sync)],
    ids=["blackhole-async", "reset-async", "blackhole-sync"],
)
def test_a_partitioned_worker_stops_its_runs_before_its_lease_lapses(
    pg_url: str,
    workers: Workers,
    records_dir: Path,
    sdk: None,
    fault: str,
    task: sy.Task[Any],
) -> None:
    runtime = connect(pg_url, workers)
    with FaultProxy(PG) as proxy:
        a = workers.start("a", concurrency=4, lease=LEASE, url=proxy.url_for(pg_url))
        payload = {"dir": str(records_dir), "first_sleep": 60, "sleep": 0.2}
        handles = [task.trigger_sync(payload) for _ in range(4)]
        wait_until(
            lambda: all((h.id, 1) in intervals(records_dir) for h in handles),
            "worker a to start all four runs",
        )
        b = workers.start("b", concurrency=4, lease=LEASE)
        faulted = time.monotonic()
        getattr(proxy, fault)()

        runs = poll_all([h.id for h in handles], timeout=60)
        spans = intervals(records_dir)
        for run in runs:
            assert run.status == sy.RunStatus.COMPLETED, run
            assert run.output == {"pid": b.pid, "attempt": 2}
            first, second = spans[(run.id, 1)], spans[(run.id, 2)]
            assert first.pid == a.pid and first.end is not None, first  # it stopped
            # Never on two workers at once: a stopped before b started ...
            assert first.end < second.start, (first, second)
            # ... and before its lease could lapse (it was renewed at most LEASE / 3
            # before the fault; it stops at 80 % of the lease).
            assert first.end - faulted < LEASE, (first.end - faulted, first)
            statuses = [x.status for x in runtime.engine.list_attempts(run.id)]
            assert statuses == [sy.AttemptStatus.CRASHED, sy.AttemptStatus.COMPLETED]
        assert a.proc.poll() is None, "worker a exited instead of stopping its runs"
        log = a.output()
        assert "no lease renewal confirmed" in log, log

        # The network heals: worker a works again.
        proxy.heal()
        assert b.terminate() == 0
        again = task.trigger_sync({"dir": str(records_dir), "sleep": 0.1})
        run = sy.runs.poll_sync(again, timeout=60)
        assert run.status == sy.RunStatus.COMPLETED and run.output == {"pid": a.pid, "attempt": 1}
