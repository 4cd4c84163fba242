"""The SDK picks one transport per configuration: HTTP with a client, else the database.

A process configured with only a client (``configure(client=Client(...))`` or
``SWITCHYARD_API_URL`` + ``SWITCHYARD_API_KEY``) does everything outside a run over
HTTP and never opens a database; one with a database does it all there, as before.
"""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

import switchyard as sy
from switchyard import environments, idempotency_keys, queues, runs, wait
from switchyard.core.clock import FakeClock
from switchyard.core.states import RunStatus
from switchyard.core.waitpoints import WaitpointStatus
from switchyard.runtime import Runtime, configure, reset_runtime
from switchyard.server import create_app
from tests.conftest import make_config
from tests.test_http_api import add_key
from tests.test_trigger_options import AppTransport


@sy.task(id="sdk-transport")
def transported(payload: Any) -> Any:
    return payload


@pytest.fixture
def cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty working directory without any SWITCHYARD_* variable: where a default
    SQLite database would appear."""
    work = tmp_path / "cwd"
    work.mkdir()
    monkeypatch.chdir(work)
    for name in [n for n in os.environ if n.startswith("SWITCHYARD_")]:
        monkeypatch.delenv(name)
    return work


@pytest.fixture
def server(database_url: str, clock: FakeClock, cwd: Path) -> Iterator[tuple[Runtime, sy.Client]]:
    """An in-process server over its own runtime, and this process configured with
    nothing but a client of it."""
    reset_runtime()
    served = Runtime(make_config(database_url), clock=clock)
    served.engine.register([transported.info()])
    app = create_app(served, api_key=None, rate_limit=None)
    with AppTransport(app) as transport:
        client = sy.Client("http://t", add_key(served), transport=transport, max_retries=0)
        assert configure(client=client) is None
        try:
            yield served, client
        finally:
            reset_runtime()
            client.close()
            served.close()


def exercise(served: Runtime) -> None:
    """Everything the SDK does outside a run, checked against ``served``'s database."""
    handle = transported.trigger_sync({"n": 1}, tags=["x"])
    assert runs.retrieve_sync(handle).status == RunStatus.QUEUED
    assert served.engine.get_run(handle.id).tags == ("x",)
    page = runs.list_sync(task="sdk-transport", status=["QUEUED"])
    assert [r.id for r in page.runs] == [handle.id]
    assert runs.cancel_sync(handle) == [handle.id]
    assert runs.poll_sync(handle, timeout=5).status == RunStatus.CANCELED
    again = runs.replay_sync(handle.id)
    assert again.id != handle.id
    assert served.engine.get_run(again.id).payload == {"n": 1}
    other = runs.replay_sync(again, {"n": 2})
    assert served.engine.get_run(other.id).payload == {"n": 2}

    batch = transported.batch_trigger_sync([1, sy.BatchItem(2, {"tags": ["b"]})])
    assert [served.engine.get_run(h.id).payload for h in batch.runs] == [1, 2]
    assert served.engine.get_run(batch.runs[1].id).tags == ("b",)
    in_batch = runs.list_sync(batch_id=batch.batch_id, created_after=0.0).runs
    assert sorted(r.id for r in in_batch) == sorted(h.id for h in batch.runs)
    first = runs.list_sync(limit=1)
    assert first.next_cursor is not None
    assert runs.list_sync(limit=1, cursor=first.next_cursor).runs[0].id != first.runs[0].id

    token = wait.create_token_sync(tags="t", idempotency_key="tok-1")
    assert wait.create_token_sync(idempotency_key="tok-1").id == token.id
    assert wait.retrieve_token_sync(token).status == WaitpointStatus.PENDING
    done = wait.complete_token_sync(token, {"ok": 1})
    assert (done.status, done.output) == (WaitpointStatus.COMPLETED, {"ok": 1})
    assert served.engine.get_token(token.id).output == {"ok": 1}
    found, _ = wait.list_tokens_sync(status="COMPLETED", tag="t")
    assert [t.id for t in found] == [token.id]
    assert wait.retrieve_token_sync(token.id).output == {"ok": 1}

    queues.pause_sync(transported)
    assert queues.retrieve_sync(transported).paused
    queues.override_limit_sync(transported, 3)
    assert queues.retrieve_sync(transported.queue.name).concurrency_limit == 3
    queues.reset_limit_sync(transported)
    queues.resume_sync(transported)
    stats = queues.retrieve_sync(transported)
    assert (stats.paused, stats.concurrency_limit) == (False, None)
    assert transported.queue.name in [q.name for q in queues.list_sync()]

    environments.pause_sync()
    assert environments.retrieve_sync().paused
    environments.set_limit_sync(4)
    assert environments.retrieve_sync().concurrency_limit == 4
    environments.set_limit_sync(None)
    environments.resume_sync()
    info = environments.retrieve_sync()
    assert (info.paused, info.concurrency_limit) == (False, None)


