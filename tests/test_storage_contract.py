"""The storage contract: every test runs on SQLite and on PostgreSQL."""

from __future__ import annotations

import json
import threading

import pytest

from switchyard.core.models import Claim, NewRun, Outcome, RunFilter, TaskInfo
from switchyard.core.retry import RetryPolicy
from switchyard.core.states import AttemptStatus, RunStatus
from switchyard.core.waitpoints import (
    JournalRef,
    NewWaitpoint,
    Waitpoint,
    WaitpointKind,
    WaitpointStatus,
    new_waitpoint,
)
from switchyard.storage import Storage, open_storage

T0 = 1_767_225_600.0


def new(task: str = "t", **kw: object) -> NewRun:
    kw.setdefault("queue", f"task/{task}")
    kw.setdefault("payload_json", "{}")
    return NewRun(task_id=task, **kw)  # type: ignore[arg-type]


def claim_ids(storage: Storage, now: float = T0, limit: int = 100, task: str = "t") -> list[str]:
    return [c.run.id for c in storage.claim("dev", "worker_a", [task], limit, now, 30.0)]


def complete(storage: Storage, claim_run_id: str, attempt_id: str, now: float = T0) -> int:
    return storage.finish(
        [
            Outcome(
                claim_run_id,
                attempt_id,
                RunStatus.COMPLETED,
                AttemptStatus.COMPLETED,
                output_json='{"ok":true}',
            )
        ],
        now,
    )


def renew(storage: Storage, worker_id: str, now: float, lease: float) -> dict[str, str | None]:
    """Renew through a lease channel, as workers do."""
    channel = storage.open_lease_channel(5.0)
    try:
        return channel.renew(worker_id, now, lease)
    finally:
        channel.close()


def test_migrate_is_idempotent(storage: Storage) -> None:
    assert storage.migrate() == []


def test_trigger_stores_every_field(storage: Storage) -> None:
    [r] = storage.trigger(
        [
            new(
                payload_json='{"a":1}',
                tags=("x", "y"),
                metadata_json='{"m":2}',
                priority=5,
                ttl=60,
                max_duration=9,
                retry=RetryPolicy(max_attempts=7),
                concurrency_key="tenant-1",
            )
        ],
        T0,
    )
    run = storage.get_run("dev", r.run_id)
    assert run is not None and not r.is_cached
    assert run.status == RunStatus.QUEUED
    assert run.payload == {"a": 1} and run.metadata == {"m": 2} and run.tags == ("x", "y")
    assert run.order_key == T0 - 5 and run.queued_at == T0
    assert run.expires_at == T0 + 60 and run.max_duration == 9
    assert run.retry.max_attempts == 7 and run.concurrency_key == "tenant-1"
    assert storage.get_run("other-env", r.run_id) is None


def test_delayed_run_is_promoted_when_due(storage: Storage) -> None:
    [r] = storage.trigger([new(delay_until=T0 + 3600, ttl=10)], T0)
    run = storage.get_run("dev", r.run_id)
    assert run is not None and run.status == RunStatus.DELAYED
    assert run.queued_at == T0 + 3600 and run.expires_at == T0 + 3610  # TTL counts from queue
    assert claim_ids(storage) == []
    assert storage.promote_delayed(T0 + 3599) == 0
    assert storage.promote_delayed(T0 + 3600) == 1
    assert claim_ids(storage, T0 + 3600) == [r.run_id]


def test_priority_is_relative_to_queue_time(storage: Storage) -> None:
    [old] = storage.trigger([new()], T0)
    [older_by_11] = storage.trigger([new()], T0 - 11)
    [prio] = storage.trigger([new(priority=10)], T0 + 5)
    # prio's key is T0-5: ahead of `old` (T0) but behind a run queued 11 s before `old`.
    assert claim_ids(storage, T0 + 5) == [older_by_11.run_id, prio.run_id, old.run_id]


def test_huge_priority_is_absolute(storage: Storage) -> None:
    storage.trigger([new() for _ in range(5)], T0 - 86400 * 365)
    [vip] = storage.trigger([new(priority=1e12)], T0)
    assert claim_ids(storage, T0, limit=1) == [vip.run_id]


