"""Realtime run updates as server-sent events (SSE).

- ``GET /api/v1/runs/{run_id}/events``: the run now, then every change (status,
  metadata, output, ...) until it finishes; then ``event: end`` and the stream closes.
- ``GET /api/v1/runs/events?tag=...``: runs with the tag (repeatable: any of them),
  the most recent ``limit`` now, then every change and every new run; never ends.

Each event is ``event: run`` with the run's JSON (as ``GET /api/v1/runs/{id}``
without attempts) and ``id: <updated_at>:<run id>``. After a reconnect, the browser's
``EventSource`` (or :class:`switchyard.Client`) sends the last id as
``Last-Event-ID``: the stream resumes from there, sending the runs that changed since
(a few may come again; an event is never older than one already sent for the same
run on that stream). A finished run resumed after its last event answers 204, which
tells ``EventSource`` to stop reconnecting.

Changes are found by polling the database, so they show up whichever server or worker
process made them: each server process runs one poll every 200 ms for all of its
streams (one query for the runs followed by id, one for the tags), only while streams
are open, and fans the result out.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import BaseRoute, Route

from switchyard.core.models import Run, RunFilter
from switchyard.engine import Engine
from switchyard.server.errors import ApiError
from switchyard.server.inputs import db, query_int, query_list, runtime_of
from switchyard.server.openapi_parts import LAST_EVENT_ID, RUN_ID, SSE, query_param
from switchyard.server.openapi_schemas import QUERY_STR
from switchyard.server.operations import operation
from switchyard.server.views import app_singleton, run_json

POLL_INTERVAL = 0.2
LOOKBACK = 1.0
"""Seconds re-read on every poll: a transaction that took its time stamp before a
concurrent one but committed after it is still seen."""
KEEPALIVE = 15.0
QUEUE_LIMIT = 10_000
"""Events buffered for a slow client; past that its stream closes (it reconnects)."""

_log = logging.getLogger(__name__)
_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


def event_id(run: Run) -> str:
    """``<updated_at>:<run id>``: where a stream resumes from."""
    return f"{run.updated_at!r}:{run.id}"


def parse_event_id(value: str | None) -> tuple[float, str] | None:
    """The (updated_at, run id) of an event id; None for none or a malformed one."""
    if not value:
        return None
    stamp, sep, run_id = value.partition(":")
    try:
        moment = float(stamp)
    except ValueError:
        return None
    return (moment, run_id) if sep and math.isfinite(moment) else None


def format_event(run: Run, text: str | None = None) -> str:
    """One SSE ``run`` event."""
    data = text if text is not None else json.dumps(run_json(run), separators=(",", ":"))
    return f"id: {event_id(run)}\nevent: run\ndata: {data}\n\n"


@dataclass(eq=False)
class Subscriber:
    """One open stream: what it follows and its buffer of runs to send."""

    environment: str
    run_ids: frozenset[str] = frozenset()
    tags: frozenset[str] = frozenset()
    queue: asyncio.Queue[tuple[Run, str] | None] = field(default_factory=asyncio.Queue)

    def wants(self, run: Run) -> bool:
        """True when the run is followed by id or carries a followed tag."""
        return run.id in self.run_ids or not self.tags.isdisjoint(run.tags)

    def push(self, item: tuple[Run, str] | None) -> None:
        """Buffer an event; a full buffer ends the stream (the client reconnects)."""
        if self.queue.qsize() >= QUEUE_LIMIT:
            item = None
        self.queue.put_nowait(item)


class Hub:
    """Polls the engine for changed runs (every environment with streams) and fans
    them out to the open streams."""

    def __init__(self, engine: Engine, interval: float = POLL_INTERVAL) -> None:
        self.engine = engine
        self.interval = interval
        self._subscribers: set[Subscriber] = set()
        self._seen: dict[str, float] = {}
        self._task: asyncio.Task[None] | None = None
        self.polls = 0

    def add(self, subscriber: Subscriber) -> None:
        """Start delivering to ``subscriber`` (and polling, if this is the first)."""
        self._subscribers.add(subscriber)
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run())

    def remove(self, subscriber: Subscriber) -> None:
        """Stop delivering to ``subscriber``; polling stops with the last one."""
        self._subscribers.discard(subscriber)

    async def _run(self) -> None:
        while self._subscribers:
            await asyncio.sleep(self.interval)
            try:
                await self.poll()
            except Exception:  # the database blinked: keep the streams, try again
                _log.warning("realtime poll failed", exc_info=True)
                await asyncio.sleep(1.0)
        self._seen.clear()

    async def poll(self) -> None:
        """One round: read what changed for every environment with streams, deliver."""
        by_env: dict[str, list[Subscriber]] = {}
        for sub in self._subscribers:
            by_env.setdefault(sub.environment, []).append(sub)
        now = self.engine.now()
        since = now - LOOKBACK
        for environment, subs in by_env.items():
            run_ids = sorted({i for s in subs for i in s.run_ids})
            tags = sorted({t for s in subs for t in s.tags})
            changed = await db(
                self.engine.runs_changed, run_ids, tags, since, environment=environment
            )
            latest: dict[str, Run] = {}
            for _, run in changed:
                known = latest.get(run.id)
                if known is None or run.updated_at > known.updated_at:
                    latest[run.id] = run
            for run in sorted(latest.values(), key=lambda r: (r.updated_at, r.id)):
                if run.updated_at <= self._seen.get(run.id, -math.inf):
                    continue
                self._seen[run.id] = run.updated_at
                text = json.dumps(run_json(run), separators=(",", ":"))
                for sub in subs:
                    if sub.wants(run):
                        sub.push((run, text))
        self.polls += 1
        if len(self._seen) > 1000:
            self._seen = {k: v for k, v in self._seen.items() if v > since}


def hub_of(request: Request) -> Hub:
    """The app's hub (one per server process)."""
    runtime = request.app.state.runtime
    return app_singleton(request, "switchyard_hub", lambda: Hub(runtime.engine))