async def exercise_async(served: Runtime) -> None:
    """The async twins, briefly: the same transport under them."""
    handle = await transported.trigger({"n": 3})
    assert (await runs.retrieve(handle)).status == RunStatus.QUEUED
    assert handle.id in [r.id for r in (await runs.list(task="sdk-transport")).runs]
    assert await runs.cancel(handle) == [handle.id]
    assert (await runs.poll(handle, timeout=5)).status == RunStatus.CANCELED
    again = await runs.replay(handle)
    assert served.engine.get_run(again.id).payload == {"n": 3}
    batch = await transported.batch_trigger([4])
    assert served.engine.get_run(batch.runs[0].id).payload == 4
    token = await wait.create_token()
    await wait.complete_token(token, "done")
    assert (await wait.retrieve_token(token)).output == "done"
    assert token.id in [t.id for t in (await wait.list_tokens())[0]]
    await queues.pause(transported)
    assert (await queues.retrieve(transported)).paused
    await queues.resume(transported)
    assert transported.queue.name in [q.name for q in await queues.list()]
    await environments.set_limit(2)
    assert (await environments.retrieve()).concurrency_limit == 2
    await environments.set_limit(None)


def _files(directory: Path) -> list[Path]:
    return sorted(directory.rglob("*"))


# -- a process with only a client ------------------------------------------------------------
def test_a_client_only_process_does_everything_over_http(
    server: tuple[Runtime, sy.Client], cwd: Path
) -> None:
    served, _ = server
    exercise(served)
    assert _files(cwd) == []  # no default SQLite database (.switchyard/switchyard.db)


async def test_async_twins_of_a_client_only_process_go_over_http(
    server: tuple[Runtime, sy.Client], cwd: Path
) -> None:
    served, _ = server
    await exercise_async(served)
    assert _files(cwd) == []


def test_a_client_only_process_polls_the_server_not_a_local_file(
    server: tuple[Runtime, sy.Client], cwd: Path
) -> None:
    """The bug this transport fixes: the run triggered over HTTP is read back over HTTP."""
    served, _ = server
    handle = transported.trigger_sync({"n": 1})
    served.engine.cancel(handle.id)
    assert runs.poll_sync(handle, timeout=5).status == RunStatus.CANCELED
    assert _files(cwd) == []


def test_what_the_http_api_does_not_offer_is_a_clear_error(
    server: tuple[Runtime, sy.Client], cwd: Path
) -> None:
    with pytest.raises(sy.SwitchyardError, match="HTTP API"):
        idempotency_keys.reset_sync(transported, "k")
    with pytest.raises(sy.SwitchyardError, match="HTTP API"):
        queues.retrieve_sync(transported, window=60)
    assert _files(cwd) == []


def test_api_url_and_key_in_the_environment_make_the_client(
    database_url: str, clock: FakeClock, cwd: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``SWITCHYARD_API_URL`` + ``SWITCHYARD_API_KEY``: the SDK picks HTTP by itself."""
    from switchyard.sdk.transport import DatabaseTransport, HttpTransport, current_transport

    reset_runtime()
    monkeypatch.setenv("SWITCHYARD_API_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("SWITCHYARD_API_KEY", "sy_dev_x")
    try:
        picked = current_transport()
        assert isinstance(picked, HttpTransport)
        assert current_transport() is picked  # picked once per configuration
        reset_runtime()
        monkeypatch.delenv("SWITCHYARD_API_URL")
        configure(make_config(database_url), clock=clock)
        assert isinstance(current_transport(), DatabaseTransport)
    finally:
        reset_runtime()
    assert _files(cwd) == []


# -- a process with the database ---------------------------------------------------------------
def test_the_database_transport_does_the_same_in_the_database(runtime: Runtime) -> None:
    runtime.engine.register([transported.info()])
    exercise(runtime)
    assert idempotency_keys.reset_sync(transported, "none-held") is False


async def test_async_twins_in_the_database(runtime: Runtime) -> None:
    runtime.engine.register([transported.info()])
    await exercise_async(runtime)


# -- every SDK function outside a run goes through current_transport() -----------------------
class Recording:
    """A transport that records each operation and answers with a stand-in."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_") or name not in TRANSPORT_OPERATIONS:
            raise AttributeError(name)

        def operation(*args: Any, **kwargs: Any) -> Any:
            self.calls.append(name)
            return ANSWERS.get(name)

        return operation


