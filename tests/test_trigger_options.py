"""Trigger options, defined once in ``TriggerOptions``, are the same at every door.

The names the SDK takes, the server accepts, the OpenAPI document describes, the
client sends and the CLI has flags for are all those of ``TriggerOptions``; and every
option given at each door (SDK to the database, ``Client`` over HTTP to an in-process
server, ``task.trigger`` through a configured client, the CLI) lands on the stored run.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import fields
from pathlib import Path
from typing import Any

import httpx
import pytest

import switchyard as sy
from switchyard.cli.main import trigger as trigger_command
from switchyard.client.models import trigger_options
from switchyard.core.clock import FakeClock
from switchyard.core.models import Run
from switchyard.core.option_values import UnknownOptionError
from switchyard.core.options import OPTION_NAMES, TriggerKwargs, TriggerOptions
from switchyard.core.states import RunStatus
from switchyard.runtime import Runtime, configure
from switchyard.server import create_app
from switchyard.server.openapi import document
from switchyard.server.triggering import OPTION_FIELDS
from tests.test_http_api import add_key


@sy.task(id="opt-task")
def opt_task(payload: Any) -> Any:
    return payload


OPTIONS: dict[str, Any] = {  # every option but debounce (which takes no delay or key)
    "delay": "30s",
    "ttl": "1h",
    "priority": 10,
    "tags": ["a", "b"],
    "metadata": {"source": "test"},
    "max_attempts": 7,
    "retry": {"factor": 3, "min_timeout": "2s", "max_timeout": "1m", "randomize": False},
    "max_duration": "5m",
    "queue": "shared-q",
    "concurrency_key": "user-1",
    "idempotency_key": "order-1",
    "idempotency_key_ttl": "2h",
}
DEBOUNCED: dict[str, Any] = {"debounce": {"key": "user-1", "delay": "5s"}, "tags": ["d"]}


def check_all_options(run: Run) -> None:
    """``run`` carries every option of :data:`OPTIONS`."""
    assert run.status == RunStatus.DELAYED
    assert run.delay_until == pytest.approx(run.created_at + 30, abs=1)
    assert run.ttl == 3600 and run.priority == 10 and run.tags == ("a", "b")
    assert run.metadata == {"source": "test"}
    assert (run.retry.max_attempts, run.retry.factor) == (7, 3)
    assert (run.retry.min_timeout, run.retry.max_timeout, run.retry.randomize) == (2, 60, False)
    assert run.max_duration == 300 and run.queue == "shared-q"
    assert run.concurrency_key == "user-1" and run.idempotency_key == "order-1"
    assert run.idempotency_expires_at == pytest.approx(run.created_at + 7200, abs=1)


def check_debounced(run: Run) -> None:
    """``run`` waits out the debounce window of :data:`DEBOUNCED`."""
    assert run.status == RunStatus.DELAYED and run.tags == ("d",)
    assert run.delay_until == pytest.approx(run.created_at + 5, abs=1)


# -- one list of names ------------------------------------------------------------------
def test_every_door_takes_the_same_option_names() -> None:
    names = {f.name for f in fields(TriggerOptions)}
    assert set(OPTION_NAMES) == names
    assert set(OPTIONS) | set(DEBOUNCED) == names  # the round trips below cover them all
    assert set(OPTION_FIELDS) == names  # the server's accepted fields
    schema = document()["components"]["schemas"]["TriggerOptions"]
    assert set(schema["properties"]) == names and schema["additionalProperties"] is False
    assert set(trigger_options({**OPTIONS, **DEBOUNCED})) == names  # what the client sends
    assert set(TriggerKwargs.__annotations__) == names  # Task.trigger's keywords
    flags = {p.name for p in trigger_command.params} - {"task_id", "payload", "wait_for", "as_json"}
    assert flags == names  # switchyard trigger --...


def test_unknown_options_are_refused_at_every_door_with_the_known_ones(runtime: Runtime) -> None:
    with pytest.raises(UnknownOptionError, match=r"delai \(did you mean delay\?\).*known: delay"):
        opt_task.trigger_sync(1, delai="1h")  # type: ignore[call-arg]
    with pytest.raises(UnknownOptionError, match="debounce"):
        trigger_options({"debounse": {}})
    with AppTransport(create_app(runtime, api_key=None, rate_limit=None)) as transport:
        http = httpx.Client(transport=transport, base_url="http://t")
        key = add_key(runtime)
        answer = http.post(
            "/api/v1/tasks/opt-task/trigger",
            json={"payload": 1, "options": {"delai": "1h"}},
            headers={"Authorization": f"Bearer {key}"},
        )
    assert answer.status_code == 422
    message = answer.json()["error"]["message"]
    assert "unknown field(s) in options: delai (did you mean delay?)" in message
    assert all(name in message for name in OPTION_NAMES)


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ({"debounce": {"key": "k"}}, "invalid options.debounce.delay=None"),
        ({"debounce": {"key": "k", "delay": 0}}, "above zero"),
        ({"debounce": {"key": "k", "delay": "1s", "mode": "x"}}, "'trailing' or 'leading'"),
        ({"debounce": {"key": "k", "delay": "1s", "wait": 1}}, "unknown field(s) in options"),
        ({"debounce": "k"}, "invalid options.debounce='k'"),
        ({"debounce": {"key": "k", "delay": "1s"}, "delay": "1m"}, "no delay or idempotency"),
        ({"retry": {"min_timeout": 5, "max_timeout": 1}}, "retry.max_timeout"),
        ({"queue": "q\x00"}, "NUL"),
    ],
)
def test_bad_options_over_http_are_a_clear_422(
    runtime: Runtime, options: dict[str, Any], expected: str
) -> None:
    with AppTransport(create_app(runtime, api_key=None, rate_limit=None)) as transport:
        http = httpx.Client(transport=transport, base_url="http://t")
        key = add_key(runtime)
        answer = http.post(
            "/api/v1/tasks/opt-task/trigger",
            json={"payload": 1, "options": options},
            headers={"Authorization": f"Bearer {key}"},
        )
    assert answer.status_code == 422, answer.text
    assert expected in answer.json()["error"]["message"], answer.text


# -- the doors ----------------------------------------------------------------------------
class AppTransport(httpx.BaseTransport):
    """A sync transport into an ASGI app, run on an event loop in a thread of its own:
    the sync :class:`switchyard.Client` against an in-process server."""

    def __init__(self, app: Any) -> None:
        self.inner = httpx.ASGITransport(app=app)
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        async def send() -> tuple[int, httpx.Headers, bytes]:
            response = await self.inner.handle_async_request(request)
            return response.status_code, response.headers, await response.aread()

        status, headers, body = asyncio.run_coroutine_threadsafe(send(), self.loop).result(30)
        return httpx.Response(status, headers=headers, content=body)

    def close(self) -> None:
        if self.loop.is_running():
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(10)
            self.loop.close()

    def __enter__(self) -> AppTransport:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


Trigger = Callable[[Any, dict[str, Any]], tuple[str, bool]]
"""A door: trigger ``opt-task`` with a payload and JSON options → (run id, is_cached)."""


def _cli(database_url: str, cwd: Path) -> Trigger:
    def trigger(payload: Any, options: dict[str, Any]) -> tuple[str, bool]:
        args = ["trigger", "opt-task", "--payload", json.dumps(payload), "--json"]
        for name, value in options.items():
            if name == "tags":
                args += [a for tag in value for a in ("--tag", tag)]
            else:
                flag = "--" + name.replace("_", "-")
                args += [flag, value if isinstance(value, str) else json.dumps(value)]
        done = subprocess.run(
            [sys.executable, "-m", "switchyard", *args],
            cwd=cwd,
            env={**os.environ, "SWITCHYARD_DATABASE_URL": database_url},
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 0, done.stderr
        out = json.loads(done.stdout)
        return out["id"], out["is_cached"]

    return trigger


@pytest.fixture(params=["sdk", "client", "sdk-over-client", "cli"])
def door(
    request: pytest.FixtureRequest, runtime: Runtime, database_url: str, tmp_path: Path
) -> Iterator[Trigger]:
    """Each way to trigger ``opt-task``."""
    runtime.engine.register([opt_task.info()])  # the CLI finds it in the database
    if request.param == "sdk":
        yield lambda payload, options: _handle(opt_task.trigger_sync(payload, **options))
    elif request.param == "cli":
        yield _cli(database_url, tmp_path)
    else:
        app = create_app(runtime, api_key=None, rate_limit=None)
        with AppTransport(app) as transport:
            client = sy.Client("http://t", add_key(runtime), transport=transport)
            if request.param == "client":
                yield lambda payload, opts: _handle(client.trigger("opt-task", payload, **opts))
            else:
                configure(client=client)  # Task.trigger goes over HTTP now
                yield lambda payload, opts: _handle(opt_task.trigger_sync(payload, **opts))
            client.close()


def _handle(handle: sy.RunHandle) -> tuple[str, bool]:
    return handle.id, handle.is_cached


def test_every_option_reaches_the_stored_run(door: Trigger, runtime: Runtime) -> None:
    run_id, cached = door({"n": 1}, OPTIONS)
    assert not cached
    check_all_options(runtime.engine.get_run(run_id))
    assert door({"n": 2}, OPTIONS) == (run_id, True)  # the idempotency key holds


def test_debounce_makes_one_run_of_a_burst(
    door: Trigger, runtime: Runtime, clock: FakeClock
) -> None:
    first, cached = door({"n": 1}, DEBOUNCED)
    assert not cached
    check_debounced(runtime.engine.get_run(first))
    assert door({"n": 2}, DEBOUNCED) == (first, True)  # within the window: the same run
    assert [r.id for r in runtime.engine.list_runs().runs] == [first]
    assert runtime.engine.get_run(first).payload == {"n": 2}  # trailing: the last payload


def test_python_values_are_taken_by_the_sdk(runtime: Runtime) -> None:
    when = dt.datetime(2030, 1, 1, tzinfo=dt.UTC)
    handle = opt_task.trigger_sync(
        None,
        delay=when,
        ttl=dt.timedelta(hours=1),
        tags=("x",),
        retry=sy.RetryPolicy(max_attempts=2, randomize=False),
        queue=sy.queue("py-q"),
        debounce=None,
    )
    run = runtime.engine.get_run(handle.id)
    assert run.delay_until == when.timestamp() and run.ttl == 3600 and run.tags == ("x",)
    assert run.queue == "py-q" and run.retry == sy.RetryPolicy(max_attempts=2, randomize=False)
    with pytest.raises(sy.InvalidOptionError, match="timezone"):
        opt_task.trigger_sync(None, delay=dt.datetime(2030, 1, 1))
    with pytest.raises(sy.InvalidOptionError, match="invalid ttl='soon'"):
        opt_task.trigger_sync(None, ttl="soon")
