"""Task routes: list tasks (with payload JSON Schemas), trigger, batch trigger.

``POST /api/v1/tasks/{task_id}/trigger`` takes ``{"payload": ..., "options": {...}}``
with every trigger option of :meth:`switchyard.Task.trigger`. A batch is written in
one transaction: all of its runs are created, or none.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from switchyard.core.idempotency import scoped_key
from switchyard.core.models import NewRun, TaskInfo, TriggerResult
from switchyard.core.options import TriggerOptions
from switchyard.engine import Engine
from switchyard.runtime import Runtime
from switchyard.server.idempotency import Reservation, idempotent
from switchyard.server.inputs import EMPTY, db, parse_json, read_body, runtime_of
from switchyard.server.openapi_parts import IDEMPOTENCY_HEADER, TASK_ID, json_content
from switchyard.server.openapi_schemas import ref
from switchyard.server.operations import operation
from switchyard.server.triggering import (
    MAX_BATCH,
    OPTION_FIELDS,
    TaskCache,
    TriggerWriter,
    check_fields,
    duration,
    invalid,
    new_run,
    parse_options,
)
from switchyard.server.views import app_singleton, task_json

PREFIX = "/api/v1/tasks"
_TRIGGER_FIELDS = ("payload", "options")
_BATCH_FIELDS = ("items", "options", "idempotency_key", "idempotency_key_ttl")
_ITEM_FIELDS = ("task", "payload", "options")


def _tasks(request: Request) -> TaskCache:
    return app_singleton(request, "switchyard_task_cache", TaskCache)


def _writer(request: Request, runtime: Runtime) -> TriggerWriter:
    return app_singleton(
        request, "switchyard_trigger_writer", lambda: TriggerWriter(runtime.engine)
    )


def _object(data: Any, fields: tuple[str, ...], where: str) -> dict[str, Any]:
    if data is EMPTY:
        return {}
    if not isinstance(data, dict):
        raise invalid(f"the request body must be a JSON object with {', '.join(fields)}")
    check_fields(data, fields, where)
    return data


def _result_json(result: TriggerResult) -> dict[str, Any]:
    return {"id": result.run_id, "task_id": result.task_id, "is_cached": result.is_cached}


def _render_trigger(results: Sequence[TriggerResult]) -> Response:
    [result] = results
    return JSONResponse(_result_json(result), status_code=200 if result.is_cached else 201)


def writer(request: Request, runtime: Runtime) -> TriggerWriter:
    """The app's :class:`TriggerWriter` (every route that makes runs writes through it)."""
    return _writer(request, runtime)


# -- routes ------------------------------------------------------------------------------
@operation(
    tag="tasks",
    summary="List tasks",
    operation_id="listTasks",
    responses={"200": json_content(ref("TaskList"))},
    description="Tasks that workers registered in the key's environment, with "
    "the JSON Schema of each schema task's payload.",
)
async def list_tasks(request: Request) -> JSONResponse:
    """``GET /api/v1/tasks``: every task workers registered, with payload schemas."""
    runtime = runtime_of(request)
    tasks = await db(runtime.engine.list_tasks)
    return JSONResponse({"data": [task_json(t) for t in tasks]})


@operation(
    tag="tasks",
    summary="Retrieve a task",
    operation_id="retrieveTask",
    responses={"200": json_content(ref("Task"))},
    params=[TASK_ID],
    errors=("404",),
)
async def retrieve_task(request: Request) -> JSONResponse:
    """``GET /api/v1/tasks/{task_id}``."""
    runtime = runtime_of(request)
    info = await _tasks(request).get(runtime, request.path_params["task_id"])
    return JSONResponse(task_json(info))


@operation(
    tag="tasks",
    summary="Trigger a run",
    operation_id="triggerTask",
    responses={
        "201": json_content(ref("TriggerResult"), "Created"),
        "200": json_content(ref("TriggerResult"), "An existing run (idempotency key)"),
    },
    description="The payload is validated against the task's schema (422 with "
    "`errors` when it fails) and no run is made on any error.",
    params=[TASK_ID, IDEMPOTENCY_HEADER],
    body=ref("TriggerRequest"),
    errors=("404", "409", "413"),
)
async def trigger(request: Request) -> Response:
    """``POST /api/v1/tasks/{task_id}/trigger``: ``{payload, options}`` → the run's id."""
    runtime = runtime_of(request)
    limit = runtime.config.max_payload_bytes
    body = await read_body(request, 2 * limit + 65536)

    async def handle(reservation: Reservation | None) -> Response:
        data = _object(parse_json(body), _TRIGGER_FIELDS, "the request body")
        info = await _tasks(request).get(runtime, request.path_params["task_id"])
        options = parse_options(data.get("options"))
        new = new_run(runtime, info, data.get("payload"), options)
        results = await _writer(request, runtime).write([new], reservation, _render_trigger)
        return _render_trigger(results)

    return await idempotent(request, runtime, body, handle)


