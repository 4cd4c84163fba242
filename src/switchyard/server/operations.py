"""OpenAPI operations, declared on their route handlers and collected from the routes.

Each handler says what it is in the document, next to its code::

    @operation(
        tag="runs",
        summary="Retrieve a run",
        operation_id="retrieveRun",
        responses={"200": json_content(ref("RunWithAttempts"))},
        params=[RUN_ID],
        errors=("404",),
    )
    async def retrieve_run(request: Request) -> JSONResponse: ...

or is left out of it with :func:`undocumented` (the dashboard page, the document
itself). :func:`declared_paths` walks an app's routes (their path, method and
endpoint) and builds the document's ``paths``: a route whose handler declares nothing
is an error, and a declaration counts only where a route serves its handler.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TypeVar

from starlette.routing import BaseRoute, Mount, Route

from switchyard.server.openapi_parts import op, request_body
from switchyard.server.openapi_schemas import J

F = TypeVar("F", bound=Callable[..., object])

_ATTRIBUTE = "__switchyard_operation__"
_UNDOCUMENTED: J = {}
"""The mark of a handler left out of the document on purpose."""


class UndeclaredRoute(TypeError):
    """A route whose handler declares no operation (nor :func:`undocumented`)."""


def operation(
    *,
    tag: str,
    summary: str,
    operation_id: str,
    responses: J,
    description: str = "",
    params: list[J] | None = None,
    body: J | None = None,
    body_required: bool = False,
    errors: tuple[str, ...] = (),
    public: bool = False,
) -> Callable[[F], F]:
    """Declare the handler's OpenAPI operation.

    ``responses`` are the handler's own (``{"200": json_content(ref("Run"))}``); the
    errors every route behind a credential may answer come with them, plus ``errors``
    (and 408 with a ``body``, the JSON schema of the request body). ``public``: no
    credential needed.
    """
    declared = op(
        tag,
        summary,
        responses,
        description=description,
        params=params,
        body=None if body is None else request_body(body, body_required),
        errors=errors,
        public=public,
        operation_id=operation_id,
    )

    def attach(endpoint: F) -> F:
        setattr(endpoint, _ATTRIBUTE, declared)
        return endpoint

    return attach


def undocumented(endpoint: F) -> F:
    """Leave the handler out of the document: a page or a file, not an API operation."""
    setattr(endpoint, _ATTRIBUTE, _UNDOCUMENTED)
    return endpoint


def _routes(routes: Iterable[BaseRoute], prefix: str = "") -> Iterable[tuple[str, Route]]:
    """Every route with its full path (without converters: ``{name:path}`` is ``{name}``)."""
    for route in routes:
        if isinstance(route, Route):
            yield prefix + route.path_format, route
        elif isinstance(route, Mount):  # static files have no routes
            yield from _routes(route.routes, prefix + route.path)
        else:
            raise UndeclaredRoute(f"cannot document a {type(route).__name__}: {route!r}")


def declared_paths(routes: Iterable[BaseRoute]) -> J:
    """The document's ``paths``: the operation each route's handler declares."""
    paths: J = {}
    ids: dict[str, str] = {}
    for path, route in _routes(routes):
        name = getattr(route.endpoint, "__qualname__", repr(route.endpoint))
        declared: J | None = getattr(route.endpoint, _ATTRIBUTE, None)
        if declared is None:
            raise UndeclaredRoute(
                f"{name} (route {path}) declares no OpenAPI operation: decorate it with "
                "@operation(...), or @undocumented if it is no API operation"
            )
        if declared is _UNDOCUMENTED:
            continue
        methods = sorted((route.methods or set()) - {"HEAD"})
        if len(methods) != 1:
            raise ValueError(f"route {path} of {name} must take one method, not {methods}")
        [method] = methods
        item = paths.setdefault(path, {})
        if method.lower() in item:
            raise ValueError(f"two routes declare {method} {path}")
        operation_id = declared["operationId"]
        if operation_id in ids:
            raise ValueError(
                f"operationId {operation_id!r} of {method} {path} is also {ids[operation_id]}"
            )
        ids[operation_id] = f"{method} {path}"
        item[method.lower()] = declared
    return paths
