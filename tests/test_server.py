"""The HTTP API: a real ``switchyard server`` process on each backend, plus in-process
checks (httpx over ASGI) where a real process adds nothing."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from switchyard.engine.tokens import CALLBACK_SECRET
from switchyard.runtime import Runtime, reset_runtime
from switchyard.sdk import wait
from switchyard.server import create_app
from switchyard.storage import open_storage
from tests.conftest import make_config
from tests.processes import poll, serving

TOKENS = "/api/v1/waitpoints/tokens"
API_KEY = "sy_test_server_key"
AUTH = {"Authorization": f"Bearer {API_KEY}"}


@pytest.fixture
def server(tmp_path: Path, database_url: str) -> Iterator[str]:
    """A real ``switchyard server`` on a free port; yields its base URL."""
    env = {"SWITCHYARD_API_KEY": API_KEY}
    with serving(tmp_path, database_url, ["server"], env=env) as (_, base):
        yield base


def _signature(database_url: str, token_id: str) -> str:
    storage = open_storage(database_url)
    try:
        return wait.token_signature(storage.secret(CALLBACK_SECRET), token_id)
    finally:
        storage.close()


@pytest.mark.e2e
def test_token_completed_through_its_callback_url(server: str, database_url: str) -> None:
    with httpx.Client(base_url=server, timeout=30, headers=AUTH) as http:
        created = http.post(TOKENS, json={"timeout": "1h", "tags": ["invoice:1"]})
        assert created.status_code == 201, created.text
        token = created.json()
        assert token["is_cached"] is False
        assert token["url"].startswith(f"{server}{TOKENS}/{token['id']}/callback/")
        shown = http.get(f"{TOKENS}/{token['id']}").json()
        assert shown["status"] == "PENDING" and shown["tags"] == ["invoice:1"]
        assert shown["timeout_at"].endswith("Z") and shown["completed_at"] is None

        posted = httpx.post(token["url"], json={"approved": True, "by": "ada"}, timeout=30)
        assert posted.status_code == 200, posted.text
        assert posted.json() == {
            "id": token["id"],
            "status": "COMPLETED",
            "already_completed": False,
        }

        again = httpx.post(token["url"], json={"approved": False}, timeout=30)
        assert again.status_code == 200
        assert again.json() == {"id": token["id"], "status": "COMPLETED", "already_completed": True}
        shown = http.get(f"{TOKENS}/{token['id']}").json()
        assert shown["status"] == "COMPLETED"
        assert shown["output"] == {"approved": True, "by": "ada"}  # the first completion won
    storage = open_storage(database_url)
    try:
        stored = storage.get_waitpoint("dev", token["id"])
    finally:
        storage.close()
    assert stored is not None and stored.output == {"approved": True, "by": "ada"}


@pytest.mark.e2e
def test_callback_url_errors(server: str, database_url: str) -> None:
    with httpx.Client(base_url=server, timeout=30, headers=AUTH) as http:
        token = http.post(TOKENS, json={}).json()
        url = token["url"]
        path = url.removeprefix(server)

        wrong = http.post(path[:-6] + "000000", json={"a": 1})
        assert wrong.status_code == 401
        assert wrong.json()["error"]["code"] == "invalid_signature"
        made_up = "waitpoint_00000000000000000000000000"
        unknown = http.post(
            f"{TOKENS}/{made_up}/callback/{_signature(database_url, made_up)}", json={}
        )
        assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "not_found"
        # an unknown id with a wrong signature says nothing about existence
        assert http.post(f"{TOKENS}/{made_up}/callback/abc", json={}).status_code == 401

        get = http.get(path)
        assert get.status_code == 405 and get.headers["allow"] == "POST"
        assert get.json()["error"]["code"] == "method_not_allowed"

        big = http.post(path, content=b'"' + b"x" * (3 * 1024 * 1024 + 10) + b'"')
        assert big.status_code == 413 and big.json()["error"]["code"] == "payload_too_large"

        def chunks() -> Iterator[bytes]:  # no Content-Length: counted while reading
            yield b'"'
            for _ in range(4):
                yield b"y" * (1024 * 1024)
            yield b'"'

        chunked = http.post(path, content=chunks())
        assert chunked.status_code == 413

        not_json = http.post(path, content=b"approved=yes")
        assert not_json.status_code == 400
        assert "must be JSON" in not_json.json()["error"]["message"]

        assert http.get(f"{TOKENS}/{token['id']}").json()["status"] == "PENDING"
        empty = http.post(path)
        assert empty.status_code == 200 and empty.json()["already_completed"] is False
        assert http.get(f"{TOKENS}/{token['id']}").json()["output"] == {}


@pytest.mark.e2e
def test_timeout_complete_and_list_filters(server: str) -> None:
    with httpx.Client(base_url=server, timeout=30, headers=AUTH) as http:
        before = time.time() - 1
        ids = [http.post(TOKENS, json={"tags": [f"n:{i}", "batch"]}).json()["id"] for i in range(3)]
        other = http.post(TOKENS, json={"idempotency_key": "order-7", "tags": "other"}).json()
        cached = http.post(TOKENS, json={"idempotency_key": "order-7"})
        assert cached.status_code == 200 and cached.json()["is_cached"] is True
        assert cached.json()["id"] == other["id"]

        timed_out = http.post(f"{TOKENS}/{ids[0]}/timeout").json()
        assert timed_out["status"] == "TIMED_OUT" and timed_out["already_completed"] is False
        assert timed_out["error"]["type"] == "WaitpointTimeoutError"
        late = http.post(f"{TOKENS}/{ids[0]}/complete", json={"data": 1}).json()
        assert late["status"] == "TIMED_OUT" and late["already_completed"] is True
        done = http.post(f"{TOKENS}/{ids[1]}/complete", json={"data": {"ok": True}}).json()
        assert done["status"] == "COMPLETED" and done["output"] == {"ok": True}
        assert http.post(f"{TOKENS}/{ids[1]}/timeout").json()["status"] == "COMPLETED"

        def listed(**params: object) -> list[str]:
            response = http.get(TOKENS, params=params)  # type: ignore[arg-type]
            assert response.status_code == 200, response.text
            return [t["id"] for t in response.json()["data"]]

        assert listed() == [other["id"], *reversed(ids)]
        assert listed(status="pending") == [other["id"], ids[2]]
        assert listed(status="completed,timed_out") == [ids[1], ids[0]]
        assert listed(tag="batch") == list(reversed(ids))
        assert listed(tag="n:1") == [ids[1]]
        assert listed(idempotency_key="order-7") == [other["id"]]
        assert listed(created_after=before) == [other["id"], *reversed(ids)]
        future = (dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)).isoformat()
        assert listed(created_after=future) == []
        assert listed(created_before=future, tag="n:0") == [ids[0]]
        page = http.get(TOKENS, params={"limit": 2}).json()
        assert len(page["data"]) == 2 and page["next_cursor"]
        rest = http.get(TOKENS, params={"limit": 2, "cursor": page["next_cursor"]}).json()
        assert [t["id"] for t in rest["data"]] == [ids[1], ids[0]] and rest["next_cursor"] is None

        for params in ({"status": "nope"}, {"limit": "0"}, {"created_after": "yesterday"}):
            bad = http.get(TOKENS, params=params)
            assert bad.status_code == 422, bad.text
            assert bad.json()["error"]["code"] == "invalid_request"
        bad_timeout = http.post(TOKENS, json={"timeout": "soon"})
        assert (
            bad_timeout.status_code == 422 and "timeout" in bad_timeout.json()["error"]["message"]
        )
        assert http.post(TOKENS, content=b"{oops").status_code == 400
        missing = http.post(f"{TOKENS}/waitpoint_missing/timeout")
        assert missing.status_code == 404


@pytest.mark.e2e
def test_api_key_is_required_when_set(tmp_path: Path, database_url: str) -> None:
    env = {"SWITCHYARD_API_KEY": "sk-test-123"}
    with (
        serving(tmp_path, database_url, ["server"], env=env) as (proc, base),
        httpx.Client(base_url=base, timeout=30) as http,
    ):
        assert http.get("/healthz").status_code == 200
        missing = http.post(TOKENS, json={})
        assert missing.status_code == 401
        assert missing.json()["error"]["code"] == "unauthorized"
        assert missing.headers["www-authenticate"] == "Bearer"
        wrong = http.get(TOKENS, headers={"Authorization": "Bearer sk-test-124"})
        assert wrong.status_code == 401
        auth = {"Authorization": "Bearer sk-test-123"}
        token = http.post(TOKENS, json={}, headers=auth).json()
        assert http.get(f"{TOKENS}/{token['id']}").status_code == 401
        # the callback URL is its own capability: no API key needed
        assert httpx.post(token["url"], json={"ok": 1}, timeout=30).status_code == 200
        shown = http.get(f"{TOKENS}/{token['id']}", headers=auth).json()
        assert shown["output"] == {"ok": 1}
        # access logs never show the signature: it is a capability
        poll(lambda: "/callback/<redacted>" in proc.output(), what="access log line")
        assert token["url"].rsplit("/", 1)[1] not in proc.output()


# -- in process: request handling that a real server adds nothing to -----------------------
@pytest.fixture
async def client(database_url: str) -> AsyncIterator[tuple[httpx.AsyncClient, Runtime]]:
    from switchyard import runtime as runtime_module

    runtime = runtime_module.configure(make_config(database_url))
    app = create_app(runtime, api_key="")
    transport = httpx.ASGITransport(app=app)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            yield http, runtime
    finally:
        reset_runtime()


async def test_api_urls_match_the_sdk(client: tuple[httpx.AsyncClient, Runtime]) -> None:
    http, runtime = client
    created = (await http.post(TOKENS, json={"tags": ["a", "b"]})).json()
    assert created["url"] == wait.token_url(runtime, created["id"])
    sdk_token = wait.create_token_sync(tags="sdk")
    listed = (await http.get(TOKENS, params={"tag": "sdk"})).json()["data"]
    assert [t["url"] for t in listed] == [sdk_token.url]
    # the SDK waits on what the API completes
    response = await http.post(sdk_token.url.removeprefix("http://127.0.0.1:3030"), json=[1, 2])
    assert response.status_code == 200
    assert wait.retrieve_token_sync(sdk_token).output == [1, 2]


async def test_bad_input_is_a_clear_4xx(client: tuple[httpx.AsyncClient, Runtime]) -> None:
    http, _ = client
    cases = [
        ({"timeout": "2030-01-01T00:00:00"}, "needs an offset"),
        ({"timeout": True}, "invalid timeout"),
        ({"tags": [1]}, "invalid tags"),
        ({"tags": ["x" * 500]}, "invalid tags"),
        ({"idempotency_key": {"a": 1}}, "invalid idempotency_key"),
        ({"idempotency_key": "k", "idempotency_key_ttl": "forever"}, "idempotency_key_ttl"),
        ({"tagz": ["a"]}, "unknown field(s) tagz"),
        ([1, 2], "must be a JSON object"),
    ]
    for body, message in cases:
        response = await http.post(TOKENS, json=body)
        assert response.status_code == 422, (body, response.text)
        assert message in response.json()["error"]["message"], (body, response.text)
    at = (await http.post(TOKENS, json={"timeout": "2030-01-01T00:00:00Z"})).json()
    shown = (await http.get(f"{TOKENS}/{at['id']}")).json()
    assert shown["timeout_at"] == "2030-01-01T00:00:00.000Z"
    nan = await http.post(at["url"].removeprefix("http://127.0.0.1:3030"), content=b"NaN")
    assert nan.status_code == 400
    bad_length = await http.post(TOKENS, content=b"{}", headers={"Content-Length": "nope"})
    assert bad_length.status_code == 400
    unknown_route = await http.get("/api/v1/nothing")
    assert unknown_route.status_code == 404
    assert unknown_route.json()["error"]["code"] == "not_found"
    extra = await http.post(f"{TOKENS}/{at['id']}/complete", json={"output": 1})
    assert extra.status_code == 422 and '{"data": ...}' in extra.json()["error"]["message"]
    completed = await http.post(f"{TOKENS}/{at['id']}/complete")
    assert completed.status_code == 200 and completed.json()["output"] is None
