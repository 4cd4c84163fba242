"""The server against its own OpenAPI document, with schemathesis, on each backend.

Every operation gets generated requests (valid and invalid) with a valid API key; no
response may be a 5xx, and every response must be documented: its status code, its
content type and its body's schema. A query the document calls valid must be accepted
(never 422), and an undocumented method gets 405 with ``Allow``. The realtime streams
are left out (they never end); tests/test_http_e2e.py covers them against real processes.
"""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from hypothesis.strategies import from_regex
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    positive_data_acceptance,
    response_schema_conformance,
    status_code_conformance,
)

from switchyard.core.api_keys import ApiKey, hash_key, key_prefix, new_key_id
from switchyard.core.models import TaskInfo
from switchyard.core.options import TriggerOptions
from switchyard.runtime import configure, reset_runtime
from switchyard.sdk import wait
from switchyard.server import create_app
from switchyard.server.inputs import parse_time
from switchyard.server.openapi_schemas import DURATION_PATTERN, TIME_PATTERN
from switchyard.server.triggering import MAX_SECONDS, duration
from tests.conftest import make_config

KEY = "sy_dev_schemathesis_key_0123456789"
AUTH = {"Authorization": f"Bearer {KEY}"}
ORDER_SCHEMA = {
    "type": "object",
    "properties": {"id": {"type": "integer"}, "email": {"type": "string"}},
    "required": ["id"],
}
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@pytest.fixture
def api_schema(database_url: str) -> Iterator[Any]:
    """The app on a database with a key, two tasks (one with a schema), runs, a token."""
    runtime = configure(make_config(database_url))
    engine = runtime.engine
    engine.register(
        [
            TaskInfo(id="st-order", queue="task/st-order", payload_schema=ORDER_SCHEMA),
            TaskInfo(id="st-plain", queue="task/st-plain"),
        ]
    )
    runtime.storage.create_api_key(
        ApiKey(new_key_id(), "dev", "schemathesis", key_prefix(KEY), hash_key(KEY), time.time())
    )
    info = engine.get_task("st-plain")
    assert info is not None
    runs = engine.trigger(
        [
            engine.new_run(info, '{"n": 1}', TriggerOptions(tags=["t"])),
            engine.new_run(info, "null", TriggerOptions(delay="1h")),
        ]
    )
    token = wait.create_token_sync(tags="t")
    signature = wait.token_signature(runtime.engine.callback_secret(), token.id)
    app = create_app(runtime, rate_limit=None)
    # Generated callback signatures are wrong: left at 10, they would throttle the
    # test's address (429 to everything) after a few cases.
    app.state.auth_failures.burst = 1e9
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    known = [
        {
            "task_id": task,
            "run_id": run.run_id,
            "token_id": token.id,
            "signature": signature,
            "name": f"task/{task}",
        }
        for task, run in zip(["st-order", "st-plain"], runs, strict=True)
    ]
    try:
        yield schema.exclude(path_regex=r".*/events$"), known
    finally:
        reset_runtime()


def _check_operation(
    operation: Any, mode: GenerationMode, examples: int, path: dict[str, str] | None = None
) -> None:
    strategy = operation.as_strategy(generation_mode=mode, path_parameters=path)

    @given(case=strategy)
    @settings(
        max_examples=examples,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        derandomize=True,
        database=None,
    )
    def check(case: Any) -> None:
        checks = CHECKS
        if operation.method.upper() == "GET":
            # What the document calls a valid query is one the server takes (not 422).
            # Bodies are left out: a task's payload schema and JSON the databases cannot
            # store (NUL) are checked by the server, not describable per route.
            checks = [*CHECKS, positive_data_acceptance]
        case.call_and_validate(headers=AUTH, checks=checks)

    check()


def test_api_matches_its_openapi_document(api_schema: tuple[Any, list[dict[str, str]]]) -> None:
    schema, known = api_schema
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 25
    for operation in operations:
        _check_operation(operation, GenerationMode.POSITIVE, 10)
        names = {p.name for p in operation.path_parameters}
        for values in known if names else ():  # real tasks, runs, tokens and queues
            path = {k: v for k, v in values.items() if k in names}
            _check_operation(operation, GenerationMode.POSITIVE, 10, path)
        with contextlib.suppress(Unsatisfiable):  # nothing to make invalid (no inputs)
            _check_operation(operation, GenerationMode.NEGATIVE, 8)


async def test_undocumented_methods_get_405_with_every_allowed_method(
    api_schema: tuple[Any, list[dict[str, str]]],
) -> None:
    schema, known = api_schema
    values = {**known[1], "name": "task~st-plain"}  # a queue name without "/"
    methods = {"GET", "POST", "PUT", "PATCH", "DELETE"}
    transport = httpx.ASGITransport(app=schema.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t", headers=AUTH) as http:
        for path, item in schema.raw_schema["paths"].items():
            documented = {m.upper() for m in item} & methods
            undocumented = methods - documented
            if path.startswith("/api/v1/queues/{name}/"):
                # GET /queues/{name}/pause reads the queue named "{name}/pause"
                undocumented.discard("GET")
                documented.add("GET")
            url = path.format(**values)
            for method in sorted(undocumented):
                answer = await http.request(method, url)
                assert answer.status_code == 405, (method, url, answer.text)
                allowed = set(answer.headers["Allow"].split(", ")) - {"HEAD"}
                assert allowed == documented, (method, url, answer.headers["Allow"])


@given(text=from_regex(DURATION_PATTERN, fullmatch=True).filter(bool))
@settings(max_examples=300, deadline=None, database=None)
def test_durations_the_document_allows_are_accepted(text: str) -> None:
    assert 0 <= duration(text, "period") <= MAX_SECONDS


@given(text=from_regex(TIME_PATTERN, fullmatch=True))
@settings(max_examples=300, deadline=None, database=None)
def test_times_the_document_allows_are_accepted(text: str) -> None:
    assert math.isfinite(parse_time(text, "created_after"))
