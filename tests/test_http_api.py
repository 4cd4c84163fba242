"""The HTTP API in process (httpx over ASGI) on each backend: keys and environments,
public tokens, rate limits, triggers with every option, errors, idempotent requests,
runs, queues, and the async client. Real processes: tests/test_http_e2e.py."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from switchyard import AsyncClient, BatchItem, ClientError, RunStatus
from switchyard.core.api_keys import ApiKey, hash_key, key_prefix, new_key, new_key_id
from switchyard.core.clock import FakeClock
from switchyard.core.models import TaskInfo
from switchyard.runtime import Runtime
from switchyard.sdk import wait
from switchyard.server import create_app
from tests.processes import switchyard as sy

ORDER_SCHEMA = {
    "type": "object",
    "properties": {"id": {"type": "integer"}, "email": {"type": "string", "minLength": 3}},
    "required": ["id"],
    "additionalProperties": False,
}


def add_key(runtime: Runtime, environment: str = "dev") -> str:
    secret = new_key(environment)
    runtime.storage.create_api_key(
        ApiKey(new_key_id(), environment, "test", key_prefix(secret), hash_key(secret), 1.0)
    )
    return secret


@pytest.fixture
async def api(runtime: Runtime) -> AsyncIterator[tuple[httpx.AsyncClient, Runtime, str]]:
    """An in-process app on the fake-clock runtime, a client with a valid key."""
    runtime.engine.register(
        [
            TaskInfo(id="h-order", queue="task/h-order", payload_schema=ORDER_SCHEMA),
            TaskInfo(id="h-plain", queue="task/h-plain"),
        ]
    )
    key = add_key(runtime)
    app = create_app(runtime, api_key=None, rate_limit=None)
    transport = httpx.ASGITransport(app=app)
    headers = {"Authorization": f"Bearer {key}"}
    async with httpx.AsyncClient(transport=transport, base_url="http://t", headers=headers) as h:
        yield h, runtime, key


def _app_client(app: Any, key: str | None = None) -> httpx.AsyncClient:
    headers = {} if key is None else {"Authorization": f"Bearer {key}"}
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://t", headers=headers
    )


async def test_keys_decide_access_and_environment(runtime: Runtime) -> None:
    runtime.engine.register([TaskInfo(id="h-plain", queue="task/h-plain")])
    dev_key, staging_key = add_key(runtime), add_key(runtime, "staging")
    app = create_app(runtime, api_key="sy_env_extra_key", rate_limit=None)
    async with _app_client(app) as anon:
        missing = await anon.get("/api/v1/runs")
        assert missing.status_code == 401 and missing.headers["www-authenticate"] == "Bearer"
        assert missing.json()["error"]["code"] == "unauthorized"
        assert (
            await anon.get("/api/v1/runs", headers={"Authorization": "Bearer nope"})
        ).status_code == 401
        assert (
            await anon.get("/api/v1/runs", headers={"Authorization": "Basic abc"})
        ).status_code == 401
        # secret keys never in URLs
        leaked = await anon.get("/api/v1/runs", params={"access_token": dev_key})
        assert leaked.status_code == 401 and "public tokens only" in leaked.text
        # public paths
        assert (await anon.get("/healthz")).status_code == 200
        assert (await anon.get("/openapi.json")).json()["openapi"] == "3.1.0"
        docs = await anon.get("/docs")
        assert docs.status_code == 200 and "openapi.json" in docs.text
    async with _app_client(app, dev_key) as dev, _app_client(app, staging_key) as staging:
        made = await staging.post("/api/v1/tasks/h-plain/trigger", json={})
        assert made.status_code == 404  # the task is registered in dev only
        runtime.engine.__class__(runtime.storage, runtime.clock, "staging").register(
            [TaskInfo(id="h-plain", queue="task/h-plain")]
        )
        made = await staging.post("/api/v1/tasks/h-plain/trigger", json={"payload": 1})
        assert made.status_code == 201, made.text
        run_id = made.json()["id"]
        assert (await staging.get(f"/api/v1/runs/{run_id}")).json()["environment"] == "staging"
        assert (await dev.get(f"/api/v1/runs/{run_id}")).status_code == 404
        assert (await dev.get("/api/v1/runs")).json()["data"] == []
        assert (await staging.get("/api/v1/environment")).json()["name"] == "staging"
    async with _app_client(app, "sy_env_extra_key") as extra:  # SWITCHYARD_API_KEY's role
        assert (await extra.get("/api/v1/environment")).json()["name"] == "dev"
    # a revoked key stops working (a new process here; running servers within seconds)
    [stored] = runtime.storage.list_api_keys("dev")
    assert runtime.storage.revoke_api_key(stored.id, 5.0) is not None
    async with _app_client(create_app(runtime, rate_limit=None), dev_key) as dev:
        revoked = await dev.get("/api/v1/runs")
        assert revoked.status_code == 401 and "revoked" in revoked.json()["error"]["message"]
    assert runtime.storage.revoke_api_key("key_nope", 5.0) is None


async def test_public_tokens_are_scoped_and_expire(
    api: tuple[httpx.AsyncClient, Runtime, str], clock: FakeClock
) -> None:
    http, _runtime, _ = api
    run_id = (await http.post("/api/v1/tasks/h-plain/trigger", json={})).json()["id"]
    other = (await http.post("/api/v1/tasks/h-plain/trigger", json={})).json()["id"]
    made = await http.post(
        "/api/v1/auth/public-tokens", json={"scope": "read_run", "id": run_id, "expires_in": "1m"}
    )
    assert made.status_code == 201, made.text
    token = made.json()["token"]
    assert token.startswith("pt_") and made.json()["expires_at"].endswith("Z")
    browser = {"Authorization": f"Bearer {token}"}
    assert (await http.get(f"/api/v1/runs/{run_id}", headers=browser)).status_code == 200
    by_query = await http.get(
        f"/api/v1/runs/{run_id}", params={"access_token": token}, headers={"Authorization": ""}
    )
    assert by_query.status_code == 200
    for method, path in [
        ("GET", f"/api/v1/runs/{other}"),
        ("POST", f"/api/v1/runs/{run_id}/cancel"),
        ("GET", "/api/v1/runs"),
        ("POST", "/api/v1/auth/public-tokens"),
    ]:
        refused = await http.request(method, path, headers=browser)
        assert refused.status_code == 403, (path, refused.text)
    tampered = token[:-3] + ("AAA" if not token.endswith("AAA") else "BBB")
    bad = await http.get(f"/api/v1/runs/{run_id}", headers={"Authorization": f"Bearer {tampered}"})
    assert bad.status_code == 401 and "signature" in bad.json()["error"]["message"]
    clock.advance(61)
    expired = await http.get(f"/api/v1/runs/{run_id}", headers=browser)
    assert expired.status_code == 401 and "expired" in expired.json()["error"]["message"]

    # complete_token: complete that one token, nothing else
    sdk_token = wait.create_token_sync()
    scoped = await http.post(
        "/api/v1/auth/public-tokens", json={"scope": "complete_token", "id": sdk_token.id}
    )
    headers = {"Authorization": f"Bearer {scoped.json()['token']}"}
    done = await http.post(
        f"/api/v1/waitpoints/tokens/{sdk_token.id}/complete", json={"data": 5}, headers=headers
    )
    assert done.status_code == 200 and done.json()["output"] == 5
    timeout = await http.post(f"/api/v1/waitpoints/tokens/{sdk_token.id}/timeout", headers=headers)
    assert timeout.status_code == 403
    for body in (
        {"scope": "everything", "id": run_id},
        {"scope": "read_run", "id": run_id, "expires_in": "30d"},
        {"scope": "read_run"},
    ):
        assert (await http.post("/api/v1/auth/public-tokens", json=body)).status_code == 422
    missing = {"scope": "complete_token", "id": "waitpoint_nope"}
    assert (await http.post("/api/v1/auth/public-tokens", json=missing)).status_code == 404


async def test_rate_limit_per_key(runtime: Runtime) -> None:
    key = add_key(runtime)
    app = create_app(runtime, rate_limit=2.0)  # bursts of 4
    async with _app_client(app, key) as http:
        codes = [(await http.get("/api/v1/queues")).status_code for _ in range(5)]
        assert codes == [200, 200, 200, 200, 429]
        limited = await http.get("/api/v1/queues")
        assert limited.json()["error"]["code"] == "rate_limited"
        assert int(limited.headers["retry-after"]) >= 1
    async with _app_client(app, add_key(runtime)) as other:  # each key its own bucket
        assert (await other.get("/api/v1/queues")).status_code == 200


async def test_trigger_with_every_option(api: tuple[httpx.AsyncClient, Runtime, str]) -> None:
    http, _runtime, _ = api
    options = {
        "delay": "2030-01-01T00:00:00Z",
        "ttl": "1h",
        "priority": 30,
        "tags": ["user:1", "plan:pro"],
        "metadata": {"source": "api"},
        "max_attempts": 5,
        "retry": {"factor": 3, "min_timeout": "2s", "randomize": False},
        "max_duration": "5m",
        "queue": "shared",
        "concurrency_key": "user:1",
        "idempotency_key": "order-1",
        "idempotency_key_ttl": "1d",
    }
    made = await http.post(
        "/api/v1/tasks/h-order/trigger", json={"payload": {"id": 1}, "options": options}
    )
    assert made.status_code == 201, made.text
    run = (await http.get(f"/api/v1/runs/{made.json()['id']}")).json()
    assert run["status"] == "DELAYED" and run["delay_until"] == "2030-01-01T00:00:00.000Z"
    assert run["ttl"] == 3600 and run["priority"] == 30 and run["max_duration"] == 300
    assert run["tags"] == ["user:1", "plan:pro"] and run["metadata"] == {"source": "api"}
    assert run["retry"]["max_attempts"] == 5 and run["retry"]["factor"] == 3
    assert run["retry"]["min_timeout"] == 2 and run["retry"]["randomize"] is False
    assert run["queue"] == "shared" and run["concurrency_key"] == "user:1"
    assert run["payload"] == {"id": 1} and run["attempts"] == []
    again = await http.post(
        "/api/v1/tasks/h-order/trigger", json={"payload": {"id": 2}, "options": options}
    )
    assert again.status_code == 200 and again.json() == {**made.json(), "is_cached": True}


async def test_bad_input_is_a_clear_4xx_and_stores_nothing(
    api: tuple[httpx.AsyncClient, Runtime, str],
) -> None:
    http, _runtime, _ = api
    cases: list[tuple[Any, int, str]] = [
        ({"payload": {"id": "x"}}, 422, "invalid_payload"),
        ({"payload": {"id": 1, "extra": True}}, 422, "invalid_payload"),
        ({"payload": {"id": 1}, "options": {"delay": "soon"}}, 422, "options.delay"),
        ({"payload": {"id": 1}, "options": {"delay": "2030-01-01T00:00:00"}}, 422, "offset"),
        ({"payload": {"id": 1}, "options": {"ttl": -1}}, 422, "options.ttl"),
        ({"payload": {"id": 1}, "options": {"ttl": 10**400}}, 422, "100 years"),
        ({"payload": {"id": 1}, "options": {"priority": True}}, 422, "options.priority"),
        ({"payload": {"id": 1}, "options": {"tags": "x" * 200}}, 422, "options.tags"),
        ({"payload": {"id": 1}, "options": {"tags": [1]}}, 422, "options.tags[0]"),
        ({"payload": {"id": 1}, "options": {"max_attempts": 0}}, 422, "max_attempts"),
        ({"payload": {"id": 1}, "options": {"retry": {"factor": "x"}}}, 422, "retry.factor"),
        ({"payload": {"id": 1}, "options": {"retry": {"tries": 3}}}, 422, "tries"),
        ({"payload": {"id": 1}, "options": {"metadata": []}}, 422, "options.metadata"),
        ({"payload": {"id": 1}, "options": {"delai": "1h"}}, 422, "unknown field(s)"),
        ({"payload": {"id": 1}, "option": {}}, 422, "unknown field(s)"),
        ([1], 422, "JSON object"),
    ]
    for body, status, text in cases:
        response = await http.post("/api/v1/tasks/h-order/trigger", json=body)
        assert response.status_code == status, (body, response.text)
        assert text in response.text, (body, response.text)
    errors = (await http.post("/api/v1/tasks/h-order/trigger", json={"payload": {}})).json()
    assert errors["error"]["errors"][0]["type"] == "required"
    malformed = await http.post("/api/v1/tasks/h-order/trigger", content=b"{nope")
    assert malformed.status_code == 400 and malformed.json()["error"]["code"] == "invalid_json"
    unknown = await http.post("/api/v1/tasks/nope/trigger", json={})
    assert unknown.status_code == 404 and "h-order" in unknown.json()["error"]["message"]
    big = await http.post(
        "/api/v1/tasks/h-plain/trigger", json={"payload": "x" * (3 * 1024 * 1024 + 10)}
    )
    assert big.status_code == 413 and big.json()["error"]["code"] == "payload_too_large"
    # a batch with one bad item creates nothing
    batch = await http.post(
        "/api/v1/tasks/h-order/batch-trigger",
        json={"items": [{"payload": {"id": 1}}, {"payload": {"id": "two"}}]},
    )
    assert batch.status_code == 422 and "payload" in batch.json()["error"]["message"]
    assert (await http.post("/api/v1/batch-trigger", json={"items": []})).status_code == 422
    assert (await http.get("/api/v1/runs")).json()["data"] == []
    assert (await http.get("/api/v1/runs", params={"status": "DONE"})).status_code == 422
    assert (await http.get("/api/v1/runs", params={"period": "soon"})).status_code == 422
    assert (await http.get("/api/v1/runs", params={"colour": "red"})).status_code == 422
    gone = await http.post("/api/v1/runs/run_nope/cancel")
    assert gone.status_code == 404 and gone.json()["error"]["code"] == "not_found"


async def test_idempotency_key_header(api: tuple[httpx.AsyncClient, Runtime, str]) -> None:
    http, runtime, _ = api
    body = {"payload": {"id": 9}}
    headers = {"Idempotency-Key": "req-1"}
    first = await http.post("/api/v1/tasks/h-order/trigger", json=body, headers=headers)
    second = await http.post("/api/v1/tasks/h-order/trigger", json=body, headers=headers)
    assert first.status_code == second.status_code == 201
    assert first.json() == second.json()
    assert second.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in first.headers
    assert len((await http.get("/api/v1/runs")).json()["data"]) == 1
    other = await http.post(
        "/api/v1/tasks/h-order/trigger", json={"payload": {"id": 10}}, headers=headers
    )
    assert other.status_code == 422 and other.json()["error"]["code"] == "idempotency_key_reused"
    # a failed request stores nothing: fixed and retried with the same key, it runs
    bad = await http.post(
        "/api/v1/tasks/h-order/trigger", json={"payload": {}}, headers={"Idempotency-Key": "r2"}
    )
    assert bad.status_code == 422
    fixed = await http.post(
        "/api/v1/tasks/h-order/trigger",
        json={"payload": {"id": 3}},
        headers={"Idempotency-Key": "r2"},
    )
    assert fixed.status_code == 201
    # one still in flight (another server is handling it): 409, try again shortly
    now = runtime.clock.now()
    runtime.storage.begin_request("dev", "r3", "hash", now, 86400, 60)
    busy = await http.post(
        "/api/v1/tasks/h-order/trigger", json=body, headers={"Idempotency-Key": "r3"}
    )
    assert busy.status_code == 409 and busy.headers["retry-after"] == "1"
    batch = {"items": [{"payload": {"id": 1}}, {"payload": {"id": 2}}]}
    b1 = await http.post(
        "/api/v1/tasks/h-order/batch-trigger", json=batch, headers={"Idempotency-Key": "b"}
    )
    b2 = await http.post(
        "/api/v1/tasks/h-order/batch-trigger", json=batch, headers={"Idempotency-Key": "b"}
    )
    assert b1.json() == b2.json() and len(b1.json()["runs"]) == 2
    assert len((await http.get("/api/v1/runs")).json()["data"]) == 4


async def test_runs_list_cancel_replay_reschedule_metadata(
    api: tuple[httpx.AsyncClient, Runtime, str], clock: FakeClock
) -> None:
    http, runtime, _ = api

    async def trigger(task: str, payload: Any, **options: Any) -> str:
        made = await http.post(
            f"/api/v1/tasks/{task}/trigger", json={"payload": payload, "options": options}
        )
        assert made.status_code == 201, made.text
        return str(made.json()["id"])

    a = await trigger("h-plain", 1, tags=["a"], queue="q1")
    clock.advance(3600)
    b = await trigger("h-order", {"id": 2}, tags=["a", "b"])
    clock.advance(1)  # ids sort by creation time
    c = await trigger("h-plain", 3, delay="1h")

    async def ids(**params: Any) -> list[str]:
        response = await http.get("/api/v1/runs", params=params)
        assert response.status_code == 200, response.text
        return [r["id"] for r in response.json()["data"]]

    assert await ids() == [c, b, a]
    assert await ids(status="delayed") == [c]
    assert await ids(status="QUEUED,DELAYED") == [c, b, a]
    assert await ids(task="h-order") == [b]
    assert await ids(task=["h-order", "h-plain"]) == [c, b, a]
    assert await ids(tag="a") == [b, a]
    assert await ids(queue="q1") == [a]
    assert await ids(period="30m") == [c, b]
    assert await ids(created_before=clock.now() - 60) == [a]
    assert (await http.get("/api/v1/runs", params={"limit": "2.0"})).status_code == 200
    assert (await http.get("/api/v1/runs", params={"limit": "2.5"})).status_code == 422
    page = (await http.get("/api/v1/runs", params={"limit": 2})).json()
    assert [r["id"] for r in page["data"]] == [c, b]
    assert await ids(limit=2, cursor=page["next_cursor"]) == [a]

    canceled = (await http.post(f"/api/v1/runs/{a}/cancel")).json()
    assert canceled == {"id": a, "status": "CANCELED", "canceled": [a]}
    assert (await http.post(f"/api/v1/runs/{a}/cancel")).json()["canceled"] == []

    replayed = await http.post(f"/api/v1/runs/{b}/replay", json={"payload": {"id": 22}})
    assert replayed.status_code == 201
    copy = (await http.get(f"/api/v1/runs/{replayed.json()['id']}")).json()
    assert (
        copy["payload"] == {"id": 22} and copy["replayed_from"] == b and copy["tags"] == ["a", "b"]
    )
    bad_replay = await http.post(f"/api/v1/runs/{b}/replay", json={"payload": {"id": "x"}})
    assert bad_replay.status_code == 422

    moved = await http.post(f"/api/v1/runs/{c}/reschedule", json={"delay": "3h"})
    assert moved.status_code == 200, moved.text
    assert (
        moved.json()["delay_until"] == (await http.get(f"/api/v1/runs/{c}")).json()["delay_until"]
    )
    assert runtime.engine.get_run(c).delay_until == pytest.approx(clock.now() + 3 * 3600)
    not_delayed = await http.post(f"/api/v1/runs/{b}/reschedule", json={"delay": "1h"})
    assert not_delayed.status_code == 409 and "QUEUED" in not_delayed.json()["error"]["message"]
    assert (await http.post(f"/api/v1/runs/{c}/reschedule", json={})).status_code == 422

    updated = await http.put(f"/api/v1/runs/{b}/metadata", json={"metadata": {"progress": 0.5}})
    assert updated.status_code == 200 and updated.json()["metadata"] == {"progress": 0.5}
    assert runtime.engine.get_run(b).updated_at == clock.now()
    assert (await http.put(f"/api/v1/runs/{b}/metadata", json={"metadata": 1})).status_code == 422
    assert (await http.put("/api/v1/runs/nope/metadata", json={"metadata": {}})).status_code == 404


async def test_tasks_queues_and_environment(api: tuple[httpx.AsyncClient, Runtime, str]) -> None:
    http, runtime, _ = api
    tasks = {t["id"]: t for t in (await http.get("/api/v1/tasks")).json()["data"]}
    assert tasks["h-order"]["payload_schema"] == ORDER_SCHEMA
    assert tasks["h-plain"]["payload_schema"] is None
    assert (await http.get("/api/v1/tasks/h-order")).json()["queue"] == "task/h-order"
    await http.post("/api/v1/tasks/h-plain/trigger", json={})
    queues = {q["name"]: q for q in (await http.get("/api/v1/queues")).json()["data"]}
    assert queues["task/h-plain"]["queued"] == 1
    stats = (await http.get("/api/v1/queues/task/h-plain")).json()
    assert stats["queued"] == 1 and stats["paused"] is False
    encoded = await http.get("/api/v1/queues/task%2Fh-plain")
    assert encoded.json()["name"] == "task/h-plain"
    assert (await http.post("/api/v1/queues/task/h-plain/pause")).json()["paused"] is True
    assert (await http.post("/api/v1/queues/task/h-plain/resume")).json()["paused"] is False
    limited = await http.put("/api/v1/queues/task/h-plain/concurrency-limit", json={"limit": 3})
    assert limited.json()["concurrency_limit"] == 3 and limited.json()["limit_override"] == 3
    reset = await http.delete("/api/v1/queues/task/h-plain/concurrency-limit")
    assert reset.json()["limit_override"] is None
    for body in ({"limit": -1}, {"limit": "3"}, {}, {"limit": 10**9}):
        bad = await http.put("/api/v1/queues/task/h-plain/concurrency-limit", json=body)
        assert bad.status_code == 422, body
    assert (await http.get("/api/v1/queues/nope")).status_code == 404
    assert (await http.post("/api/v1/environment/pause")).json()["paused"] is True
    assert runtime.engine.environment_info().paused is True
    assert (await http.post("/api/v1/environment/resume")).json()["paused"] is False
    env = await http.put("/api/v1/environment/concurrency-limit", json={"limit": 7})
    assert env.json()["concurrency_limit"] == 7


async def test_async_client(api: tuple[httpx.AsyncClient, Runtime, str]) -> None:
    _, runtime, key = api
    http = api[0]
    transport = http._transport
    async with AsyncClient("http://t", key, transport=transport) as client:  # type: ignore[arg-type]
        handle = await client.trigger("h-order", {"id": 5}, tags=["c"], delay=3600)
        assert handle.task_id == "h-order" and not handle.is_cached
        run = await client.retrieve(handle)
        assert run.status == RunStatus.DELAYED and run.payload == {"id": 5} and run.tags == ("c",)
        assert run.delay_until == pytest.approx(runtime.clock.now() + 3600, abs=0.01)
        batch = await client.batch_trigger(
            "h-plain", [1, BatchItem(2, {"tags": ["two"]})], idempotency_key="batch-1"
        )
        again = await client.batch_trigger(
            "h-plain", [1, BatchItem(2, {"tags": ["two"]})], idempotency_key="batch-1"
        )
        assert [r.id for r in again.runs] == [r.id for r in batch.runs]
        assert all(r.is_cached for r in again.runs)
        page = await client.list_runs(task="h-plain", limit=1)
        assert len(page.runs) == 1 and page.next_cursor
        moved = await client.reschedule(handle, "2h")
        assert moved.delay_until == pytest.approx(runtime.clock.now() + 7200, abs=0.01)
        assert (await client.update_metadata(handle, {"k": 1})).metadata == {"k": 1}
        replay = await client.replay(handle)
        assert (await client.retrieve(replay)).replayed_from == handle.id
        assert await client.cancel(handle) == [handle.id]
        with pytest.raises(ClientError) as error:
            await client.trigger("h-order", {"id": "x"})
        assert error.value.status == 422 and error.value.errors
        with pytest.raises(ClientError) as missing:
            await client.retrieve("run_missing")
        assert missing.value.status == 404 and missing.value.code == "not_found"
        token = await client.create_token(tags=["x"], timeout="1h")
        done = await client.complete_token(token.id, {"ok": True})
        assert done["output"] == {"ok": True}
        assert (await client.retrieve_token(token.id))["status"] == "COMPLETED"
        assert {q["name"] for q in await client.list_queues()} >= {"task/h-plain"}
        assert (await client.pause_queue("task/h-plain"))["paused"] is True
        assert (await client.set_queue_limit("task/h-plain", 2))["concurrency_limit"] == 2
        assert (await client.set_queue_limit("task/h-plain", None))["limit_override"] is None
        assert (await client.retrieve_queue("task/h-plain"))["paused"] is True
        assert (await client.pause_environment())["paused"] is True
        assert (await client.resume_environment())["paused"] is False
        assert (await client.list_tasks())[0]["id"] == "h-order"
        assert (await client.create_public_token("read_run", handle.id)).startswith("pt_")


def test_keys_cli(tmp_path: Path, database_url: str) -> None:
    created = sy(tmp_path, database_url, "--env", "prod", "keys", "create", "--name", "ci")
    key = created.stdout.split("\n")[1].strip()
    assert key.startswith("sy_prod_"), created.stdout
    listed = sy(tmp_path, database_url, "--env", "prod", "keys", "list", "--json").stdout
    [row] = [__import__("json").loads(line) for line in listed.splitlines()]
    assert row["name"] == "ci" and row["revoked_at"] is None and key not in listed
    assert sy(tmp_path, database_url, "keys", "list", "--json").stdout == ""  # dev has none
    assert "ci" in sy(tmp_path, database_url, "keys", "list", "--all").stdout
    sy(tmp_path, database_url, "keys", "revoke", row["id"])
    listed = sy(tmp_path, database_url, "--env", "prod", "keys", "list", "--json").stdout
    assert __import__("json").loads(listed)["revoked_at"] is not None
    missing = sy(tmp_path, database_url, "keys", "revoke", "key_nope", check=False)
    assert missing.returncode == 2 and "no API key" in missing.stderr


async def test_realtime_hub_fans_out_changes_once(runtime: Runtime, clock: FakeClock) -> None:
    from switchyard.core.options import TriggerOptions
    from switchyard.server.events import Hub, Subscriber, event_id, parse_event_id

    engine = runtime.engine
    engine.register([TaskInfo(id="h-plain", queue="task/h-plain")])
    info = engine.get_task("h-plain")
    assert info is not None
    hub = Hub(runtime.engine, interval=3600)  # polled by hand here
    by_tag = Subscriber("dev", tags=frozenset({"t"}))
    other_env = Subscriber("staging", tags=frozenset({"t"}))
    [result] = engine.trigger([engine.new_run(info, "1", TriggerOptions(tags=["t", "u"]))])
    by_id = Subscriber("dev", run_ids=frozenset({result.run_id}))
    for sub in (by_tag, other_env, by_id):
        hub.add(sub)
    await hub.poll()
    [(run, text)] = [by_tag.queue.get_nowait()]
    assert run.id == result.run_id and run.status == RunStatus.QUEUED
    assert by_id.queue.get_nowait()[1] == text  # encoded once, shared
    assert other_env.queue.empty()
    await hub.poll()  # nothing changed: nothing sent again
    assert by_tag.queue.empty() and by_id.queue.empty()
    clock.advance(0.5)
    runtime.storage.update_run_metadata("dev", result.run_id, '{"step": 2}', clock.now())
    await hub.poll()
    changed, _ = by_tag.queue.get_nowait()
    assert changed.metadata == {"step": 2} and changed.updated_at == clock.now()
    assert parse_event_id(event_id(changed)) == (changed.updated_at, changed.id)
    assert parse_event_id("nonsense") is None and parse_event_id("inf:run_1") is None
    for sub in (by_tag, other_env, by_id):
        hub.remove(sub)
    assert hub.polls == 3