def _transport_operations() -> set[str]:
    from switchyard.sdk.transport import Transport

    return {n for n in vars(Transport) if not n.startswith("_")}


TRANSPORT_OPERATIONS = _transport_operations()
ANSWERS: dict[str, Any] = {
    "retrieve_run": SimpleNamespace(id="run_x", is_final=True, status=RunStatus.COMPLETED),
    "list_tokens": ([], None),
    "reset_idempotency_key": True,
}

# (module or Task, function name, call, the transport operation it must use)
SYNC_CALLS: list[tuple[str, Callable[[], Any], str]] = [
    ("Task.trigger_sync", lambda: transported.trigger_sync(1), "trigger"),
    ("Task.batch_trigger_sync", lambda: transported.batch_trigger_sync([1]), "batch_trigger"),
    ("runs.retrieve_sync", lambda: runs.retrieve_sync("run_x"), "retrieve_run"),
    ("runs.list_sync", lambda: runs.list_sync(status="QUEUED"), "list_runs"),
    ("runs.cancel_sync", lambda: runs.cancel_sync("run_x"), "cancel_run"),
    ("runs.replay_sync", lambda: runs.replay_sync("run_x"), "replay_run"),
    ("runs.poll_sync", lambda: runs.poll_sync("run_x"), "retrieve_run"),
    ("wait.create_token_sync", lambda: wait.create_token_sync(), "create_token"),
    ("wait.complete_token_sync", lambda: wait.complete_token_sync("t"), "complete_token"),
    ("wait.retrieve_token_sync", lambda: wait.retrieve_token_sync("t"), "retrieve_token"),
    ("wait.list_tokens_sync", lambda: wait.list_tokens_sync(), "list_tokens"),
    ("queues.pause_sync", lambda: queues.pause_sync("q"), "pause_queue"),
    ("queues.resume_sync", lambda: queues.resume_sync("q"), "resume_queue"),
    ("queues.override_limit_sync", lambda: queues.override_limit_sync("q", 1), "set_queue_limit"),
    ("queues.reset_limit_sync", lambda: queues.reset_limit_sync("q"), "set_queue_limit"),
    ("queues.retrieve_sync", lambda: queues.retrieve_sync("q"), "queue_stats"),
    ("queues.list_sync", lambda: queues.list_sync(), "list_queues"),
    ("environments.pause_sync", lambda: environments.pause_sync(), "pause_environment"),
    ("environments.resume_sync", lambda: environments.resume_sync(), "resume_environment"),
    (
        "environments.set_limit_sync",
        lambda: environments.set_limit_sync(1),
        "set_environment_limit",
    ),
    ("environments.retrieve_sync", lambda: environments.retrieve_sync(), "environment_info"),
    (
        "idempotency_keys.reset_sync",
        lambda: idempotency_keys.reset_sync("t", "k"),
        "reset_idempotency_key",
    ),
]
ASYNC_CALLS: list[tuple[str, Callable[[], Awaitable[Any]], str]] = [
    ("Task.trigger", lambda: transported.trigger(1), "trigger"),
    ("Task.batch_trigger", lambda: transported.batch_trigger([1]), "batch_trigger"),
    ("runs.retrieve", lambda: runs.retrieve("run_x"), "retrieve_run"),
    ("runs.list", lambda: runs.list(task="t"), "list_runs"),
    ("runs.cancel", lambda: runs.cancel("run_x"), "cancel_run"),
    ("runs.replay", lambda: runs.replay("run_x", 2), "replay_run"),
    ("runs.poll", lambda: runs.poll("run_x"), "retrieve_run"),
    ("wait.create_token", lambda: wait.create_token(timeout="1h"), "create_token"),
    ("wait.complete_token", lambda: wait.complete_token("t", 1), "complete_token"),
    ("wait.retrieve_token", lambda: wait.retrieve_token("t"), "retrieve_token"),
    ("wait.list_tokens", lambda: wait.list_tokens(status="PENDING"), "list_tokens"),
    ("queues.pause", lambda: queues.pause("q"), "pause_queue"),
    ("queues.resume", lambda: queues.resume("q"), "resume_queue"),
    ("queues.override_limit", lambda: queues.override_limit("q", 1), "set_queue_limit"),
    ("queues.reset_limit", lambda: queues.reset_limit("q"), "set_queue_limit"),
    ("queues.retrieve", lambda: queues.retrieve("q"), "queue_stats"),
    ("queues.list", lambda: queues.list(), "list_queues"),
    ("environments.pause", lambda: environments.pause(), "pause_environment"),
    ("environments.resume", lambda: environments.resume(), "resume_environment"),
    ("environments.set_limit", lambda: environments.set_limit(None), "set_environment_limit"),
    ("environments.retrieve", lambda: environments.retrieve(), "environment_info"),
    ("idempotency_keys.reset", lambda: idempotency_keys.reset("t", "k"), "reset_idempotency_key"),
]
NO_TRANSPORT = {
    # inside a run only (NotInRunError outside one): journaled by the execution
    "Task.trigger_and_wait": "run",
    "Task.trigger_and_wait_sync": "run",
    "Task.batch_trigger_and_wait": "run",
    "Task.batch_trigger_and_wait_sync": "run",
    "wait.for_": "run",
    "wait.for_sync": "run",
    "wait.until": "run",
    "wait.until_sync": "run",
    "wait.for_token": "run",
    "wait.for_token_sync": "run",
    # pure: no I/O, or given the runtime to use explicitly
    "idempotency_keys.create": "pure",
    "wait.token_signature": "pure",
    "wait.token_url": "takes a Runtime",
}


