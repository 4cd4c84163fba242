"""``POST /api/v1/auth/public-tokens``: short-lived tokens a browser may hold.

A secret key makes them; each one reads one run (``read_run``: retrieve it and follow
its events) or completes one token (``complete_token``), in the key's environment,
until it expires (15 minutes by default, 7 days at most).
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Route

from switchyard.core.api_keys import (
    COMPLETE_TOKEN,
    MAX_PUBLIC_TOKEN_TTL,
    PUBLIC_SCOPES,
    PUBLIC_TOKEN_SECRET,
    READ_RUN,
    PublicClaims,
    sign_public_token,
)
from switchyard.core.waitpoints import WaitpointKind
from switchyard.server.access import require_secret_key
from switchyard.server.errors import ApiError
from switchyard.server.inputs import db, iso, read_object, runtime_of
from switchyard.server.openapi_parts import json_content
from switchyard.server.openapi_schemas import ref
from switchyard.server.operations import operation
from switchyard.server.triggering import check_fields, duration, invalid

PATH = "/api/v1/auth/public-tokens"
DEFAULT_TTL = 15 * 60.0


@operation(
    tag="auth",
    summary="Create a public token",
    operation_id="createPublicToken",
    responses={"201": json_content(ref("PublicToken"), "Created")},
    description="A short-lived token for browsers: `read_run` reads one run "
    "and follows its events; `complete_token` completes one token. Needs a "
    "secret key.",
    body=ref("PublicTokenRequest"),
    body_required=True,
    errors=("404",),
)
async def create_public_token(request: Request) -> JSONResponse:
    """``{"scope": "read_run" | "complete_token", "id": ..., "expires_in": "15m"}``."""
    require_secret_key(request)
    runtime = runtime_of(request)
    body = await read_object(request, 4096)
    check_fields(body, ("scope", "id", "expires_in"), "the request body")
    scope, target = body.get("scope"), body.get("id")
    if scope not in PUBLIC_SCOPES:
        raise invalid(f"invalid scope={scope!r}: expected one of {', '.join(PUBLIC_SCOPES)}")
    if not isinstance(target, str) or not 1 <= len(target) <= 256 or "\x00" in target:
        raise invalid("id must be the id of the run (read_run) or token (complete_token)")
    expires_in = body.get("expires_in")
    ttl = DEFAULT_TTL if expires_in is None else duration(expires_in, "expires_in")
    if not 0 < ttl <= MAX_PUBLIC_TOKEN_TTL:
        raise invalid(f"invalid expires_in={expires_in!r}: more than 0 and at most 7 days")
    environment = runtime.engine.environment
    if scope == READ_RUN:
        await db(runtime.engine.get_run, target)  # 404 for an unknown run
    elif scope == COMPLETE_TOKEN:
        found = await db(runtime.engine.get_waitpoint, target)
        if found is None or found.kind != WaitpointKind.TOKEN:
            raise ApiError(404, "not_found", f"no token {target!r} in this environment")
    secret = await db(runtime.engine.secret, PUBLIC_TOKEN_SECRET)
    claims = PublicClaims(environment, scope, target, runtime.clock.now() + ttl)
    return JSONResponse(
        {
            "token": sign_public_token(secret, claims),
            "scope": scope,
            "id": target,
            "environment": environment,
            "expires_at": iso(claims.expires_at),
        },
        status_code=201,
    )


def routes() -> list[BaseRoute]:
    """The public-token route."""
    return [Route(PATH, create_public_token, methods=["POST"])]
