"""``GET /healthz``: the process is up and can reach its database."""

from __future__ import annotations

import re

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Route

from switchyard.core.version import VERSION
from switchyard.server.errors import ApiError
from switchyard.server.inputs import db, runtime_of
from switchyard.server.openapi_parts import error_refs, json_content
from switchyard.server.openapi_schemas import ref
from switchyard.server.operations import operation

PUBLIC_PATHS = (re.compile(r"/healthz"),)
"""Load balancers probe this without an API key."""


@operation(
    tag="health",
    summary="Health check",
    operation_id="healthz",
    responses={"200": json_content(ref("Health")), **error_refs("503")},
    description="200 when the process is up and reaches its database.",
    public=True,
)
async def healthz(request: Request) -> JSONResponse:
    """200 ``{"status": "ok", ...}`` when the database answers, else 503."""
    runtime = runtime_of(request)
    try:
        await db(runtime.engine.ping)
    except Exception as exc:
        raise ApiError(503, "unavailable", f"database unreachable: {type(exc).__name__}") from exc
    return JSONResponse(
        {
            "status": "ok",
            "version": VERSION,
            "environment": runtime.engine.environment,
        }
    )


def routes() -> list[BaseRoute]:
    """The health route."""
    return [Route("/healthz", healthz, methods=["GET"])]
