"""The schemas of the OpenAPI document: the shapes of requests and responses."""

from __future__ import annotations

from typing import Any

from switchyard.core.option_values import DURATION as DURATION
from switchyard.core.option_values import DURATION_PATTERN as DURATION_PATTERN
from switchyard.core.option_values import DURATION_TEXT as DURATION_TEXT
from switchyard.core.option_values import MOMENT as MOMENT
from switchyard.core.options import options_schema
from switchyard.core.states import RunStatus
from switchyard.core.waitpoints import WaitpointKind, WaitpointStatus

J = dict[str, Any]
ANY: J = {}
STR: J = {"type": "string"}
INT: J = {"type": "integer"}
NUM: J = {"type": "number"}
BOOL: J = {"type": "boolean"}
TIME: J = {"type": ["string", "null"], "format": "date-time"}
OBJ: J = {"type": "object"}


def nullable(schema: J) -> J:
    """``schema`` or null."""
    kind = schema.get("type")
    if isinstance(kind, str):
        return {**schema, "type": [kind, "null"]}
    return {"anyOf": [schema, {"type": "null"}]}


def ref(name: str) -> J:
    """A reference to a component schema."""
    return {"$ref": f"#/components/schemas/{name}"}


def obj(props: J, required: list[str] | None = None, extra: bool = True) -> J:
    """An object schema (``required`` defaults to every property)."""
    schema: J = {"type": "object", "properties": props}
    schema["required"] = list(props) if required is None else required
    if not extra:
        schema["additionalProperties"] = False
    return schema


def list_of(name: str) -> J:
    """A page of ``name`` objects: ``{data, next_cursor}``."""
    return obj({"data": {"type": "array", "items": ref(name)}, "next_cursor": nullable(STR)})


# Durations: the same patterns and schemas as the trigger options (core.option_values).
# Times in query parameters: epoch seconds, or ISO 8601 (a date, a time to the minute,
# second or microsecond, an offset or Z) that Python's datetime.fromisoformat reads.
TIME_PATTERN = (
    r"^(-?[0-9]{1,12}(\.[0-9]{1,6})?|[1-9][0-9]{3}-(0[1-9]|1[0-2])-(0[1-9]|1[0-9]|2[0-8])"
    r"(T([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9](\.[0-9]{1,6})?)?"
    r"(Z|[+-]([01][0-9]|2[0-3]):[0-5][0-9])?)?)$"
)
NO_NUL = r"^[^\u0000]*$"
"""Strings without NUL, which the server refuses anywhere in a URL."""
QUERY_STR: J = {"type": "string", "pattern": NO_NUL}
STRINGS: J = {"anyOf": [STR, {"type": "array", "items": STR}]}

