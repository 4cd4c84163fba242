"""Security and API-contract checks on each backend: failed sign-ins throttled per address
before any credential is checked, the callback URL kept from public tokens, ``Allow``
on 405 answers; and in a real ``switchyard server``: no database password printed, no
``?access_token=`` in the access log, and a stalled request body answered 408."""

from __future__ import annotations

import socket
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from switchyard.core.errors import ConfigError
from switchyard.runtime import Runtime
from switchyard.sdk import wait
from switchyard.server import access, create_app
from switchyard.server.body_timeout import parse_body_timeout
from switchyard.storage import redacted_url
from tests.processes import poll, serving
from tests.test_http_api import add_key


def _client(app: Any, key: str | None = None, address: str = "10.0.0.1") -> httpx.AsyncClient:
    headers = {} if key is None else {"Authorization": f"Bearer {key}"}
    transport = httpx.ASGITransport(app=app, client=(address, 4321))
    return httpx.AsyncClient(transport=transport, base_url="http://t", headers=headers)


async def test_failed_authentications_are_throttled_per_address(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    now = [0.0]  # the throttle's monotonic time, moved by hand
    monkeypatch.setattr(access, "monotonic", lambda: now[0])
    good = add_key(runtime)
    app = create_app(runtime, api_key=None, rate_limit=None)
    wrong = {"Authorization": "Bearer sy_dev_not-a-key"}
    async with _client(app) as http, _client(app, good, address="10.0.0.2") as other:
        # No credential at all is no guess: it never counts.
        for _ in range(20):
            assert (await http.get("/api/v1/queues")).status_code == 401
        signed_in = {"Authorization": f"Bearer {good}"}
        assert (await http.get("/api/v1/queues", headers=signed_in)).status_code == 200
        codes = [(await http.get("/api/v1/queues", headers=wrong)).status_code for _ in range(11)]
        assert codes == [401] * 10 + [429]
        # Throttled before the key is looked at: a valid key from there waits too ...
        throttled = await http.get("/api/v1/queues", headers=signed_in)
        assert throttled.status_code == 429, throttled.text
        assert throttled.json()["error"]["code"] == "rate_limited"
        assert int(throttled.headers["Retry-After"]) == 5
        # ... forged public tokens and callback signatures count in the same place ...
        forged = await http.get("/api/v1/runs/run_x", params={"access_token": "pt_forged"})
        assert forged.status_code == 429
        token = wait.create_token_sync()
        callback = f"/api/v1/waitpoints/tokens/{token.id}/callback/forged"
        assert (await http.post(callback, json={})).status_code == 429
        # ... while another address with a valid key is unaffected.
        assert (await other.get("/api/v1/queues")).status_code == 200
        # One more try every 5 seconds, whatever the concurrency.
        now[0] += 5.0
        assert (await http.get("/api/v1/queues", headers=wrong)).status_code == 401
        assert (await http.get("/api/v1/queues", headers=wrong)).status_code == 429
        now[0] += 5.0
        assert (await http.post(callback, json={})).status_code == 401  # invalid_signature
        now[0] += 60.0
        assert (await http.get("/api/v1/queues", headers=signed_in)).status_code == 200


async def test_public_tokens_never_see_the_callback_url(runtime: Runtime) -> None:
    key = add_key(runtime)
    app = create_app(runtime, api_key=None, rate_limit=None)
    token = wait.create_token_sync()
    path = f"/api/v1/waitpoints/tokens/{token.id}"
    async with _client(app, key) as http:
        assert "/callback/" in (await http.get(path)).json()["url"]  # a secret key sees it
        made = await http.post(
            "/api/v1/auth/public-tokens", json={"scope": "complete_token", "id": token.id}
        )
        browser = {"Authorization": f"Bearer {made.json()['token']}"}
        shown = await http.get(path, headers=browser)
        assert shown.status_code == 200 and "url" not in shown.json()
        assert shown.json()["id"] == token.id
        done = await http.post(f"{path}/complete", json={"data": 1}, headers=browser)
        assert done.status_code == 200 and "url" not in done.json()
        assert done.json()["output"] == 1
        assert "/callback/" in (await http.get(path)).json()["url"]


async def test_405_lists_every_method_of_the_path(runtime: Runtime) -> None:
    app = create_app(runtime, api_key="")
    async with _client(app) as http:
        answer = await http.delete("/api/v1/waitpoints/tokens")
        assert answer.status_code == 405
        assert answer.headers["Allow"] == "GET, HEAD, POST"
        assert "use GET, HEAD, POST" in answer.json()["error"]["message"]
        limit = await http.post("/api/v1/queues/q/concurrency-limit")
        # GET too: a queue may be named "q/concurrency-limit" (names contain "/")
        assert limit.status_code == 405 and limit.headers["Allow"] == "GET, HEAD, PUT, DELETE"


def test_database_urls_are_printed_without_their_password() -> None:
    assert redacted_url("postgresql://ada:s3cret@db:5432/app") == "postgresql://ada:***@db:5432/app"
    assert redacted_url("postgresql://db/app?sslmode=require&password=s3cret") == (
        "postgresql://db/app?sslmode=require&password=***"
    )
    assert redacted_url("postgresql://ada@db/app") == "postgresql://ada@db/app"
    assert redacted_url("sqlite:///tmp/x.db") == "sqlite:///tmp/x.db"


def test_body_timeout_setting() -> None:
    assert parse_body_timeout(None) == 30.0
    assert parse_body_timeout("1m") == 60.0
    assert parse_body_timeout("2.5") == 2.5
    assert parse_body_timeout("off") is None
    with pytest.raises(ConfigError, match="SWITCHYARD_BODY_TIMEOUT"):
        parse_body_timeout("soon")


@pytest.mark.e2e
def test_a_real_server_keeps_secrets_out_of_its_output_and_times_out_bodies(
    tmp_path: Path, pg_url: str
) -> None:
    password = "pw-s3cret-42"  # the test database trusts local connections: ignored
    url = pg_url.replace("postgresql://postgres@", f"postgresql://postgres:{password}@", 1)
    assert password in url
    env = {"SWITCHYARD_API_KEY": "sy_dev_test-key", "SWITCHYARD_BODY_TIMEOUT": "1"}
    with serving(tmp_path, url, ["server"], env=env) as (proc, base):
        auth = {"Authorization": "Bearer sy_dev_test-key"}
        with httpx.Client(base_url=base, timeout=30, headers=auth) as http:
            token = wait_token(http)
            public = http.post(
                "/api/v1/auth/public-tokens", json={"scope": "complete_token", "id": token}
            ).json()["token"]
            seen = httpx.get(
                f"{base}/api/v1/waitpoints/tokens/{token}",
                params={"access_token": public},
                timeout=30,
            )
            assert seen.status_code == 200

        # A body that stalls: headers and 10 of 100 bytes, then nothing.
        host, port = base.removeprefix("http://").split(":")
        with socket.create_connection((host, int(port)), timeout=10) as sock:
            sock.sendall(
                b"POST /api/v1/waitpoints/tokens HTTP/1.1\r\nHost: t\r\n"
                b"Authorization: Bearer sy_dev_test-key\r\n"
                b"Content-Type: application/json\r\nContent-Length: 100\r\n\r\n"
                b'{"tags": ['
            )
            started = time.monotonic()
            answer = b""
            while chunk := sock.recv(65536):  # until the server closes the connection
                answer += chunk
            waited = time.monotonic() - started
        assert answer.startswith(b"HTTP/1.1 408"), answer
        assert b"request_timeout" in answer and 0.5 < waited < 5

        poll(lambda: "access_token=***" in proc.output(), what="redacted access log line")
        output = proc.output()
        assert password not in output and "postgres:***@" in output
        assert public not in output


def wait_token(http: httpx.Client) -> str:
    """A new token's id, made over the API."""
    made = http.post("/api/v1/waitpoints/tokens", json={"timeout": "1h"})
    assert made.status_code == 201, made.text
    token_id: str = made.json()["id"]
    return token_id
