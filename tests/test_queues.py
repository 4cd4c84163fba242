"""Queues and flow control on both backends: pause, limits, keys, fairness, stats."""

from __future__ import annotations

import uuid

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import switchyard as sy
from switchyard.core.clock import FakeClock
from switchyard.core.models import NewRun, Outcome, TaskInfo
from switchyard.runtime import Runtime
from switchyard.storage import Storage
from tests.helpers import eventually, running_worker

T0 = 1_767_225_600.0


def new(task: str = "t", **kw: object) -> NewRun:
    kw.setdefault("queue", f"task/{task}")
    kw.setdefault("payload_json", "{}")
    return NewRun(task_id=task, **kw)  # type: ignore[arg-type]


def claim(storage: Storage, limit: int = 100, task: str = "t", now: float = T0) -> list[str]:
    return [c.run.id for c in storage.claim("dev", "worker_a", [task], limit, now, 30.0)]


def test_paused_queue_keeps_runs_queued_until_resumed(storage: Storage) -> None:
    storage.trigger([new(priority=0), new(priority=50)], T0)
    storage.set_queue_paused("dev", "task/t", True, T0)
    [later] = storage.trigger([new()], T0 + 1)  # triggers are still accepted
    assert claim(storage) == []
    storage.set_queue_paused("dev", "task/t", False, T0 + 2)
    claimed = storage.claim("dev", "worker_a", ["t"], 10, T0 + 2, 30.0)
    assert [c.run.priority for c in claimed][:1] == [50.0]  # priority order on resume
    assert later.run_id in {c.run.id for c in claimed}


def test_paused_environment_and_environment_limit(storage: Storage) -> None:
    storage.trigger([new() for _ in range(5)], T0)
    storage.set_environment_paused("dev", True, T0)
    assert claim(storage) == []
    storage.set_environment_paused("dev", False, T0)
    storage.set_environment_limit("dev", 2, T0)
    assert len(claim(storage)) == 2
    assert claim(storage) == []
    storage.set_environment_limit("dev", None, T0)
    assert len(claim(storage)) == 3


def test_limit_override_and_reset(storage: Storage) -> None:
    storage.trigger([new(queue="q", queue_concurrency_limit=1) for _ in range(6)], T0)
    storage.set_queue_limit("dev", "q", 3, T0)
    assert len(claim(storage)) == 3
    stats = storage.queue_stats("dev", "q", T0)
    assert stats is not None
    assert (stats.concurrency_limit, stats.base_limit, stats.limit_override) == (3, 1, 3)
    storage.set_queue_limit("dev", "q", None, T0)
    stats = storage.queue_stats("dev", "q", T0)
    assert stats is not None and stats.concurrency_limit == 1
    assert claim(storage) == []


def test_concurrency_keys_get_their_own_copy_of_the_limit(storage: Storage) -> None:
    runs = [new(queue="q", queue_concurrency_limit=2, concurrency_key=k) for k in "aaabbb"]
    runs += [new(queue="q", queue_concurrency_limit=2) for _ in range(3)]
    storage.trigger(runs, T0)
    claimed = storage.claim("dev", "worker_a", ["t"], 100, T0, 30.0)
    keys = sorted(str(c.run.concurrency_key) for c in claimed)
    assert keys == ["None", "None", "a", "a", "b", "b"]
    assert claim(storage) == []


def test_a_big_backlog_does_not_starve_a_later_tenant(storage: Storage) -> None:
    storage.trigger([new(concurrency_key="tenant-a") for _ in range(10_000)], T0)
    late = {
        r.run_id
        for r in storage.trigger([new(concurrency_key="tenant-b") for _ in range(10)], T0 + 5)
    }
    started: list[str] = []
    while len(started) < 100:
        started += claim(storage, limit=10, now=T0 + 5)
    assert late <= set(started[:100])


def test_queue_stats_and_explanations(runtime: Runtime, clock: object) -> None:
    storage = runtime.storage
    storage.trigger([new(queue="q", queue_concurrency_limit=1) for _ in range(3)], T0)
    storage.trigger([new(queue="q", delay_until=T0 + 3600, queue_concurrency_limit=1)], T0)
    [first] = storage.claim("dev", "worker_a", ["t"], 10, T0 + 4, 30.0)
    stats = runtime.engine.queue_stats("q")
    assert (stats.queued, stats.running, stats.delayed, stats.waiting) == (2, 1, 1, 0)
    assert stats.oldest_queued_age is not None and stats.oldest_queued_age >= 0
    assert stats.started_per_minute > 0 and stats.wait_p50 == pytest.approx(4, abs=0.01)
    waiting = next(r for r in runtime.engine.list_runs().runs if r.status == "QUEUED")
    codes = {reason.code for reason in runtime.engine.explain(waiting.id)}
    assert "queue_limit" in codes and "no_worker" in codes
    runtime.engine.pause_environment()
    assert "environment_paused" in {r.code for r in runtime.engine.explain(waiting.id)}
    runtime.engine.resume_environment()
    runtime.engine.pause_queue("q")
    assert "queue_paused" in {r.code for r in runtime.engine.explain(waiting.id)}
    assert runtime.engine.explain(first.run.id) == []
    with pytest.raises(sy.SwitchyardError, match="no queue 'nope'"):
        runtime.engine.queue_stats("nope")


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    st.lists(
        st.tuples(
            st.floats(min_value=0, max_value=100, allow_nan=False),
            st.sampled_from([0, 0, 1, 5, 10, 30, 1e9]),
        ),
        min_size=1,
        max_size=12,
    )
)
def test_priority_order_is_queued_at_minus_priority(
    storage: Storage, triggers: list[tuple[float, float]]
) -> None:
    task = f"p{uuid.uuid4().hex[:8]}"
    expected = []
    for offset, priority in triggers:
        [r] = storage.trigger([new(task, priority=priority)], T0 + offset)
        expected.append((T0 + offset - priority, r.run_id))
    got = [c.run.id for c in storage.claim("dev", "w", [task], 100, T0 + 200, 30.0)]
    assert got == [run_id for _, run_id in sorted(expected)]


