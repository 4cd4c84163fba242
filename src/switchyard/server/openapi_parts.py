"""The pieces the OpenAPI document is made of: responses, parameters, operations.

Route handlers declare their operations with them
(:func:`switchyard.server.operations.operation`). Parameters say
exactly what the server takes (patterns from :mod:`~switchyard.server.openapi_schemas`,
checked against the server's parsers by tests/test_openapi.py).
"""

from __future__ import annotations

from switchyard.server.openapi_schemas import NO_NUL, QUERY_STR, STR, TIME_PATTERN, J

ERRORS = {
    "400": "Malformed request (the body is not JSON, a bad header).",
    "401": "Missing, invalid, revoked or expired credential.",
    "403": "The credential may not do this (a public token outside its scope).",
    "404": "No such task, run, token or queue in the key's environment.",
    "409": "Conflicts with the current state (or the same Idempotency-Key is in flight).",
    "408": "The request body did not arrive in time (`SWITCHYARD_BODY_TIMEOUT`).",
    "413": "The body (payload, output, metadata) is over the size limit.",
    "422": "Invalid input; the message names the field (schema errors under `errors`). "
    "A value JSON cannot store (NaN/Infinity or a number like 1e999, a lone surrogate, "
    "NUL, nesting past 256 levels) is `invalid_json_value`, its place under `path`.",
    "429": "Rate limited; retry after the `Retry-After` seconds.",
}


def error_refs(*codes: str) -> J:
    """References to the shared error responses with these status codes."""
    return {code: {"$ref": f"#/components/responses/E{code}"} for code in codes}


AUTHED = ("400", "401", "403", "422", "429")
"""What any route behind a credential may answer."""


def json_content(schema: J, description: str = "OK") -> J:
    """A JSON response with ``schema``."""
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def request_body(schema: J, required: bool = False) -> J:
    """A JSON request body with ``schema``."""
    return {"required": required, "content": {"application/json": {"schema": schema}}}


def path_param(name: str, description: str) -> J:
    """A path parameter: a non-empty string without NUL."""
    return {
        "name": name,
        "in": "path",
        "required": True,
        "schema": {"type": "string", "minLength": 1, "pattern": NO_NUL},
        "description": description,
    }


def query_param(name: str, schema: J, description: str) -> J:
    """An optional query parameter."""
    return {
        "name": name,
        "in": "query",
        "required": False,
        "schema": schema,
        "description": description,
    }


IDEMPOTENCY_HEADER: J = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "schema": {"type": "string", "minLength": 1, "maxLength": 255},
    "description": "Send the same key to retry safely: the first response comes back "
    "(24 hours) and no second run is made.",
}
LAST_EVENT_ID: J = {"name": "Last-Event-ID", "in": "header", "required": False, "schema": STR}
RUN_ID = path_param("run_id", "A run id (run_...).")
TASK_ID = path_param("task_id", "A task id.")
TOKEN_ID = path_param("token_id", "A token id (waitpoint_...).")
QUEUE = path_param("name", "A queue name; task queues are task/<task id> (/ may be sent as %2F).")
LIMIT = query_param("limit", {"type": "integer", "minimum": 1, "maximum": 1000}, "Page size, 50.")
CURSOR = query_param("cursor", QUERY_STR, "The next_cursor of the previous page.")
TIME: J = {"type": "string", "pattern": TIME_PATTERN}
CREATED = [
    query_param("created_after", TIME, "Epoch seconds or ISO 8601."),
    query_param("created_before", TIME, "Epoch seconds or ISO 8601."),
]


def statuses(values: list[str]) -> J:
    """A repeatable status filter (the server also takes them comma-separated)."""
    return {"type": "array", "items": {"type": "string", "enum": values}}


SSE: J = {
    "description": "A stream of server-sent events: `event: run` with a Run as data.",
    "content": {"text/event-stream": {"schema": STR}},
}


def op(
    tag: str,
    summary: str,
    responses: J,
    *,
    description: str = "",
    params: list[J] | None = None,
    body: J | None = None,
    errors: tuple[str, ...] = (),
    public: bool = False,
    operation_id: str,
) -> J:
    """One operation; the errors every authenticated route may answer come with it."""
    op: J = {"tags": [tag], "summary": summary, "operationId": operation_id}
    if description:
        op["description"] = description
    if params:
        op["parameters"] = params
    if body is not None:
        op["requestBody"] = body
    if body is not None:
        errors = (*errors, "408")  # a body that stalls
    codes = tuple(sorted(set(errors if public else AUTHED + errors)))
    op["responses"] = {**responses, **error_refs(*codes)}
    if public:
        op["security"] = []
    return op
