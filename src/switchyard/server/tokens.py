"""Token routes: create, list, retrieve, complete, time out, and the callback URL.

The callback URL (``POST /api/v1/waitpoints/tokens/{id}/callback/{signature}``) is a
capability of its own: it needs no API key, only the signature, an HMAC of the token
id under a random per-database secret. The signature is checked first, in constant
time, so someone without a URL learns nothing, not even which token ids exist.
"""

from __future__ import annotations

import datetime as dt
import re
from functools import partial
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Route

from switchyard.core import jsonutil
from switchyard.core.durations import parse_duration
from switchyard.core.errors import InvalidOptionError
from switchyard.core.idempotency import scoped_key
from switchyard.core.waitpoints import (
    Waitpoint,
    WaitpointFilter,
    WaitpointStatus,
)
from switchyard.engine.tokens import (
    CALLBACK_PREFIX,
    TimeoutLike,
    TokenNotFoundError,
    signature_ok,
)
from switchyard.engine.tokens import callback_url as signed_url
from switchyard.runtime import Runtime
from switchyard.server.access import auth_failures, auth_of, client_address
from switchyard.server.errors import ApiError
from switchyard.server.inputs import (
    EMPTY,
    db,
    parse_time,
    query_int,
    query_list,
    read_json,
    read_object,
    runtime_of,
)
from switchyard.server.openapi_parts import (
    CREATED,
    CURSOR,
    LIMIT,
    TOKEN_ID,
    json_content,
    path_param,
    query_param,
    statuses,
)
from switchyard.server.openapi_schemas import ANY, QUERY_STR, ref
from switchyard.server.operations import operation
from switchyard.server.views import waitpoint_json

PREFIX = CALLBACK_PREFIX
CALLBACK_PATH = PREFIX + "/{token_id}/callback/{signature}"
PUBLIC_PATHS = (re.compile(re.escape(PREFIX) + r"/[^/]+/callback/[^/]+"),)
"""Paths that take no API key: the callback URL is its own capability."""

_CREATE_FIELDS = ("timeout", "idempotency_key", "idempotency_key_ttl", "tags")
_STATUSES = ", ".join(s.value for s in WaitpointStatus)


# -- helpers ----------------------------------------------------------------------------
async def callback_secret(request: Request) -> str:
    """The per-database secret that signs callback URLs (read once, then cached)."""
    state = request.app.state
    secret: str | None = getattr(state, "callback_secret", None)
    if secret is None:
        secret = await db(runtime_of(request).engine.callback_secret)
        state.callback_secret = secret
    return secret


def callback_url(runtime: Runtime, secret: str, token_id: str) -> str:
    """A token's callback URL (the same as :func:`switchyard.wait.token_url`)."""
    return signed_url(runtime.config.public_url, secret, token_id)


_TOKEN_FIELDS = (
    "id",
    "status",
    "output",
    "error",
    "tags",
    "idempotency_key",
    "timeout_at",
    "created_at",
    "completed_at",
    "created_by_run_id",
)


def token_json(runtime: Runtime, secret: str, token: Waitpoint) -> dict[str, Any]:
    """A token as the API returns it: the waitpoint fields a token has, and its URL."""
    data = waitpoint_json(token)
    return {
        **{name: data[name] for name in _TOKEN_FIELDS},
        "url": callback_url(runtime, secret, token.id),
    }


def _for_caller(request: Request, data: dict[str, Any]) -> dict[str, Any]:
    """``data`` without the callback URL for a public token: the URL never expires, so a
    15-minute token must not be a way to get it."""
    auth = auth_of(request)
    if auth is not None and auth.kind == "public":
        return {k: v for k, v in data.items() if k != "url"}
    return data


def _invalid(message: str) -> ApiError:
    return ApiError(422, "invalid_request", message)


def _not_found(token_id: str) -> ApiError:
    return ApiError(404, "not_found", f"no token {token_id!r} in this environment")


async def _get_token(runtime: Runtime, token_id: str) -> Waitpoint:
    try:
        return await db(runtime.engine.get_token, token_id)
    except TokenNotFoundError:
        raise _not_found(token_id) from None


