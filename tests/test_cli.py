"""The ``switchyard`` command, run as a real process against each backend."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

TASKS = """
from switchyard import task

@task(id="cli-hello")
async def hello(payload):
    return {"hello": (payload or {}).get("name", "world")}

@task(id="cli-fail", retry={"max_attempts": 1})
def fail(payload):
    raise RuntimeError("broken on purpose")
"""


def sy(cwd: Path, url: str, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SWITCHYARD_DATABASE_URL": url, "COLUMNS": "200"}
    result = subprocess.run(
        [sys.executable, "-m", "switchyard", "--app", "cli_tasks", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    if check and result.returncode != 0:
        raise AssertionError(f"exit {result.returncode}\n{result.stdout}\n{result.stderr}")
    return result


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "cli_tasks.py").write_text(TASKS)
    return tmp_path


def test_trigger_run_and_inspect(project: Path, database_url: str) -> None:
    assert "applied" in sy(project, database_url, "migrate").stdout
    assert "up to date" in sy(project, database_url, "migrate").stdout
    out = sy(
        project,
        database_url,
        "trigger",
        "cli-hello",
        "--payload",
        '{"name": "Ada"}',
        "--tag",
        "demo",
        "--json",
    ).stdout
    run_id = json.loads(out)["id"]
    worker = subprocess.Popen(
        [sys.executable, "-m", "switchyard", "--app", "cli_tasks", "worker"],
        cwd=project,
        env={**os.environ, "SWITCHYARD_DATABASE_URL": database_url},
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        done = sy(project, database_url, "trigger", "cli-hello", "--wait", "--json").stdout
        assert json.loads(done)["output"] == {"hello": "world"}
        failed = sy(project, database_url, "trigger", "cli-fail", "--wait", check=False)
        assert failed.returncode == 1 and "broken on purpose" in failed.stdout
    finally:
        worker.terminate()
        _, err = worker.communicate(timeout=30)
    assert worker.returncode == 0, err
    shown = json.loads(sy(project, database_url, "runs", "show", run_id, "--json").stdout)
    assert shown["status"] == "COMPLETED" and shown["output"] == {"hello": "Ada"}
    table = sy(project, database_url, "runs", "list", "--tag", "demo").stdout
    assert run_id in table and "COMPLETED" in table
    lines = sy(project, database_url, "runs", "list", "--status", "failed", "--json").stdout
    assert [json.loads(line)["task_id"] for line in lines.splitlines()] == ["cli-fail"]
    replay = sy(project, database_url, "runs", "replay", run_id).stdout
    new_id = replay.split()[-1]
    assert new_id.startswith("run_")
    assert "canceled 1 run" in sy(project, database_url, "runs", "cancel", new_id).stdout
    assert "nothing to cancel" in sy(project, database_url, "runs", "cancel", new_id).stdout
    assert "cli-hello" in sy(project, database_url, "tasks", "list").stdout
    assert "task/cli-hello" in sy(project, database_url, "queues", "list").stdout


def test_bad_input_gets_a_clear_error(project: Path, database_url: str) -> None:
    bad_json = sy(project, database_url, "trigger", "cli-hello", "--payload", "{nope", check=False)
    assert bad_json.returncode == 2 and "not valid JSON" in bad_json.stderr
    unknown = sy(project, database_url, "trigger", "nope", check=False)
    assert unknown.returncode == 2 and "unknown task 'nope'" in unknown.stderr
    missing = sy(project, database_url, "runs", "show", "run_missing", check=False)
    assert missing.returncode == 2 and "no run 'run_missing'" in missing.stderr
    delay = sy(project, database_url, "trigger", "cli-hello", "--delay", "soon", check=False)
    assert delay.returncode == 2 and "invalid delay='soon'" in delay.stderr
    for bad in ('{"x": 1e999}', '{"x": NaN}', '{"x": "\\ud800"}', '{"x": "\\u0000"}'):
        refused = sy(project, database_url, "trigger", "cli-hello", "--payload", bad, check=False)
        assert refused.returncode == 2, (bad, refused.stderr)
        assert "Traceback" not in refused.stderr and "--payload" in refused.stderr, refused.stderr
    run_id = json.loads(sy(project, database_url, "trigger", "cli-hello", "--json").stdout)["id"]
    replay = sy(
        project, database_url, "runs", "replay", run_id, "--payload", '{"a": 1e999}', check=False
    )
    assert replay.returncode == 2 and "Traceback" not in replay.stderr, replay.stderr
    assert "$.a" in replay.stderr, replay.stderr


def test_help_explains_the_commands(project: Path) -> None:
    out = sy(project, "sqlite:///unused.db", "--help").stdout
    for command in ("dev", "worker", "migrate", "trigger", "runs"):
        assert command in out


def test_queue_and_environment_commands(project: Path, database_url: str) -> None:
    run_id = json.loads(sy(project, database_url, "trigger", "cli-hello", "--json").stdout)["id"]
    assert "paused" in sy(project, database_url, "queues", "pause", "task/cli-hello").stdout
    shown = json.loads(
        sy(project, database_url, "queues", "show", "task/cli-hello", "--json").stdout
    )
    assert shown["paused"] is True and shown["queued"] == 1
    explained = sy(project, database_url, "runs", "explain", run_id).stdout
    assert "queue_paused" in explained and "no_worker" in explained
    assert (
        "limited to 4" in sy(project, database_url, "queues", "limit", "task/cli-hello", "4").stdout
    )
    assert (
        "reset" in sy(project, database_url, "queues", "limit", "task/cli-hello", "--reset").stdout
    )
    bad = sy(project, database_url, "queues", "limit", "task/cli-hello", check=False)
    assert bad.returncode == 2 and "--reset" in bad.stderr
    assert "resumed" in sy(project, database_url, "queues", "resume", "task/cli-hello").stdout
    assert "paused" in sy(project, database_url, "env", "pause").stdout
    assert "PAUSED" in sy(project, database_url, "env", "show").stdout
    assert json.loads(sy(project, database_url, "env", "show", "--json").stdout)["paused"]
    sy(project, database_url, "env", "resume")
    assert "set to 7" in sy(project, database_url, "env", "limit", "7").stdout
    missing = sy(project, database_url, "queues", "show", "nope", check=False)
    assert missing.returncode == 2 and "no queue 'nope'" in missing.stderr
