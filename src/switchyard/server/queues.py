"""Queue and environment routes: list, retrieve with stats, pause, resume, limits.

Queue names may contain ``/`` (every task has ``task/<id>``): send them as they are
(``/api/v1/queues/task/send-email``) or URL-encoded (``task%2Fsend-email``).
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Route

from switchyard.core.errors import QueueNotFoundError
from switchyard.core.models import EnvironmentInfo, QueueStats
from switchyard.server.errors import ApiError
from switchyard.server.inputs import db, iso, read_object, runtime_of
from switchyard.server.openapi_parts import QUEUE, json_content, query_param
from switchyard.server.openapi_schemas import BOOL, ref
from switchyard.server.operations import operation
from switchyard.server.triggering import check_fields, invalid
from switchyard.server.views import queue_json

PREFIX = "/api/v1/queues"
ENVIRONMENT = "/api/v1/environment"
MAX_LIMIT = 1_000_000
_STATS = json_content(ref("QueueStats"))
_ENVIRONMENT = json_content(ref("Environment"))


def stats_json(stats: QueueStats) -> dict[str, Any]:
    """A queue's stats as the API returns them (durations in seconds)."""
    return asdict(stats)


def environment_json(info: EnvironmentInfo) -> dict[str, Any]:
    """The environment: paused or not, its limit, and its workers."""
    return {
        "name": info.name,
        "paused": info.paused,
        "concurrency_limit": info.concurrency_limit,
        "running": info.running,
        "workers": [
            {
                "id": w.id,
                "hostname": w.hostname,
                "pid": w.pid,
                "task_ids": list(w.task_ids),
                "started_at": iso(w.started_at),
                "heartbeat_at": iso(w.heartbeat_at),
                "running": w.running,
            }
            for w in info.workers
        ],
    }


def _name(request: Request) -> str:
    name: str = request.path_params["name"]
    if not name or len(name) > 256:
        raise invalid("a queue name is 1 to 256 characters")
    return name


async def _stats(request: Request, name: str) -> JSONResponse:
    runtime = runtime_of(request)
    try:
        stats = await db(runtime.engine.queue_stats, name)
    except QueueNotFoundError as exc:
        raise ApiError(404, "not_found", str(exc)) from None
    return JSONResponse(stats_json(stats))


async def _limit(request: Request) -> int | None:
    body = await read_object(request, 4096)
    check_fields(body, ("limit",), "the request body")
    if "limit" not in body:
        raise invalid('send {"limit": N}: a whole number from 0 to 1000000, or null')
    limit = body["limit"]
    if limit is not None and (
        isinstance(limit, bool) or not isinstance(limit, int) or not 0 <= limit <= MAX_LIMIT
    ):
        raise invalid(f"invalid limit={limit!r}: a whole number from 0 to {MAX_LIMIT}, or null")
    return limit


# -- queues ---------------------------------------------------------------------------
@operation(
    tag="queues",
    summary="List queues",
    operation_id="listQueues",
    responses={"200": json_content(ref("QueueList"))},
    description="With `stats=true`, each queue comes with its stats (as "
    "`GET /api/v1/queues/{name}`).",
    params=[query_param("stats", BOOL, "Add each queue's stats.")],
)
async def list_queues(request: Request) -> JSONResponse:
    """``GET /api/v1/queues``: every queue with its queued and running counts
    (``?stats=true``: with each queue's stats instead)."""
    runtime = runtime_of(request)
    queues = await db(runtime.engine.list_queues)
    with_stats = request.query_params.get("stats", "false").lower()
    if with_stats not in ("true", "false", "1", "0"):
        raise invalid(f"invalid stats={with_stats!r}: true or false")
    if with_stats in ("true", "1"):
        found = []
        for queue in queues:
            try:
                found.append(stats_json(await db(runtime.engine.queue_stats, queue.name)))
            except QueueNotFoundError:
                continue  # deleted since it was listed
        return JSONResponse({"data": found})
    return JSONResponse({"data": [queue_json(q) for q in queues]})


@operation(
    tag="queues",
    summary="Retrieve a queue with stats",
    operation_id="retrieveQueue",
    responses={"200": _STATS},
    params=[QUEUE],
    errors=("404",),
)
async def retrieve_queue(request: Request) -> JSONResponse:
    """``GET /api/v1/queues/{name}``: counts, limit, oldest queued, starts, waits."""
    return await _stats(request, _name(request))


@operation(
    tag="queues",
    summary="Pause a queue",
    operation_id="pauseQueue",
    responses={"200": _STATS},
    description="Running runs finish; queued ones wait; triggers are accepted.",
    params=[QUEUE],
    errors=("404",),
)
async def pause_queue(request: Request) -> JSONResponse:
    """``POST /api/v1/queues/{name}/pause``: running runs finish, queued ones wait."""
    name = _name(request)
    await db(runtime_of(request).engine.pause_queue, name)
    return await _stats(request, name)


