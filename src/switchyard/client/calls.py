"""The API's calls, shared by :class:`~switchyard.client.Client` and
:class:`~switchyard.client.AsyncClient`: each one a method, path, body and parser."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar
from urllib.parse import quote

import httpx

from switchyard.client.models import (
    ClientError,
    json_fields,
    jsonable,
    payload_json_value,
    run_from_json,
    trigger_options,
)
from switchyard.client.retrying import Attempts, RetryBudget
from switchyard.core.errors import SwitchyardError
from switchyard.core.handles import BatchHandle, BatchItem, RunHandle, Token
from switchyard.core.models import Run, RunPage
from switchyard.core.version import VERSION

T = TypeVar("T")

UNSET: Any = object()


# -- requests -------------------------------------------------------------------------------
@dataclass
class Call(Generic[T]):
    """One API call: what to send and how to read the answer."""

    method: str
    path: str
    parse: Callable[[Any], T]
    params: Mapping[str, Any] | None = None
    body: Any = UNSET
    creates: bool = False
    """Sends an Idempotency-Key so a retry never does the work twice."""
    idempotency_key: str | None = None
    repeatable: bool = False
    """A POST that is harmless to send twice (a cancel): retried after a lost answer."""


def quoted(value: str) -> str:
    """A path segment, every reserved character escaped."""
    return quote(value, safe="")


def _handle(data: Any) -> RunHandle:
    return RunHandle(data["id"], data["task_id"], bool(data.get("is_cached")))


def _batch(data: Any) -> BatchHandle:
    return BatchHandle(data["batch_id"], tuple(_handle(r) for r in data["runs"]))


def _page(data: Any) -> RunPage:
    return RunPage([run_from_json(r) for r in data["data"]], data.get("next_cursor"))


def items_json(items: Sequence[Any], tasks: Sequence[str] | None = None) -> list[dict[str, Any]]:
    """Batch items as the API takes them (payloads or :class:`~switchyard.BatchItem`)."""
    out = []
    for index, item in enumerate(items):
        if isinstance(item, BatchItem):
            entry: dict[str, Any] = {"payload": payload_json_value(item.payload)}
            if item.options:
                entry["options"] = trigger_options(item.options)
        else:
            entry = {"payload": payload_json_value(item)}
        if tasks is not None:
            entry["task"] = tasks[index]
        out.append(entry)
    return out


class Api:
    """The calls, shared by :class:`Client` and :class:`AsyncClient`."""

    def __init__(self, url: str, api_key: str, max_retries: int, max_retry_time: float) -> None:
        if not url.startswith(("http://", "https://")):
            raise SwitchyardError(f"invalid API url {url!r}: use http(s)://host[:port]")
        if not api_key:
            raise SwitchyardError("an API key is needed: create one with `switchyard keys create`")
        self.url = url.rstrip("/")
        self.max_retries = max_retries
        try:
            self.retry = RetryBudget(max_retries, max_retry_time)
        except ValueError as exc:
            raise SwitchyardError(str(exc)) from None
        self._headers = {
            "Authorization": f"Bearer {api_key}",
            "User-Agent": f"switchyard-python/{VERSION}",
        }

    # the calls ------------------------------------------------------------------------------
    def _c_trigger(
        self, task_id: str, payload: Any, options: Mapping[str, Any], key: str | None
    ) -> Call[RunHandle]:
        body: dict[str, Any] = {"payload": payload_json_value(payload)}
        opts = trigger_options(options)
        if opts:
            body["options"] = opts
        return Call(
            "POST", f"/api/v1/tasks/{quoted(task_id)}/trigger", _handle, None, body, True, key
        )

    def _c_batch(
        self,
        task_id: str | None,
        entries: list[dict[str, Any]],
        idempotency_key: str | None,
        idempotency_key_ttl: Any,
        options: Mapping[str, Any],
    ) -> Call[BatchHandle]:
        body: dict[str, Any] = {"items": entries}
        opts = trigger_options(options)
        if opts:
            body["options"] = opts
        if idempotency_key is not None:
            body["idempotency_key"] = idempotency_key
        if idempotency_key_ttl is not None:
            body["idempotency_key_ttl"] = jsonable(idempotency_key_ttl)
        path = "/api/v1/batch-trigger" if task_id is None else f"/api/v1/tasks/{quoted(task_id)}"
        if task_id is not None:
            path += "/batch-trigger"
        return Call("POST", path, _batch, None, body, True)

    def _c_retrieve(self, run_id: str) -> Call[Run]:
        return Call("GET", f"/api/v1/runs/{quoted(run_id)}", run_from_json)

    def _c_list(self, filters: Mapping[str, Any]) -> Call[RunPage]:
        return Call("GET", "/api/v1/runs", _page, query(filters))

    def _c_cancel(self, run_id: str) -> Call[list[str]]:
        path = f"/api/v1/runs/{quoted(run_id)}/cancel"
        return Call("POST", path, lambda d: list(d["canceled"]), repeatable=True)

    def _c_replay(self, run_id: str, payload: Any) -> Call[RunHandle]:
        body = {} if payload is UNSET else {"payload": payload_json_value(payload)}
        return Call("POST", f"/api/v1/runs/{quoted(run_id)}/replay", _handle, None, body, True)

    def _c_reschedule(self, run_id: str, delay: Any) -> Call[Run]:
        path = f"/api/v1/runs/{quoted(run_id)}/reschedule"
        return Call("POST", path, run_from_json, None, {"delay": jsonable(delay)})

    def _c_metadata(self, run_id: str, metadata: Mapping[str, Any]) -> Call[Run]:
        path = f"/api/v1/runs/{quoted(run_id)}/metadata"
        return Call("PUT", path, run_from_json, None, {"metadata": dict(metadata)})

    def _c_tasks(self) -> Call[list[dict[str, Any]]]:
        return Call("GET", "/api/v1/tasks", lambda d: list(d["data"]))

    def _c_create_token(self, options: Mapping[str, Any]) -> Call[Token]:
        body = json_fields(options)
        return Call(
            "POST",
            "/api/v1/waitpoints/tokens",
            lambda d: Token(d["id"], d["url"], bool(d["is_cached"])),
            None,
            body,
            repeatable="idempotency_key" in body,  # the same token again
        )

    def _c_tokens(self, filters: Mapping[str, Any]) -> Call[dict[str, Any]]:
        return Call("GET", "/api/v1/waitpoints/tokens", dict, query(filters))

    def _c_token(self, token_id: str) -> Call[dict[str, Any]]:
        return Call("GET", f"/api/v1/waitpoints/tokens/{quoted(token_id)}", dict)

    def _c_complete_token(self, token_id: str, data: Any) -> Call[dict[str, Any]]:
        path = f"/api/v1/waitpoints/tokens/{quoted(token_id)}/complete"
        # The first completion wins: sending it again changes nothing.
        body = {"data": payload_json_value(data)}
        return Call("POST", path, dict, None, body, repeatable=True)

    def _c_queues(self) -> Call[list[dict[str, Any]]]:
        return Call("GET", "/api/v1/queues", lambda d: list(d["data"]))

    def _c_queue(
        self, name: str, action: str = "", method: str = "GET", body: Any = UNSET
    ) -> Call[dict[str, Any]]:
        path = f"/api/v1/queues/{quoted(name)}" + (f"/{action}" if action else "")
        return Call(method, path, dict, None, body, repeatable=True)  # pause, resume

    def _c_environment(
        self, action: str = "", method: str = "GET", body: Any = UNSET
    ) -> Call[dict[str, Any]]:
        path = "/api/v1/environment" + (f"/{action}" if action else "")
        return Call(method, path, dict, None, body, repeatable=True)  # pause, resume

    def _c_public_token(self, scope: str, target: str, expires_in: Any) -> Call[str]:
        body: dict[str, Any] = {"scope": scope, "id": target}
        if expires_in is not None:
            body["expires_in"] = jsonable(expires_in)
        return Call("POST", "/api/v1/auth/public-tokens", lambda d: str(d["token"]), None, body)

    # plumbing ----------------------------------------------------------------------------------
    def _request_headers(self, call: Call[Any]) -> dict[str, str]:
        if call.creates:
            return {"Idempotency-Key": call.idempotency_key or str(uuid.uuid4())}
        return {}

    @staticmethod
    def _error(response: httpx.Response) -> ClientError:
        try:
            error = response.json()["error"]
            return ClientError(
                response.status_code, str(error["code"]), str(error["message"]), error.get("errors")
            )
        except (ValueError, KeyError, TypeError):
            text = response.text[:300] if response.text else response.reason_phrase
            return ClientError(response.status_code, "http_error", text)

    def _attempts(self, call: Call[Any], headers: Mapping[str, str]) -> Attempts:
        keyed = "Idempotency-Key" in headers
        return self.retry.start(call.method, keyed=keyed, repeatable=call.repeatable)

    def _failed(
        self, attempts: Attempts, response: httpx.Response
    ) -> tuple[ClientError, float | None]:
        """The error of a response, and how long to wait before retrying (None: raise)."""
        error = self._error(response)
        wait = attempts.after_response(
            response.status_code, error.code, response.headers.get("retry-after")
        )
        return error, wait

    def _unreachable(
        self, attempts: Attempts, exc: httpx.TransportError
    ) -> tuple[ClientError, float | None]:
        """The error of a failed connection, and how long to wait before retrying."""
        return ClientError(0, "unreachable", f"{self.url}: {exc}"), attempts.after_error(exc)

    def _kwargs(self, call: Call[Any], headers: Mapping[str, str]) -> dict[str, Any]:
        kwargs: dict[str, Any] = {"params": call.params, "headers": headers}
        if call.body is not UNSET:
            kwargs["json"] = call.body
        return kwargs


def query(filters: Mapping[str, Any]) -> dict[str, Any]:
    """List filters as query parameters: None left out, lists comma-separated,
    datetimes in ISO 8601."""
    params: dict[str, Any] = {}
    for key, value in filters.items():
        if value is None:
            continue
        if key in ("status", "task") and not isinstance(value, str):
            value = ",".join(str(v) for v in value)
        if isinstance(value, dt.datetime):
            value = value.isoformat()
        params[key] = value
    return params


def stream_params(tag: str | Sequence[str], limit: int | None) -> dict[str, Any]:
    """The query of a tag stream."""
    tags = [tag] if isinstance(tag, str) else list(tag)
    params: dict[str, Any] = {"tag": ",".join(tags)}
    if limit is not None:
        params["limit"] = limit
    return params


def run_id(run: str | RunHandle) -> str:
    """A run's id, from the id or a handle."""
    return run.id if isinstance(run, RunHandle) else run
