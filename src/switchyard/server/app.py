"""The ASGI app: :func:`create_app` assembles the routes of each concern.

Adding a concern (runs, queues, SSE, the dashboard) means adding a module with a
``routes()`` function (and ``PUBLIC_PATHS`` if some of its paths take no API key)
and listing it in :data:`CONCERNS`.
"""

from __future__ import annotations

import re
from types import ModuleType

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import BaseRoute

from switchyard.sdk.runtime import Runtime
from switchyard.server import health, tokens
from switchyard.server.auth import ApiKeyMiddleware, api_key_from_env
from switchyard.server.errors import EXCEPTION_HANDLERS

CONCERNS: tuple[ModuleType, ...] = (health, tokens)
"""Route modules, each with ``routes()`` and optionally ``PUBLIC_PATHS``."""


def create_app(runtime: Runtime, *, api_key: str | None = None) -> Starlette:
    """The HTTP API over ``runtime`` (its storage, engine and config).

    ``api_key``: require ``Authorization: Bearer <api_key>`` on every route except
    ``/healthz`` and token callback URLs. ``None`` (the default) takes it from the
    ``SWITCHYARD_API_KEY`` environment variable; ``""`` turns the check off.
    """
    routes: list[BaseRoute] = []
    public: list[re.Pattern[str]] = []
    for concern in CONCERNS:
        routes.extend(concern.routes())
        public.extend(getattr(concern, "PUBLIC_PATHS", ()))
    key = api_key_from_env() if api_key is None else api_key
    middleware = []
    if key:
        middleware.append(Middleware(ApiKeyMiddleware, api_key=key, public=public))
    app = Starlette(routes=routes, middleware=middleware, exception_handlers=EXCEPTION_HANDLERS)
    app.state.runtime = runtime
    app.state.callback_secret = None
    return app