def test_claim_marks_executing_with_attempt_and_lease(storage: Storage) -> None:
    [r] = storage.trigger([new(ttl=5)], T0)
    [claim] = storage.claim("dev", "worker_a", ["t"], 10, T0 + 1, 30.0)
    assert claim.attempt_number == 1 and claim.run.status == RunStatus.EXECUTING
    run = storage.get_run("dev", r.run_id)
    assert run is not None
    assert run.status == RunStatus.EXECUTING and run.worker_id == "worker_a"
    assert run.lease_expires_at == T0 + 31 and run.expires_at is None
    assert run.current_attempt_id == claim.attempt_id and run.started_at == T0 + 1
    [attempt] = storage.list_attempts(r.run_id)
    assert attempt.status == AttemptStatus.EXECUTING and attempt.number == 1
    assert claim_ids(storage) == []  # never claimed twice


def test_claim_only_takes_the_workers_tasks(storage: Storage) -> None:
    storage.trigger([new("other")], T0)
    [mine] = storage.trigger([new("t")], T0 + 1)
    assert claim_ids(storage) == [mine.run_id]


def test_queue_concurrency_limit_caps_running_runs(storage: Storage) -> None:
    shared = {"queue": "payments", "queue_concurrency_limit": 2}
    storage.trigger([new(**shared) for _ in range(5)], T0)
    [free] = storage.trigger([new(queue="task/t")], T0 + 1)
    claims = storage.claim("dev", "worker_a", ["t"], 10, T0, 30.0)
    assert sorted(c.run.queue for c in claims) == ["payments", "payments", "task/t"]
    assert free.run_id in {c.run.id for c in claims}
    assert claim_ids(storage) == []
    first = next(c for c in claims if c.run.queue == "payments")
    assert complete(storage, first.run.id, first.attempt_id) == 1
    assert len(claim_ids(storage)) == 1


def test_limited_queue_at_its_limit_does_not_starve_others(storage: Storage) -> None:
    storage.trigger([new(queue="slow", queue_concurrency_limit=1) for _ in range(50)], T0)
    [later] = storage.trigger([new()], T0 + 100)
    claimed = claim_ids(storage, T0 + 100, limit=3)
    assert later.run_id in claimed and len(claimed) == 2


def test_finish_completes_and_ignores_stale_outcomes(storage: Storage) -> None:
    [r] = storage.trigger([new()], T0)
    [claim] = storage.claim("dev", "worker_a", ["t"], 1, T0, 30.0)
    assert complete(storage, r.run_id, claim.attempt_id, T0 + 2) == 1
    run = storage.get_run("dev", r.run_id)
    assert run is not None and run.status == RunStatus.COMPLETED
    assert run.output == {"ok": True} and run.finished_at == T0 + 2 and run.worker_id is None
    assert complete(storage, r.run_id, claim.attempt_id) == 0
    assert storage.list_attempts(r.run_id)[0].status == AttemptStatus.COMPLETED


def test_failed_attempt_with_retry_is_delayed_then_requeued(storage: Storage) -> None:
    [r] = storage.trigger([new()], T0)
    [claim] = storage.claim("dev", "worker_a", ["t"], 1, T0, 30.0)
    err = {"type": "ValueError", "message": "x"}
    outcome = Outcome(
        r.run_id,
        claim.attempt_id,
        RunStatus.DELAYED,
        AttemptStatus.FAILED,
        error=err,
        retry_at=T0 + 4,
    )
    assert storage.finish([outcome], T0) == 1
    run = storage.get_run("dev", r.run_id)
    assert run is not None and run.status == RunStatus.DELAYED and run.delay_until == T0 + 4
    assert run.error == err and run.finished_at is None
    storage.promote_delayed(T0 + 4)
    [again] = storage.claim("dev", "worker_a", ["t"], 1, T0 + 4, 30.0)
    assert again.attempt_number == 2
    assert [a.status for a in storage.list_attempts(r.run_id)] == [
        AttemptStatus.FAILED,
        AttemptStatus.EXECUTING,
    ]


