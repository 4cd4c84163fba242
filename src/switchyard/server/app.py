"""The ASGI app: :func:`create_app` assembles the routes of each concern.

Adding a concern (runs, queues, SSE, the dashboard) means adding a module with a
``routes()`` function (and ``PUBLIC_PATHS`` if some of its paths take no API key)
and listing it in :data:`CONCERNS`. Each route's handler declares its OpenAPI
operation (:func:`~switchyard.server.operations.operation`): ``/openapi.json`` is
built from the routes, and refuses a route without one.
"""

from __future__ import annotations

import re
from types import ModuleType

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import BaseRoute

from switchyard.runtime import Runtime
from switchyard.server import (
    dashboard,
    events,
    health,
    openapi,
    public_tokens,
    queues,
    runs,
    tasks_api,
    tokens,
)
from switchyard.server.access import (
    AccessMiddleware,
    AuthFailures,
    api_key_from_env,
    rate_limit_from_env,
)
from switchyard.server.body_timeout import BodyTimeoutMiddleware, body_timeout_from_env
from switchyard.server.errors import EXCEPTION_HANDLERS
from switchyard.server.triggering import database_error_handlers

CONCERNS: tuple[ModuleType, ...] = (
    health,
    openapi,
    tasks_api,
    events,  # before runs: /api/v1/runs/events is not a run id
    runs,
    tokens,
    queues,
    public_tokens,
    dashboard,
)
"""Route modules, each with ``routes()`` and optionally ``PUBLIC_PATHS``."""


def api_routes() -> list[BaseRoute]:
    """Every route of the app, in order: the routes of each concern."""
    return [route for concern in CONCERNS for route in concern.routes()]


def create_app(
    runtime: Runtime,
    *,
    api_key: str | None = None,
    rate_limit: float | None = -1.0,
    body_timeout: float | None = -1.0,
) -> Starlette:
    """The HTTP API over ``runtime`` (its storage, engine and config).

    Every route except ``/healthz``, ``/openapi.json``, ``/docs``, token callback URLs
    and the dashboard's page, files and sign-in (``/``, ``/dashboard/...``) needs
    ``Authorization: Bearer <key>``: an API key from ``switchyard keys create`` (its
    environment is the request's), a dashboard session, a public token where allowed, or
    ``api_key``, an extra key for the runtime's own environment. ``None`` (the
    default) takes that from the ``SWITCHYARD_API_KEY`` environment variable; ``""``
    turns authentication off (every request works in the runtime's environment).

    ``rate_limit``: requests per second per credential (bursts of twice that);
    ``None`` for no limit; by default from ``SWITCHYARD_RATE_LIMIT`` (1000/s).

    ``body_timeout``: seconds a request body may take to arrive (plus one per KiB
    received) before the answer is ``408``; ``None`` for no deadline; by default from
    ``SWITCHYARD_BODY_TIMEOUT`` (30 s).
    """
    routes = api_routes()
    public: list[re.Pattern[str]] = []
    for concern in CONCERNS:
        public.extend(getattr(concern, "PUBLIC_PATHS", ()))
    key = api_key_from_env() if api_key is None else api_key
    if rate_limit is not None and rate_limit < 0:
        rate_limit = rate_limit_from_env()
    # One count of failed sign-ins per client address for every way of signing in: API
    # keys, tokens, sessions (the middleware), dashboard passwords and callback URLs.
    failures = AuthFailures()
    if body_timeout is not None and body_timeout < 0:
        body_timeout = body_timeout_from_env()
    middleware = [Middleware(BodyTimeoutMiddleware, timeout=body_timeout)]
    if api_key != "":
        middleware.append(
            Middleware(
                AccessMiddleware,
                runtime=runtime,
                public=public,
                extra_key=key,
                rate_limit=rate_limit,
                failures=failures,
            )
        )
    handlers = {**EXCEPTION_HANDLERS, **database_error_handlers()}
    app = Starlette(routes=routes, middleware=middleware, exception_handlers=handlers)
    app.state.runtime = runtime
    app.state.auth = api_key != ""
    app.state.auth_failures = failures
    app.state.callback_secret = None
    return app
