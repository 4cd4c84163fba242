"""The ``Idempotency-Key`` request header: an HTTP retry never does the work twice.

The first request with a key reserves it (in the database, so every server process
sees it), does the work and stores its response for 24 hours; a retry with the same
key and the same request gets that response again, with ``Idempotent-Replayed: true``.
A retry that arrives while the first is still in flight gets 409 (try again in a
moment); the same key on a different request is a 422. A request that fails stores
nothing, so its retry is handled afresh.

Requests that make runs store their response in the transaction that makes the runs
(:class:`Reservation`, passed to the handler): a server that dies after that commit
has already stored what the retry gets, so the retry never makes a second run. One
that dies before it leaves a reservation that a retry takes over after
:data:`STALE_AFTER`; should the first request still be alive and commit later, its
transaction finds the key taken over and is rolled back, runs and all.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import Response

from switchyard.core.api_keys import RequestResponse, RequestTakenOverError
from switchyard.core.models import TriggerResult
from switchyard.runtime import Runtime
from switchyard.server.errors import ApiError
from switchyard.server.inputs import db

HEADER = "idempotency-key"
TTL = 24 * 3600.0
STALE_AFTER = 15.0
"""A reservation this old (its server died mid-request) is taken over by a retry.

Short, since a takeover is always safe: the first request, if it is alive after all,
can no longer store its runs (it answers 409 and its client's retry gets the
response of the request that took over)."""
MAX_KEY = 255
_PURGE_EVERY = 600.0

_last_purge = 0.0


@dataclass
class Reservation:
    """A request's hold on its ``Idempotency-Key``, made at ``reserved_at``.

    A handler that makes runs passes it, with a ``render`` of the response, to the
    write of the runs (:meth:`response`): the response is then stored in the same
    transaction and ``stored`` is set.
    """

    environment: str
    key: str
    reserved_at: float
    stored: bool = False

    def response(
        self,
        first: int,
        count: int,
        render: Callable[[Sequence[TriggerResult]], tuple[int, str]],
    ) -> RequestResponse:
        """What storage needs to store the response with runs ``first`` to ``first+count``."""
        return RequestResponse(
            self.environment, self.key, self.reserved_at, first, count, render, TTL
        )


def _in_progress() -> ApiError:
    return ApiError(
        409,
        "request_in_progress",
        "a request with this Idempotency-Key is still being handled; retry shortly",
        {"Retry-After": "1"},
    )


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
    handle: Callable[[Reservation | None], Awaitable[Response]],
) -> Response:
    """Run ``handle`` once per ``Idempotency-Key`` (or every time without the header).

    ``handle`` gets the request's :class:`Reservation` (None without the header).
    """
    global _last_purge
    key = request.headers.get(HEADER)
    if key is None:
        return await handle(None)
    if not key or len(key) > MAX_KEY or not key.isprintable():
        raise ApiError(
            422,
            "invalid_request",
            f"invalid Idempotency-Key header: 1 to {MAX_KEY} printable characters, e.g. a UUID",
        )
    engine = runtime.engine
    environment = engine.environment
    fingerprint = request_hash(request, body)
    now = runtime.clock.now()
    if time.monotonic() - _last_purge > _PURGE_EVERY:
        _last_purge = time.monotonic()
        await db(engine.purge_requests, now)
    stored = await db(engine.begin_request, key, fingerprint, now, TTL, STALE_AFTER)
    if stored is not None:
        if stored.status == 0 or stored.response is None:
            raise _in_progress()
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
    reservation = Reservation(environment, key, now)
    return await asyncio.shield(_handle_and_store(runtime, reservation, handle))


async def _handle_and_store(
    runtime: Runtime,
    reservation: Reservation,
    handle: Callable[[Reservation | None], Awaitable[Response]],
) -> Response:
    engine = runtime.engine
    held = (reservation.key, reservation.reserved_at)
    try:
        response = await handle(reservation)
    except RequestTakenOverError:
        # A retry took the key over (this request looked dead): nothing of this one
        # was stored; the retry's response is the one to get.
        raise _in_progress() from None
    except Exception:
        await db(engine.release_request, *held)
        raise
    if reservation.stored:
        return response
    if response.status_code >= 300:
        await db(engine.release_request, *held)
        return response
    # A response that did not come with runs (none so far): stored on its own.
    body = bytes(response.body).decode()
    now = runtime.clock.now()
    await db(engine.finish_request, *held, response.status_code, body, now, TTL)
    return response