def test_lapsed_lease_requeues_then_crashes(storage: Storage) -> None:
    [r] = storage.trigger([new(retry=RetryPolicy(max_attempts=2))], T0)
    [c1] = storage.claim("dev", "worker_a", ["t"], 1, T0, 10.0)
    assert storage.recover_lapsed(T0 + 9) == []
    assert storage.recover_lapsed(T0 + 11) == [r.run_id]
    run = storage.get_run("dev", r.run_id)
    assert run is not None and run.status == RunStatus.QUEUED and run.worker_id is None
    assert run.error is not None and run.error["type"] == "WorkerLost"
    # The lost worker's late completion is fenced off.
    assert complete(storage, r.run_id, c1.attempt_id) == 0
    [c2] = storage.claim("dev", "worker_b", ["t"], 1, T0 + 11, 10.0)
    assert c2.attempt_number == 2
    assert storage.recover_lapsed(T0 + 30) == [r.run_id]
    run = storage.get_run("dev", r.run_id)
    assert run is not None and run.status == RunStatus.CRASHED and run.finished_at == T0 + 30
    assert [a.status for a in storage.list_attempts(r.run_id)] == [
        AttemptStatus.CRASHED,
        AttemptStatus.CRASHED,
    ]


def test_renewal_extends_leases_and_reports_what_is_held(storage: Storage) -> None:
    [r] = storage.trigger([new()], T0)
    [claim] = storage.claim("dev", "worker_a", ["t"], 1, T0, 10.0)
    assert renew(storage, "worker_a", T0 + 8, 10.0) == {r.run_id: claim.attempt_id}
    assert storage.recover_lapsed(T0 + 12) == []
    assert renew(storage, "worker_b", T0 + 8, 10.0) == {}


def test_release_hands_runs_back(storage: Storage) -> None:
    [r] = storage.trigger([new()], T0)
    storage.claim("dev", "worker_a", ["t"], 1, T0, 10.0)
    assert storage.release("worker_b", [r.run_id], T0) == 0
    assert storage.release("worker_a", [r.run_id], T0) == 1
    run = storage.get_run("dev", r.run_id)
    assert run is not None and run.status == RunStatus.QUEUED
    assert storage.list_attempts(r.run_id)[0].status == AttemptStatus.RELEASED
    assert claim_ids(storage) == [r.run_id]


def test_ttl_expires_runs_not_started_in_time(storage: Storage) -> None:
    [late] = storage.trigger([new(ttl=10)], T0)
    [started] = storage.trigger([new("s", ttl=10)], T0)
    storage.claim("dev", "worker_a", ["s"], 1, T0 + 1, 60.0)
    assert storage.expire(T0 + 9) == 0
    assert storage.expire(T0 + 10) == 1
    run = storage.get_run("dev", late.run_id)
    assert run is not None and run.status == RunStatus.EXPIRED and run.finished_at == T0 + 10
    s = storage.get_run("dev", started.run_id)
    assert s is not None and s.status == RunStatus.EXECUTING


def test_idempotency_key_returns_the_live_run(storage: Storage) -> None:
    [a] = storage.trigger([new(idempotency_key="k", idempotency_ttl=60)], T0)
    [b, c] = storage.trigger([new(idempotency_key="k"), new("other", idempotency_key="k")], T0 + 1)
    assert b.run_id == a.run_id and b.is_cached
    assert c.run_id != a.run_id and not c.is_cached  # keys are per task
    [d] = storage.trigger([new(idempotency_key="k")], T0 + 61)  # TTL over
    assert d.run_id != a.run_id and not d.is_cached
    old = storage.get_run("dev", a.run_id)
    assert old is not None and old.idempotency_key is None


