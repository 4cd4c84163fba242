"""Values JSON (or the database) cannot carry, refused at every door on each backend:
non-finite numbers, lone surrogates in values and keys, NUL in values and keys, nesting
past the depth limit. HTTP (raw bodies), the SDK, the CLI and a task's output; nothing
is stored, and the runs and tokens lists still answer afterwards. Also the depth
boundary, rows written before these rules, and the rules module itself."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from click.testing import CliRunner

import switchyard as sy
from switchyard.cli.main import cli
from switchyard.core import jsonutil
from switchyard.core.api_keys import ApiKey, hash_key, key_prefix, new_key, new_key_id
from switchyard.core.errors import InvalidJSONValueError, NotSerializableError
from switchyard.core.models import TaskInfo
from switchyard.core.options import TriggerOptions
from switchyard.runtime import Runtime, configure, reset_runtime
from switchyard.sdk import wait
from switchyard.server import create_app
from tests.conftest import make_config
from tests.helpers import running_worker


def nested(depth: int, leaf: Any = 1) -> Any:
    """``depth`` levels of arrays around ``leaf`` (``nested(2) == [[1]]``)."""
    for _ in range(depth):
        leaf = [leaf]
    return leaf


# name -> (the Python value, the same as raw JSON text, a word the error must contain)
BAD: dict[str, tuple[Any, str, str]] = {
    "overflow": (float("inf"), "1e999", "Infinity"),
    "nan": (float("nan"), "NaN", "NaN"),
    "surrogate": ("a\ud800b", '"a\\ud800b"', "surrogate"),
    "surrogate-key": ({"k\ud800": 1}, '{"k\\ud800": 1}', "surrogate"),
    "nul": ("a\x00b", '"a\\u0000b"', "NUL"),
    "nul-key": ({"k\x00": 1}, '{"k\\u0000": 1}', "NUL"),
    "deep": (nested(300), "[" * 300 + "]" * 300, "256 levels"),
}
KINDS = sorted(BAD)


@sy.task(id="jv-sdk")
def sdk_task(payload: Any) -> str:
    return "ok"


@sy.task(id="jv-bad-output", retry={"max_attempts": 3, "min_timeout": 0})
def bad_output(payload: dict[str, str]) -> Any:
    return {"result": [BAD[payload["kind"]][0]]}


def add_key(runtime: Runtime) -> str:
    secret = new_key("dev")
    runtime.storage.create_api_key(
        ApiKey(new_key_id(), "dev", "test", key_prefix(secret), hash_key(secret), 1.0)
    )
    return secret


@pytest.fixture
async def http(runtime: Runtime) -> AsyncIterator[httpx.AsyncClient]:
    runtime.engine.register([TaskInfo(id="jv-plain", queue="task/jv-plain")])
    app = create_app(runtime, api_key=None, rate_limit=None)
    headers = {"Authorization": f"Bearer {add_key(runtime)}"}
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t", headers=headers) as h:
        yield h


def assert_refused(response: httpx.Response, word: str, door: str) -> None:
    assert 400 <= response.status_code < 500, (door, response.status_code, response.text)
    message = response.json()["error"]["message"]
    assert word in message, (door, message)


async def assert_lists_answer(h: httpx.AsyncClient) -> None:
    for path in ("/api/v1/runs", "/api/v1/waitpoints/tokens", "/api/v1/runs?limit=1000"):
        response = await h.get(path)
        assert response.status_code == 200, (path, response.text)


@pytest.mark.parametrize("kind", KINDS)
async def test_http_doors_refuse_raw_bodies(
    http: httpx.AsyncClient, runtime: Runtime, kind: str
) -> None:
    _, raw, word = BAD[kind]
    first = await http.post("/api/v1/tasks/jv-plain/trigger", json={"payload": {"ok": 1}})
    assert first.status_code == 201, first.text
    run_id = first.json()["id"]
    created = await http.post("/api/v1/waitpoints/tokens", json={})
    token = created.json()
    callback = httpx.URL(token["url"]).path
    before = (await http.get("/api/v1/runs")).json()["data"]

    doors: dict[str, tuple[str, str, str]] = {
        "trigger payload": ("POST", "/api/v1/tasks/jv-plain/trigger", f'{{"payload": {raw}}}'),
        "trigger metadata": (
            "POST",
            "/api/v1/tasks/jv-plain/trigger",
            f'{{"payload": {{}}, "options": {{"metadata": {{"m": {raw}}}}}}}',
        ),
        "task batch": (
            "POST",
            "/api/v1/tasks/jv-plain/batch-trigger",
            f'{{"items": [{{"payload": 1}}, {{"payload": {raw}}}]}}',
        ),
        "batch": (
            "POST",
            "/api/v1/batch-trigger",
            f'{{"items": [{{"task": "jv-plain", "payload": {{"x": [{raw}]}}}}]}}',
        ),
        "token create": ("POST", "/api/v1/waitpoints/tokens", f'{{"tags": ["ok", {raw}]}}'),
        "token complete": (
            "POST",
            f"/api/v1/waitpoints/tokens/{token['id']}/complete",
            f'{{"data": {{"v": {raw}}}}}',
        ),
        "callback": ("POST", callback, f'{{"v": {raw}}}'),
        "callback bare": ("POST", callback, raw),
        "metadata": ("PUT", f"/api/v1/runs/{run_id}/metadata", f'{{"metadata": {{"m": {raw}}}}}'),
        "replay": ("POST", f"/api/v1/runs/{run_id}/replay", f'{{"payload": {raw}}}'),
    }
    for door, (method, path, body) in doors.items():
        response = await http.request(
            method, path, content=body.encode(), headers={"Content-Type": "application/json"}
        )
        # tags are strings: an object or array there is refused for its type instead
        typed = door == "token create" and kind in ("surrogate-key", "nul-key", "deep")
        assert_refused(response, "tags" if typed else word, door)
        if response.status_code == 422 and not typed:  # parsed, refused: the place named
            assert response.json()["error"]["code"] == "invalid_json_value", door
            assert response.json()["error"]["path"].startswith("$"), door

    after = (await http.get("/api/v1/runs")).json()["data"]
    assert [r["id"] for r in after] == [r["id"] for r in before]  # nothing stored
    assert after[0]["metadata"] == {}
    still = await http.get(f"/api/v1/waitpoints/tokens/{token['id']}")
    assert still.status_code == 200 and still.json()["status"] == "PENDING"
    await assert_lists_answer(http)


async def test_http_raw_bytes_name_the_problem(http: httpx.AsyncClient) -> None:
    url = "/api/v1/tasks/jv-plain/trigger"
    cases = {
        b'{"payload": {"x": 1e999}}': (422, "$.payload.x", "Infinity"),
        b'{"payload": {"x": -1e999}}': (422, "$.payload.x", "-Infinity"),
        b'{"payload": {"x": NaN}}': (400, None, "NaN"),
        b'{"payload": {"x": Infinity}}': (400, None, "Infinity"),
        b'{"payload": {"x": "\\ud800"}}': (422, "$.payload.x", "surrogate"),
        b'{"payload": {"x": "\\udc00 low"}}': (422, "$.payload.x", "surrogate"),
        # json.loads lets UTF-8-encoded surrogates through: refused all the same
        b'{"payload": {"x": "\xed\xa0\x80"}}': (422, "$.payload.x", "surrogate"),
        b'{"payload": {"items": [0, 1, 2, {"name": "a\\u0000"}]}}': (
            422,
            "$.payload.items[3].name",
            "NUL",
        ),
        b'{"payload": {"a b": {"\\u0000": 1}}}': (422, '$.payload["a b"]["\\u0000"]', "NUL"),
        b'{"payload": {}, "options": {"tags": ["\\ud800"]}}': (422, "$.options.tags[0]", "sur"),
        b'{"payload": {}, "options": {"priority": 1e999}}': (422, "$.options.priority", "Inf"),
    }
    for body, (status, path, word) in cases.items():
        response = await http.post(url, content=body)
        assert response.status_code == status, (body, response.text)
        error = response.json()["error"]
        assert word in error["message"], (body, error)
        if path is not None:
            assert error["path"] == path and path in error["message"], (body, error)
    # what is fine stays fine: a surrogate pair, a typed backslash-u0000, a small exponent
    ok = b'{"payload": {"e": "\\ud83d\\ude00", "t": "\\\\u0000", "n": 1e300, "m": 1e-400}}'
    response = await http.post(url, content=ok)
    assert response.status_code == 201, response.text
    run = (await http.get(f"/api/v1/runs/{response.json()['id']}")).json()
    assert run["payload"] == {"e": "\U0001f600", "t": "\\u0000", "n": 1e300, "m": 0.0}
    await assert_lists_answer(http)


async def test_depth_limit_boundary(http: httpx.AsyncClient, runtime: Runtime) -> None:
    url = "/api/v1/tasks/jv-plain/trigger"
    at_limit = await http.post(url, json={"payload": nested(jsonutil.MAX_DEPTH)})
    assert at_limit.status_code == 201, at_limit.text
    over = await http.post(url, json={"payload": nested(jsonutil.MAX_DEPTH + 1)})
    assert over.status_code == 422 and "256 levels" in over.json()["error"]["message"]
    assert jsonutil.dumps(nested(256)) == "[" * 256 + "1" + "]" * 256
    with pytest.raises(InvalidJSONValueError, match="deeper than 256"):
        jsonutil.dumps(nested(257))
    with pytest.raises(InvalidJSONValueError, match="deeper than 256"):
        sdk_task.trigger_sync({"x": nested(256)})  # 257 with the object around it
    assert sdk_task.trigger_sync(nested(255, {})).id  # 255 + the empty object = 256
    listed = await http.get("/api/v1/runs")
    assert listed.status_code == 200 and len(listed.json()["data"]) == 2


@pytest.mark.parametrize("kind", KINDS)
async def test_sdk_doors_refuse(runtime: Runtime, kind: str) -> None:
    value, _, word = BAD[kind]
    token = wait.create_token_sync()
    good = sdk_task.trigger_sync({"ok": True})
    calls = {
        "trigger payload": lambda: sdk_task.trigger_sync({"v": value}),
        "trigger metadata": lambda: sdk_task.trigger_sync({}, metadata={"m": value}),
        "batch": lambda: sdk_task.batch_trigger_sync([{}, [value]]),
        "complete token": lambda: wait.complete_token_sync(token, {"v": value}),
        "replay": lambda: sy.runs.replay_sync(good.id, {"v": value}),
    }
    for door, call in calls.items():
        with pytest.raises(InvalidJSONValueError, match=word) as caught:
            call()
        assert caught.value.path.startswith("$"), door
    handle = await sdk_task.trigger({"fine": 1})
    with pytest.raises(InvalidJSONValueError, match=word):
        await sdk_task.trigger({"v": value})
    with pytest.raises(InvalidJSONValueError, match=word):
        await wait.complete_token(token, [value])
    runs = runtime.engine.list_runs(limit=100).runs
    assert sorted(r.id for r in runs) == sorted([good.id, handle.id])
    assert wait.retrieve_token_sync(token).status == "PENDING"


@pytest.mark.parametrize("kind", ["overflow", "nan", "surrogate-key", "nul", "deep"])
def test_cli_token_complete_refuses(database_url: str, kind: str) -> None:
    _, raw, word = BAD[kind]
    configure(make_config(database_url))
    try:
        token = wait.create_token_sync()
        result = CliRunner().invoke(
            cli,
            ["--database-url", database_url, "tokens", "complete", token.id, "--data", raw],
        )
        assert result.exit_code == 2, result.output
        assert word in result.output and "Traceback" not in result.output
        reset_runtime()
        configure(make_config(database_url))
        assert wait.retrieve_token_sync(token.id).status == "PENDING"
    finally:
        reset_runtime()


async def test_bad_outputs_fail_only_their_own_runs(
    runtime: Runtime, http: httpx.AsyncClient
) -> None:
    bad = {kind: await bad_output.trigger({"kind": kind}) for kind in KINDS}
    good = await sdk_task.trigger({})
    async with running_worker(runtime, ["jv-bad-output", "jv-sdk"]):
        finished = {kind: await sy.runs.poll(h, timeout=20) for kind, h in bad.items()}
        assert (await sy.runs.poll(good, timeout=20)).status == sy.RunStatus.COMPLETED
    for kind, run in finished.items():
        assert run.status == sy.RunStatus.FAILED, kind
        assert run.attempt_count == 1, kind  # the same value every time: no retries
        assert run.output is None
        assert run.error["type"] == "InvalidJSONValueError", kind
        message = run.error["message"]
        assert "output of task 'jv-bad-output'" in message and BAD[kind][2] in message, kind
        assert "$.result[0]" in message, kind
        response = await http.get(f"/api/v1/runs/{run.id}")
        assert response.status_code == 200, response.text
    await assert_lists_answer(http)


async def test_rows_written_before_the_rules_read_as_null(
    runtime: Runtime, http: httpx.AsyncClient
) -> None:
    info = TaskInfo(id="jv-plain", queue="task/jv-plain")
    old = '{"n":NaN,"i":Infinity,"m":-Infinity,"ok":1.5}'
    [result] = runtime.engine.trigger([runtime.engine.new_run(info, old, TriggerOptions())])
    one = await http.get(f"/api/v1/runs/{result.run_id}")
    assert one.status_code == 200, one.text
    assert one.json()["payload"] == {"n": None, "i": None, "m": None, "ok": 1.5}
    await assert_lists_answer(http)


async def test_error_messages_with_surrogates_stay_readable(
    runtime: Runtime, http: httpx.AsyncClient
) -> None:
    handle = await raiser.trigger({})
    async with running_worker(runtime, ["jv-raiser"]):
        run = await sy.runs.poll(handle, timeout=20)
    assert run.status == sy.RunStatus.FAILED
    assert "\\ud800" in run.error["message"]
    assert (await http.get(f"/api/v1/runs/{run.id}")).status_code == 200
    await assert_lists_answer(http)


@sy.task(id="jv-raiser", retry={"max_attempts": 1})
def raiser(payload: Any) -> None:
    raise sy.AbortTaskRunError("bad text \ud800 in a message")


# -- the rules module ---------------------------------------------------------------------
@pytest.mark.parametrize("kind", KINDS)
def test_rules_module_names_kind_and_place(kind: str) -> None:
    value, _, word = BAD[kind]
    with pytest.raises(InvalidJSONValueError) as caught:
        jsonutil.dumps({"items": [0, {"name": value}]}, what="payload")
    error = caught.value
    assert isinstance(error, NotSerializableError | ValueError)
    assert word in str(error) and str(error).startswith("payload cannot be stored as JSON")
    assert error.path.startswith("$.items[1].name"), error.path
    assert not jsonutil.is_valid(value)
    with pytest.raises(InvalidJSONValueError):
        jsonutil.check([value])


def test_rules_module_accepts_what_is_fine() -> None:
    fine = {
        "emoji": "\U0001f600",
        "typed": "\\u0000",
        "brackets": "[" * 400,
        "wide": [{"i": i} for i in range(600)],
        "big": 10**400,
        "tuple": (1, 2),
        "é": "ü",
    }
    text = jsonutil.dumps(fine)
    assert json.loads(text)["typed"] == "\\u0000"
    assert jsonutil.is_valid(fine)
    assert jsonutil.dumps("[" * 300) == json.dumps("[" * 300)
    with pytest.raises(sy.PayloadTooLargeError):
        jsonutil.dumps("x" * 100, limit=50)
    with pytest.raises(NotSerializableError, match="cannot be encoded"):
        jsonutil.dumps(object())


def test_rules_module_paths_and_reads() -> None:
    with pytest.raises(InvalidJSONValueError) as caught:
        jsonutil.check({"a b": {"ok": [1, {"x\ud800": 2}]}})
    assert caught.value.path == '$["a b"].ok[1]["x\\ud800"]'
    with pytest.raises(InvalidJSONValueError) as caught:
        jsonutil.dumps(nested(2000))  # deeper than Python's own stack: still named
    assert "…" in caught.value.path and len(caught.value.path) < 80
    assert jsonutil.check(nested(300), max_depth=None) is None
    assert jsonutil.loads('{"a":NaN,"b":[Infinity,-Infinity]}') == {"a": None, "b": [None, None]}
    assert jsonutil.loads(None) is None
    # a raw document is walked only when it may hold a refused value
    assert jsonutil.parse(b'{"a": "\\u00e9", "e": "\\ud83d\\ude00"}') == {
        "a": "é",
        "e": "\U0001f600",
    }
    with pytest.raises(InvalidJSONValueError, match="surrogate"):
        jsonutil.parse(b'{"a": "\\udfff"}')
    with pytest.raises(InvalidJSONValueError, match=r"Infinity .* at \$\.a\[1\]"):
        jsonutil.parse('{"a": [1, -1e999]}', what="--data")
    with pytest.raises(ValueError, match="NaN is not valid JSON"):
        jsonutil.parse(b"[NaN]")
    with pytest.raises(InvalidJSONValueError, match="NUL"):
        jsonutil.parse('{"a": "\\u0000"}'.encode("utf-16"))
