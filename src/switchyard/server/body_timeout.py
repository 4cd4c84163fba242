"""Request bodies that stall are answered ``408`` instead of holding a connection forever.

Without a deadline, a client that sends its headers and part of a body, then nothing,
keeps a connection and a request open until it goes away, so a few hundred such
clients tie up a server. :class:`BodyTimeoutMiddleware` gives each body ``timeout``
seconds, plus one second per KiB received (a large body on a slow link still
arrives; one that drips a byte now and then does not), and then answers
``408 request_timeout`` and closes the connection. ``SWITCHYARD_BODY_TIMEOUT`` sets
it (seconds or a duration like ``1m``; default 30; ``off`` for none).
"""

from __future__ import annotations

import asyncio
import os

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from switchyard.core.durations import parse_duration
from switchyard.core.errors import ConfigError, InvalidOptionError
from switchyard.server.errors import ApiError, error_response

BODY_TIMEOUT_ENV = "SWITCHYARD_BODY_TIMEOUT"
DEFAULT_BODY_TIMEOUT = 30.0
"""Seconds a request body may take (plus one per KiB received)."""
_BYTES_PER_EXTRA_SECOND = 1024


def parse_body_timeout(text: str | None) -> float | None:
    """``"30"`` / ``"1m"`` → seconds; ``"off"`` / ``"0"`` → None (no deadline)."""
    if text is None or not text.strip():
        return DEFAULT_BODY_TIMEOUT
    value = text.strip().lower()
    if value in ("off", "none", "0"):
        return None
    try:
        seconds = parse_duration(value, option=BODY_TIMEOUT_ENV)
    except InvalidOptionError:
        raise ConfigError(
            f"invalid {BODY_TIMEOUT_ENV}={text!r}: expected seconds like '30', a duration "
            "like '1m', or 'off'"
        ) from None
    return seconds if seconds > 0 else None


def body_timeout_from_env() -> float | None:
    """The body timeout in ``SWITCHYARD_BODY_TIMEOUT`` (default 30 s)."""
    return parse_body_timeout(os.environ.get(BODY_TIMEOUT_ENV))


class BodyTimeoutError(ApiError):
    """The request body did not arrive in time (a 408 that closes the connection)."""

    def __init__(self, timeout: float) -> None:
        super().__init__(
            408,
            "request_timeout",
            f"the request body did not arrive within {timeout:g}s: send the whole body "
            "at once, and check the Content-Length you send matches it",
            {"Connection": "close"},
        )


class BodyTimeoutMiddleware:
    """Give every request body a deadline (see the module's docstring)."""

    def __init__(self, app: ASGIApp, *, timeout: float | None) -> None:
        self.app = app
        self.timeout = timeout

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        timeout = self.timeout
        if scope["type"] != "http" or timeout is None:
            await self.app(scope, receive, send)
            return
        loop = asyncio.get_running_loop()
        complete = False
        deadline: float | None = None
        started = False

        async def timed_receive() -> Message:
            nonlocal complete, deadline
            if complete:  # the body is in: later receives wait for a disconnect
                return await receive()
            if deadline is None:  # from the moment the app starts reading
                deadline = loop.time() + timeout
            try:
                async with asyncio.timeout_at(deadline):
                    message = await receive()
            except TimeoutError:
                raise BodyTimeoutError(timeout) from None
            if message["type"] != "http.request" or not message.get("more_body", False):
                complete = True
            else:
                deadline += len(message.get("body", b"")) / _BYTES_PER_EXTRA_SECOND
            return message

        async def tracked_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, timed_receive, tracked_send)
        except BodyTimeoutError as exc:
            # Route handlers' 408 is rendered by the app's ApiError handler; this is
            # for code outside it. After a response started, closing is all that's left.
            if not started:
                response = error_response(exc.status, exc.code, exc.message, exc.headers)
                await response(scope, receive, send)
