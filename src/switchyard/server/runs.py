"""Run routes: list (filtered, paginated), retrieve, cancel, replay, reschedule, metadata.

Realtime updates of runs (server-sent events) are in :mod:`switchyard.server.events`.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from switchyard.core import jsonutil
from switchyard.core.errors import RunNotFoundError, UnknownTaskError
from switchyard.core.idempotency import scoped_key
from switchyard.core.models import RunFilter, TriggerResult
from switchyard.core.states import RunStatus
from switchyard.engine.enqueue import resolve_delay
from switchyard.server.errors import ApiError
from switchyard.server.idempotency import Reservation, idempotent
from switchyard.server.inputs import (
    EMPTY,
    db,
    parse_json,
    parse_time,
    query_int,
    query_list,
    read_body,
    read_object,
    runtime_of,
)
from switchyard.server.openapi_parts import (
    CREATED,
    CURSOR,
    IDEMPOTENCY_HEADER,
    LIMIT,
    RUN_ID,
    json_content,
    query_param,
    statuses,
)
from switchyard.server.openapi_schemas import DURATION_TEXT, QUERY_STR, ref
from switchyard.server.operations import operation
from switchyard.server.tasks_api import _tasks, writer
from switchyard.server.triggering import check_fields, duration, invalid, moment, payload_json
from switchyard.server.views import attempt_json, run_json, waitpoint_json

PREFIX = "/api/v1/runs"
_STATUSES = ", ".join(s.value for s in RunStatus)
_FILTERS = (
    "status",
    "task",
    "tag",
    "queue",
    "created_after",
    "created_before",
    "period",
    "batch_id",
    "idempotency_key",
    "parent_run_id",
    "limit",
    "cursor",
)


@operation(
    tag="runs",
    summary="List runs",
    operation_id="listRuns",
    responses={"200": json_content(ref("RunList"))},
    description="Newest first. `status` and `task` are repeatable or "
    "comma-separated; `period` (`1h`, `7d`) keeps runs created that recently.",
    params=[
        query_param(
            "status",
            statuses([s.value for s in RunStatus]),
            "Run status(es): QUEUED, COMPLETED, ...",
        ),
        query_param("task", {"type": "array", "items": QUERY_STR}, "Task id(s)."),
        query_param("tag", QUERY_STR, "Runs with this tag."),
        query_param("queue", QUERY_STR, "Runs in this queue."),
        *CREATED,
        query_param("period", DURATION_TEXT, "Created within this long ago: 1h, 7d."),
        query_param("batch_id", QUERY_STR, "Runs of this batch."),
        query_param("idempotency_key", QUERY_STR, "The run with this key."),
        query_param("parent_run_id", QUERY_STR, "Children of this run."),
        LIMIT,
        CURSOR,
    ],
)
async def list_runs(request: Request) -> JSONResponse:
    """``GET /api/v1/runs``: newest first; ``{data, next_cursor}``.

    Filters: ``status`` and ``task`` (repeatable or comma-separated), ``tag``, ``queue``,
    ``batch_id``, ``idempotency_key``, ``parent_run_id``, the created period as
    ``created_after`` / ``created_before`` (epoch seconds or ISO 8601) or ``period``
    (``1h``, ``7d``: created within that long ago); ``limit`` (1-1000, default 50) and
    ``cursor`` (the previous page's ``next_cursor``).
    """
    runtime = runtime_of(request)
    params = request.query_params
    unknown = sorted(set(params) - set(_FILTERS) - {"access_token"})
    if unknown:
        raise invalid(
            f"unknown query parameter(s) {', '.join(unknown)}; known: {', '.join(_FILTERS)}"
        )
    statuses = []
    for raw in query_list(request, "status"):
        try:
            statuses.append(RunStatus(raw.upper()))
        except ValueError:
            raise invalid(f"unknown status {raw!r}; expected one of {_STATUSES}") from None
    after = params.get("created_after")
    before = params.get("created_before")
    created_after = parse_time(after, "created_after") if after else None
    period = params.get("period")
    if period:
        since = runtime.clock.now() - duration(period, "period")
        created_after = since if created_after is None else max(created_after, since)
    key = params.get("idempotency_key") or None
    filters = RunFilter(
        environment=runtime.engine.environment,
        statuses=tuple(statuses),
        task_ids=tuple(query_list(request, "task")),
        tag=params.get("tag") or None,
        queue=params.get("queue") or None,
        created_after=created_after,
        created_before=parse_time(before, "created_before") if before else None,
        idempotency_key=None if key is None else scoped_key(key, "global"),
        batch_id=params.get("batch_id") or None,
        parent_run_id=params.get("parent_run_id") or None,
    )
    limit = query_int(request, "limit", 50, 1, 1000)
    page = await db(
        partial(runtime.engine.list_runs, filters, limit=limit, cursor=params.get("cursor") or None)
    )
    return JSONResponse({"data": [run_json(r) for r in page.runs], "next_cursor": page.next_cursor})


@operation(
    tag="runs",
    summary="Retrieve a run",
    operation_id="retrieveRun",
    responses={"200": json_content(ref("RunWithAttempts"))},
    description="Also allowed with a `read_run` public token for this run.",
    params=[RUN_ID],
    errors=("404",),
)
async def retrieve_run(request: Request) -> JSONResponse:
    """``GET /api/v1/runs/{run_id}``: the run with its attempts."""
    runtime = runtime_of(request)
    run_id = request.path_params["run_id"]
    run = await db(runtime.engine.get_run, run_id)
    attempts = await db(runtime.engine.list_attempts, run_id)
    return JSONResponse({**run_json(run), "attempts": [attempt_json(a) for a in attempts]})


@operation(
    tag="runs",
    summary="Cancel a run",
    operation_id="cancelRun",
    responses={"200": json_content(ref("CancelResult"))},
    description="Cancels the run and its unfinished children; a finished run "
    "is left as it is (`canceled` is empty).",
    params=[RUN_ID],
    errors=("404",),
)
async def cancel_run(request: Request) -> JSONResponse:
    """``POST /api/v1/runs/{run_id}/cancel``: cancel it and its unfinished children."""
    runtime = runtime_of(request)
    run_id = request.path_params["run_id"]
    canceled = await db(runtime.engine.cancel, run_id)
    run = await db(runtime.engine.get_run, run_id)
    return JSONResponse({"id": run_id, "status": str(run.status), "canceled": canceled})


def _render_replay(results: Sequence[TriggerResult]) -> Response:
    [result] = results
    return JSONResponse(
        {"id": result.run_id, "task_id": result.task_id, "is_cached": False}, status_code=201
    )


@operation(
    tag="runs",
    summary="Replay a run",
    operation_id="replayRun",
    responses={"201": json_content(ref("TriggerResult"), "Created")},
    description="A new run of the same task and options, with the same or a new payload.",
    params=[RUN_ID, IDEMPOTENCY_HEADER],
    body=ref("ReplayRequest"),
    errors=("404", "409", "413"),
)
async def replay_run(request: Request) -> Response:
    """``POST /api/v1/runs/{run_id}/replay``: a new run of the same task and options,
    with the same payload or ``{"payload": ...}``."""
    runtime = runtime_of(request)
    limit = runtime.config.max_payload_bytes
    body = await read_body(request, limit + 65536)

    async def handle(reservation: Reservation | None) -> Response:
        data = parse_json(body)
        if data is EMPTY:
            data = {}
        if not isinstance(data, dict):
            raise invalid('the request body must be a JSON object like {"payload": ...}')
        check_fields(data, ("payload",), "the request body")
        run = await db(runtime.engine.get_run, request.path_params["run_id"])
        text = None
        if "payload" in data:
            try:
                info = await _tasks(request).get(runtime, run.task_id)
            except UnknownTaskError:
                text = jsonutil.dumps(data["payload"], what="payload", limit=limit)
            else:
                text = payload_json(runtime, info, data["payload"])
        new = await db(runtime.engine.replay_run, run.id, text)
        results = await writer(request, runtime).write([new], reservation, _render_replay)
        return _render_replay(results)

    return await idempotent(request, runtime, body, handle)


@operation(
    tag="runs",
    summary="List a run's waitpoints",
    operation_id="listRunWaitpoints",
    responses={"200": json_content(ref("WaitpointList"))},
    description="What the run waited on or waits on now (time waits, tokens, "
    "child runs, batches), with their outputs, oldest first.",
    params=[RUN_ID],
    errors=("404",),
)
async def run_waitpoints(request: Request) -> JSONResponse:
    """``GET /api/v1/runs/{run_id}/waitpoints``: what the run waited on or waits on now
    (time waits, tokens, child runs, batches) with their outputs, oldest first."""
    runtime = runtime_of(request)
    found = await db(runtime.engine.run_waitpoints, request.path_params["run_id"])
    return JSONResponse({"data": [waitpoint_json(w) for w in found]})


@operation(
    tag="runs",
    summary="Skip a run's time wait",
    operation_id="skipRunWait",
    responses={"200": json_content(ref("SkipResult"))},
    description="Ends the `wait.for_` / `wait.until` a WAITING run is in, now. "
    "409 when the run is not waiting, or waits on a token or a child run.",
    params=[RUN_ID],
    errors=("404", "409"),
)
async def skip_wait(request: Request) -> JSONResponse:
    """``POST /api/v1/runs/{run_id}/skip-wait``: end the time wait (``wait.for_`` /
    ``wait.until``) a WAITING run is in, now; 409 when it is in none."""
    runtime = runtime_of(request)
    skipped = await db(runtime.engine.skip_wait, request.path_params["run_id"])
    return JSONResponse({"skipped": [waitpoint_json(w) for w in skipped]})


@operation(
    tag="runs",
    summary="Reschedule a delayed run",
    operation_id="rescheduleRun",
    responses={"200": json_content(ref("Run"))},
    description="Only a run waiting for its `delay` (not a retry) can move.",
    params=[RUN_ID],
    body=ref("RescheduleRequest"),
    body_required=True,
    errors=("404", "409"),
)
async def reschedule_run(request: Request) -> JSONResponse:
    """``POST /api/v1/runs/{run_id}/reschedule`` with ``{"delay": "1h" | datetime}``:
    move a run that waits for its ``delay`` to a new time."""
    runtime = runtime_of(request)
    data = await read_object(request, 65536)
    check_fields(data, ("delay",), "the request body")
    if data.get("delay") is None:
        raise invalid('send {"delay": ...}: a duration from now like "1h", or a datetime')
    run_id = request.path_params["run_id"]
    now = runtime.clock.now()
    until = resolve_delay(moment(data["delay"], "delay"), now)
    assert until is not None
    run, moved = await db(runtime.engine.reschedule_run, run_id, until, now)
    if run is None:
        raise RunNotFoundError(run_id)
    if not moved:
        raise ApiError(
            409,
            "conflict",
            f"run {run_id} is {run.status}"
            + (" (waiting to retry)" if run.status == RunStatus.DELAYED else "")
            + ": only a run delayed with the delay option, not yet started, can be rescheduled",
        )
    return JSONResponse(run_json(run))


@operation(
    tag="runs",
    summary="Replace a run's metadata",
    operation_id="updateRunMetadata",
    responses={"200": json_content(ref("Run"))},
    params=[RUN_ID],
    body=ref("MetadataRequest"),
    body_required=True,
    errors=("404", "413"),
)
async def update_metadata(request: Request) -> JSONResponse:
    """``PUT /api/v1/runs/{run_id}/metadata`` with ``{"metadata": {...}}``: replace it."""
    runtime = runtime_of(request)
    limit = runtime.config.max_payload_bytes
    data = await read_object(request, limit + 65536)
    check_fields(data, ("metadata",), "the request body")
    metadata: Any = data.get("metadata")
    if not isinstance(metadata, dict):
        raise invalid('send {"metadata": {...}}: the new metadata, a JSON object')
    text = jsonutil.dumps(metadata, what="metadata", limit=limit)
    run_id = request.path_params["run_id"]
    run = await db(runtime.engine.update_run_metadata, run_id, text)
    if run is None:
        raise RunNotFoundError(run_id)
    return JSONResponse(run_json(run))


def routes() -> list[BaseRoute]:
    """The run routes (the realtime ones come from :mod:`~switchyard.server.events`)."""
    return [
        Route(PREFIX, list_runs, methods=["GET"]),
        Route(PREFIX + "/{run_id}", retrieve_run, methods=["GET"]),
        Route(PREFIX + "/{run_id}/cancel", cancel_run, methods=["POST"]),
        Route(PREFIX + "/{run_id}/replay", replay_run, methods=["POST"]),
        Route(PREFIX + "/{run_id}/reschedule", reschedule_run, methods=["POST"]),
        Route(PREFIX + "/{run_id}/waitpoints", run_waitpoints, methods=["GET"]),
        Route(PREFIX + "/{run_id}/skip-wait", skip_wait, methods=["POST"]),
        Route(PREFIX + "/{run_id}/metadata", update_metadata, methods=["PUT"]),
    ]
