"""The JSON error shape of the API: ``{"error": {"code": "...", "message": "..."}}``.

Routes raise :class:`ApiError`; switchyard's own errors and Starlette's HTTP errors
(unknown path, wrong method) are turned into the same shape, so a client never has
to parse anything else, and bad input never becomes a 500.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Match, Route

from switchyard.core.errors import (
    InvalidJSONValueError,
    InvalidOptionError,
    NotSerializableError,
    NotWaitingError,
    PayloadTooLargeError,
    PayloadValidationError,
    RunNotFoundError,
    SwitchyardError,
    UnknownTaskError,
)

_HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "invalid_request",
    429: "rate_limited",
    500: "internal_error",
}


class ApiError(Exception):
    """An error response: HTTP status, a stable machine-readable code, a message."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        headers: Mapping[str, str] | None = None,
        details: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = dict(headers or {})
        self.details = dict(details or {})


def error_response(
    status: int,
    code: str,
    message: str,
    headers: Mapping[str, str] | None = None,
    details: Mapping[str, Any] | None = None,
) -> JSONResponse:
    """A JSON error response in the API's shape (``details`` add fields, e.g. ``errors``)."""
    return JSONResponse(
        {"error": {"code": code, "message": message, **(details or {})}},
        status_code=status,
        headers=headers,
    )


async def _api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return error_response(exc.status, exc.code, exc.message, exc.headers, exc.details)


_METHOD_ORDER = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def allowed_methods(request: Request) -> list[str]:
    """Every method some route takes at the request's path (a path often has one route
    per method, and Starlette's 405 names only the first one's)."""
    methods: set[str] = set()
    for route in request.app.routes:
        if isinstance(route, Route) and route.methods:
            match, _ = route.matches(request.scope)
            if match != Match.NONE:
                methods |= route.methods
    order = {m: i for i, m in enumerate(_METHOD_ORDER)}
    return sorted(methods, key=lambda m: (order.get(m, len(order)), m))


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    status = exc.status_code
    code = _HTTP_CODES.get(status, "http_error")
    message = exc.detail
    headers = dict(exc.headers or {})
    if status == 404:
        message = f"no route for {request.method} {request.url.path}"
    elif status == 405:
        allowed = ", ".join(allowed_methods(request)) or headers.get("Allow", "")
        if allowed:
            headers["Allow"] = allowed
        message = f"{request.method} is not allowed here; use {allowed or 'another method'}"
    return error_response(status, code, message, headers)


async def _switchyard_error(request: Request, exc: Exception) -> Response:
    if isinstance(exc, PayloadTooLargeError):
        return error_response(413, "payload_too_large", str(exc))
    if isinstance(exc, PayloadValidationError):
        return error_response(422, "invalid_payload", str(exc), details={"errors": exc.errors})
    if isinstance(exc, RunNotFoundError | UnknownTaskError):
        return error_response(404, "not_found", str(exc))
    if isinstance(exc, NotWaitingError):
        return error_response(409, "conflict", str(exc))
    if isinstance(exc, InvalidJSONValueError):
        return error_response(422, "invalid_json_value", str(exc), details={"path": exc.path})
    if isinstance(exc, InvalidOptionError | NotSerializableError):
        return error_response(422, "invalid_request", str(exc))
    return error_response(400, "bad_request", str(exc))


async def _unexpected(request: Request, exc: Exception) -> Response:
    # Starlette re-raises after this, so the server logs the traceback once.
    return error_response(500, "internal_error", "internal server error; see the server log")


EXCEPTION_HANDLERS = {
    ApiError: _api_error,
    HTTPException: _http_error,
    SwitchyardError: _switchyard_error,
    Exception: _unexpected,
}
"""Handlers for :class:`~starlette.applications.Starlette`'s ``exception_handlers``."""
