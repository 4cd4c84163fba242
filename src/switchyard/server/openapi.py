"""The OpenAPI 3.1 document (``/openapi.json``) and readable docs (``/docs``).

The document is written by hand next to the routes it describes; a schemathesis test
checks the server against it (no 5xx, every response as documented). ``/docs`` is a
small self-contained page that renders the document: no CDN, works offline.
"""

from __future__ import annotations

import re
from importlib import resources

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse
from starlette.routing import BaseRoute, Route

import switchyard
from switchyard.server.openapi_schemas import (
    ANY,
    BOOL,
    SCHEMAS,
    STR,
    J,
    ref,
)

PUBLIC_PATHS = (re.compile(r"/openapi\.json"), re.compile(r"/docs"))
"""The description of the API is no secret: no API key needed."""

_ERRORS = {
    "400": "Malformed request (the body is not JSON, a bad header).",
    "401": "Missing, invalid, revoked or expired credential.",
    "403": "The credential may not do this (a public token outside its scope).",
    "404": "No such task, run, token or queue in the key's environment.",
    "409": "Conflicts with the current state (or the same Idempotency-Key is in flight).",
    "413": "The body (payload, output, metadata) is over the size limit.",
    "422": "Invalid input; the message names the field (schema errors under `errors`). "
    "A value JSON cannot store (NaN/Infinity or a number like 1e999, a lone surrogate, "
    "NUL, nesting past 256 levels) is `invalid_json_value`, its place under `path`.",
    "429": "Rate limited; retry after the `Retry-After` seconds.",
}


def _errors(*codes: str) -> J:
    return {code: {"$ref": f"#/components/responses/E{code}"} for code in codes}


AUTHED = ("400", "401", "403", "422", "429")


def _json(schema: J, description: str = "OK") -> J:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _body(schema: J, required: bool = False) -> J:
    return {"required": required, "content": {"application/json": {"schema": schema}}}


def _path(name: str, description: str) -> J:
    return {
        "name": name,
        "in": "path",
        "required": True,
        "schema": STR,
        "description": description,
    }


def _query(name: str, schema: J, description: str) -> J:
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
RUN_ID = _path("run_id", "A run id (run_...).")
TASK_ID = _path("task_id", "A task id.")
TOKEN_ID = _path("token_id", "A token id (waitpoint_...).")
QUEUE = _path("name", "A queue name; task queues are task/<task id> (/ may be sent as %2F).")
LIMIT = _query("limit", {"type": "integer", "minimum": 1, "maximum": 1000}, "Page size, 50.")
CURSOR = _query("cursor", STR, "The next_cursor of the previous page.")
CREATED = [
    _query("created_after", STR, "Epoch seconds or ISO 8601."),
    _query("created_before", STR, "Epoch seconds or ISO 8601."),
]
SSE: J = {
    "description": "A stream of server-sent events: `event: run` with a Run as data.",
    "content": {"text/event-stream": {"schema": STR}},
}


