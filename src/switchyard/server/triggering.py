"""Turning trigger requests into runs: options checked field by field, payloads
validated against the task's schema, and triggers from concurrent requests written in
one transaction.

Everything a client can get wrong is a 4xx with the field named; nothing is stored
until every item of a request is valid.
"""

from __future__ import annotations

import datetime as dt
import os
import signal
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from switchyard.core import jsonutil, option_values
from switchyard.core.api_keys import RequestResponse
from switchyard.core.errors import (
    InvalidJSONValueError,
    InvalidOptionError,
    PayloadValidationError,
    UnknownTaskError,
)
from switchyard.core.group_commit import GroupCommit
from switchyard.core.models import NewRun, TaskInfo, TriggerResult
from switchyard.core.option_values import MAX_SECONDS as MAX_SECONDS  # re-exported
from switchyard.core.option_values import fields_of
from switchyard.core.options import OPTION_NAMES, TriggerOptions
from switchyard.engine import Engine
from switchyard.runtime import Runtime
from switchyard.sdk.registry import REGISTRY
from switchyard.server.errors import ApiError, error_response
from switchyard.server.idempotency import Reservation
from switchyard.server.inputs import db

OPTION_FIELDS = OPTION_NAMES
"""The fields of ``options``: those of :class:`~switchyard.core.options.TriggerOptions`."""
MAX_BATCH = 1000

_TASK_CACHE_SECONDS = 2.0


def invalid(message: str, **details: Any) -> ApiError:
    """A 422 ``invalid_request``."""
    return ApiError(422, "invalid_request", message, details=details or None)


def check_fields(body: Mapping[str, Any], known: Sequence[str], where: str) -> None:
    """Refuse fields that are not in ``known`` (a typo must not be silently ignored)."""
    try:
        fields_of(body, where, known)
    except InvalidOptionError as exc:
        raise invalid(str(exc)) from None


def duration(value: Any, name: str) -> float:
    """A duration (``"30s"``, ``"1h30m"``, seconds) of at most 100 years, in seconds."""
    try:
        return option_values.duration(value, name)
    except InvalidOptionError as exc:
        raise invalid(str(exc)) from None


def moment(value: Any, name: str) -> dt.datetime | float:
    """A duration from now (seconds) or an ISO 8601 datetime with an offset."""
    try:
        return option_values.moment(value, name)
    except InvalidOptionError as exc:
        raise invalid(str(exc)) from None


def parse_options(raw: Any, where: str = "options") -> TriggerOptions:
    """Trigger options from JSON, each field checked by
    :meth:`TriggerOptions.parse <switchyard.core.options.TriggerOptions.parse>`; a
    422 naming the field."""
    if raw is not None and not isinstance(raw, dict):
        raise invalid(f"invalid {where}: expected an object with fields {', '.join(OPTION_NAMES)}")
    try:
        return TriggerOptions.parse(raw, where)
    except InvalidOptionError as exc:
        raise invalid(str(exc)) from None


def database_error_handlers() -> dict[Any, Any]:
    """Exception handlers for input the database refuses (PostgreSQL: NUL in text).

    A safety net behind the checks of each route: a 422, never a 500.
    """
    try:
        import psycopg
    except ImportError:  # pragma: no cover - SQLite only
        return {}

    async def data_error(request: Request, exc: Exception) -> Response:
        return error_response(
            422, "invalid_request", f"the database refused a value: {str(exc).splitlines()[0]}"
        )

    return {psycopg.DataError: data_error}


# -- payloads --------------------------------------------------------------------------
@lru_cache(maxsize=256)
def _validator(schema_json: str) -> Any:
    import jsonschema

    schema = jsonutil.loads(schema_json)
    cls = jsonschema.validators.validator_for(schema, default=jsonschema.Draft202012Validator)
    return cls(schema)


def validate_against_schema(task_id: str, schema: dict[str, Any], payload: Any) -> None:
    """Check ``payload`` against a task's JSON Schema; :class:`PayloadValidationError`."""
    try:
        validator = _validator(jsonutil.dumps(schema, limit=1 << 30))
        errors = sorted(validator.iter_errors(payload), key=lambda e: list(e.absolute_path))
    except Exception:  # a schema jsonschema cannot use: the worker still validates
        return
    if errors:
        raise PayloadValidationError(
            task_id,
            [
                {"loc": list(e.absolute_path), "msg": e.message, "type": str(e.validator)}
                for e in errors[:50]
            ],
        )


