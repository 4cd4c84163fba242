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

from switchyard.core.states import RunStatus
from switchyard.core.version import VERSION
from switchyard.core.waitpoints import WaitpointStatus
from switchyard.server.openapi_parts import (
    CREATED,
    CURSOR,
    ERRORS,
    IDEMPOTENCY_HEADER,
    LAST_EVENT_ID,
    LIMIT,
    QUEUE,
    RUN_ID,
    SSE,
    TASK_ID,
    TOKEN_ID,
    error_refs,
    json_content,
    op,
    path_param,
    query_param,
    request_body,
    statuses,
)
from switchyard.server.openapi_schemas import ANY, BOOL, DURATION_TEXT, QUERY_STR, SCHEMAS, J, ref

PUBLIC_PATHS = (re.compile(r"/openapi\.json"), re.compile(r"/docs"))
"""The description of the API is no secret: no API key needed."""


def _paths() -> J:
    run = json_content(ref("Run"))
    token_settled = json_content(ref("TokenSettled"))
    stats = json_content(ref("QueueStats"))
    environment = json_content(ref("Environment"))
    return {
        "/healthz": {
            "get": op(
                "health",
                "Health check",
                {"200": json_content(ref("Health")), **error_refs("503")},
                description="200 when the process is up and reaches its database.",
                public=True,
                operation_id="healthz",
            )
        },
        "/api/v1/tasks": {
            "get": op(
                "tasks",
                "List tasks",
                {"200": json_content(ref("TaskList"))},
                description="Tasks that workers registered in the key's environment, with "
                "the JSON Schema of each schema task's payload.",
                operation_id="listTasks",
            )
        },
        "/api/v1/tasks/{task_id}": {
            "get": op(
                "tasks",
                "Retrieve a task",
                {"200": json_content(ref("Task"))},
                params=[TASK_ID],
                errors=("404",),
                operation_id="retrieveTask",
            )
        },
        "/api/v1/tasks/{task_id}/trigger": {
            "post": op(
                "tasks",
                "Trigger a run",
                {
                    "201": json_content(ref("TriggerResult"), "Created"),
                    "200": json_content(ref("TriggerResult"), "An existing run (idempotency key)"),
                },
                description="The payload is validated against the task's schema (422 with "
                "`errors` when it fails) and no run is made on any error.",
                params=[TASK_ID, IDEMPOTENCY_HEADER],
                body=request_body(ref("TriggerRequest")),
                errors=("404", "409", "413"),
                operation_id="triggerTask",
            )
        },
        "/api/v1/tasks/{task_id}/batch-trigger": {
            "post": op(
                "tasks",
                "Batch trigger runs of a task",
                {"201": json_content(ref("BatchResult"), "Created")},
                description="Up to 1,000 items in one transaction: all runs or none.",
                params=[TASK_ID, IDEMPOTENCY_HEADER],
                body=request_body(ref("BatchTriggerRequest"), True),
                errors=("404", "409", "413"),
                operation_id="batchTriggerTask",
            )
        },
        "/api/v1/batch-trigger": {
            "post": op(
                "tasks",
                "Batch trigger runs of several tasks",
                {"201": json_content(ref("BatchResult"), "Created")},
                description="Like the task route; each item names its `task`.",
                params=[IDEMPOTENCY_HEADER],
                body=request_body(ref("BatchTriggerRequest"), True),
                errors=("404", "409", "413"),
                operation_id="batchTrigger",
            )
        },
        "/api/v1/runs": {
            "get": op(
                "runs",
                "List runs",
                {"200": json_content(ref("RunList"))},
                description="Newest first. `status` and `task` are repeatable or "
                "comma-separated; `period` (`1h`, `7d`) keeps runs created that recently.",
                params=[
                    query_param(
                        "status",
                        statuses([s.value for s in RunStatus]),
                        "Run status(es): QUEUED, COMPLETED, ...",
                    ),
                    query_param("task", {"type": "array", "items": QUERY_STR}, "Task id(s)."),
                    query_param("tag", QUERY_STR, "Runs with this tag."),
                    query_param("queue", QUERY_STR, "Runs in this queue."),
                    *CREATED,
                    query_param("period", DURATION_TEXT, "Created within this long ago: 1h, 7d."),
                    query_param("batch_id", QUERY_STR, "Runs of this batch."),
                    query_param("idempotency_key", QUERY_STR, "The run with this key."),
                    query_param("parent_run_id", QUERY_STR, "Children of this run."),
                    LIMIT,
                    CURSOR,
                ],
                operation_id="listRuns",
            )
        },
        "/api/v1/runs/events": {
            "get": op(
                "realtime",
                "Subscribe to runs with a tag",
                {"200": SSE},
                description="Server-sent events for every run with any of the tags: the "
                "`limit` most recent first, then each change and each new run. Resumes "
                "from `Last-Event-ID`.",
                params=[
                    {**query_param("tag", QUERY_STR, "A tag (repeatable)."), "required": True},
                    query_param("limit", {"type": "integer", "minimum": 0, "maximum": 1000}, "100"),
                    LAST_EVENT_ID,
                ],
                operation_id="subscribeToTag",
            )
        },
        "/api/v1/runs/{run_id}": {
            "get": op(
                "runs",
                "Retrieve a run",
                {"200": json_content(ref("RunWithAttempts"))},
                description="Also allowed with a `read_run` public token for this run.",
                params=[RUN_ID],
                errors=("404",),
                operation_id="retrieveRun",
            )
        },
        "/api/v1/runs/{run_id}/events": {
            "get": op(
                "realtime",
                "Subscribe to a run",
                {"200": SSE, "204": {"description": "Finished, nothing new since Last-Event-ID"}},
                description="Server-sent events: the run now, then every change until it "
                "finishes, then `event: end`. Resumes from `Last-Event-ID`. Also allowed "
                "with a `read_run` public token (as `?access_token=`, for EventSource).",
                params=[
                    RUN_ID,
                    LAST_EVENT_ID,
                ],
                errors=("404",),
                operation_id="subscribeToRun",
            )
        },
        "/api/v1/runs/{run_id}/cancel": {
            "post": op(
                "runs",
                "Cancel a run",
                {"200": json_content(ref("CancelResult"))},
                description="Cancels the run and its unfinished children; a finished run "
                "is left as it is (`canceled` is empty).",
                params=[RUN_ID],
                errors=("404",),
                operation_id="cancelRun",
            )
        },
        "/api/v1/runs/{run_id}/replay": {
            "post": op(
                "runs",
                "Replay a run",
                {"201": json_content(ref("TriggerResult"), "Created")},
                description="A new run of the same task and options, with the same or a new "
                "payload.",
                params=[RUN_ID, IDEMPOTENCY_HEADER],
                body=request_body(ref("ReplayRequest")),
                errors=("404", "409", "413"),
                operation_id="replayRun",
            )
        },
        "/api/v1/runs/{run_id}/reschedule": {
            "post": op(
                "runs",
                "Reschedule a delayed run",
                {"200": run},
                description="Only a run waiting for its `delay` (not a retry) can move.",
                params=[RUN_ID],
                body=request_body(ref("RescheduleRequest"), True),
                errors=("404", "409"),
                operation_id="rescheduleRun",
            )
        },
        "/api/v1/runs/{run_id}/waitpoints": {
            "get": op(
                "runs",
                "List a run's waitpoints",
                {"200": json_content(ref("WaitpointList"))},
                description="What the run waited on or waits on now (time waits, tokens, "
                "child runs, batches), with their outputs, oldest first.",
                params=[RUN_ID],
                errors=("404",),
                operation_id="listRunWaitpoints",
            )
        },
        "/api/v1/runs/{run_id}/skip-wait": {
            "post": op(
                "runs",
                "Skip a run's time wait",
                {"200": json_content(ref("SkipResult"))},
                description="Ends the `wait.for_` / `wait.until` a WAITING run is in, now. "
                "409 when the run is not waiting, or waits on a token or a child run.",
                params=[RUN_ID],
                errors=("404", "409"),
                operation_id="skipRunWait",
            )
        },
        "/api/v1/runs/{run_id}/metadata": {
            "put": op(
                "runs",
                "Replace a run's metadata",
                {"200": run},
                params=[RUN_ID],
                body=request_body(ref("MetadataRequest"), True),
                errors=("404", "413"),
                operation_id="updateRunMetadata",
            )
        },
        "/api/v1/waitpoints/tokens": {
            "post": op(
                "tokens",
                "Create a token",
                {
                    "201": json_content(ref("TokenCreated"), "Created"),
                    "200": json_content(ref("TokenCreated"), "An existing token (idempotency key)"),
                },
                body=request_body(ref("TokenCreateRequest")),
                errors=("413",),
                operation_id="createToken",
            ),
            "get": op(
                "tokens",
                "List tokens",
                {"200": json_content(ref("TokenList"))},
                params=[
                    query_param(
                        "status",
                        statuses([s.value for s in WaitpointStatus]),
                        "PENDING, COMPLETED, TIMED_OUT (repeatable).",
                    ),
                    query_param("tag", QUERY_STR, "Tokens with this tag."),
                    query_param("idempotency_key", QUERY_STR, "The token with this key."),
                    *CREATED,
                    LIMIT,
                    CURSOR,
                ],
                operation_id="listTokens",
            ),
        },
        "/api/v1/waitpoints/tokens/{token_id}": {
            "get": op(
                "tokens",
                "Retrieve a token",
                {"200": json_content(ref("Token"))},
                params=[TOKEN_ID],
                errors=("404",),
                operation_id="retrieveToken",
            )
        },
        "/api/v1/waitpoints/tokens/{token_id}/complete": {
            "post": op(
                "tokens",
                "Complete a token",
                {"200": token_settled},
                description="`data` becomes the output. The first completion wins; later "
                "ones change nothing (`already_completed`). Also allowed with a "
                "`complete_token` public token.",
                params=[TOKEN_ID],
                body=request_body(ref("TokenCompleteRequest")),
                errors=("404", "413"),
                operation_id="completeToken",
            )
        },
        "/api/v1/waitpoints/tokens/{token_id}/timeout": {
            "post": op(
                "tokens",
                "Time a token out now",
                {"200": token_settled},
                params=[TOKEN_ID],
                errors=("404",),
                operation_id="timeoutToken",
            )
        },
        "/api/v1/waitpoints/tokens/{token_id}/callback/{signature}": {
            "post": op(
                "tokens",
                "Complete a token through its callback URL",
                {"200": json_content(ref("CallbackResult"))},
                description="No API key: the signed URL is the capability. The JSON body "
                "(any JSON; empty means {}) becomes the output.",
                params=[TOKEN_ID, path_param("signature", "The URL's signature.")],
                body=request_body(ANY),
                errors=("400", "401", "404", "413", "422", "429"),
                public=True,
                operation_id="tokenCallback",
            )
        },
        "/api/v1/queues": {
            "get": op(
                "queues",
                "List queues",
                {"200": json_content(ref("QueueList"))},
                description="With `stats=true`, each queue comes with its stats (as "
                "`GET /api/v1/queues/{name}`).",
                params=[query_param("stats", BOOL, "Add each queue's stats.")],
                operation_id="listQueues",
            )
        },
        "/api/v1/queues/{name}": {
            "get": op(
                "queues",
                "Retrieve a queue with stats",
                {"200": stats},
                params=[QUEUE],
                errors=("404",),
                operation_id="retrieveQueue",
            )
        },
        "/api/v1/queues/{name}/pause": {
            "post": op(
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
            "post": op(
                "queues",
                "Resume a queue",
                {"200": stats},
                params=[QUEUE],
                errors=("404",),
                operation_id="resumeQueue",
            )
        },
        "/api/v1/queues/{name}/concurrency-limit": {
            "put": op(
                "queues",
                "Override a queue's concurrency limit",
                {"200": stats},
                params=[QUEUE],
                body=request_body(ref("LimitRequest"), True),
                errors=("404",),
                operation_id="overrideQueueLimit",
            ),
            "delete": op(
                "queues",
                "Reset a queue's limit to the code's",
                {"200": stats},
                params=[QUEUE],
                errors=("404",),
                operation_id="resetQueueLimit",
            ),
        },
        "/api/v1/environment": {
            "get": op(
                "environment",
                "Retrieve the environment",
                {"200": environment},
                description="The environment of the API key: paused or not, limit, workers.",
                operation_id="retrieveEnvironment",
            )
        },
        "/api/v1/environment/pause": {
            "post": op(
                "environment",
                "Pause the environment",
                {"200": environment},
                operation_id="pauseEnvironment",
            )
        },
        "/api/v1/environment/resume": {
            "post": op(
                "environment",
                "Resume the environment",
                {"200": environment},
                operation_id="resumeEnvironment",
            )
        },
        "/api/v1/environment/concurrency-limit": {
            "put": op(
                "environment",
                "Set the environment's concurrency limit",
                {"200": environment},
                body=request_body(ref("LimitRequest"), True),
                operation_id="setEnvironmentLimit",
            )
        },
        "/api/v1/auth/public-tokens": {
            "post": op(
                "auth",
                "Create a public token",
                {"201": json_content(ref("PublicToken"), "Created")},
                description="A short-lived token for browsers: `read_run` reads one run "
                "and follows its events; `complete_token` completes one token. Needs a "
                "secret key.",
                body=request_body(ref("PublicTokenRequest"), True),
                errors=("404",),
                operation_id="createPublicToken",
            )
        },
        "/api/v1/auth/dashboard": {
            "get": op(
                "auth",
                "How the dashboard signs in",
                {"200": json_content(ref("DashboardInfo"))},
                public=True,
                operation_id="dashboardInfo",
            )
        },
        "/api/v1/auth/dashboard-sessions": {
            "post": op(
                "auth",
                "Sign in to the dashboard with its password",
                {"201": json_content(ref("DashboardSession"), "Created")},
                description="Only when a dashboard password is configured "
                "(`SWITCHYARD_DASHBOARD_PASSWORD`). The token is a bearer credential "
                "for the server's environment, valid 12 hours.",
                body=request_body(ref("DashboardSessionRequest"), True),
                errors=("400", "401", "404", "413", "422", "429"),
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
                f"E{code}": json_content(ref("Error"), text)
                for code, text in {**ERRORS, "503": "The database is unreachable."}.items()
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
