"""The ``Idempotency-Key`` request header: an HTTP retry never does the work twice.

The first request with a key reserves it (in the database, so every server process
sees it), does the work and stores its response for 24 hours; a retry with the same
key and the same request gets that response again, with ``Idempotent-Replayed: true``.
A retry that arrives while the first is still in flight gets 409 (try again in a
moment); the same key on a different request is a 422. A request that fails stores
nothing, so its retry is handled afresh.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import Response

from switchyard.sdk.runtime import Runtime
from switchyard.server.errors import ApiError
from switchyard.server.inputs import db

HEADER = "idempotency-key"
TTL = 24 * 3600.0
STALE_AFTER = 60.0
"""A reservation this old (its server died mid-request) is taken over by a retry."""
MAX_KEY = 255
_PURGE_EVERY = 600.0

_last_purge = 0.0


def request_hash(request: Request, body: bytes) -> str:
    """What makes two requests "the same": method, path, query and body."""
    digest = hashlib.sha256()
    for part in (request.method, request.url.path, request.url.query):
        digest.update(part.encode())
        digest.update(b"\0")
    digest.update(body)
    return digest.hexdigest()


async def idempotent(
    request: Request,
    runtime: Runtime,
    body: bytes,
    handle: Callable[[], Awaitable[Response]],
) -> Response:
    """Run ``handle`` once per ``Idempotency-Key`` (or every time without the header)."""
    global _last_purge
    key = request.headers.get(HEADER)
    if key is None:
        return await handle()
    if not key or len(key) > MAX_KEY or not key.isprintable():
        raise ApiError(
            422,
            "invalid_request",
            f"invalid Idempotency-Key header: 1 to {MAX_KEY} printable characters, e.g. a UUID",
        )
    storage = runtime.storage
    environment = runtime.engine.environment
    fingerprint = request_hash(request, body)
    now = runtime.clock.now()
    if time.monotonic() - _last_purge > _PURGE_EVERY:
        _last_purge = time.monotonic()
        await db(storage.purge_requests, now)
    stored = await db(storage.begin_request, environment, key, fingerprint, now, TTL, STALE_AFTER)
    if stored is not None:
        if stored.status == 0 or stored.response is None:
            raise ApiError(
                409,
                "request_in_progress",
                "a request with this Idempotency-Key is still being handled; retry shortly",
                {"Retry-After": "1"},
            )
        if stored.request_hash != fingerprint:
            raise ApiError(
                422,
                "idempotency_key_reused",
                "this Idempotency-Key was already used for a different request; use a new "
                "key for each new request (and the same key only to retry one)",
            )
        return Response(
            stored.response,
            status_code=stored.status,
            media_type="application/json",
            headers={"Idempotent-Replayed": "true"},
        )
    # Shielded: a client that hangs up mid-request must not leave the work done but
    # its response unstored (a retry would then do it again).
    return await asyncio.shield(_handle_and_store(runtime, environment, key, handle))


async def _handle_and_store(
    runtime: Runtime, environment: str, key: str, handle: Callable[[], Awaitable[Response]]
) -> Response:
    storage = runtime.storage
    try:
        response = await handle()
    except Exception:
        await db(storage.release_request, environment, key)
        raise
    if response.status_code >= 300:
        await db(storage.release_request, environment, key)
        return response
    await db(
        storage.finish_request,
        environment,
        key,
        response.status_code,
        bytes(response.body).decode(),
        runtime.clock.now(),
        TTL,
    )
    return response
