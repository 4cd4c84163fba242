"""Acceptance: the HTTP API against real processes on each backend.

A service without the database triggers runs over HTTP with an API key, follows them
over server-sent events to completion, and completes a token over HTTP; realtime
streams see changes made through other server and worker processes, and resume after
a reconnect.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

import switchyard
from switchyard import Client, ClientError, RunStatus
from switchyard.runtime import reset_runtime
from tests.processes import Proc, base_env, poll, serving
from tests.processes import switchyard as sy

TASKS = """
import asyncio

from pydantic import BaseModel

from switchyard import schema_task, task, wait


class Order(BaseModel):
    id: int
    amount: float


@schema_task(schema=Order, id="http-order")
async def order(o: Order):
    return {"id": o.id, "total": o.amount * 2}


@task(id="http-approval")
async def approval(payload):
    token = await wait.create_token(tags=[payload["tag"]], timeout="1h")
    result = await wait.for_token(token)
    return {"approved": result.output}


@task(id="http-sleepy")
async def sleepy(payload):
    await asyncio.sleep(payload.get("sleep", 0.3))
    return payload.get("n")
"""

MODULE = "http_e2e_tasks"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / f"{MODULE}.py").write_text(TASKS)
    return tmp_path


def create_key(project: Path, database_url: str, env: str | None = None) -> str:
    """``switchyard keys create --json``: the key (shown once)."""
    args = ["keys", "create", "--name", "e2e", "--json"]
    if env:
        args = ["--env", env, *args]
    result = sy(project, database_url, *args)
    data = json.loads(result.stdout)
    assert data["key"].startswith("sy_") and data["prefix"] != data["key"]
    return str(data["key"])


def events(response: httpx.Response) -> Iterator[tuple[str | None, str, dict[str, object]]]:
    """(id, event, data) of each SSE event of a streaming response."""
    parser = switchyard.client.SseParser()
    for line in response.iter_lines():
        event = parser.feed(line)
        if event is not None:
            yield event.id, event.event, json.loads(event.data) if event.data else {}


@pytest.mark.e2e
def test_trigger_follow_and_complete_a_token_over_http(project: Path, database_url: str) -> None:
    key = create_key(project, database_url)
    command = ["--app", MODULE, "dev"]
    with serving(project, database_url, command) as (_, base), Client(base, key) as client:
        # trigger over HTTP, follow over SSE until it completes
        handle = client.trigger("http-order", {"id": 7, "amount": 2.5}, tags=["e2e:order"])
        seen = list(client.subscribe(handle))
        assert seen[-1].status == RunStatus.COMPLETED, seen
        assert seen[-1].output == {"id": 7, "total": 5.0}
        assert [r.status for r in seen].count(RunStatus.COMPLETED) == 1
        assert seen[0].tags == ("e2e:order",)

        # a payload that breaks the task's schema: 422 naming the field, no run made
        with pytest.raises(ClientError) as bad:
            client.trigger("http-order", {"id": "seven", "amount": 1})
        assert bad.value.status == 422 and bad.value.code == "invalid_payload"
        assert bad.value.errors[0]["loc"] == ["id"]
        assert len(client.list_runs(task="http-order").runs) == 1

        # a run waits on a token; the token is completed over HTTP
        approval = client.trigger("http-approval", {"tag": "e2e:approval"})
        http = httpx.Client(base_url=base, headers={"Authorization": f"Bearer {key}"}, timeout=30)

        def pending_token() -> str | None:
            page = http.get("/api/v1/waitpoints/tokens", params={"tag": "e2e:approval"}).json()
            return page["data"][0]["id"] if page["data"] else None

        token_id = poll(pending_token, what="the run's token")
        poll(lambda: client.retrieve(approval).status == RunStatus.WAITING, what="WAITING")
        done = client.complete_token(token_id, {"by": "ada"})
        assert done["status"] == "COMPLETED" and done["already_completed"] is False
        final = client.poll(approval, timeout=30)
        assert final.status == RunStatus.COMPLETED and final.output == {"approved": {"by": "ada"}}

        # a finished run's stream: its final state, then the end
        with http.stream("GET", f"/api/v1/runs/{approval.id}/events") as response:
            got = list(events(response))
        assert [e for _, e, _ in got] == ["run", "end"]
        last_id = got[0][0]
        assert last_id is not None
        resumed = http.get(f"/api/v1/runs/{approval.id}/events", headers={"Last-Event-ID": last_id})
        assert resumed.status_code == 204  # EventSource stops reconnecting
        http.close()


@pytest.mark.e2e
def test_streams_see_other_processes_and_resume(project: Path, database_url: str) -> None:
    """Two servers and a worker on one database: a tag stream on server B sees runs
    triggered through server A and executed by the worker; it resumes after a
    reconnect with Last-Event-ID; a key of another environment sees none of it."""
    key = create_key(project, database_url)
    other_env_key = create_key(project, database_url, env="staging")
    worker = Proc(["--app", MODULE, "worker"], project, base_env(database_url), "worker")
    try:
        with (
            serving(project, database_url, ["server"]) as (_, base_a),
            serving(project, database_url, ["server"]) as (_, base_b),
        ):
            auth = {"Authorization": f"Bearer {key}"}
            a = httpx.Client(base_url=base_a, headers=auth, timeout=30)
            b = httpx.Client(base_url=base_b, headers=auth, timeout=30)
            received: list[tuple[str | None, dict[str, object]]] = []
            stop = threading.Event()

            def listen() -> None:
                with b.stream("GET", "/api/v1/runs/events", params={"tag": "fan"}) as response:
                    assert response.status_code == 200
                    for event_id, kind, data in events(response):
                        if kind == "run":
                            received.append((event_id, data))
                        done = sum(d["status"] == "COMPLETED" for _, d in received)
                        if stop.is_set() or done >= 2:
                            return

            listener = threading.Thread(target=listen, daemon=True)
            listener.start()
            time.sleep(0.5)  # the stream is open before the runs exist
            ids = [
                a.post(
                    "/api/v1/tasks/http-sleepy/trigger",
                    json={"payload": {"n": n, "sleep": 0.2}, "options": {"tags": ["fan"]}},
                ).json()["id"]
                for n in range(2)
            ]
            listener.join(60)
            stop.set()
            statuses = {(d["id"], d["status"]) for _, d in received}
            for run_id in ids:  # QUEUED, EXECUTING, COMPLETED of each
                assert (run_id, "COMPLETED") in statuses, received
                assert (run_id, "QUEUED") in statuses or (run_id, "EXECUTING") in statuses

            # reconnect with the id of the first event: what changed since comes again
            first_id = received[0][0]
            assert first_id is not None
            with b.stream(
                "GET",
                "/api/v1/runs/events",
                params={"tag": "fan"},
                headers={"Last-Event-ID": first_id},
                timeout=30,
            ) as response:
                replayed: dict[str, str] = {}
                for _, kind, data in events(response):
                    if kind == "run":
                        replayed[str(data["id"])] = str(data["status"])
                    if len(replayed) == 2 and set(replayed.values()) == {"COMPLETED"}:
                        break
            assert replayed == {i: "COMPLETED" for i in ids}

            # the key decides the environment: staging sees no runs and no task
            staging = httpx.Client(
                base_url=base_b, headers={"Authorization": f"Bearer {other_env_key}"}, timeout=30
            )
            assert staging.get("/api/v1/runs").json()["data"] == []
            assert staging.get(f"/api/v1/runs/{ids[0]}").status_code == 404
            for http in (a, b, staging):
                http.close()
    finally:
        assert worker.stop() == 0, worker.output()


@pytest.mark.e2e
def test_task_trigger_goes_over_http_when_configured(project: Path, database_url: str) -> None:
    """``switchyard.configure(client=Client(...))``: Task.trigger_sync and
    batch_trigger_sync send over HTTP (this process never opens the database)."""
    import importlib.util
    import sys
    import uuid

    key = create_key(project, database_url)
    name = f"{MODULE}_{uuid.uuid4().hex[:8]}"
    spec = importlib.util.spec_from_file_location(name, project / f"{MODULE}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    try:
        with serving(project, database_url, ["--app", MODULE, "dev"]) as (_, base):
            client = Client(base, key)
            assert switchyard.configure(client=client) is None
            handle = module.order.trigger_sync({"id": 3, "amount": 1.0}, tags="via-http")
            batch = module.sleepy.batch_trigger_sync([{"n": 1, "sleep": 0}, {"n": 2, "sleep": 0}])
            with pytest.raises(switchyard.PayloadValidationError):
                module.order.trigger_sync({"id": "x", "amount": 1})  # checked before sending
            assert client.poll(handle, timeout=30).output == {"id": 3, "total": 2.0}
            outputs = sorted(client.poll(h, timeout=30).output for h in batch.runs)
            assert outputs == [1, 2]
            assert client.retrieve(handle).tags == ("via-http",)
            client.close()
    finally:
        sys.modules.pop(name, None)
        reset_runtime()
