"""Acceptance: tokens completed over HTTP, against a real ``switchyard dev`` process
(worker and API in one process and event loop) on each backend."""

from __future__ import annotations

import importlib.util
import json
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import httpx
import pytest

import switchyard
from switchyard.core.models import Run
from switchyard.core.states import RunStatus
from switchyard.runtime import reset_runtime
from tests.conftest import make_config
from tests.processes import poll, serving
from tests.processes import switchyard as sy

TASKS = """
import pathlib

from switchyard import queue, task, wait

approvals = queue("e2e-approvals", concurrency_limit=1)


@task(id="tok-approval", queue=approvals)
async def approval(payload):
    token = await wait.create_token(timeout="1h", tags=["e2e"])
    pathlib.Path(payload["url_file"]).write_text(token.url)
    result = await wait.for_token(token)
    return result.unwrap()


@task(id="tok-quick", queue=approvals)
async def quick(payload):
    return {"quick": True}


@task(id="tok-gate")
async def gate(payload):
    token = await wait.create_token(tags=[payload["tag"]])
    result = await wait.for_token(token)
    return {"ok": result.ok, "output": result.output}


@task(id="tok-sleeper")
async def sleeper(payload):
    await wait.for_(hours=1)
    return "rested"
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "token_e2e_tasks.py").write_text(TASKS)
    return tmp_path


@pytest.fixture
def tasks(project: Path, database_url: str) -> Iterator[ModuleType]:
    """The task module imported in this process, with switchyard configured on the DB."""
    switchyard.configure(make_config(database_url))
    name = f"token_e2e_tasks_{uuid.uuid4().hex[:8]}"
    spec = importlib.util.spec_from_file_location(name, project / "token_e2e_tasks.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    try:
        yield module
    finally:
        sys.modules.pop(name, None)
        reset_runtime()


def run_of(run_id: str) -> Run:
    return switchyard.runs.retrieve_sync(run_id)


def status_is(run_id: str, *statuses: RunStatus) -> Run | None:
    run = run_of(run_id)
    return run if run.status in statuses else None


def dev_command() -> list[str]:
    return ["--app", "token_e2e_tasks", "dev"]


@pytest.mark.e2e
def test_token_completed_over_http_while_the_queue_moves_on(
    project: Path, database_url: str, tasks: ModuleType
) -> None:
    """A queue with concurrency limit 1: run A waits on a token, run B on the same queue
    starts and finishes meanwhile; then the token is completed over the callback URL
    with a real HTTP POST and A finishes with the posted body as the token output."""
    url_file = project / "token-url.txt"
    # no SWITCHYARD_PUBLIC_URL: dev points token URLs at the port it listens on
    with serving(project, database_url, dev_command(), public_url=False) as (dev, base):
        a = tasks.approval.trigger_sync({"url_file": str(url_file)})
        poll(lambda: status_is(a.id, RunStatus.WAITING), timeout=60, what="A WAITING")
        url = poll(lambda: url_file.exists() and url_file.read_text(), what="token url")
        assert url.startswith(f"{base}/api/v1/waitpoints/tokens/")

        b = tasks.quick.trigger_sync({})
        done = poll(lambda: status_is(b.id, RunStatus.COMPLETED), timeout=60, what="B done")
        assert done.output == {"quick": True}
        assert run_of(a.id).status == RunStatus.WAITING

        body = {"approved": True, "by": "ada"}
        response = httpx.post(url, json=body, timeout=30)
        assert response.status_code == 200, response.text
        assert response.json()["status"] == "COMPLETED"

        a_run = poll(lambda: (r := run_of(a.id)).is_final and r, timeout=60, what="A final")
        assert a_run.status == RunStatus.COMPLETED, (a_run, dev.output())
        assert a_run.output == body


@pytest.mark.e2e
def test_cli_completes_and_times_out_tokens_and_skips_waits(
    project: Path, database_url: str, tasks: ModuleType
) -> None:
    def cli(*args: str, check: bool = True) -> str:
        result = sy(project, database_url, *args, check=check)
        return result.stdout + result.stderr

    with serving(project, database_url, dev_command(), public_url=False):
        triggered = cli("--app", "token_e2e_tasks", "trigger", "tok-sleeper", "--json")
        sleeper = json.loads(triggered)["id"]
        yes = tasks.gate.trigger_sync({"tag": "gate:yes"})
        no = tasks.gate.trigger_sync({"tag": "gate:no"})
        for run_id in (sleeper, yes.id, no.id):
            poll(lambda r=run_id: status_is(r, RunStatus.WAITING), timeout=60, what="WAITING")

        # runs skip-wait: ends the time wait; a token wait is not skippable
        refused = sy(project, database_url, "runs", "skip-wait", yes.id, check=False)
        assert refused.returncode == 2, refused
        assert "not in a time wait" in refused.stderr and "TOKEN" in refused.stderr
        assert "skipped 1 wait(s)" in cli("runs", "skip-wait", sleeper)
        rested = poll(lambda: status_is(sleeper, RunStatus.COMPLETED), timeout=60, what="rested")
        assert rested.output == "rested"
        again = sy(project, database_url, "runs", "skip-wait", sleeper, check=False)
        assert again.returncode == 2 and "not waiting" in again.stderr

        # tokens list: table and JSON lines, filtered
        lines = cli("tokens", "list", "--status", "pending", "--json").splitlines()
        pending = {json.loads(line)["tags"][0]: json.loads(line) for line in lines}
        assert set(pending) == {"gate:yes", "gate:no"}
        assert all(t["status"] == "PENDING" and t["url"] for t in pending.values())
        table = cli("tokens", "list", "--tag", "gate:yes")
        assert pending["gate:yes"]["id"] in table and "PENDING" in table
        assert pending["gate:no"]["id"] not in table
        shown = cli("tokens", "show", pending["gate:no"]["id"])
        assert "callback URL" in shown and "/callback/" in shown

        # tokens complete / timeout: the waiting runs continue
        yes_token, no_token = pending["gate:yes"]["id"], pending["gate:no"]["id"]
        assert "completed" in cli("tokens", "complete", yes_token, "--data", '{"approved": 1}')
        assert "timed out" in cli("tokens", "timeout", no_token)
        assert "already" in cli("tokens", "complete", no_token, "--data", "2")
        approved = poll(lambda: status_is(yes.id, RunStatus.COMPLETED), timeout=60, what="yes")
        assert approved.output == {"ok": True, "output": {"approved": 1}}
        refused_run = poll(lambda: status_is(no.id, RunStatus.COMPLETED), timeout=60, what="no")
        assert refused_run.output == {"ok": False, "output": None}
        done = cli("tokens", "list", "--status", "completed", "--status", "timed_out", "--json")
        assert {json.loads(line)["status"] for line in done.splitlines()} == {
            "COMPLETED",
            "TIMED_OUT",
        }

        bad = sy(project, database_url, "tokens", "complete", "waitpoint_nope", check=False)
        assert bad.returncode == 2 and "existing token" in bad.stderr
        bad_json = sy(
            project, database_url, "tokens", "complete", yes_token, "--data", "{x", check=False
        )
        assert bad_json.returncode == 2 and "not valid JSON" in bad_json.stderr
