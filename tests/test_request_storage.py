"""Storage contract for ``Idempotency-Key`` requests, on SQLite and on PostgreSQL.

A request's response is stored in the transaction that makes its runs; a reservation
taken over by a retry can no longer store runs, finish or release."""

from __future__ import annotations

import json
from collections.abc import Sequence

import pytest

from switchyard.core.api_keys import RequestResponse, RequestTakenOverError, StoredRequest
from switchyard.core.models import NewRun, RunFilter, TriggerResult
from switchyard.storage import Storage

T0 = 1_767_225_600.0
TTL = 86400.0
STALE = 15.0


def _run(task: str = "t") -> NewRun:
    return NewRun(task_id=task, queue=f"task/{task}", payload_json="{}")


def _render(results: Sequence[TriggerResult]) -> tuple[int, str]:
    return 201, json.dumps([r.run_id for r in results])


def _response(key: str, reserved_at: float, first: int = 0, count: int = 1) -> RequestResponse:
    return RequestResponse("dev", key, reserved_at, first, count, _render, TTL)


def _runs(storage: Storage) -> list[str]:
    return [r.id for r in storage.list_runs(RunFilter(environment="dev"), 100, None).runs]


def test_response_is_stored_with_the_runs(storage: Storage) -> None:
    assert storage.begin_request("dev", "a", "h", T0, TTL, STALE) is None
    assert storage.begin_request("dev", "b", "h", T0, TTL, STALE) is None
    # two requests written together, plus a run of a request without a key
    runs = [_run(), _run(), _run(), _run()]
    responses = [_response("a", T0, 0, 1), _response("b", T0, 2, 2)]
    results = storage.trigger(runs, T0 + 1, responses)
    ids = [r.run_id for r in results]
    got_a = storage.begin_request("dev", "a", "h", T0 + 2, TTL, STALE)
    got_b = storage.begin_request("dev", "b", "h", T0 + 2, TTL, STALE)
    assert got_a == StoredRequest("h", 201, json.dumps(ids[:1]))
    assert got_b == StoredRequest("h", 201, json.dumps(ids[2:]))
    # long after the reservation would have been stale: still the stored response
    later = storage.begin_request("dev", "a", "h", T0 + 3600, TTL, STALE)
    assert later is not None and later.status == 201


def test_a_taken_over_reservation_stores_nothing(storage: Storage) -> None:
    assert storage.begin_request("dev", "k", "h", T0, TTL, STALE) is None
    in_flight = storage.begin_request("dev", "k", "h", T0 + 1, TTL, STALE)
    assert in_flight == StoredRequest("h", 0, None)
    # the first request looks dead: a retry takes the key over
    assert storage.begin_request("dev", "k", "h", T0 + STALE + 1, TTL, STALE) is None
    with pytest.raises(RequestTakenOverError):
        storage.trigger([_run()], T0 + STALE + 2, [_response("k", T0)])
    assert _runs(storage) == []  # rolled back, run and all
    assert not storage.finish_request("dev", "k", T0, 201, "{}", T0 + STALE + 2, TTL)
    storage.release_request("dev", "k", T0)  # the first one's release leaves the retry's
    assert storage.begin_request("dev", "k", "h", T0 + STALE + 3, TTL, STALE) is not None
    [result] = storage.trigger([_run()], T0 + STALE + 3, [_response("k", T0 + STALE + 1)])
    stored = storage.begin_request("dev", "k", "h", T0 + STALE + 4, TTL, STALE)
    assert stored == StoredRequest("h", 201, json.dumps([result.run_id]))
    assert _runs(storage) == [result.run_id]


def test_finish_and_release_of_a_reservation(storage: Storage) -> None:
    assert storage.begin_request("dev", "f", "h", T0, TTL, STALE) is None
    assert storage.finish_request("dev", "f", T0, 200, '{"ok": 1}', T0 + 1, TTL)
    assert storage.begin_request("dev", "f", "h", T0 + 2, TTL, STALE) == StoredRequest(
        "h", 200, '{"ok": 1}'
    )
    assert storage.begin_request("dev", "r", "h", T0, TTL, STALE) is None
    storage.release_request("dev", "r", T0)
    assert storage.begin_request("dev", "r", "h2", T0 + 1, TTL, STALE) is None  # afresh
    # expired records are purged; the key is free again
    assert storage.purge_requests(T0 + TTL + 5) >= 1
    assert storage.begin_request("dev", "f", "h3", T0 + TTL + 6, TTL, STALE) is None