def _last_event(request: Request) -> tuple[float, str] | None:
    return parse_event_id(
        request.headers.get("last-event-id") or request.query_params.get("last_event_id")
    )


async def _stream(
    request: Request,
    subscriber: Subscriber,
    snapshot: Callable[[], Awaitable[list[Run]]],
    sent: dict[str, float],
    until_final: bool,
) -> AsyncIterator[str]:
    """The body of a stream: subscribe, send ``snapshot()``, then the hub's changes.

    Subscribing happens here, inside the body, so a client gone before the body
    starts leaves nothing behind; the snapshot is read after subscribing, so no
    change falls in between.
    """
    hub = hub_of(request)
    hub.add(subscriber)
    try:
        yield f"retry: {int(POLL_INTERVAL * 5000)}\n\n"
        for run in await snapshot():
            if run.updated_at > sent.get(run.id, -math.inf):
                sent[run.id] = run.updated_at
                yield format_event(run)
            if until_final and run.is_final:
                yield "event: end\ndata: {}\n\n"
                return
        while True:
            try:
                item = await asyncio.wait_for(subscriber.queue.get(), KEEPALIVE)
            except TimeoutError:
                yield ": keep-alive\n\n"
                continue
            if item is None:
                return  # too far behind: the client reconnects with Last-Event-ID
            run, text = item
            if run.updated_at <= sent.get(run.id, -math.inf):
                continue
            sent[run.id] = run.updated_at
            yield format_event(run, text)
            if until_final and run.is_final:
                yield "event: end\ndata: {}\n\n"
                return
    finally:
        hub.remove(subscriber)


def _sse(body: AsyncIterator[str]) -> StreamingResponse:
    return StreamingResponse(body, media_type="text/event-stream", headers=_HEADERS)


@operation(
    tag="realtime",
    summary="Subscribe to a run",
    operation_id="subscribeToRun",
    responses={"200": SSE, "204": {"description": "Finished, nothing new since Last-Event-ID"}},
    description="Server-sent events: the run now, then every change until it "
    "finishes, then `event: end`. Resumes from `Last-Event-ID`. Also allowed "
    "with a `read_run` public token (as `?access_token=`, for EventSource).",
    params=[RUN_ID, LAST_EVENT_ID],
    errors=("404",),
)
async def run_events(request: Request) -> Response:
    """``GET /api/v1/runs/{run_id}/events``: the run's changes until it finishes."""
    runtime = runtime_of(request)
    run_id: str = request.path_params["run_id"]
    last = _last_event(request)
    run = await db(runtime.engine.get_run, run_id)  # 404 before the stream starts
    if run.is_final and last is not None and run.updated_at <= last[0]:
        return Response(status_code=204)

    async def snapshot() -> list[Run]:
        return [await db(runtime.engine.get_run, run_id)]

    subscriber = Subscriber(runtime.engine.environment, run_ids=frozenset([run_id]))
    sent = {} if last is None else {run_id: last[0]}
    return _sse(_stream(request, subscriber, snapshot, sent, until_final=True))


@operation(
    tag="realtime",
    summary="Subscribe to runs with a tag",
    operation_id="subscribeToTag",
    responses={"200": SSE},
    description="Server-sent events for every run with any of the tags: the "
    "`limit` most recent first, then each change and each new run. Resumes "
    "from `Last-Event-ID`.",
    params=[
        {**query_param("tag", QUERY_STR, "A tag (repeatable)."), "required": True},
        query_param("limit", {"type": "integer", "minimum": 0, "maximum": 1000}, "100"),
        LAST_EVENT_ID,
    ],
)
async def tag_events(request: Request) -> Response:
    """``GET /api/v1/runs/events?tag=...``: runs with any of the tags, now and as they
    change; ``limit`` (0-1000, default 100) recent runs first."""
    runtime = runtime_of(request)
    tags = query_list(request, "tag")
    if not tags or len(tags) > 10 or any(len(t) > 128 for t in tags):
        raise ApiError(
            422, "invalid_request", "send 1 to 10 tags: ?tag=user:42 (repeatable, or a,b)"
        )
    limit = query_int(request, "limit", 100, 0, 1000)
    last = _last_event(request)
    environment = runtime.engine.environment

    async def snapshot() -> list[Run]:
        if last is not None:  # resumed: what changed since the last event
            since = last[0] - LOOKBACK
            changed = await db(runtime.engine.runs_changed, [], tags, since)
            latest = {run.id: run for _, run in changed}
            return sorted(latest.values(), key=lambda r: (r.updated_at, r.id))
        found: dict[str, Run] = {}
        for tag in tags if limit else ():
            filters = RunFilter(environment=environment, tag=tag)
            page = await db(runtime.engine.list_runs, filters, limit=limit)
            found.update((r.id, r) for r in page.runs)
        return sorted(found.values(), key=lambda r: r.id)[-limit:] if limit else []

    subscriber = Subscriber(environment, tags=frozenset(tags))
    sent = {} if last is None else {last[1]: last[0]}
    return _sse(_stream(request, subscriber, snapshot, sent, until_final=False))


def routes() -> list[BaseRoute]:
    """The realtime routes (listed before the run routes: ``/runs/events`` first)."""
    return [
        Route("/api/v1/runs/events", tag_events, methods=["GET"]),
        Route("/api/v1/runs/{run_id}/events", run_events, methods=["GET"]),
    ]
