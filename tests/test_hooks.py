"""Engine hooks: the registry's rules, and the events a real run emits in a worker."""

from __future__ import annotations

import logging
import threading
from typing import Any

import httpx
import pytest

import switchyard as sy
from switchyard import wait
from switchyard.core.models import TaskInfo, TriggerResult
from switchyard.engine import attempts, dequeue, recovery, waitpoints
from switchyard.engine.hooks import (
    EVENTS,
    AttemptEvent,
    AttemptResult,
    ClaimEvent,
    HookRegistry,
    Hooks,
    ResumeEvent,
    SuspendEvent,
    TriggerEvent,
    WaitpointEvent,
)
from switchyard.runtime import Runtime
from switchyard.server import create_app
from tests.helpers import eventually, running_worker
from tests.test_http_api import add_key

tokens: dict[str, Any] = {}


@sy.task(id="hk-journey", retry={"max_attempts": 3, "min_timeout": 0, "randomize": False})
async def journey(payload: Any, ctx: sy.RunContext) -> dict[str, Any]:
    if ctx.attempt.number == 1:
        raise ValueError("boom")
    token = await wait.create_token()
    tokens[ctx.run.id] = token
    got = await wait.for_token(token)
    return {"approved": got.unwrap(), "attempt": ctx.attempt.number}


@sy.task(id="hk-quick")
async def quick(payload: Any) -> str:
    return "done"


class Recorder(Hooks):
    """Every event, as ``(event name, event)``."""

    def __init__(self) -> None:
        self.events: list[tuple[str, Any]] = []
        self._lock = threading.Lock()

    def _add(self, name: str, event: Any) -> None:
        with self._lock:
            self.events.append((name, event))

    def before_trigger(self, event: TriggerEvent) -> None:
        self._add("before_trigger", event)

    def after_trigger(self, event: TriggerEvent) -> None:
        self._add("after_trigger", event)

    def after_claim(self, event: ClaimEvent) -> None:
        self._add("after_claim", event)

    def after_attempt(self, event: AttemptEvent) -> None:
        self._add("after_attempt", event)

    def after_suspend(self, event: SuspendEvent) -> None:
        self._add("after_suspend", event)

    def after_resume(self, event: ResumeEvent) -> None:
        self._add("after_resume", event)

    def after_waitpoint_complete(self, event: WaitpointEvent) -> None:
        self._add("after_waitpoint_complete", event)

    def after_cancel(self, event: Any) -> None:
        self._add("after_cancel", event)

    def after_recover(self, event: Any) -> None:
        self._add("after_recover", event)


class Boom(Hooks):
    """Fails on every event it sees."""

    def after_claim(self, event: ClaimEvent) -> None:
        raise RuntimeError("hook bug")

    def after_attempt(self, event: AttemptEvent) -> None:
        raise RuntimeError("hook bug")

    def after_trigger(self, event: TriggerEvent) -> None:
        raise RuntimeError("hook bug")


# -- the registry ------------------------------------------------------------------------
def test_hooks_are_called_in_the_order_they_were_added() -> None:
    calls: list[str] = []

    class Named(Hooks):
        def __init__(self, tag: str) -> None:
            self.tag = tag

        def before_trigger(self, event: TriggerEvent) -> None:
            calls.append(f"{self.tag}:before")

        def after_trigger(self, event: TriggerEvent) -> None:
            calls.append(f"{self.tag}:after")

    registry = HookRegistry([Named("a")])
    registry.add(Named("b"))
    event = TriggerEvent((), 0.0)
    registry.emit("before_trigger", event)
    registry.emit("after_trigger", event)
    assert calls == ["a:before", "b:before", "a:after", "b:after"]


def test_a_failing_hook_is_logged_by_name_and_the_next_one_still_runs(
    caplog: pytest.LogCaptureFixture,
) -> None:
    recorder = Recorder()
    registry = HookRegistry([Boom(), recorder])
    event = TriggerEvent((), 1.0, [TriggerResult("run_x", "t", False)])
    with caplog.at_level(logging.ERROR, logger="switchyard.hooks"):
        registry.emit("after_trigger", event)
    assert recorder.events == [("after_trigger", event)]
    [record] = caplog.records
    assert record.getMessage() == "hook Boom failed in after_trigger; the operation is unaffected"
    assert record.exc_info is not None


def test_a_hook_is_listed_only_for_the_events_it_overrides() -> None:
    class OnlyClaims(Hooks):
        name = "only-claims"

        def after_claim(self, event: ClaimEvent) -> None:
            pass

    hook = OnlyClaims()
    registry = HookRegistry([hook])
    assert [name for name, _ in registry.listeners("after_claim")] == ["only-claims"]
    assert all(registry.listeners(e) == () for e in EVENTS if e != "after_claim")
    registry.remove(hook)
    assert len(registry) == 0 and registry.listeners("after_claim") == ()


def test_every_event_has_a_no_op_on_the_base_class() -> None:
    assert set(EVENTS) == {
        "before_trigger",
        "after_trigger",
        "after_claim",
        "after_attempt",
        "after_suspend",
        "after_resume",
        "after_waitpoint_complete",
        "after_cancel",
        "after_recover",
    }
    hook = Hooks()
    for name in EVENTS:
        assert getattr(hook, name)(object()) is None