def _public_functions() -> set[str]:
    """Every public function of the SDK modules that reach switchyard, and Task's
    triggering methods."""
    import inspect

    found = set()
    for module in (runs, queues, environments, wait, idempotency_keys):
        short = module.__name__.rsplit(".", 1)[1]
        for name, value in vars(module).items():
            if name.startswith("_") or not inspect.isfunction(value):
                continue
            if value.__module__ == module.__name__ or name in getattr(module, "__all__", ()):
                found.add(f"{short}.{name}")
    found |= {f"Task.{n}" for n in vars(sy.Task) if "trigger" in n and not n.startswith("_")}
    return found


def test_the_table_covers_every_public_sdk_function() -> None:
    covered = {name for name, _, _ in SYNC_CALLS + ASYNC_CALLS} | set(NO_TRANSPORT)
    assert _public_functions() == covered
    assert {op for _, _, op in SYNC_CALLS} == TRANSPORT_OPERATIONS


@pytest.fixture
def recording(monkeypatch: pytest.MonkeyPatch, cwd: Path) -> Iterator[Recording]:
    from switchyard.sdk import transport

    reset_runtime()
    recorder = Recording()
    monkeypatch.setattr(transport, "current_transport", lambda: recorder)
    yield recorder
    reset_runtime()
    assert _files(cwd) == []  # nothing went around the transport to a database


@pytest.mark.parametrize(("name", "call", "operation"), SYNC_CALLS, ids=[c[0] for c in SYNC_CALLS])
def test_each_sync_function_goes_through_the_transport(
    recording: Recording, name: str, call: Callable[[], Any], operation: str
) -> None:
    call()
    assert recording.calls == [operation]


@pytest.mark.parametrize(
    ("name", "call", "operation"), ASYNC_CALLS, ids=[c[0] for c in ASYNC_CALLS]
)
async def test_each_async_function_goes_through_the_transport(
    recording: Recording, name: str, call: Callable[[], Awaitable[Any]], operation: str
) -> None:
    await call()
    assert recording.calls == [operation]