SCHEMAS: dict[str, J] = {
    "Error": obj(
        {
            "error": obj(
                {
                    "code": {**STR, "description": "Stable, machine-readable."},
                    "message": {**STR, "description": "What was wrong and how to fix it."},
                    "errors": {
                        "type": "array",
                        "description": "Field errors of a payload that fails its schema.",
                        "items": obj({"loc": {"type": "array"}, "msg": STR, "type": STR}),
                    },
                },
                ["code", "message"],
            )
        }
    ),
    "Run": obj(
        {
            "id": STR,
            "task_id": STR,
            "environment": STR,
            "queue": STR,
            "status": {"type": "string", "enum": [s.value for s in RunStatus]},
            "is_final": BOOL,
            "payload": ANY,
            "output": ANY,
            "error": nullable(OBJ),
            "tags": {"type": "array", "items": STR},
            "metadata": OBJ,
            "priority": NUM,
            "attempt_count": INT,
            "created_at": TIME,
            "queued_at": TIME,
            "delay_until": TIME,
            "expires_at": TIME,
            "started_at": TIME,
            "finished_at": TIME,
            "updated_at": TIME,
            "retry": OBJ,
            "max_duration": nullable(NUM),
            "ttl": nullable(NUM),
            "idempotency_key": nullable(STR),
            "idempotency_expires_at": TIME,
            "concurrency_key": nullable(STR),
            "parent_run_id": nullable(STR),
            "root_run_id": nullable(STR),
            "batch_id": nullable(STR),
            "replayed_from": nullable(STR),
        }
    ),
    "Attempt": obj(
        {
            "id": STR,
            "number": INT,
            "status": STR,
            "worker_id": nullable(STR),
            "started_at": TIME,
            "finished_at": TIME,
            "error": nullable(OBJ),
        }
    ),
    "RunWithAttempts": {
        "allOf": [
            ref("Run"),
            obj({"attempts": {"type": "array", "items": ref("Attempt")}}),
        ]
    },
    "RunList": list_of("Run"),
    "TriggerOptions": options_schema(),
    "TriggerRequest": {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "payload": {**ANY, "description": "Any JSON; checked against the task's schema."},
            "options": ref("TriggerOptions"),
        },
    },
    "TriggerResult": obj({"id": STR, "task_id": STR, "is_cached": BOOL}),
    "BatchItem": {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "task": {**STR, "description": "Only in /api/v1/batch-trigger: the task id."},
            "payload": ANY,
            "options": ref("TriggerOptions"),
        },
    },
    "BatchTriggerRequest": {
        "type": "object",
        "additionalProperties": False,
        "required": ["items"],
        "properties": {
            "items": {"type": "array", "minItems": 1, "maxItems": 1000, "items": ref("BatchItem")},
            "options": ref("TriggerOptions"),
            "idempotency_key": {**STR, "description": "Item i gets the key [key, i]."},
            "idempotency_key_ttl": DURATION,
        },
    },
    "BatchResult": obj({"batch_id": STR, "runs": {"type": "array", "items": ref("TriggerResult")}}),
    "CancelResult": obj({"id": STR, "status": STR, "canceled": {"type": "array", "items": STR}}),
    "ReplayRequest": {
        "type": "object",
        "additionalProperties": False,
        "properties": {"payload": {**ANY, "description": "A new payload; left out: the same."}},
    },
    "RescheduleRequest": obj({"delay": MOMENT}, extra=False),
    "MetadataRequest": obj({"metadata": OBJ}, extra=False),
    "Task": obj(
        {
            "id": STR,
            "queue": STR,
            "payload_schema": {
                **nullable(OBJ),
                "description": "JSON Schema of the payload (schema tasks), or null.",
            },
            "retry": nullable(OBJ),
            "max_duration": nullable(NUM),
            "ttl": nullable(NUM),
            "queue_concurrency_limit": nullable(INT),
        }
    ),
    "TaskList": obj({"data": {"type": "array", "items": ref("Task")}}),
    "Queue": obj(
        {
            "name": STR,
            "environment": STR,
            "concurrency_limit": nullable(INT),
            "paused": BOOL,
            "queued": INT,
            "running": INT,
        }
    ),
    "QueueList": obj({"data": {"type": "array", "items": ref("Queue")}}),
    "QueueStats": obj(
        {
            "name": STR,
            "environment": STR,
            "paused": BOOL,
            "concurrency_limit": nullable(INT),
            "base_limit": nullable(INT),
            "limit_override": nullable(INT),
            "queued": INT,
            "running": INT,
            "waiting": INT,
            "delayed": INT,
            "oldest_queued_age": nullable(NUM),
            "started_per_minute": NUM,
            "wait_p50": nullable(NUM),
            "wait_p95": nullable(NUM),
            "window": NUM,
        },
        [
            "name",
            "environment",
            "paused",
            "concurrency_limit",
            "queued",
            "running",
        ],
    ),
    "LimitRequest": obj(
        {"limit": {"type": ["integer", "null"], "minimum": 0, "maximum": 1_000_000}},
        extra=False,
    ),
    "Environment": obj(
        {
            "name": STR,
            "paused": BOOL,
            "concurrency_limit": nullable(INT),
            "running": INT,
            "workers": {"type": "array", "items": OBJ},
        }
    ),
    "Token": obj(
        {
            "id": STR,
            "status": {"type": "string", "enum": [s.value for s in WaitpointStatus]},
            "output": ANY,
            "error": nullable(OBJ),
            "tags": {"type": "array", "items": STR},
            "idempotency_key": nullable(STR),
            "timeout_at": TIME,
            "created_at": TIME,
            "completed_at": TIME,
            "created_by_run_id": nullable(STR),
            "url": {
                **STR,
                "description": "The callback URL: POST JSON here to complete it. Left "
                "out for a public token, which must not outlive its own expiry.",
            },
        }
    ),
    "TokenList": list_of("Token"),
    "TokenCreateRequest": {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "timeout": {
                "description": "A duration, or an ISO 8601 datetime with an offset.",
                "anyOf": [*DURATION["anyOf"], {"type": "string", "format": "date-time"}],
            },
            "idempotency_key": STRINGS,
            "idempotency_key_ttl": DURATION,
            "tags": STRINGS,
        },
    },
    "TokenCreated": obj({"id": STR, "url": STR, "is_cached": BOOL}),
    "TokenCompleteRequest": {
        "type": "object",
        "additionalProperties": False,
        "properties": {"data": {**ANY, "description": "The token's output."}},
    },
    "TokenSettled": {
        "allOf": [ref("Token"), obj({"already_completed": BOOL})],
    },
    "CallbackResult": obj({"id": STR, "status": STR, "already_completed": BOOL}),
    "PublicTokenRequest": obj(
        {
            "scope": {"type": "string", "enum": ["read_run", "complete_token"]},
            "id": {
                "type": "string",
                "minLength": 1,
                "maxLength": 256,
                "pattern": NO_NUL,
                "description": "The run (read_run) or token (complete_token).",
            },
            "expires_in": {**DURATION, "description": "Default 15m, at most 7d."},
        },
        ["scope", "id"],
        extra=False,
    ),
    "PublicToken": obj(
        {"token": STR, "scope": STR, "id": STR, "environment": STR, "expires_at": TIME}
    ),
    "Waitpoint": obj(
        {
            "id": STR,
            "kind": {"type": "string", "enum": [k.value for k in WaitpointKind]},
            "status": {"type": "string", "enum": [s.value for s in WaitpointStatus]},
            "output": ANY,
            "error": nullable(OBJ),
            "complete_after": TIME,
            "timeout_at": TIME,
            "idempotency_key": nullable(STR),
            "tags": {"type": "array", "items": STR},
            "child_run_id": nullable(STR),
            "batch_id": nullable(STR),
            "batch_total": nullable(INT),
            "created_by_run_id": nullable(STR),
            "created_at": TIME,
            "completed_at": TIME,
        }
    ),
    "WaitpointList": obj({"data": {"type": "array", "items": ref("Waitpoint")}}),
    "SkipResult": obj({"skipped": {"type": "array", "items": ref("Waitpoint")}}),
    "DashboardInfo": obj(
        {
            "auth": {**BOOL, "description": "False when the server checks no credential."},
            "password": {**BOOL, "description": "True when a dashboard password is set."},
            "environment": STR,
            "version": STR,
            "max_payload_bytes": INT,
        }
    ),
    "DashboardSessionRequest": obj({"password": STR}, extra=False),
    "DashboardSession": obj({"token": STR, "environment": STR, "expires_at": TIME}),
    "Health": obj({"status": STR, "version": STR, "environment": STR}),
}
# A public token's caller never gets the callback URL: it outlives the public token.
SCHEMAS["Token"]["required"].remove("url")
