"""The OpenAPI document is built from the routes: each handler declares its operation.

``tests/snapshots/openapi.json`` is the document as it stands (``info.version`` left
out): a change to the API shows up there, in review. After an intended change, write it
again with ``SWITCHYARD_UPDATE_OPENAPI_SNAPSHOT=1 pytest tests/test_openapi_operations.py``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Mount, Route

from switchyard.runtime import Runtime
from switchyard.server import create_app
from switchyard.server.openapi import document
from switchyard.server.openapi_parts import json_content
from switchyard.server.openapi_schemas import ref
from switchyard.server.operations import (
    UndeclaredRoute,
    declared_paths,
    operation,
    undocumented,
)

SNAPSHOT = Path(__file__).parent / "snapshots" / "openapi.json"


def _comparable(doc: dict[str, Any]) -> Any:
    """The document as JSON would carry it, without the version (it changes each release)."""
    data = json.loads(json.dumps(doc))
    data["info"]["version"] = "<version>"
    return data


def test_document_matches_the_snapshot() -> None:
    doc = _comparable(document())
    if os.environ.get("SWITCHYARD_UPDATE_OPENAPI_SNAPSHOT"):
        SNAPSHOT.write_text(json.dumps(doc, indent=1, sort_keys=True) + "\n", "utf-8")
    expected = json.loads(SNAPSHOT.read_text("utf-8"))
    assert sorted(doc["paths"]) == sorted(expected["paths"])
    for path, item in expected["paths"].items():
        assert sorted(doc["paths"][path]) == sorted(item), path
        for method, op in item.items():
            assert doc["paths"][path][method] == op, (path, method)
    assert doc == expected


async def test_served_document_is_the_apps_routes(runtime: Runtime) -> None:
    app = create_app(runtime, api_key="")
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
        served = (await http.get("/openapi.json")).json()
    assert _comparable(served) == _comparable(document())
    # Every route of the app is an operation of the document, or says why it is not.
    operations = {(path, method) for path, item in served["paths"].items() for method in item}
    routes = {
        (route.path_format, method.lower())
        for route in app.routes
        if isinstance(route, Route) and route.path not in ("/", "/openapi.json", "/docs")
        for method in route.methods or ()
        if method != "HEAD"
    }
    assert operations == routes
    ids = [op["operationId"] for item in served["paths"].values() for op in item.values()]
    assert len(ids) == len(set(ids))


async def _handler(request: Request) -> JSONResponse:
    return JSONResponse({})


def test_a_route_without_a_declaration_is_refused() -> None:
    async def bare(request: Request) -> JSONResponse:
        return JSONResponse({})

    with pytest.raises(UndeclaredRoute, match="bare"):
        declared_paths([Route("/x", bare, methods=["GET"])])


def test_declarations_are_collected_from_routes_and_mounts() -> None:
    @operation(
        tag="t",
        summary="Get x",
        operation_id="getX",
        responses={"200": json_content(ref("X"))},
        public=True,
    )
    async def get_x(request: Request) -> JSONResponse:
        return JSONResponse({})

    @operation(
        tag="t",
        summary="Put x",
        operation_id="putX",
        responses={"200": json_content(ref("X"))},
        body=ref("X"),
        body_required=True,
    )
    async def put_x(request: Request) -> JSONResponse:
        return JSONResponse({})

    page = undocumented(_handler)
    paths = declared_paths(
        [
            Route("/", page, methods=["GET"]),
            Mount("/v1", routes=[Route("/x/{name:path}", get_x, methods=["GET"])]),
            Route("/v1/x/{name:path}", put_x, methods=["PUT"]),
        ]
    )
    assert list(paths) == ["/v1/x/{name}"]
    assert set(paths["/v1/x/{name}"]) == {"get", "put"}
    assert paths["/v1/x/{name}"]["get"]["security"] == []
    put = paths["/v1/x/{name}"]["put"]
    assert put["requestBody"]["required"] is True
    assert "408" in put["responses"] and "401" in put["responses"]


def test_one_operation_per_path_and_method() -> None:
    @operation(tag="t", summary="A", operation_id="a", responses={})
    async def first(request: Request) -> JSONResponse:
        return JSONResponse({})

    @operation(tag="t", summary="A", operation_id="a", responses={})
    async def second(request: Request) -> JSONResponse:
        return JSONResponse({})

    with pytest.raises(ValueError, match="operationId 'a'"):
        declared_paths([Route("/a", first, methods=["GET"]), Route("/b", second, methods=["GET"])])
    with pytest.raises(ValueError, match="GET /a"):
        declared_paths([Route("/a", first, methods=["GET"]), Route("/a", first, methods=["GET"])])
    with pytest.raises(ValueError, match="one method"):
        declared_paths([Route("/a", first, methods=["GET", "POST"])])