def test_idempotency_key_is_freed_by_failure_not_by_success(storage: Storage) -> None:
    [a] = storage.trigger([new(idempotency_key="k")], T0)
    [claim] = storage.claim("dev", "worker_a", ["t"], 1, T0, 10.0)
    storage.finish(
        [Outcome(a.run_id, claim.attempt_id, RunStatus.FAILED, AttemptStatus.FAILED)], T0
    )
    [b] = storage.trigger([new(idempotency_key="k")], T0 + 1)
    assert b.run_id != a.run_id and not b.is_cached
    [claim] = storage.claim("dev", "worker_a", ["t"], 1, T0 + 1, 10.0)
    complete(storage, b.run_id, claim.attempt_id)
    [c] = storage.trigger([new(idempotency_key="k")], T0 + 2)
    assert c.run_id == b.run_id and c.is_cached


def test_one_batch_with_a_repeated_key_makes_one_run(storage: Storage) -> None:
    results = storage.trigger([new(idempotency_key="k"), new(idempotency_key="k")], T0)
    assert results[0].run_id == results[1].run_id
    assert [r.is_cached for r in results] == [False, True]


def test_concurrent_duplicate_triggers_make_one_run(database_url: str) -> None:
    stores = [open_storage(database_url) for _ in range(4)]
    stores[0].migrate()
    barrier = threading.Barrier(len(stores))
    results: list[str] = []
    errors: list[BaseException] = []

    def fire(store: Storage) -> None:
        try:
            barrier.wait()
            for i in range(20):
                [r] = store.trigger([new(idempotency_key=f"k{i}")], T0)
                results.append(f"{i}:{r.run_id}")
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=fire, args=(s,)) for s in stores]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for s in stores[1:]:
        s.close()
    assert errors == []
    by_key: dict[str, set[str]] = {}
    for item in results:
        key, run_id = item.split(":")
        by_key.setdefault(key, set()).add(run_id)
    assert len(by_key) == 20 and all(len(ids) == 1 for ids in by_key.values())
    assert len(stores[0].list_runs(RunFilter(), 1000, None).runs) == 20
    stores[0].close()


