"""The clients' retry timing: which failures are retried, how long they wait
(``Retry-After`` in seconds or as an HTTP date, backoff with jitter), and the bounds.

httpx's MockTransport stands in for the server here; against a real server:
tests/test_idempotency_crash.py."""

from __future__ import annotations

import email.utils
import time
from collections.abc import Callable

import httpx
import pytest

from switchyard import AsyncClient, Client, ClientError
from switchyard.client import RetryBudget
from switchyard.client.retrying import retry_after
from switchyard.core.errors import SwitchyardError

Reply = Callable[[httpx.Request], httpx.Response]
CREATED = {"id": "run_1", "task_id": "t", "is_cached": False}


def _error(status: int, code: str, after: str | None = None) -> httpx.Response:
    headers = {"Retry-After": after} if after is not None else {}
    body = {"error": {"code": code, "message": "busy"}}
    return httpx.Response(status, json=body, headers=headers)


class Script:
    """Answers requests from a list (an exception is raised), recording each."""

    def __init__(self, *replies: httpx.Response | Exception) -> None:
        self.replies = list(replies)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        reply = self.replies.pop(0)
        if isinstance(reply, Exception):
            raise reply
        return reply


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    slept: list[float] = []
    monkeypatch.setattr("switchyard.client.sync.time.sleep", slept.append)
    return slept


def _client(script: Script, **kw: object) -> Client:
    client = Client("http://sy", "sy_dev_x", transport=httpx.MockTransport(script), **kw)  # type: ignore[arg-type]
    # no jitter: each wait is the top of its backoff window
    client.retry = RetryBudget(client.retry.max_retries, client.retry.max_time, rand=lambda: 1.0)
    return client


def test_retry_after_header() -> None:
    assert retry_after("3") == 3.0 and retry_after("0.5") == 0.5 and retry_after("-2") == 0.0
    date = email.utils.formatdate(1_000_010.0, usegmt=True)
    assert retry_after(date, now=1_000_000.0) == 10.0
    assert retry_after(date, now=2_000_000.0) == 0.0
    assert retry_after("soon") is None and retry_after(None) is None


def test_backoff_is_exponential_with_jitter_and_capped() -> None:
    low = RetryBudget(rand=lambda: 0.0)
    high = RetryBudget(rand=lambda: 1.0)
    assert [low.backoff(n) for n in range(6)] == [0.5, 1, 2, 4, 5, 5]
    assert [high.backoff(n) for n in range(6)] == [1, 2, 4, 8, 10, 10]


def test_409_429_503_are_retried_honouring_retry_after(sleeps: list[float]) -> None:
    date = email.utils.formatdate(time.time() + 30, usegmt=True)
    script = Script(
        _error(503, "unavailable", "3"),
        _error(429, "rate_limited", date),
        _error(409, "request_in_progress", "1"),
        httpx.Response(201, json=CREATED),
    )
    with _client(script) as client:
        assert client.trigger("t", {}).id == "run_1"
    # never sooner than Retry-After; the backoff when it asks for less
    assert sleeps[0] == 3.0 and 28 <= sleeps[1] <= 30 and sleeps[2] == 4.0
    keys = {r.headers["Idempotency-Key"] for r in script.requests}
    assert len(script.requests) == 4 and len(keys) == 1  # one key for every retry


def test_what_is_not_retried(sleeps: list[float]) -> None:
    conflict = Script(_error(409, "conflict"))
    with _client(conflict) as client, pytest.raises(ClientError) as error:
        client.reschedule("run_1", "1h")
    assert error.value.code == "conflict" and len(conflict.requests) == 1
    # a POST without a key whose answer was lost may have been handled: not repeated
    lost = Script(httpx.ReadTimeout("slow"))
    with _client(lost) as client, pytest.raises(ClientError) as error:
        client.create_public_token("read_run", "run_1")
    assert error.value.status == 0 and len(lost.requests) == 1
    # ... but one that never connected is, and so is a trigger (it has a key)
    script = Script(
        httpx.ConnectError("refused"),
        httpx.Response(201, json={"token": "pt_1"}),
        httpx.ReadTimeout("slow"),
        _error(502, "bad_gateway"),
        httpx.Response(201, json=CREATED),
    )
    with _client(script) as client:
        assert client.create_public_token("read_run", "run_1") == "pt_1"
        assert client.trigger("t", {}).id == "run_1"
    assert sleeps == [1.0, 1.0, 2.0]


def test_retries_are_bounded(sleeps: list[float]) -> None:
    script = Script(*[_error(503, "unavailable") for _ in range(3)])
    with _client(script, max_retries=2) as client, pytest.raises(ClientError) as error:
        client.trigger("t", {})
    assert error.value.status == 503 and len(script.requests) == 3 and sleeps == [1.0, 2.0]
    # a Retry-After beyond max_retry_time: give up at once rather than wait in vain
    later = Script(_error(429, "rate_limited", "120"))
    with _client(later, max_retry_time=60) as client, pytest.raises(ClientError):
        client.list_runs()
    assert len(later.requests) == 1 and sleeps == [1.0, 2.0]
    with pytest.raises(SwitchyardError, match="max_retries"):
        Client("http://sy", "sy_dev_x", max_retries=-1)


async def test_async_client_retries_the_same_way(monkeypatch: pytest.MonkeyPatch) -> None:
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    monkeypatch.setattr("switchyard.client.aio.asyncio.sleep", sleep)
    script = Script(
        _error(409, "request_in_progress", "1"),
        httpx.ConnectError("refused"),
        httpx.Response(201, json=CREATED),
    )
    client = AsyncClient("http://sy", "sy_dev_x", transport=httpx.MockTransport(script))
    client.retry = RetryBudget(rand=lambda: 1.0)
    async with client:
        assert (await client.trigger("t", {}, request_key="k1")).id == "run_1"
    assert slept == [1.0, 2.0]
    assert {r.headers["Idempotency-Key"] for r in script.requests} == {"k1"}
