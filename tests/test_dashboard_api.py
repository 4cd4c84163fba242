"""What the dashboard needs from the server, in process (httpx over ASGI), on each
backend: the page and its files, password sessions, a run's waitpoints, skipping a
time wait, queues with stats. The browser itself: tests/test_dashboard_browser.py."""

from __future__ import annotations

import asyncio
import dataclasses
from typing import Any

import httpx
import pytest

import switchyard as sy
from switchyard import RunContext, task, wait
from switchyard.core.clock import FakeClock
from switchyard.runtime import Runtime
from switchyard.server import access, create_app
from tests.helpers import eventually, running_worker
from tests.test_http_api import add_key

PASSWORD = "correct horse battery"


@task(id="dash-waits")
async def waits(payload: dict[str, Any], ctx: RunContext) -> dict[str, Any]:
    await wait.for_(hours=1)
    token = await wait.create_token(tags=["dash"])
    decision = await wait.for_token(token)
    return {"decision": decision.output}


def client(app: Any, key: str | None = None) -> httpx.AsyncClient:
    headers = {} if key is None else {"Authorization": f"Bearer {key}"}
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://t", headers=headers
    )


def with_password(runtime: Runtime, password: str | None) -> None:
    runtime.config = dataclasses.replace(runtime.config, dashboard_password=password)


async def test_page_files_and_info_need_no_key(runtime: Runtime) -> None:
    app = create_app(runtime, api_key=None, rate_limit=None)
    async with client(app) as anon:
        page = await anon.get("/")
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
        assert '<script type="module" src="/dashboard/app.js">' in page.text
        assert "script-src" not in page.headers["content-security-policy"]  # 'self' only
        assert page.headers["x-frame-options"] == "DENY"
        for name in ("app.js", "api.js", "ui.js", "pages/runs.js", "style.css"):
            asset = await anon.get(f"/dashboard/{name}")
            assert asset.status_code == 200, name
        assert (await anon.get("/dashboard/nope.js")).status_code == 404
        info = (await anon.get("/api/v1/auth/dashboard")).json()
        assert info == {
            "auth": True,
            "password": False,
            "environment": "dev",
            "version": sy.__version__,
            "max_payload_bytes": runtime.config.max_payload_bytes,
        }
        assert (await anon.get("/api/v1/runs")).status_code == 401  # the data needs a key
    open_app = create_app(runtime, api_key="", rate_limit=None)
    async with client(open_app) as anon:
        assert (await anon.get("/api/v1/auth/dashboard")).json()["auth"] is False


async def test_password_sessions(runtime: Runtime) -> None:
    app = create_app(runtime, api_key=None, rate_limit=None)
    async with client(app) as anon:
        off = await anon.post("/api/v1/auth/dashboard-sessions", json={"password": "x" * 10})
        assert off.status_code == 404 and "SWITCHYARD_DASHBOARD_PASSWORD" in off.text
        with_password(runtime, PASSWORD)
        assert (await anon.get("/api/v1/auth/dashboard")).json()["password"] is True
        wrong = await anon.post("/api/v1/auth/dashboard-sessions", json={"password": "nope"})
        assert wrong.status_code == 401 and "wrong dashboard password" in wrong.text
        bad = await anon.post("/api/v1/auth/dashboard-sessions", json={"pass": PASSWORD})
        assert bad.status_code == 422 and "unknown field" in bad.text.lower()
        made = await anon.post("/api/v1/auth/dashboard-sessions", json={"password": PASSWORD})
        assert made.status_code == 201
        session = made.json()["token"]
        assert session.startswith("ds_") and made.json()["environment"] == "dev"
        # a session is a bearer credential with a secret key's rights, header only
        headers = {"Authorization": f"Bearer {session}"}
        assert (await anon.get("/api/v1/runs", headers=headers)).status_code == 200
        assert (await anon.post("/api/v1/environment/pause", headers=headers)).json()["paused"]
        assert (await anon.post("/api/v1/environment/resume", headers=headers)).status_code == 200
        in_url = await anon.get("/api/v1/runs", params={"access_token": session})
        assert in_url.status_code == 401
        forged = session[:-3] + ("AAA" if not session.endswith("AAA") else "BBB")
        refused = await anon.get("/api/v1/runs", headers={"Authorization": f"Bearer {forged}"})
        assert refused.status_code == 401
        # a new password signs everybody out; no password turns sessions off
        with_password(runtime, PASSWORD + "!")
        changed = await anon.get("/api/v1/runs", headers=headers)
        assert changed.status_code == 401 and "password changed" in changed.text
        with_password(runtime, None)
        assert (await anon.get("/api/v1/runs", headers=headers)).status_code == 401


