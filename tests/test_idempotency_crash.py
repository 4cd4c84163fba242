"""``Idempotency-Key`` against real ``switchyard server`` processes on PostgreSQL.

A server killed right after a trigger commits, before it answered: the retry (the
Python client, same key, to a restarted server) gets the first run, and no second
one is made. A retry while the first request is in flight gets ``409
request_in_progress``, which the client waits out (honouring ``Retry-After``).
"""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import pytest

from switchyard import Client, ClientError
from switchyard.core.models import RunFilter, TaskInfo
from switchyard.storage import open_storage
from tests.processes import Proc, base_env, free_port, serving
from tests.processes import switchyard as sy


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return tmp_path


def _key(project: Path, url: str) -> str:
    """Migrate, register the task (as a worker would), make an API key."""
    sy(project, url, "migrate")
    storage = open_storage(url)
    try:
        storage.register("dev", [TaskInfo(id="crash-charge", queue="task/crash-charge")], None, 1.0)
    finally:
        storage.close()
    result = sy(project, url, "keys", "create", "--name", "crash", "--json")
    return str(json.loads(result.stdout)["key"])


def _run_ids(url: str) -> list[str]:
    storage = open_storage(url)
    try:
        page = storage.list_runs(RunFilter(task_ids=("crash-charge",)), 100, None)
        return [r.id for r in page.runs]
    finally:
        storage.close()


@pytest.mark.e2e
def test_retry_after_a_crash_between_commit_and_response_gets_the_first_run(
    project: Path, pg_url: str
) -> None:
    key = _key(project, pg_url)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = base_env(pg_url, SWITCHYARD_FAULT_AFTER_TRIGGER_COMMIT="1")
    doomed = Proc(["server", "--port", str(port)], project, env, "doomed")
    try:
        doomed.wait_healthy(base)
        with Client(base, key, max_retries=0) as client, pytest.raises(ClientError) as lost:
            client.trigger("crash-charge", {"n": 1}, request_key="order-42")
        assert lost.value.status == 0  # the connection died with the server
        assert doomed.popen.wait(30) == -9, doomed.output()  # SIGKILL after the commit
    finally:
        doomed.stop()
    [first] = _run_ids(pg_url)  # the trigger committed; nobody saw its answer

    with (
        serving(project, pg_url, ["server"]) as (_, base2),
        Client(base2, key) as client,
    ):
        again = client.trigger("crash-charge", {"n": 1}, request_key="order-42")
        assert again.id == first and not again.is_cached
        assert client.trigger("crash-charge", {"n": 1}, request_key="order-42").id == first
    assert _run_ids(pg_url) == [first]


@pytest.mark.e2e
def test_client_waits_out_a_request_in_progress(project: Path, pg_url: str) -> None:
    key = _key(project, pg_url)
    storage = open_storage(pg_url)
    try:
        # Another server is handling a request with this key right now...
        reserved_at = time.time()
        assert storage.begin_request("dev", "busy", "x", reserved_at, 86400, 15) is None
        with (
            serving(project, pg_url, ["server"]) as (_, base),
            Client(base, key) as client,
        ):
            # ... and fails after 1.5 s, so nothing is stored: the retry handles it afresh.
            release = threading.Timer(1.5, storage.release_request, ("dev", "busy", reserved_at))
            release.start()
            started = time.monotonic()
            try:
                handle = client.trigger("crash-charge", {"n": 2}, request_key="busy")
            finally:
                release.join()
            assert time.monotonic() - started >= 1.5
            assert _run_ids(pg_url) == [handle.id]
            with Client(base, key, max_retries=0) as impatient:
                assert storage.begin_request("dev", "busy2", "x", time.time(), 86400, 15) is None
                with pytest.raises(ClientError) as busy:
                    impatient.trigger("crash-charge", {"n": 3}, request_key="busy2")
                assert busy.value.status == 409 and busy.value.code == "request_in_progress"
    finally:
        storage.close()