# -- a worker's runs -----------------------------------------------------------------------
def _journey_of(events: list[tuple[str, Any]], run_id: str, token_id: str) -> list[tuple[Any, ...]]:
    """The events about one run (and its token), reduced to what the test checks."""
    out: list[tuple[Any, ...]] = []
    for name, e in events:
        if name in ("before_trigger", "after_trigger"):
            ids = [r.run_id for r in e.results or ()]
            ours = e.runs and e.runs[0].task_id == "hk-journey"
            if ours and (name == "before_trigger" or run_id in ids):
                out.append((name, [r.is_cached for r in e.results or ()]))
        elif name in ("after_claim", "after_resume") and e.run_id == run_id:
            out.append((name, e.attempt_number, e.task_id))
        elif name == "after_attempt" and e.run_id == run_id:
            error = (e.error or {}).get("type")
            out.append((name, e.result, e.attempt_number, e.task_id, error))
        elif name == "after_suspend" and e.run_id == run_id:
            out.append((name, list(e.waitpoint_ids)))
        elif name == "after_waitpoint_complete" and e.id == token_id:
            out.append((name, e.door, e.output))
    return out


async def test_a_run_that_retries_waits_and_resumes_emits_each_step_once(runtime: Runtime) -> None:
    recorder = Recorder()
    runtime.engine.hooks.add(recorder)
    handle = await journey.trigger({})
    async with running_worker(runtime, ["hk-journey"]):
        await eventually(lambda: handle.id in tokens)
        await eventually(
            lambda: any(n == "after_suspend" and e.run_id == handle.id for n, e in recorder.events)
        )
        await wait.complete_token(tokens[handle.id], {"by": "ada"})
        run = await sy.runs.poll(handle, timeout=10)
    assert run.output == {"approved": {"by": "ada"}, "attempt": 2}
    token_id = tokens[handle.id].id
    assert _journey_of(recorder.events, handle.id, token_id) == [
        ("before_trigger", []),
        ("after_trigger", [False]),
        ("after_claim", 1, "hk-journey"),
        ("after_attempt", AttemptResult.RETRYING, 1, "hk-journey", "ValueError"),
        ("after_claim", 2, "hk-journey"),
        ("after_suspend", [token_id]),
        ("after_waitpoint_complete", "sdk", {"by": "ada"}),
        ("after_resume", 2, "hk-journey"),
        ("after_attempt", AttemptResult.COMPLETED, 2, "hk-journey", None),
    ]
    worker_ids = {e.worker_id for n, e in recorder.events if n in ("after_claim", "after_attempt")}
    assert len(worker_ids) == 1 and None not in worker_ids


async def test_a_failing_hook_never_loses_a_run(
    runtime: Runtime, caplog: pytest.LogCaptureFixture
) -> None:
    recorder = Recorder()
    runtime.engine.hooks.add(Boom())
    runtime.engine.hooks.add(recorder)
    with caplog.at_level(logging.ERROR, logger="switchyard.hooks"):
        handle = await quick.trigger({})
        async with running_worker(runtime, ["hk-quick"]):
            run = await sy.runs.poll(handle, timeout=10)
    assert run.status == sy.RunStatus.COMPLETED and run.output == "done"
    names = [n for n, e in recorder.events if n != "after_recover"]
    assert names == ["before_trigger", "after_trigger", "after_claim", "after_attempt"]
    failed = {r.getMessage() for r in caplog.records if r.name == "switchyard.hooks"}
    assert failed == {
        f"hook Boom failed in {event}; the operation is unaffected"
        for event in ("after_trigger", "after_claim", "after_attempt")
    }


async def test_events_nobody_listens_to_are_never_built(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    def forbidden(*args: object, **kwargs: object) -> None:
        raise AssertionError("an event was built for no listener")

    for module, name in (
        (dequeue, "ClaimEvent"),
        (dequeue, "ResumeEvent"),
        (attempts, "AttemptEvent"),
        (waitpoints, "SuspendEvent"),
        (recovery, "RecoverEvent"),
    ):
        monkeypatch.setattr(module, name, forbidden)
    triggers: list[TriggerEvent] = []

    class TriggersOnly(Hooks):
        def after_trigger(self, event: TriggerEvent) -> None:
            triggers.append(event)

    runtime.engine.hooks.add(TriggersOnly())
    handle = await quick.trigger({})
    async with running_worker(runtime, ["hk-quick"]):
        run = await sy.runs.poll(handle, timeout=10)
    assert run.status == sy.RunStatus.COMPLETED
    assert [r.run_id for e in triggers for r in e.results or ()] == [handle.id]


async def test_cancel_emits_the_canceled_runs(runtime: Runtime) -> None:
    recorder = Recorder()
    runtime.engine.hooks.add(recorder)
    handle = await quick.trigger({}, delay="1h")
    await sy.runs.cancel(handle)
    [event] = [e for n, e in recorder.events if n == "after_cancel"]
    assert event.run_id == handle.id and list(event.canceled) == [handle.id]


async def test_the_http_api_reports_triggers_and_token_completions(runtime: Runtime) -> None:
    recorder = Recorder()
    runtime.engine.hooks.add(recorder)
    runtime.engine.register([TaskInfo(id="hk-remote", queue="task/hk-remote")])
    token = await wait.create_token()
    app = create_app(runtime, api_key=None, rate_limit=None)
    headers = {"Authorization": f"Bearer {add_key(runtime)}"}
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t", headers=headers) as h:
        made = (await h.post("/api/v1/tasks/hk-remote/trigger", json={})).json()
        path = f"/api/v1/waitpoints/tokens/{token.id}/complete"
        assert (await h.post(path, json={"data": 5})).status_code == 200
    names = [n for n, _ in recorder.events]
    assert names == ["before_trigger", "after_trigger", "after_waitpoint_complete"]
    _, triggered = recorder.events[1]
    assert [(r.run_id, r.is_cached) for r in triggered.results] == [(made["id"], False)]
    _, completed = recorder.events[2]
    assert (completed.id, completed.door, completed.output) == (token.id, "http", 5)