async def test_wrong_passwords_are_throttled_before_the_password_is_compared(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    now = [0.0]  # the throttle's monotonic time, moved by hand
    monkeypatch.setattr(access, "monotonic", lambda: now[0])
    with_password(runtime, PASSWORD)
    app = create_app(runtime, api_key=None, rate_limit=None)
    sessions = "/api/v1/auth/dashboard-sessions"
    async with client(app) as anon:

        async def attempt(password: str) -> httpx.Response:
            return await anon.post(sessions, json={"password": password})

        codes = [(await attempt("no")).status_code for _ in range(11)]
        assert codes == [401] * 10 + [429]
        # Throttled: the right password gets 429 too, so guesses tell nothing.
        throttled = await attempt(PASSWORD)
        assert throttled.status_code == 429
        assert throttled.json()["error"]["code"] == "rate_limited"
        assert 1 <= int(throttled.headers["Retry-After"]) <= 5
        # Hammering (20 at once, every half second for a minute) gets the password
        # compared no more often than documented: 0.2/s.
        compared = 0
        for _ in range(120):
            now[0] += 0.5
            answers = await asyncio.gather(*(attempt("no") for _ in range(20)))
            assert {a.status_code for a in answers} <= {401, 429}
            compared += sum(a.status_code == 401 for a in answers)
        assert compared <= 60 * 0.2 + 1
        now[0] += 60.0  # the address waited: the right password works again
        assert (await attempt(PASSWORD)).status_code == 201


def test_short_password_is_a_config_error() -> None:
    with pytest.raises(sy.ConfigError, match="shorter than 8 characters"):
        sy.define_config(dashboard_password="short")


async def test_run_waitpoints_and_skip_wait(runtime: Runtime, clock: FakeClock) -> None:
    key = add_key(runtime)
    app = create_app(runtime, api_key=None, rate_limit=None)
    handle = await waits.trigger({})
    async with running_worker(runtime, ["dash-waits"]), client(app, key) as api:

        def status() -> str:
            return str(runtime.engine.get_run(handle.id).status)

        await eventually(lambda: status() == "WAITING")
        [duration] = (await api.get(f"/api/v1/runs/{handle.id}/waitpoints")).json()["data"]
        assert duration["kind"] == "DURATION" and duration["status"] == "PENDING"
        assert duration["created_by_run_id"] == handle.id and duration["complete_after"]

        skipped = await api.post(f"/api/v1/runs/{handle.id}/skip-wait")
        assert skipped.status_code == 200
        assert [w["id"] for w in skipped.json()["skipped"]] == [duration["id"]]

        async def token_wait() -> list[dict[str, Any]]:
            page = (await api.get(f"/api/v1/runs/{handle.id}/waitpoints")).json()["data"]
            return page if len(page) == 2 and status() == "WAITING" else []

        for _ in range(500):
            found = await token_wait()
            if found:
                break
            await asyncio.sleep(0.02)
        else:
            raise AssertionError("the run never waited on its token")
        first, token = found
        assert first["id"] == duration["id"] and first["status"] == "COMPLETED"
        assert token["kind"] == "TOKEN" and token["status"] == "PENDING"

        # a token wait is not skippable: 409 that says what to do instead
        refused = await api.post(f"/api/v1/runs/{handle.id}/skip-wait")
        assert refused.status_code == 409 and "complete its token" in refused.text
        done = await api.post(
            f"/api/v1/waitpoints/tokens/{token['id']}/complete", json={"data": {"ok": 1}}
        )
        assert done.json()["created_by_run_id"] == handle.id
        run = await sy.runs.poll(handle, timeout=10)
        assert run.output == {"decision": {"ok": 1}}
        # after the run: every wait still listed, with its output
        after = (await api.get(f"/api/v1/runs/{handle.id}/waitpoints")).json()["data"]
        assert [(w["kind"], w["status"]) for w in after] == [
            ("DURATION", "COMPLETED"),
            ("TOKEN", "COMPLETED"),
        ]
        assert after[1]["output"] == {"ok": 1}
        finished = await api.post(f"/api/v1/runs/{handle.id}/skip-wait")
        assert finished.status_code == 409 and "not waiting" in finished.text
        missing = await api.get("/api/v1/runs/run_nope/waitpoints")
        assert missing.status_code == 404


async def test_queues_with_stats(runtime: Runtime) -> None:
    key = add_key(runtime)
    runtime.engine.register([sy.core.models.TaskInfo(id="dash-q", queue="task/dash-q")])
    app = create_app(runtime, api_key=None, rate_limit=None)
    async with client(app, key) as api:
        runtime.engine.pause_queue("task/dash-q")
        plain = (await api.get("/api/v1/queues")).json()["data"]
        assert "waiting" not in plain[0]
        [stats] = (await api.get("/api/v1/queues", params={"stats": "true"})).json()["data"]
        assert stats["name"] == "task/dash-q" and stats["paused"] is True
        for field in ("running", "queued", "waiting", "started_per_minute", "wait_p50"):
            assert field in stats
        bad = await api.get("/api/v1/queues", params={"stats": "maybe"})
        assert bad.status_code == 422 and "true or false" in bad.text