def test_concurrent_claims_never_take_a_run_twice(database_url: str) -> None:
    stores = [open_storage(database_url) for _ in range(3)]
    stores[0].migrate()
    stores[0].trigger([new() for _ in range(300)], T0)
    claimed: list[str] = []
    lock = threading.Lock()

    def drain(store: Storage, worker: str) -> None:
        while True:
            got = store.claim("dev", worker, ["t"], 7, T0, 30.0)
            if not got:
                return
            with lock:
                claimed.extend(c.run.id for c in got)

    threads = [
        threading.Thread(target=drain, args=(s, f"worker_{i}")) for i, s in enumerate(stores)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for s in stores:
        s.close()
    assert len(claimed) == 300 and len(set(claimed)) == 300


def test_concurrent_claims_respect_a_shared_limit(database_url: str) -> None:
    stores = [open_storage(database_url) for _ in range(3)]
    stores[0].migrate()
    stores[0].trigger([new(queue="q", queue_concurrency_limit=3) for _ in range(30)], T0)
    barrier = threading.Barrier(3)
    claimed: list[str] = []

    def grab(store: Storage, worker: str) -> None:
        barrier.wait()
        for _ in range(5):
            claimed.extend(c.run.id for c in store.claim("dev", worker, ["t"], 2, T0, 30.0))

    threads = [threading.Thread(target=grab, args=(s, f"worker_{i}")) for i, s in enumerate(stores)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for s in stores:
        s.close()
    assert len(claimed) == 3


def test_cancel_is_recursive_and_spares_finished_runs(storage: Storage) -> None:
    [parent] = storage.trigger([new()], T0)
    [child, done_child] = storage.trigger(
        [new(parent_run_id=parent.run_id), new("d", parent_run_id=parent.run_id)], T0
    )
    [grandchild] = storage.trigger([new(parent_run_id=child.run_id, root_run_id=parent.run_id)], T0)
    [claim] = storage.claim("dev", "worker_a", ["d"], 1, T0, 10.0)
    complete(storage, done_child.run_id, claim.attempt_id)
    [executing] = storage.claim("dev", "worker_a", ["t"], 1, T0, 10.0)
    canceled = storage.cancel("dev", parent.run_id, T0 + 1)
    assert set(canceled) == {parent.run_id, child.run_id, grandchild.run_id}
    for run_id in canceled:
        run = storage.get_run("dev", run_id)
        assert run is not None and run.status == RunStatus.CANCELED and run.finished_at == T0 + 1
    done = storage.get_run("dev", done_child.run_id)
    assert done is not None and done.status == RunStatus.COMPLETED
    assert storage.list_attempts(executing.run.id)[-1].status == AttemptStatus.CANCELED
    assert renew(storage, "worker_a", T0 + 1, 10.0) == {}
    assert storage.cancel("dev", parent.run_id, T0 + 2) == []


def test_list_runs_filters_and_paginates(storage: Storage) -> None:
    ids = [r.run_id for r in storage.trigger([new(tags=("even",)) for _ in range(5)], T0)]
    ids += [r.run_id for r in storage.trigger([new("u", tags=("odd",)) for _ in range(4)], T0 + 5)]
    page = storage.list_runs(RunFilter(), 4, None)
    assert len(page.runs) == 4 and page.next_cursor is not None
    rest = storage.list_runs(RunFilter(), 10, page.next_cursor)
    assert rest.next_cursor is None
    assert [r.id for r in page.runs + rest.runs] == sorted(ids, reverse=True)
    assert {r.id for r in storage.list_runs(RunFilter(tag="odd"), 50, None).runs} == set(ids[5:])
    assert len(storage.list_runs(RunFilter(task_ids=("t",)), 50, None).runs) == 5
    assert len(storage.list_runs(RunFilter(created_after=T0 + 1), 50, None).runs) == 4
    assert len(storage.list_runs(RunFilter(queue="task/u"), 50, None).runs) == 4
    storage.claim("dev", "worker_a", ["u"], 2, T0, 10.0)
    executing = storage.list_runs(RunFilter(statuses=(RunStatus.EXECUTING,)), 50, None)
    assert len(executing.runs) == 2
    assert storage.list_runs(RunFilter(environment="prod"), 50, None).runs == []


def test_register_records_tasks_and_queue_limits(storage: Storage) -> None:
    storage.register(
        "dev",
        [
            TaskInfo(id="a", queue="shared", queue_concurrency_limit=3, retry={"max_attempts": 9}),
            TaskInfo(id="b", queue="shared", payload_schema={"type": "object"}),
        ],
        "worker_a",
        T0,
    )
    a = storage.get_task("dev", "a")
    assert a is not None and a.queue == "shared" and a.queue_concurrency_limit == 3
    assert a.retry == {"max_attempts": 9}
    assert [t.id for t in storage.list_tasks("dev")] == ["a", "b"]
    assert storage.get_task("dev", "missing") is None
    [q] = storage.list_queues("dev")
    assert (q.name, q.concurrency_limit, q.queued, q.running) == ("shared", 3, 0, 0)


def test_queue_counts(storage: Storage) -> None:
    storage.trigger([new() for _ in range(3)], T0)
    storage.claim("dev", "worker_a", ["t"], 1, T0, 10.0)
    [q] = storage.list_queues("dev")
    assert (q.name, q.queued, q.running, q.paused) == ("task/t", 2, 1, False)


@pytest.mark.parametrize("payload", ['{"ünïcode":"✓"}', json.dumps({"n": [1, 2.5, None]})])
def test_payload_roundtrip(storage: Storage, payload: str) -> None:
    [r] = storage.trigger([new(payload_json=payload)], T0)
    run = storage.get_run("dev", r.run_id)
    assert run is not None and run.payload == json.loads(payload)


# -- parked runs whose timers come due (Storage.resume_due) ------------------------------
def park(storage: Storage, n: int = 1, **kw: object) -> list[tuple[Claim, Waitpoint]]:
    """``n`` runs claimed by worker_a, suspended on timers due at T0 + 10, stored with
    the suspension (create_and_block)."""
    storage.trigger([new(**kw) for _ in range(n)], T0)
    claims = storage.claim("dev", "worker_a", ["t"], n, T0, 30.0)
    made = [
        (
            new_waitpoint(
                NewWaitpoint(
                    WaitpointKind.DURATION,
                    "dev",
                    complete_after=T0 + 10,
                    created_by_run_id=c.run.id,
                ),
                T0,
            ),
            JournalRef(c.run.id, c.attempt_number, 0, "wait", "DURATION"),
        )
        for c in claims
    ]
    items = [
        (c.run.id, c.attempt_id, [w.id], [(w, ref)])
        for c, (w, ref) in zip(claims, made, strict=True)
    ]
    assert storage.create_and_block(items, T0) == [[] for _ in claims]
    return [(c, w) for c, (w, _) in zip(claims, made, strict=True)]


def parked(runs: list[tuple[Claim, Waitpoint]]) -> list[tuple[str, str, list[str]]]:
    return [(c.run.id, c.attempt_id, [w.id]) for c, w in runs]


def resume(storage: Storage, runs: list[tuple[Claim, Waitpoint]], limit: int = 10) -> list[str]:
    taken = storage.resume_due("dev", "worker_a", ["t"], parked(runs), limit, T0 + 10, 30.0)
    return [claim.run.id for claim, _ in taken]


def test_create_and_block_stores_new_waitpoints_with_the_suspension(storage: Storage) -> None:
    [(c, w)] = park(storage)
    run = storage.get_run("dev", c.run.id)
    assert run is not None and run.status == RunStatus.WAITING and run.worker_id is None
    assert storage.get_waitpoint("dev", w.id) == w
    [entry] = storage.load_journal(c.run.id, c.attempt_number)
    assert entry.waitpoint_id == w.id and entry.kind == "wait"
    assert [b.id for b in storage.blocking_waitpoints(c.run.id)] == [w.id]


def test_resume_due_takes_a_parked_run_back_in_place(storage: Storage) -> None:
    [(c, w)] = park(storage)
    assert storage.resume_due("dev", "worker_a", ["t"], parked([(c, w)]), 10, T0 + 9, 30.0) == []
    assert storage.get_run("dev", c.run.id).status == RunStatus.WAITING  # type: ignore[union-attr]
    [(claim, [done])] = storage.resume_due(
        "dev", "worker_a", ["t"], parked([(c, w)]), 10, T0 + 10, 30.0
    )
    assert claim.resumed and (claim.attempt_id, claim.attempt_number) == (c.attempt_id, 1)
    assert claim.run.status == RunStatus.EXECUTING and claim.run.worker_id == "worker_a"
    assert done.id == w.id and done.status == WaitpointStatus.COMPLETED
    assert storage.get_waitpoint("dev", w.id) == done
    run = storage.get_run("dev", c.run.id)
    assert run is not None and run.status == RunStatus.EXECUTING
    assert (run.worker_id, run.lease_expires_at, run.attempt_count) == ("worker_a", T0 + 40, 1)
    assert storage.blocking_waitpoints(c.run.id) == []
    assert claim_ids(storage, T0 + 10) == []  # not queued
    assert resume(storage, [(c, w)]) == []  # already done
    assert complete(storage, c.run.id, c.attempt_id, T0 + 11) == 1


def test_resume_due_queues_runs_of_a_paused_queue(storage: Storage) -> None:
    runs = park(storage, 2)
    storage.set_queue_paused("dev", "task/t", True, T0)
    assert resume(storage, runs) == []
    for c, w in runs:
        assert storage.get_run("dev", c.run.id).status == RunStatus.QUEUED  # type: ignore[union-attr]
        assert storage.get_waitpoint("dev", w.id).status == WaitpointStatus.COMPLETED  # type: ignore[union-attr]
    storage.set_queue_paused("dev", "task/t", False, T0)
    claims = storage.claim("dev", "worker_b", ["t"], 10, T0 + 10, 30.0)
    assert {(c.run.id, c.attempt_id, c.resumed) for c in claims} == {
        (c.run.id, c.attempt_id, True) for c, _ in runs
    }


def test_a_resumed_attempt_records_the_worker_that_took_it_back(storage: Storage) -> None:
    # Claimed (resuming, queued) by another worker: the attempt moves with the run.
    [(c, w)] = park(storage)
    storage.set_queue_paused("dev", "task/t", True, T0)
    assert resume(storage, [(c, w)]) == []  # queued, resuming
    storage.set_queue_paused("dev", "task/t", False, T0)
    [claim] = storage.claim("dev", "worker_b", ["t"], 10, T0 + 10, 30.0)
    assert claim.resumed and claim.attempt_id == c.attempt_id
    [attempt] = storage.list_attempts(c.run.id)
    assert (attempt.id, attempt.worker_id) == (c.attempt_id, "worker_b")
    # Taken back in place by another worker (resume_due) too.
    [(c2, w2)] = park(storage)
    [(taken, _)] = storage.resume_due(
        "dev", "worker_c", ["t"], parked([(c2, w2)]), 10, T0 + 10, 30.0
    )
    assert taken.run.worker_id == "worker_c"
    [attempt] = storage.list_attempts(c2.run.id)
    assert (attempt.id, attempt.worker_id) == (c2.attempt_id, "worker_c")


def test_resume_due_takes_back_no_more_than_the_free_slots(storage: Storage) -> None:
    runs = park(storage, 3)
    ordered = sorted(c.run.id for c, _ in runs)  # same order_key: claims go by id
    assert resume(storage, runs, limit=2) == ordered[:2]  # no third slot
    assert storage.get_run("dev", ordered[2]).status == RunStatus.QUEUED  # type: ignore[union-attr]


def test_resume_due_leaves_the_slot_to_a_run_queued_ahead(storage: Storage) -> None:
    [(c, w)] = park(storage, 1)
    [ahead] = storage.trigger([new(priority=100)], T0)  # dequeued before the parked run
    assert resume(storage, [(c, w)], limit=1) == []
    assert storage.get_run("dev", c.run.id).status == RunStatus.QUEUED  # type: ignore[union-attr]
    assert claim_ids(storage, T0 + 10, limit=1) == [ahead.run_id]


def test_resume_due_respects_queue_limits_and_other_attempts(storage: Storage) -> None:
    limited = {"queue": "payments", "queue_concurrency_limit": 2}
    runs = park(storage, 2, **limited)
    [busy] = storage.trigger([new(**limited)], T0)
    assert claim_ids(storage, T0, limit=1) == [busy.run_id]  # one of the two slots
    taken = resume(storage, runs)
    assert len(taken) == 1  # the other waits for a slot, queued
    other = next(c for c, _ in runs if c.run.id not in taken)
    assert storage.get_run("dev", other.run.id).status == RunStatus.QUEUED  # type: ignore[union-attr]
    # A parked copy from another attempt (stale) is never taken back.
    [(c, w)] = park(storage)
    stale = [(c.run.id, "attempt_stale", [w.id])]
    assert storage.resume_due("dev", "worker_a", ["t"], stale, 10, T0 + 10, 30.0) == []
    assert storage.get_run("dev", c.run.id).status == RunStatus.QUEUED  # type: ignore[union-attr]


def test_finish_isolates_an_outcome_the_database_refuses(storage: Storage) -> None:
    """One unstorable outcome in a batch fails its own run alone, with a clear error."""
    storage.trigger([new() for _ in range(5)], T0)
    claims = storage.claim("dev", "worker_a", ["t"], 5, T0, 30.0)
    outputs = ['{"i":0}', '{"i":1}', '{"s":"\ud800"}', '{"i":3}', '{"i":4}']
    outcomes = [
        Outcome(c.run.id, c.attempt_id, RunStatus.COMPLETED, AttemptStatus.COMPLETED, out)
        for c, out in zip(claims, outputs, strict=True)
    ]
    assert storage.finish(outcomes, T0 + 1) == 5
    runs = [storage.get_run("dev", c.run.id) for c in claims]
    assert [r.status if r else None for r in runs] == [
        RunStatus.COMPLETED,
        RunStatus.COMPLETED,
        RunStatus.FAILED,
        RunStatus.COMPLETED,
        RunStatus.COMPLETED,
    ]
    failed = runs[2]
    assert failed is not None and failed.error is not None
    assert failed.error["type"] == "OutcomeNotStorable"
    assert "valid Unicode" in failed.error["message"]
    assert storage.finish(outcomes, T0 + 2) == 0  # applied once: later tries are stale