async def _batch(request: Request, task_id: str | None) -> Response:
    runtime = runtime_of(request)
    limit = runtime.config.max_payload_bytes
    body = await read_body(request, 4 * limit + 65536)

    async def handle(reservation: Reservation | None) -> Response:
        data = _object(parse_json(body), _BATCH_FIELDS, "the request body")
        items = data.get("items")
        if not isinstance(items, list) or not 1 <= len(items) <= MAX_BATCH:
            raise invalid(f"items must be a list of 1 to {MAX_BATCH} items")
        shared = data.get("options")
        if shared is not None and not isinstance(shared, dict):
            raise invalid("options must be an object (options for every item)")
        parse_options(shared)  # report a bad shared option once, by its own name
        key = data.get("idempotency_key")
        if key is not None and (not isinstance(key, str) or not 1 <= len(key) <= 512):
            raise invalid(f"invalid idempotency_key={key!r}: expected a string of 1-512 chars")
        key_ttl = data.get("idempotency_key_ttl")
        if key_ttl is not None:
            duration(key_ttl, "idempotency_key_ttl")
        batch_id = Engine.new_batch_id(runtime.clock.now())
        runs: list[NewRun] = []
        tasks = _tasks(request)
        for index, item in enumerate(items):
            where = f"items[{index}]"
            if not isinstance(item, dict):
                raise invalid(f"{where} must be an object with payload and options")
            allowed = _ITEM_FIELDS if task_id is None else _ITEM_FIELDS[1:]
            check_fields(item, allowed, where)
            item_task = task_id if task_id is not None else item.get("task")
            if not isinstance(item_task, str) or not item_task:
                raise invalid(f"{where}.task must be the id of the task to trigger")
            own = item.get("options")
            if own is not None and not isinstance(own, dict):
                raise invalid(f"{where}.options must be an object")
            merged = {**(shared or {}), **(own or {})}
            if key is not None and "idempotency_key" not in (own or {}):
                merged["idempotency_key"] = None
            options = parse_options(merged, f"{where}.options")
            if key is not None and "idempotency_key" not in (own or {}):
                options = _with_key(options, scoped_key([key, str(index)], "global"), key_ttl)
            info: TaskInfo = await tasks.get(runtime, item_task)
            runs.append(new_run(runtime, info, item.get("payload"), options, batch_id=batch_id))

        def render(results: Sequence[TriggerResult]) -> Response:
            return JSONResponse(
                {"batch_id": batch_id, "runs": [_result_json(r) for r in results]},
                status_code=201,
            )

        return render(await _writer(request, runtime).write(runs, reservation, render))

    return await idempotent(request, runtime, body, handle)


def _with_key(options: TriggerOptions, key: str, ttl: Any) -> TriggerOptions:
    from dataclasses import replace

    changes: dict[str, Any] = {"idempotency_key": key}
    if ttl is not None and options.idempotency_key_ttl is None:
        changes["idempotency_key_ttl"] = duration(ttl, "idempotency_key_ttl")
    return replace(options, **changes)


@operation(
    tag="tasks",
    summary="Batch trigger runs of a task",
    operation_id="batchTriggerTask",
    responses={"201": json_content(ref("BatchResult"), "Created")},
    description="Up to 1,000 items in one transaction: all runs or none.",
    params=[TASK_ID, IDEMPOTENCY_HEADER],
    body=ref("BatchTriggerRequest"),
    body_required=True,
    errors=("404", "409", "413"),
)
async def batch_trigger_task(request: Request) -> Response:
    """``POST /api/v1/tasks/{task_id}/batch-trigger``: ``{items: [{payload, options}],
    options, idempotency_key, idempotency_key_ttl}`` → ``{batch_id, runs}``."""
    return await _batch(request, request.path_params["task_id"])


@operation(
    tag="tasks",
    summary="Batch trigger runs of several tasks",
    operation_id="batchTrigger",
    responses={"201": json_content(ref("BatchResult"), "Created")},
    description="Like the task route; each item names its `task`.",
    params=[IDEMPOTENCY_HEADER],
    body=ref("BatchTriggerRequest"),
    body_required=True,
    errors=("404", "409", "413"),
)
async def batch_trigger(request: Request) -> Response:
    """``POST /api/v1/batch-trigger``: like the task route, each item naming its task."""
    return await _batch(request, None)


def routes() -> list[BaseRoute]:
    """The task routes."""
    return [
        Route(PREFIX, list_tasks, methods=["GET"]),
        Route(PREFIX + "/{task_id}", retrieve_task, methods=["GET"]),
        Route(PREFIX + "/{task_id}/trigger", trigger, methods=["POST"]),
        Route(PREFIX + "/{task_id}/batch-trigger", batch_trigger_task, methods=["POST"]),
        Route("/api/v1/batch-trigger", batch_trigger, methods=["POST"]),
    ]


__all__ = ["OPTION_FIELDS", "routes"]
