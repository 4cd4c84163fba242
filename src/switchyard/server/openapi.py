"""The OpenAPI 3.1 document (``/openapi.json``) and readable docs (``/docs``).

Each route handler declares its operation (:mod:`switchyard.server.operations`); the
document is built from the app's routes, with the shared schemas
(:mod:`~switchyard.server.openapi_schemas`) and error responses. A schemathesis test
checks the server against it (no 5xx, every response as documented). ``/docs`` is a
small self-contained page that renders the document: no CDN, works offline.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from importlib import resources

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse
from starlette.routing import BaseRoute, Route

from switchyard.core.version import VERSION
from switchyard.server.openapi_parts import ERRORS, json_content
from switchyard.server.openapi_schemas import SCHEMAS, J, ref
from switchyard.server.operations import declared_paths, undocumented
from switchyard.server.views import app_singleton

PUBLIC_PATHS = (re.compile(r"/openapi\.json"), re.compile(r"/docs"))
"""The description of the API is no secret: no API key needed."""


def document(routes: Iterable[BaseRoute] | None = None) -> J:
    """The OpenAPI document of ``routes``: the operations their handlers declare.

    ``routes`` defaults to every route of :func:`~switchyard.server.app.create_app`.
    """
    if routes is None:
        from switchyard.server.app import api_routes  # app imports this module

        routes = api_routes()
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "switchyard",
            "version": VERSION,
            "description": "Trigger and follow durable background runs, complete tokens and "
            "operate queues. Send `Authorization: Bearer <API key>` (`switchyard keys "
            "create`); the key decides the environment. Errors are "
            '`{"error": {"code": ..., "message": ...}}`.',
        },
        "servers": [{"url": "/"}],
        "security": [{"apiKey": []}],
        "tags": [
            {"name": n}
            for n in (
                "tasks",
                "runs",
                "realtime",
                "tokens",
                "queues",
                "environment",
                "auth",
                "health",
            )
        ],
        "paths": declared_paths(routes),
        "components": {
            "securitySchemes": {
                "apiKey": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "A secret API key, or a public token where allowed.",
                }
            },
            "schemas": SCHEMAS,
            "responses": {
                f"E{code}": json_content(ref("Error"), text)
                for code, text in {**ERRORS, "503": "The database is unreachable."}.items()
            },
        },
    }


_DOCS_HTML: str | None = None


@undocumented
async def openapi_json(request: Request) -> JSONResponse:
    """``GET /openapi.json``: the document of the app's own routes."""
    routes = request.app.routes
    return JSONResponse(app_singleton(request, "switchyard_openapi", lambda: document(routes)))


@undocumented
async def docs(request: Request) -> HTMLResponse:
    """``GET /docs``: the API reference, rendered from ``/openapi.json`` in the browser."""
    global _DOCS_HTML
    if _DOCS_HTML is None:
        _DOCS_HTML = resources.files("switchyard.server").joinpath("docs.html").read_text("utf-8")
    return HTMLResponse(_DOCS_HTML)


def routes() -> list[BaseRoute]:
    """The document and the docs page."""
    return [
        Route("/openapi.json", openapi_json, methods=["GET"]),
        Route("/docs", docs, methods=["GET"]),
    ]