def test_idempotency_key_reset(runtime: Runtime) -> None:
    @sy.task(id="q-idem")
    async def idem(payload: object) -> None:
        return None

    first = idem.trigger_sync({}, idempotency_key="k1")
    assert idem.trigger_sync({}, idempotency_key="k1").id == first.id
    assert sy.idempotency_keys.reset_sync(idem, "k1") is True
    assert idem.trigger_sync({}, idempotency_key="k1").id != first.id
    assert sy.idempotency_keys.reset_sync("q-idem", "unknown") is False


async def test_sdk_pause_resume_with_a_worker(runtime: Runtime) -> None:
    @sy.task(id="q-work", queue=sy.queue("q-work-queue", concurrency_limit=3))
    async def work(payload: object) -> str:
        return "done"

    await sy.queues.pause(work)
    handle = await work.trigger({})
    async with running_worker(runtime, ["q-work"]):
        await eventually(lambda: runtime.engine.explain(handle.id)[0].code == "queue_paused")
        assert (await sy.runs.retrieve(handle)).status == sy.RunStatus.QUEUED
        stats = await sy.queues.retrieve("q-work-queue")
        assert stats.paused and stats.queued == 1 and stats.concurrency_limit == 3
        await sy.queues.resume("q-work-queue")
        assert (await sy.runs.poll(handle, timeout=10)).output == "done"
        info = await sy.environments.retrieve()
        assert any("q-work" in w.task_ids for w in info.workers)
    assert [q.name for q in await sy.queues.list()] == ["q-work-queue"]


def test_rate_limit_caps_starts_per_period(storage: Storage) -> None:
    storage.register(
        "dev",
        [TaskInfo(id="t", queue="mail", queue_rate_limit=3, queue_rate_period=60.0)],
        None,
        T0,
    )
    storage.trigger([new(queue="mail") for _ in range(10)], T0)
    first = storage.claim("dev", "worker_a", ["t"], 100, T0, 30.0)
    assert len(first) == 3
    storage.finish(
        [
            Outcome(c.run.id, c.attempt_id, sy.RunStatus.COMPLETED, sy.AttemptStatus.COMPLETED, "1")
            for c in first
        ],
        T0 + 1,
    )
    assert claim(storage, now=T0 + 30) == []  # finished, but the period is not over
    stats = storage.queue_stats("dev", "mail", T0 + 30)
    assert stats is not None and (stats.rate_limit, stats.rate_used) == (3, 3)
    assert len(claim(storage, now=T0 + 61)) == 3


def test_trailing_debounce_collapses_a_burst(runtime: Runtime, clock: FakeClock) -> None:
    @sy.task(id="q-debounced")
    async def debounced(payload: dict[str, int]) -> int:
        return payload["n"]

    handles = [
        debounced.trigger_sync({"n": i}, debounce={"key": "user-1", "delay": "5s"})
        for i in range(5)
    ]
    clock.advance(3)
    last = debounced.trigger_sync({"n": 99}, debounce={"key": "user-1", "delay": "5s"})
    assert {h.id for h in handles} == {last.id} and last.is_cached
    other = debounced.trigger_sync({"n": 7}, debounce={"key": "user-2", "delay": "5s"})
    assert other.id != last.id
    run = runtime.engine.get_run(last.id)
    assert run.status == "DELAYED" and run.payload == {"n": 99}
    assert run.delay_until == clock.now() + 5  # pushed back by the last trigger
    runtime.storage.promote_delayed(clock.now() + 5)
    after = debounced.trigger_sync({"n": 100}, debounce={"key": "user-1", "delay": "5s"})
    assert after.id != last.id  # the window closed when the run was queued


def test_leading_debounce_runs_the_first(runtime: Runtime, clock: FakeClock) -> None:
    @sy.task(id="q-leading")
    async def leading(payload: dict[str, int]) -> int:
        return payload["n"]

    spec = {"key": "k", "delay": "10s", "mode": "leading"}
    first = leading.trigger_sync({"n": 1}, debounce=spec)
    assert runtime.engine.get_run(first.id).status == "QUEUED"
    assert leading.trigger_sync({"n": 2}, debounce=spec).id == first.id
    clock.advance(11)
    assert leading.trigger_sync({"n": 3}, debounce=spec).id != first.id
    with pytest.raises(sy.InvalidOptionError, match="debounce"):
        leading.trigger_sync({}, debounce={"key": "k"})
    with pytest.raises(sy.InvalidOptionError, match=r"debounce\.mode"):
        leading.trigger_sync({}, debounce={"key": "k", "delay": 1, "mode": "sideways"})
    with pytest.raises(sy.InvalidOptionError, match="no delay or idempotency_key"):
        leading.trigger_sync({}, debounce=spec, delay="1m")
    with pytest.raises(sy.InvalidOptionError, match="rate_limit"):
        sy.queue("bad", rate_limit={"limit": 5})
