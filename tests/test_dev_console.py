"""``switchyard dev`` prints a line per run state change."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from switchyard.cli.dev_console import RunStateLines
from switchyard.core.models import Claim, Outcome
from switchyard.core.states import AttemptStatus, RunStatus
from switchyard.engine.hooks import AttemptEvent, ClaimEvent
from tests.processes import poll, serving
from tests.processes import switchyard as sy

TASKS = """
from switchyard import task


@task(id="dev-flaky", retry={"max_attempts": 2, "min_timeout": 0, "randomize": False})
async def flaky(payload, ctx):
    if ctx.attempt.number == 1:
        raise ValueError("boom")
    return "ok"
"""

MODULE = "dev_console_tasks"


def test_lines_for_an_attempt_that_fails_and_one_that_completes() -> None:
    lines: list[tuple[str, str, str, str]] = []
    hook = RunStateLines(
        lambda at, run, task, state, detail: lines.append((run, task, state, detail))
    )

    class FakeRun:
        id, task_id, queue = "run_1", "t", "task/t"

    claim = Claim(FakeRun(), "attempt_1", 1)  # type: ignore[arg-type]
    hook.after_claim(ClaimEvent(claim, "worker_1", 10.0))
    failed = Outcome(
        "run_1",
        "attempt_1",
        RunStatus.DELAYED,
        AttemptStatus.FAILED,
        error={"type": "ValueError", "message": "boom"},
        retry_at=12.0,
        claim=claim,
    )
    hook.after_attempt(AttemptEvent.of(failed, "worker_1", 10.5))
    claim2 = Claim(FakeRun(), "attempt_2", 2)  # type: ignore[arg-type]
    hook.after_claim(ClaimEvent(claim2, "worker_1", 12.0))
    done = Outcome("run_1", "attempt_2", RunStatus.COMPLETED, AttemptStatus.COMPLETED, claim=claim2)
    hook.after_attempt(AttemptEvent.of(done, "worker_1", 12.25))
    assert lines == [
        ("run_1", "t", "EXECUTING", "attempt 1"),
        ("run_1", "t", "FAILED", "attempt 1: ValueError: boom — retrying in 1.5s"),
        ("run_1", "t", "EXECUTING", "attempt 2"),
        ("run_1", "t", "COMPLETED", "in 0.25s"),
    ]


@pytest.mark.e2e
def test_dev_prints_run_state_changes(tmp_path: Path, database_url: str) -> None:
    (tmp_path / f"{MODULE}.py").write_text(TASKS)
    with serving(tmp_path, database_url, ["--app", MODULE, "dev"]) as (proc, _):
        result = sy(
            tmp_path, database_url, "--app", MODULE, "trigger", "dev-flaky", "--wait", "--json"
        )
        run_id = re.search(r"run_[0-9A-Za-z]+", result.stdout)
        assert run_id is not None, result.stdout
        run = re.escape(run_id.group())

        def printed() -> str | None:
            out = proc.output().split("--- stderr")[0]
            return out if re.search(rf"{run} dev-flaky\s+COMPLETED\s+in ", out) else None

        out = poll(printed, timeout=30, what="the COMPLETED line")
    clock = r"\d\d:\d\d:\d\d"
    expected = [
        rf"{clock} {run} dev-flaky\s+EXECUTING\s+attempt 1",
        rf"{clock} {run} dev-flaky\s+FAILED\s+attempt 1: ValueError: boom — retrying in 0\.0s",
        rf"{clock} {run} dev-flaky\s+EXECUTING\s+attempt 2",
        rf"{clock} {run} dev-flaky\s+COMPLETED\s+in \d+\.\d\ds",
    ]
    found = [re.search(pattern, out) for pattern in expected]
    assert all(found), out
    starts = [m.start() for m in found if m is not None]
    assert starts == sorted(starts), out