@operation(
    tag="queues",
    summary="Resume a queue",
    operation_id="resumeQueue",
    responses={"200": _STATS},
    params=[QUEUE],
    errors=("404",),
)
async def resume_queue(request: Request) -> JSONResponse:
    """``POST /api/v1/queues/{name}/resume``."""
    name = _name(request)
    await db(runtime_of(request).engine.resume_queue, name)
    return await _stats(request, name)


@operation(
    tag="queues",
    summary="Override a queue's concurrency limit",
    operation_id="overrideQueueLimit",
    responses={"200": _STATS},
    params=[QUEUE],
    body=ref("LimitRequest"),
    body_required=True,
    errors=("404",),
)
async def override_limit(request: Request) -> JSONResponse:
    """``PUT /api/v1/queues/{name}/concurrency-limit`` with ``{"limit": N}``."""
    name = _name(request)
    limit = await _limit(request)
    await db(runtime_of(request).engine.set_queue_limit, name, limit)
    return await _stats(request, name)


@operation(
    tag="queues",
    summary="Reset a queue's limit to the code's",
    operation_id="resetQueueLimit",
    responses={"200": _STATS},
    params=[QUEUE],
    errors=("404",),
)
async def reset_limit(request: Request) -> JSONResponse:
    """``DELETE /api/v1/queues/{name}/concurrency-limit``: back to the code's limit."""
    name = _name(request)
    await _stats(request, name)  # 404 for an unknown queue
    await db(runtime_of(request).engine.set_queue_limit, name, None)
    return await _stats(request, name)


# -- the environment -------------------------------------------------------------------
@operation(
    tag="environment",
    summary="Retrieve the environment",
    operation_id="retrieveEnvironment",
    responses={"200": _ENVIRONMENT},
    description="The environment of the API key: paused or not, limit, workers.",
)
async def retrieve_environment(request: Request) -> JSONResponse:
    """``GET /api/v1/environment``: the key's environment."""
    info = await db(runtime_of(request).engine.environment_info)
    return JSONResponse(environment_json(info))


@operation(
    tag="environment",
    summary="Pause the environment",
    operation_id="pauseEnvironment",
    responses={"200": _ENVIRONMENT},
)
async def pause_environment(request: Request) -> JSONResponse:
    """``POST /api/v1/environment/pause``: no run of the environment starts."""
    engine = runtime_of(request).engine
    await db(engine.pause_environment)
    return JSONResponse(environment_json(await db(engine.environment_info)))


@operation(
    tag="environment",
    summary="Resume the environment",
    operation_id="resumeEnvironment",
    responses={"200": _ENVIRONMENT},
)
async def resume_environment(request: Request) -> JSONResponse:
    """``POST /api/v1/environment/resume``."""
    engine = runtime_of(request).engine
    await db(engine.resume_environment)
    return JSONResponse(environment_json(await db(engine.environment_info)))


@operation(
    tag="environment",
    summary="Set the environment's concurrency limit",
    operation_id="setEnvironmentLimit",
    responses={"200": _ENVIRONMENT},
    body=ref("LimitRequest"),
    body_required=True,
)
async def environment_limit(request: Request) -> JSONResponse:
    """``PUT /api/v1/environment/concurrency-limit`` with ``{"limit": N | null}``."""
    engine = runtime_of(request).engine
    limit = await _limit(request)
    await db(engine.set_environment_limit, limit)
    return JSONResponse(environment_json(await db(engine.environment_info)))


def routes() -> list[BaseRoute]:
    """The queue and environment routes."""
    return [
        Route(PREFIX, list_queues, methods=["GET"]),
        Route(PREFIX + "/{name:path}/pause", pause_queue, methods=["POST"]),
        Route(PREFIX + "/{name:path}/resume", resume_queue, methods=["POST"]),
        Route(PREFIX + "/{name:path}/concurrency-limit", override_limit, methods=["PUT"]),
        Route(PREFIX + "/{name:path}/concurrency-limit", reset_limit, methods=["DELETE"]),
        Route(PREFIX + "/{name:path}", retrieve_queue, methods=["GET"]),
        Route(ENVIRONMENT, retrieve_environment, methods=["GET"]),
        Route(ENVIRONMENT + "/pause", pause_environment, methods=["POST"]),
        Route(ENVIRONMENT + "/resume", resume_environment, methods=["POST"]),
        Route(ENVIRONMENT + "/concurrency-limit", environment_limit, methods=["PUT"]),
    ]
