"""API-key check: ``Authorization: Bearer <key>`` on every route that is not public.

For now there is one key, from ``SWITCHYARD_API_KEY`` (per-environment keys come
later). Token callback URLs never take it: each one is its own capability (an HMAC
of the token id), so rotating API keys never breaks outstanding URLs.
"""

from __future__ import annotations

import hmac
import os
import re
from collections.abc import Sequence

from starlette.types import ASGIApp, Receive, Scope, Send

from switchyard.server.errors import error_response

API_KEY_ENV = "SWITCHYARD_API_KEY"


def api_key_from_env() -> str | None:
    """The API key the server requires, or None when ``SWITCHYARD_API_KEY`` is unset."""
    return os.environ.get(API_KEY_ENV) or None


class ApiKeyMiddleware:
    """Require the API key on every HTTP request whose path is not in ``public``.

    Secure by default: a new route needs the key unless its path is listed as public.
    """

    def __init__(self, app: ASGIApp, *, api_key: str, public: Sequence[re.Pattern[str]]) -> None:
        self.app = app
        self._expected = f"Bearer {api_key}".encode()
        self._public = tuple(public)

    def _is_public(self, path: str) -> bool:
        return any(p.fullmatch(path) for p in self._public)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self._is_public(scope["path"]):
            await self.app(scope, receive, send)
            return
        given = b""
        for name, value in scope.get("headers", ()):
            if name == b"authorization":
                given = value
                break
        if not hmac.compare_digest(given, self._expected):
            message = (
                "missing API key: send 'Authorization: Bearer <key>'"
                if not given
                else "invalid API key"
            )
            response = error_response(401, "unauthorized", message, {"WWW-Authenticate": "Bearer"})
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)
