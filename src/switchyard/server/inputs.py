"""Reading requests safely: size-limited bodies, JSON, query parameters, times.

Everything here raises :class:`~switchyard.server.errors.ApiError` with a message that
says what was wrong, so bad input is a 400/413/422 and never a 500.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable
from typing import Any, TypeVar

from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect, Request

from switchyard.core import jsonutil
from switchyard.core.errors import InvalidJSONValueError
from switchyard.runtime import Runtime
from switchyard.server.errors import ApiError

T = TypeVar("T")

EMPTY = object()
"""Returned by :func:`read_json` for an empty (or all-whitespace) body."""


def runtime_of(request: Request) -> Runtime:
    """The runtime of the request's environment (its API key's), else the app's."""
    runtime: Runtime = request.scope.get("switchyard.runtime") or request.app.state.runtime
    return runtime


async def db(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run a (blocking) engine call in a worker thread."""
    return await run_in_threadpool(fn, *args, **kwargs)


def _too_large(limit: int) -> ApiError:
    return ApiError(
        413,
        "payload_too_large",
        f"request body is over the {limit}-byte limit: send a reference to large data instead",
    )


async def read_body(request: Request, limit: int) -> bytes:
    """The request body, refusing more than ``limit`` bytes.

    Checks ``Content-Length`` first, then counts while reading, so a lying or missing
    header (chunked encoding) cannot get more than ``limit`` bytes into memory.
    """
    length = request.headers.get("content-length")
    if length is not None:
        try:
            declared = int(length)
        except ValueError:
            raise ApiError(400, "bad_request", f"invalid Content-Length {length!r}") from None
        if declared > limit:
            raise _too_large(limit)
    chunks: list[bytes] = []
    size = 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise _too_large(limit)
            chunks.append(chunk)
    except ClientDisconnect:
        raise ApiError(400, "bad_request", "the client disconnected while sending") from None
    return b"".join(chunks)


def parse_json(body: bytes) -> Any:
    """Decode a JSON body (UTF-8/16/32); :data:`EMPTY` for an empty one.

    Unparsable JSON (``NaN`` and ``Infinity`` included) is a 400; JSON that parses to a
    value switchyard cannot store (``1e999``, which Python reads as infinity, a lone
    surrogate, NUL) is an :class:`~switchyard.core.errors.InvalidJSONValueError` (422)
    naming its place in the body, before any route looks at it.
    """
    if not body.strip():
        return EMPTY
    try:
        return jsonutil.parse(body, what="the request body")
    except InvalidJSONValueError:
        raise
    except (ValueError, RecursionError) as exc:
        raise ApiError(
            400, "invalid_json", f"the request body must be JSON (it could not be parsed: {exc})"
        ) from None


async def read_json(request: Request, limit: int) -> Any:
    """The request body decoded as JSON (:data:`EMPTY` when there is no body)."""
    return parse_json(await read_body(request, limit))


async def read_object(request: Request, limit: int) -> dict[str, Any]:
    """A JSON object body; an empty body is ``{}``."""
    data = await read_json(request, limit)
    if data is EMPTY:
        return {}
    if not isinstance(data, dict):
        raise ApiError(422, "invalid_request", "the request body must be a JSON object")
    return data


def iso(timestamp: float | None) -> str | None:
    """A Unix timestamp as ISO 8601 in UTC (``2025-01-02T03:04:05.678Z``), or None."""
    if timestamp is None:
        return None
    try:
        moment = dt.datetime.fromtimestamp(timestamp, dt.UTC)
    except (OverflowError, OSError, ValueError):  # beyond year 1-9999: clamp
        moment = dt.datetime.max if timestamp > 0 else dt.datetime.min
        moment = moment.replace(tzinfo=dt.UTC)
    text = moment.isoformat(timespec="milliseconds")
    return text.replace("+00:00", "Z")


def parse_time(value: str, name: str) -> float:
    """Epoch seconds or an ISO 8601 datetime (no offset means UTC) as a timestamp."""
    try:
        number = float(value)
    except ValueError:
        pass
    else:
        if math.isfinite(number):
            return number
    try:
        moment = dt.datetime.fromisoformat(value.strip())
    except ValueError:
        raise ApiError(
            422,
            "invalid_request",
            f"invalid {name}={value!r}: expected epoch seconds or an ISO 8601 datetime "
            "like 2025-01-31T12:00:00Z",
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.timestamp()


def query_int(request: Request, name: str, default: int, low: int, high: int) -> int:
    """An integer query parameter within ``[low, high]``."""
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    try:
        number = float(raw)  # "1.0" is the whole number 1, as JSON Schema has it
        value = int(number) if number.is_integer() else low - 1
    except (ValueError, OverflowError):
        value = low - 1
    if not low <= value <= high:
        raise ApiError(
            422,
            "invalid_request",
            f"invalid {name}={raw!r}: expected a whole number from {low} to {high}",
        )
    return value


def query_list(request: Request, name: str) -> list[str]:
    """A repeatable, comma-separable query parameter (``?status=a,b&status=c``)."""
    out: list[str] = []
    for raw in request.query_params.getlist(name):
        out.extend(part.strip() for part in raw.split(",") if part.strip())
    return out
