"""``GET /healthz``: the process is up and can reach its database."""

from __future__ import annotations

import re

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Route

from switchyard.core.version import VERSION
from switchyard.server.errors import ApiError
from switchyard.server.inputs import db, runtime_of

PUBLIC_PATHS = (re.compile(r"/healthz"),)
"""Load balancers probe this without an API key."""


async def healthz(request: Request) -> JSONResponse:
    """200 ``{"status": "ok", ...}`` when the database answers, else 503."""
    runtime = runtime_of(request)
    try:
        await db(runtime.storage.get_waitpoint, runtime.engine.environment, "healthz")
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