class TaskCache:
    """Task definitions by id: this process's registry, else storage (cached 2 s)."""

    def __init__(self) -> None:
        self._found: dict[tuple[str, str], tuple[TaskInfo, float]] = {}

    async def get(self, runtime: Runtime, task_id: str) -> TaskInfo:
        """The task, or :class:`UnknownTaskError` (a 404)."""
        local = REGISTRY.find(task_id)
        if local is not None:
            return local.info()
        key = (runtime.engine.environment, task_id)
        now = time.monotonic()
        cached = self._found.get(key)
        if cached is None or cached[1] < now:
            info = await db(runtime.engine.get_task, task_id)
            if info is None:  # not cached: a worker may register it any moment
                known = [t.id for t in await db(runtime.engine.list_tasks)]
                raise UnknownTaskError(task_id, known)
            if len(self._found) > 10_000:
                self._found.clear()
            self._found[key] = cached = (info, now + _TASK_CACHE_SECONDS)
        assert cached[0] is not None
        return cached[0]


def payload_json(runtime: Runtime, info: TaskInfo, payload: Any) -> str:
    """Validate (schema tasks) and encode a payload; 413 over the size limit."""
    limit = runtime.config.max_payload_bytes
    local = REGISTRY.find(info.id)
    if local is not None:
        return local.payload_json(payload, limit)
    if info.payload_schema is not None:
        validate_against_schema(info.id, info.payload_schema, payload)
    return jsonutil.dumps(payload, what=f"payload for task {info.id!r}", limit=limit)


def new_run(
    runtime: Runtime,
    info: TaskInfo,
    payload: Any,
    options: TriggerOptions,
    batch_id: str | None = None,
) -> NewRun:
    """A resolved run; every way it can fail is a 4xx."""
    text = payload_json(runtime, info, payload)
    try:
        return runtime.engine.new_run(info, text, options, batch_id=batch_id)
    except (InvalidOptionError, PayloadValidationError, InvalidJSONValueError):
        raise
    except (TypeError, ValueError, OverflowError) as exc:
        raise invalid(f"invalid trigger options: {exc}") from None


# -- writing -------------------------------------------------------------------------------
Render = Callable[[Sequence[TriggerResult]], Response]
"""A request's response, made from the results of its runs."""

FAULT_AFTER_TRIGGER_COMMIT = os.environ.get("SWITCHYARD_FAULT_AFTER_TRIGGER_COMMIT") == "1"
"""Test-only fault point: the process kills itself (SIGKILL) right after a trigger's
transaction commits, before any response is sent, as a crash would
(tests/test_idempotency_crash.py). Never set it anywhere else."""


@dataclass
class _Request:
    """One request's runs, and (with an ``Idempotency-Key``) how to store its response."""

    runs: list[NewRun]
    reservation: Reservation | None = None
    render: Render | None = None


def _encoded(render: Render) -> Callable[[Sequence[TriggerResult]], tuple[int, str]]:
    def encode(results: Sequence[TriggerResult]) -> tuple[int, str]:
        response = render(results)
        return response.status_code, bytes(response.body).decode()

    return encode


class TriggerWriter:
    """Writes the runs of concurrent trigger requests in few transactions.

    A :class:`~switchyard.core.group_commit.GroupCommit` of requests: up to
    ``max_in_flight`` writes at once, each taking the requests that queued up meanwhile
    (at most ``max_runs`` runs) in one transaction; alone, a request is written at once.
    If a combined write fails, each request is written on its own so only the one at
    fault fails. A request's runs are all created or none.
    """

    def __init__(self, engine: Engine, max_runs: int = 2000, max_in_flight: int = 4) -> None:
        self.engine = engine  # its trigger: one transaction, reported to its hooks
        self._commits: GroupCommit[_Request, list[TriggerResult]] = GroupCommit(
            db,
            self._write,
            max_size=max_runs,
            size=lambda request: len(request.runs),
            writers=max_in_flight,
            isolate=True,
        )

    async def write(
        self,
        runs: list[NewRun],
        reservation: Reservation | None = None,
        render: Render | None = None,
    ) -> list[TriggerResult]:
        """Store ``runs`` (one request's) and return one result per run.

        With the request's ``Idempotency-Key`` ``reservation``, the response ``render``
        makes of the results is stored in the same transaction as the runs (and the
        reservation marked ``stored``); a key a retry took over raises
        :class:`~switchyard.core.api_keys.RequestTakenOverError`, nothing stored.
        """
        return await self._commits.submit(_Request(runs, reservation, render))

    def _write(self, group: Sequence[_Request]) -> list[list[TriggerResult]]:
        """One transaction for the runs (and stored responses) of ``group``."""
        runs: list[NewRun] = []
        responses: list[RequestResponse] = []
        for request in group:
            if request.reservation is not None and request.render is not None:
                encode = _encoded(request.render)
                responses.append(request.reservation.response(len(runs), len(request.runs), encode))
            runs.extend(request.runs)
        results = self.engine.trigger(runs, responses)
        if FAULT_AFTER_TRIGGER_COMMIT:
            os.kill(os.getpid(), signal.SIGKILL)
        out, start = [], 0
        for request in group:
            if request.reservation is not None and request.render is not None:
                request.reservation.stored = True
            out.append(results[start : start + len(request.runs)])
            start += len(request.runs)
        return out
