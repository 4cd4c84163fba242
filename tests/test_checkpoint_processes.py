"""Checkpoints across real processes: a worker dies while its run waits; another one
continues the run by replaying its journal, and the step before the wait runs once."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import switchyard as sy
from switchyard.core.options import TriggerOptions
from switchyard.runtime import reset_runtime
from tests.conftest import make_config
from tests.processes import Proc, base_env, poll

pytestmark = pytest.mark.e2e

TASKS = """
import os
from switchyard import step, task, wait


def note(path, line):
    with open(path, "a") as f:
        f.write(line + "\\n")
        f.flush()
        os.fsync(f.fileno())
    return line


@task(id="ckpt-e2e", retry={"max_attempts": 1})
async def checkpointed(payload, ctx):
    first = await step("charge", lambda: note(payload["log"], f"charge {os.getpid()}"))
    await wait.for_(hours=6)
    note(payload["log"], f"after {os.getpid()}")
    return {"first": first, "finished_by": os.getpid(), "attempt": ctx.attempt.number}
"""


def worker(tmp_path: Path, url: str, name: str) -> Proc:
    return Proc(["--app", "ckpt_tasks", "worker", "--lease", "2"], tmp_path, base_env(url), name)


def test_killed_worker_run_continues_elsewhere_by_replay(tmp_path: Path, database_url: str) -> None:
    (tmp_path / "ckpt_tasks.py").write_text(TASKS)
    log = tmp_path / "effects.log"
    runtime = sy.configure(make_config(database_url))
    first = worker(tmp_path, database_url, "worker-a")
    second: Proc | None = None
    try:
        poll(lambda: runtime.engine.list_tasks(), what="worker A registered", timeout=60)
        handle = runtime.engine.trigger(
            [
                runtime.engine.new_run(
                    runtime.engine.get_task("ckpt-e2e"),  # type: ignore[arg-type]
                    f'{{"log": "{log}"}}',
                    TriggerOptions(),
                )
            ]
        )[0]
        run_id = handle.run_id
        poll(lambda: runtime.engine.get_run(run_id).status == "WAITING", what="waiting")
        first.popen.kill()  # SIGKILL while the run waits, parked in A's memory
        first.popen.wait(10)
        [waitpoint] = runtime.storage.blocking_waitpoints(run_id)
        runtime.storage.complete_waitpoint(
            waitpoint.environment, waitpoint.id, now=runtime.clock.now()
        )
        second = worker(tmp_path, database_url, "worker-b")
        run = poll(
            lambda: (r := runtime.engine.get_run(run_id)).is_final and r,
            what="run finished on worker B",
            timeout=60,
        )
        assert run.status == sy.RunStatus.COMPLETED, second.output()
        assert run.output["finished_by"] == second.popen.pid
        assert run.output["first"] == f"charge {first.popen.pid}"
        assert run.attempt_count == 1 and run.output["attempt"] == 1  # continued, not retried
        lines = log.read_text().splitlines()
        assert lines == [f"charge {first.popen.pid}", f"after {second.popen.pid}"]
    finally:
        if second is not None:
            assert second.stop() == 0, second.output()
        if first.popen.poll() is None:
            first.popen.kill()
        reset_runtime()
    assert os.path.exists(log)