def _timeout(value: Any) -> TimeoutLike:
    """A duration (``"1h"``, ``3600``) or an ISO 8601 datetime with an offset."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise _invalid(f"invalid timeout={value!r}: expected a duration like '1h' or a datetime")
    if isinstance(value, str):
        try:
            parse_duration(value, option="timeout")
        except InvalidOptionError:
            try:
                moment = dt.datetime.fromisoformat(value.strip())
            except ValueError:
                raise _invalid(
                    f"invalid timeout={value!r}: expected a duration like '30s', '1h', '2d' "
                    "or an ISO 8601 datetime like 2025-01-31T12:00:00Z"
                ) from None
            if moment.tzinfo is None:
                raise _invalid(
                    f"invalid timeout={value!r}: a datetime needs an offset (Z or +hh:mm)"
                ) from None
            return moment
    return value


def _strings(name: str, value: Any) -> str | list[str] | None:
    texts = [value] if isinstance(value, str) else value if isinstance(value, list) else []
    if any(isinstance(v, str) and "\x00" in v for v in texts):
        raise _invalid(f"invalid {name}: NUL characters are not allowed")
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return value
    raise _invalid(f"invalid {name}={value!r}: expected a string or a list of strings")


async def _settle(
    runtime: Runtime,
    token: str | Waitpoint,
    *,
    output_json: str | None = None,
    timed_out: bool = False,
) -> tuple[Waitpoint, bool]:
    """Complete or time out a token (its id, or the token just read); returns it as it
    now stands and whether it had already been completed or timed out (first wins)."""
    engine = runtime.engine
    try:
        if timed_out:
            return await db(partial(engine.time_out_token, token, door="http"))
        return await db(partial(engine.complete_token, token, output_json, door="http"))
    except TokenNotFoundError:
        raise _not_found(token if isinstance(token, str) else token.id) from None


# -- routes -----------------------------------------------------------------------------
@operation(
    tag="tokens",
    summary="Complete a token through its callback URL",
    operation_id="tokenCallback",
    responses={"200": json_content(ref("CallbackResult"))},
    description="No API key: the signed URL is the capability. The JSON body "
    "(any JSON; empty means {}) becomes the output.",
    params=[TOKEN_ID, path_param("signature", "The URL's signature.")],
    body=ANY,
    errors=("400", "401", "404", "413", "422", "429"),
    public=True,
)
async def callback(request: Request) -> JSONResponse:
    """``POST`` the token's callback URL: its JSON body becomes the token's output.

    An empty body completes the token with ``{}`` (webhooks that only ping still
    complete it). First completion wins; later POSTs get 200 and change nothing.
    """
    runtime = runtime_of(request)
    token_id: str = request.path_params["token_id"]
    signature: str = request.path_params["signature"]
    who, failures = client_address(request.scope), auth_failures(request)
    failures.check(who, "invalid callback signatures")
    if not signature_ok(await callback_secret(request), token_id, signature):
        failures.failed(who)
        raise ApiError(
            401,
            "invalid_signature",
            "invalid callback signature: POST to the token's url exactly as it was given",
        )
    try:  # the signed URL is the capability: the token may be in any environment
        found = await db(partial(runtime.engine.get_token, token_id, any_environment=True))
    except TokenNotFoundError:
        raise ApiError(404, "not_found", f"no token {token_id!r}") from None
    limit = runtime.config.max_payload_bytes
    data = await read_json(request, limit)
    output = jsonutil.dumps({} if data is EMPTY else data, what="token output", limit=limit)
    token, already = await _settle(runtime, found, output_json=output)
    return JSONResponse({"id": token.id, "status": str(token.status), "already_completed": already})


@operation(
    tag="tokens",
    summary="Create a token",
    operation_id="createToken",
    responses={
        "201": json_content(ref("TokenCreated"), "Created"),
        "200": json_content(ref("TokenCreated"), "An existing token (idempotency key)"),
    },
    body=ref("TokenCreateRequest"),
    errors=("413",),
)
async def create_token(request: Request) -> JSONResponse:
    """``POST /api/v1/waitpoints/tokens``: ``{timeout, idempotency_key,
    idempotency_key_ttl, tags}`` → ``{id, url, is_cached}`` (201, or 200 if cached)."""
    runtime = runtime_of(request)
    body = await read_object(request, runtime.config.max_payload_bytes)
    unknown = sorted(set(body) - set(_CREATE_FIELDS))
    if unknown:
        raise _invalid(f"unknown field(s) {', '.join(unknown)}; known: {', '.join(_CREATE_FIELDS)}")
    ttl = body.get("idempotency_key_ttl")
    if ttl is not None and (isinstance(ttl, bool) or not isinstance(ttl, str | int | float)):
        raise _invalid(f"invalid idempotency_key_ttl={ttl!r}: expected a duration like '1d'")
    key = _strings("idempotency_key", body.get("idempotency_key"))
    new = runtime.engine.new_token(
        timeout=_timeout(body.get("timeout")),
        idempotency_key=None if key is None else scoped_key(key, "global"),
        idempotency_key_ttl=ttl,
        tags=_strings("tags", body.get("tags")),
    )
    token, cached = await db(runtime.engine.create_token, new)
    url = callback_url(runtime, await callback_secret(request), token.id)
    return JSONResponse(
        {"id": token.id, "url": url, "is_cached": cached}, status_code=200 if cached else 201
    )


@operation(
    tag="tokens",
    summary="List tokens",
    operation_id="listTokens",
    responses={"200": json_content(ref("TokenList"))},
    params=[
        query_param(
            "status",
            statuses([s.value for s in WaitpointStatus]),
            "PENDING, COMPLETED, TIMED_OUT (repeatable).",
        ),
        query_param("tag", QUERY_STR, "Tokens with this tag."),
        query_param("idempotency_key", QUERY_STR, "The token with this key."),
        *CREATED,
        LIMIT,
        CURSOR,
    ],
)
async def list_tokens(request: Request) -> JSONResponse:
    """``GET /api/v1/waitpoints/tokens``: newest first, filtered; ``{data, next_cursor}``.

    Query: ``status`` (repeatable or comma-separated), ``tag``, ``idempotency_key``,
    ``created_after`` / ``created_before`` (epoch seconds or ISO 8601), ``limit``
    (1-1000, default 50), ``cursor`` (the ``next_cursor`` of the previous page).
    """
    runtime = runtime_of(request)
    params = request.query_params
    statuses = []
    for raw in query_list(request, "status"):
        try:
            statuses.append(WaitpointStatus(raw.upper()))
        except ValueError:
            raise _invalid(f"unknown status {raw!r}; expected one of {_STATUSES}") from None
    key = params.get("idempotency_key") or None
    after, before = params.get("created_after"), params.get("created_before")
    filters = WaitpointFilter(
        environment=runtime.engine.environment,
        statuses=tuple(statuses),
        tag=params.get("tag") or None,
        idempotency_key=None if key is None else scoped_key(key, "global"),
        created_after=None if not after else parse_time(after, "created_after"),
        created_before=None if not before else parse_time(before, "created_before"),
    )
    limit = query_int(request, "limit", 50, 1, 1000)
    page, cursor = await db(
        runtime.engine.list_tokens, filters, limit, params.get("cursor") or None
    )
    secret = await callback_secret(request)
    return JSONResponse(
        {"data": [token_json(runtime, secret, t) for t in page], "next_cursor": cursor}
    )


@operation(
    tag="tokens",
    summary="Retrieve a token",
    operation_id="retrieveToken",
    responses={"200": json_content(ref("Token"))},
    params=[TOKEN_ID],
    errors=("404",),
)
async def retrieve_token(request: Request) -> JSONResponse:
    """``GET /api/v1/waitpoints/tokens/{id}``: the token, with its output or error."""
    runtime = runtime_of(request)
    token = await _get_token(runtime, request.path_params["token_id"])
    data = token_json(runtime, await callback_secret(request), token)
    return JSONResponse(_for_caller(request, data))


@operation(
    tag="tokens",
    summary="Complete a token",
    operation_id="completeToken",
    responses={"200": json_content(ref("TokenSettled"))},
    description="`data` becomes the output. The first completion wins; later "
    "ones change nothing (`already_completed`). Also allowed with a "
    "`complete_token` public token.",
    params=[TOKEN_ID],
    body=ref("TokenCompleteRequest"),
    errors=("404", "413"),
)
async def complete_token(request: Request) -> JSONResponse:
    """``POST /api/v1/waitpoints/tokens/{id}/complete`` with ``{"data": ...}``.

    ``data`` becomes the output (``null`` when left out). Returns the token and
    ``already_completed``; completing a finished token changes nothing.
    """
    runtime = runtime_of(request)
    limit = runtime.config.max_payload_bytes
    body = await read_object(request, limit)
    unknown = sorted(set(body) - {"data"})
    if unknown:
        raise _invalid(f'unknown field(s) {", ".join(unknown)}; send {{"data": ...}}')
    token_id = request.path_params["token_id"]
    token = await _get_token(runtime, token_id)  # a missing token: 404 before a bad body
    output = jsonutil.dumps(body.get("data"), what="token output", limit=limit)
    done, already = await _settle(runtime, token, output_json=output)
    data = token_json(runtime, await callback_secret(request), done)
    return JSONResponse({**_for_caller(request, data), "already_completed": already})


@operation(
    tag="tokens",
    summary="Time a token out now",
    operation_id="timeoutToken",
    responses={"200": json_content(ref("TokenSettled"))},
    params=[TOKEN_ID],
    errors=("404",),
)
async def timeout_token(request: Request) -> JSONResponse:
    """``POST /api/v1/waitpoints/tokens/{id}/timeout``: time the token out now.

    Runs waiting on it get a timed-out result. A finished token is left as it is.
    """
    runtime = runtime_of(request)
    done, already = await _settle(runtime, request.path_params["token_id"], timed_out=True)
    data = token_json(runtime, await callback_secret(request), done)
    return JSONResponse({**data, "already_completed": already})


def routes() -> list[BaseRoute]:
    """The token routes."""
    return [
        Route(PREFIX, create_token, methods=["POST"]),
        Route(PREFIX, list_tokens, methods=["GET"]),
        Route(PREFIX + "/{token_id}", retrieve_token, methods=["GET"]),
        Route(PREFIX + "/{token_id}/complete", complete_token, methods=["POST"]),
        Route(PREFIX + "/{token_id}/timeout", timeout_token, methods=["POST"]),
        Route(CALLBACK_PATH, callback, methods=["POST"]),
    ]
