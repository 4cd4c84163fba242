"""End to end: ``step`` is once per run when a real worker process dies mid-run.

A worker is SIGKILLed while a run has recorded two steps and is inside the third;
another worker continues the run with a new attempt, which returns the two recorded
steps without running them again, runs the third again and completes the run.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

import switchyard as sy
from tests.e2e.e2e_tasks import e2e_steps
from tests.e2e.test_worker_processes import Workers, connect, read_records, wait_until

pytestmark = pytest.mark.e2e


def test_kill_9_during_a_step_keeps_the_steps_already_done(
    database_url: str, workers: Workers, records_dir: Path, sdk: None
) -> None:
    runtime = connect(database_url, workers)
    a = workers.start("a")
    handle = e2e_steps.trigger_sync({"dir": str(records_dir), "first_sleep": 60, "sleep": 0.2})

    def events() -> list[tuple[str, int, int]]:
        return [(r["event"], r["attempt"], r["pid"]) for r in read_records(records_dir)]

    wait_until(lambda: ("step3", 1, a.pid) in events(), "step 3 to start on worker a")
    assert set(runtime.storage.load_steps(handle.id)) == {"one#1", "two#1"}

    b = workers.start("b")
    a.kill9()
    run = sy.runs.poll_sync(handle, timeout=30)

    assert run.status == sy.RunStatus.COMPLETED and run.attempt_count == 2, run
    attempts = runtime.engine.list_attempts(handle.id)
    assert [x.status for x in attempts] == [sy.AttemptStatus.CRASHED, sy.AttemptStatus.COMPLETED]
    assert run.output == {"steps": ["one", "two", {"attempt": 2}], "pid": b.pid, "attempt": 2}
    # Steps 1 and 2 ran once, on worker a; step 3 ran on both; the run ended on b.
    assert Counter(e for e, _, _ in events()) == {"step1": 1, "step2": 1, "step3": 2, "end": 1}
    assert sorted(events()) == sorted(
        [
            ("step1", 1, a.pid),
            ("step2", 1, a.pid),
            ("step3", 1, a.pid),
            ("step3", 2, b.pid),
            ("end", 2, b.pid),
        ]
    )
    assert runtime.storage.load_steps(handle.id) == {
        "one#1": "one",
        "two#1": "two",
        "three#1": {"attempt": 2},
    }
