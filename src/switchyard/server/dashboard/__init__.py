"""The dashboard: a browser app at ``/`` over the same HTTP API as every other client.

The page and its scripts are static files (plain ES modules, no build step) served
from this package; everything they show and do goes through ``/api/v1`` with the
credential the person signed in with: an API key, or a 12-hour session from the
dashboard password (``SWITCHYARD_DASHBOARD_PASSWORD``). So the dashboard can do
exactly what the API allows, and needs no SQL or engine calls of its own.
"""

from __future__ import annotations

import asyncio
import hmac
import re
from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from switchyard.core.api_keys import (
    DASHBOARD_SESSION,
    DASHBOARD_SESSION_PREFIX,
    DASHBOARD_SESSION_SECRET,
    DASHBOARD_SESSION_TTL,
    PublicClaims,
    password_fingerprint,
    sign_public_token,
)
from switchyard.core.version import VERSION
from switchyard.server.access import auth_failures, client_address
from switchyard.server.errors import ApiError
from switchyard.server.inputs import db, iso, read_object
from switchyard.server.openapi_parts import json_content
from switchyard.server.openapi_schemas import ref
from switchyard.server.operations import operation, undocumented
from switchyard.server.triggering import check_fields, invalid

INFO_PATH = "/api/v1/auth/dashboard"
SESSIONS_PATH = "/api/v1/auth/dashboard-sessions"
PUBLIC_PATHS = (
    re.compile(r"/"),
    re.compile(r"/dashboard/.+"),
    re.compile(re.escape(INFO_PATH)),
    re.compile(re.escape(SESSIONS_PATH)),
)
"""The page, its files, and signing in: no credential needed (the data needs one)."""

_DIR = Path(__file__).parent / "static"
_STATIC = StaticFiles(directory=_DIR)
_NO_CACHE = {"Cache-Control": "no-cache"}
_PAGE_HEADERS = {
    **_NO_CACHE,
    # Only this server's scripts run, and no other site can frame the page's buttons.
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; "
    "style-src 'self' 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
}


@undocumented
async def index(request: Request) -> Response:
    """``GET /``: the dashboard page (the app routes with ``#/...`` in the URL)."""
    return FileResponse(_DIR / "index.html", headers=_PAGE_HEADERS, media_type="text/html")


@operation(
    tag="auth",
    summary="How the dashboard signs in",
    operation_id="dashboardInfo",
    responses={"200": json_content(ref("DashboardInfo"))},
    public=True,
)
async def info(request: Request) -> JSONResponse:
    """``GET /api/v1/auth/dashboard``: how to sign in, and the limits the forms check."""
    runtime = request.app.state.runtime
    return JSONResponse(
        {
            "auth": bool(request.app.state.auth),
            "password": runtime.config.dashboard_password is not None,
            "environment": runtime.engine.environment,
            "version": VERSION,
            "max_payload_bytes": runtime.config.max_payload_bytes,
        },
        headers=_NO_CACHE,
    )


@operation(
    tag="auth",
    summary="Sign in to the dashboard with its password",
    operation_id="createDashboardSession",
    responses={"201": json_content(ref("DashboardSession"), "Created")},
    description="Only when a dashboard password is configured "
    "(`SWITCHYARD_DASHBOARD_PASSWORD`). The token is a bearer credential "
    "for the server's environment, valid 12 hours.",
    body=ref("DashboardSessionRequest"),
    body_required=True,
    errors=("400", "401", "404", "413", "422", "429"),
    public=True,
)
async def create_session(request: Request) -> JSONResponse:
    """``POST /api/v1/auth/dashboard-sessions`` with ``{"password": ...}``: a 12-hour
    bearer credential for the server's environment."""
    runtime = request.app.state.runtime
    password = runtime.config.dashboard_password
    if password is None:
        raise ApiError(
            404,
            "not_found",
            "no dashboard password is configured: sign in with an API key "
            "(`switchyard keys create`), or set SWITCHYARD_DASHBOARD_PASSWORD",
        )
    body = await read_object(request, 4096)
    check_fields(body, ("password",), "the request body")
    given = body.get("password")
    if not isinstance(given, str) or not given:
        raise invalid('send {"password": "..."}')
    # Throttled before the password is compared (10 wrong ones, then one every 5 s per
    # address, shared with wrong API keys): a throttled address learns nothing, even
    # from the right password. No await between the check and the count, so
    # concurrent guesses cannot all slip past one check.
    who = client_address(request.scope)
    failures = auth_failures(request)
    failures.check(who, "wrong passwords")
    if not hmac.compare_digest(given.encode(), password.encode()):
        failures.failed(who)
        await asyncio.sleep(0.25)  # slows guessing down further, costs a person nothing
        raise ApiError(401, "unauthorized", "wrong dashboard password")
    secret = await db(runtime.engine.secret, DASHBOARD_SESSION_SECRET)
    environment = runtime.engine.environment
    claims = PublicClaims(
        environment,
        DASHBOARD_SESSION,
        password_fingerprint(password),
        runtime.clock.now() + DASHBOARD_SESSION_TTL,
    )
    return JSONResponse(
        {
            "token": sign_public_token(secret, claims, DASHBOARD_SESSION_PREFIX),
            "environment": environment,
            "expires_at": iso(claims.expires_at),
        },
        status_code=201,
    )


def routes() -> list[BaseRoute]:
    """The page, its static files, and the sign-in routes."""
    return [
        Route("/", index, methods=["GET"]),
        Route(INFO_PATH, info, methods=["GET"]),
        Route(SESSIONS_PATH, create_session, methods=["POST"]),
        Mount("/dashboard", app=_STATIC, name="dashboard"),
    ]