def _op(
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
    op: J = {"tags": [tag], "summary": summary, "operationId": operation_id}
    if description:
        op["description"] = description
    if params:
        op["parameters"] = params
    if body is not None:
        op["requestBody"] = body
    codes = tuple(sorted(set(errors if public else AUTHED + errors)))
    op["responses"] = {**responses, **_errors(*codes)}
    if public:
        op["security"] = []
    return op


def _paths() -> J:
    run = _json(ref("Run"))
    token_settled = _json(ref("TokenSettled"))
    stats = _json(ref("QueueStats"))
    environment = _json(ref("Environment"))
    return {
        "/healthz": {
            "get": _op(
                "health",
                "Health check",
                {"200": _json(ref("Health")), **_errors("503")},
                description="200 when the process is up and reaches its database.",
                public=True,
                operation_id="healthz",
            )
        },
        "/api/v1/tasks": {
            "get": _op(
                "tasks",
                "List tasks",
                {"200": _json(ref("TaskList"))},
                description="Tasks that workers registered in the key's environment, with "
                "the JSON Schema of each schema task's payload.",
                operation_id="listTasks",
            )
        },
        "/api/v1/tasks/{task_id}": {
            "get": _op(
                "tasks",
                "Retrieve a task",
                {"200": _json(ref("Task"))},
                params=[TASK_ID],
                errors=("404",),
                operation_id="retrieveTask",
            )
        },
        "/api/v1/tasks/{task_id}/trigger": {
            "post": _op(
                "tasks",
                "Trigger a run",
                {
                    "201": _json(ref("TriggerResult"), "Created"),
                    "200": _json(ref("TriggerResult"), "An existing run (idempotency key)"),
                },
                description="The payload is validated against the task's schema (422 with "
                "`errors` when it fails) and no run is made on any error.",
                params=[TASK_ID, IDEMPOTENCY_HEADER],
                body=_body(ref("TriggerRequest")),
                errors=("404", "409", "413"),
                operation_id="triggerTask",
            )
        },
        "/api/v1/tasks/{task_id}/batch-trigger": {
            "post": _op(
                "tasks",
                "Batch trigger runs of a task",
                {"201": _json(ref("BatchResult"), "Created")},
                description="Up to 1,000 items in one transaction: all runs or none.",
                params=[TASK_ID, IDEMPOTENCY_HEADER],
                body=_body(ref("BatchTriggerRequest"), True),
                errors=("404", "409", "413"),
                operation_id="batchTriggerTask",
            )
        },
        "/api/v1/batch-trigger": {
            "post": _op(
                "tasks",
                "Batch trigger runs of several tasks",
                {"201": _json(ref("BatchResult"), "Created")},
                description="Like the task route; each item names its `task`.",
                params=[IDEMPOTENCY_HEADER],
                body=_body(ref("BatchTriggerRequest"), True),
                errors=("404", "409", "413"),
                operation_id="batchTrigger",
            )
        },
        "/api/v1/runs": {
            "get": _op(
                "runs",
                "List runs",
                {"200": _json(ref("RunList"))},
                description="Newest first. `status` and `task` are repeatable or "
                "comma-separated; `period` (`1h`, `7d`) keeps runs created that recently.",
                params=[
                    _query("status", STR, "Run status(es): QUEUED, COMPLETED, ..."),
                    _query("task", STR, "Task id(s)."),
                    _query("tag", STR, "Runs with this tag."),
                    _query("queue", STR, "Runs in this queue."),
                    *CREATED,
                    _query("period", STR, "Created within this long ago: 1h, 7d."),
                    _query("batch_id", STR, "Runs of this batch."),
                    _query("idempotency_key", STR, "The run with this key."),
                    _query("parent_run_id", STR, "Children of this run."),
                    LIMIT,
                    CURSOR,
                ],
                operation_id="listRuns",
            )
        },
        "/api/v1/runs/events": {
            "get": _op(
                "realtime",
                "Subscribe to runs with a tag",
                {"200": SSE},
                description="Server-sent events for every run with any of the tags: the "
                "`limit` most recent first, then each change and each new run. Resumes "
                "from `Last-Event-ID`.",
                params=[
                    {**_query("tag", STR, "A tag (repeatable)."), "required": True},
                    _query("limit", {"type": "integer", "minimum": 0, "maximum": 1000}, "100"),
                    {"name": "Last-Event-ID", "in": "header", "required": False, "schema": STR},
                ],
                operation_id="subscribeToTag",
            )
        },
        "/api/v1/runs/{run_id}": {
            "get": _op(
                "runs",
                "Retrieve a run",
                {"200": _json(ref("RunWithAttempts"))},
                description="Also allowed with a `read_run` public token for this run.",
                params=[RUN_ID],
                errors=("404",),
                operation_id="retrieveRun",
            )
        },
        "/api/v1/runs/{run_id}/events": {
            "get": _op(
                "realtime",
                "Subscribe to a run",
                {"200": SSE, "204": {"description": "Finished, nothing new since Last-Event-ID"}},
                description="Server-sent events: the run now, then every change until it "
                "finishes, then `event: end`. Resumes from `Last-Event-ID`. Also allowed "
                "with a `read_run` public token (as `?access_token=`, for EventSource).",
                params=[
                    RUN_ID,
                    {"name": "Last-Event-ID", "in": "header", "required": False, "schema": STR},
                ],
                errors=("404",),
                operation_id="subscribeToRun",
            )
        },
        "/api/v1/runs/{run_id}/cancel": {
            "post": _op(
                "runs",
                "Cancel a run",
                {"200": _json(ref("CancelResult"))},
                description="Cancels the run and its unfinished children; a finished run "
                "is left as it is (`canceled` is empty).",
                params=[RUN_ID],
                errors=("404",),
                operation_id="cancelRun",
            )
        },
        "/api/v1/runs/{run_id}/replay": {
            "post": _op(
                "runs",
                "Replay a run",
                {"201": _json(ref("TriggerResult"), "Created")},
                description="A new run of the same task and options, with the same or a new "
                "payload.",
                params=[RUN_ID, IDEMPOTENCY_HEADER],
                body=_body(ref("ReplayRequest")),
                errors=("404", "409", "413"),
                operation_id="replayRun",
            )
        },
        "/api/v1/runs/{run_id}/reschedule": {
            "post": _op(
                "runs",
                "Reschedule a delayed run",
                {"200": run},
                description="Only a run waiting for its `delay` (not a retry) can move.",
                params=[RUN_ID],
                body=_body(ref("RescheduleRequest"), True),
                errors=("404", "409"),
                operation_id="rescheduleRun",
            )
        },
        "/api/v1/runs/{run_id}/waitpoints": {
            "get": _op(
                "runs",
                "List a run's waitpoints",
                {"200": _json(ref("WaitpointList"))},
                description="What the run waited on or waits on now (time waits, tokens, "
                "child runs, batches), with their outputs, oldest first.",
                params=[RUN_ID],
                errors=("404",),
                operation_id="listRunWaitpoints",
            )
        },
        "/api/v1/runs/{run_id}/skip-wait": {
            "post": _op(
                "runs",
                "Skip a run's time wait",
                {"200": _json(ref("SkipResult"))},
                description="Ends the `wait.for_` / `wait.until` a WAITING run is in, now. "
                "409 when the run is not waiting, or waits on a token or a child run.",
                params=[RUN_ID],
                errors=("404", "409"),
                operation_id="skipRunWait",
            )
        },
        "/api/v1/runs/{run_id}/metadata": {
            "put": _op(
                "runs",
                "Replace a run's metadata",
                {"200": run},
                params=[RUN_ID],
                body=_body(ref("MetadataRequest"), True),
                errors=("404", "413"),
                operation_id="updateRunMetadata",
            )
        },
        "/api/v1/waitpoints/tokens": {
            "post": _op(
                "tokens",
                "Create a token",
                {
                    "201": _json(ref("TokenCreated"), "Created"),
                    "200": _json(ref("TokenCreated"), "An existing token (idempotency key)"),
                },
                body=_body(ref("TokenCreateRequest")),
                errors=("413",),
                operation_id="createToken",
            ),
            "get": _op(
                "tokens",
                "List tokens",
                {"200": _json(ref("TokenList"))},
                params=[
                    _query("status", STR, "PENDING, COMPLETED, TIMED_OUT (repeatable)."),
                    _query("tag", STR, "Tokens with this tag."),
                    _query("idempotency_key", STR, "The token with this key."),
                    *CREATED,
                    LIMIT,
                    CURSOR,
                ],
                operation_id="listTokens",
            ),
        },
        "/api/v1/waitpoints/tokens/{token_id}": {
            "get": _op(
                "tokens",
                "Retrieve a token",
                {"200": _json(ref("Token"))},
                params=[TOKEN_ID],
                errors=("404",),
                operation_id="retrieveToken",
            )
        },
        "/api/v1/waitpoints/tokens/{token_id}/complete": {
            "post": _op(
                "tokens",
                "Complete a token",
                {"200": token_settled},
                description="`data` becomes the output. The first completion wins; later "
                "ones change nothing (`already_completed`). Also allowed with a "
                "`complete_token` public token.",
                params=[TOKEN_ID],
                body=_body(ref("TokenCompleteRequest")),
                errors=("404", "413"),
                operation_id="completeToken",
            )
        },
        "/api/v1/waitpoints/tokens/{token_id}/timeout": {
            "post": _op(
                "tokens",
                "Time a token out now",
                {"200": token_settled},
                params=[TOKEN_ID],
                errors=("404",),
                operation_id="timeoutToken",
            )
        },
        "/api/v1/waitpoints/tokens/{token_id}/callback/{signature}": {
            "post": _op(
                "tokens",
                "Complete a token through its callback URL",
                {"200": _json(ref("CallbackResult"))},
                description="No API key: the signed URL is the capability. The JSON body "
                "(any JSON; empty means {}) becomes the output.",
                params=[TOKEN_ID, _path("signature", "The URL's signature.")],
                body=_body(ANY),
                errors=("400", "401", "404", "413", "422"),
                public=True,
                operation_id="tokenCallback",
            )
        },
        "/api/v1/queues": {
            "get": _op(
                "queues",
                "List queues",
                {"200": _json(ref("QueueList"))},
                description="With `stats=true`, each queue comes with its stats (as "
                "`GET /api/v1/queues/{name}`).",
                params=[_query("stats", BOOL, "Add each queue's stats.")],
                operation_id="listQueues",
            )
        },
        "/api/v1/queues/{name}": {
            "get": _op(
                "queues",
                "Retrieve a queue with stats",
                {"200": stats},
                params=[QUEUE],
                errors=("404",),
                operation_id="retrieveQueue",
            )
        },
        "/api/v1/queues/{name}/pause": {
            "post": _op(
                "queues",
                "Pause a queue",
                {"200": stats},
                description="Running runs finish; queued ones wait; triggers are accepted.",
                params=[QUEUE],
                errors=("404",),
                operation_id="pauseQueue",
            )
        },
        "/api/v1/queues/{name}/resume": {
            "post": _op(
                "queues",
                "Resume a queue",
                {"200": stats},
                params=[QUEUE],
                errors=("404",),
                operation_id="resumeQueue",
            )
        },
        "/api/v1/queues/{name}/concurrency-limit": {
            "put": _op(
                "queues",
                "Override a queue's concurrency limit",
                {"200": stats},
                params=[QUEUE],
                body=_body(ref("LimitRequest"), True),
                errors=("404",),
                operation_id="overrideQueueLimit",
            ),
            "delete": _op(
                "queues",
                "Reset a queue's limit to the code's",
                {"200": stats},
                params=[QUEUE],
                errors=("404",),
                operation_id="resetQueueLimit",
            ),
        },
        "/api/v1/environment": {
            "get": _op(
                "environment",
                "Retrieve the environment",
                {"200": environment},
                description="The environment of the API key: paused or not, limit, workers.",
                operation_id="retrieveEnvironment",
            )
        },
        "/api/v1/environment/pause": {
            "post": _op(
                "environment",
                "Pause the environment",
                {"200": environment},
                operation_id="pauseEnvironment",
            )
        },
        "/api/v1/environment/resume": {
            "post": _op(
                "environment",
                "Resume the environment",
                {"200": environment},
                operation_id="resumeEnvironment",
            )
        },
        "/api/v1/environment/concurrency-limit": {
            "put": _op(
                "environment",
                "Set the environment's concurrency limit",
                {"200": environment},
                body=_body(ref("LimitRequest"), True),
                operation_id="setEnvironmentLimit",
            )
        },
        "/api/v1/auth/public-tokens": {
            "post": _op(
                "auth",
                "Create a public token",
                {"201": _json(ref("PublicToken"), "Created")},
                description="A short-lived token for browsers: `read_run` reads one run "
                "and follows its events; `complete_token` completes one token. Needs a "
                "secret key.",
                body=_body(ref("PublicTokenRequest"), True),
                errors=("404",),
                operation_id="createPublicToken",
            )
        },
        "/api/v1/auth/dashboard": {
            "get": _op(
                "auth",
                "How the dashboard signs in",
                {"200": _json(ref("DashboardInfo"))},
                public=True,
                operation_id="dashboardInfo",
            )
        },
        "/api/v1/auth/dashboard-sessions": {
            "post": _op(
                "auth",
                "Sign in to the dashboard with its password",
                {"201": _json(ref("DashboardSession"), "Created")},
                description="Only when a dashboard password is configured "
                "(`SWITCHYARD_DASHBOARD_PASSWORD`). The token is a bearer credential "
                "for the server's environment, valid 12 hours.",
                body=_body(ref("DashboardSessionRequest"), True),
                errors=("401", "404", "422", "429"),
                public=True,
                operation_id="createDashboardSession",
            )
        },
    }


def document() -> J:
    """The OpenAPI document."""
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "switchyard",
            "version": switchyard.__version__,
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
        "paths": _paths(),
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
                f"E{code}": _json(ref("Error"), text)
                for code, text in {**_ERRORS, "503": "The database is unreachable."}.items()
            },
        },
    }


_DOCUMENT: J | None = None
_DOCS_HTML: str | None = None


async def openapi_json(request: Request) -> JSONResponse:
    """``GET /openapi.json``."""
    global _DOCUMENT
    if _DOCUMENT is None:
        _DOCUMENT = document()
    return JSONResponse(_DOCUMENT)


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
