"""A Python client for the HTTP API: code that has the API but not the database.

```python
from switchyard import Client

with Client("https://jobs.example.com", api_key="sy_prod_...") as sy:
    handle = sy.trigger("send-email", {"to": "ada@example.com"}, tags=["user:42"])
    for run in sy.subscribe(handle.id):          # realtime, until the run finishes
        print(run.status, run.metadata)
```

:class:`Client` is synchronous, :class:`AsyncClient` the same for ``async`` code. Both
retry what is safe to retry (connection errors, 429, 502-504) with backoff, and send
an ``Idempotency-Key`` with every trigger, so a retried trigger never makes a second
run. Errors from the API raise :class:`ClientError` with its ``status``, ``code`` and
``message`` (and ``errors`` for payloads that fail their schema).

With ``switchyard.configure(client=Client(...))`` (or ``SWITCHYARD_API_URL`` and
``SWITCHYARD_API_KEY``), ``task.trigger(...)``, ``trigger_sync`` and ``batch_trigger``
go through the client instead of the database.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import json
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar
from urllib.parse import quote

import httpx

import switchyard
from switchyard.core.errors import SwitchyardError
from switchyard.core.models import Run, RunPage
from switchyard.core.retry import RetryPolicy
from switchyard.core.states import RunStatus
from switchyard.sdk.handles import BatchHandle, RunHandle, Token

T = TypeVar("T")

_RETRY_STATUSES = frozenset({429, 502, 503, 504})
_UNSET: Any = object()


class ClientError(SwitchyardError):
    """The API answered with an error (or could not be reached at all: ``status`` 0)."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        errors: list[dict[str, Any]] | None = None,
    ) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.errors = errors or []


# -- JSON <-> models ------------------------------------------------------------------------
def _ts(value: str | None) -> float | None:
    if value is None:
        return None
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


def run_from_json(data: Mapping[str, Any]) -> Run:
    """A :class:`~switchyard.Run` from the API's JSON (times back to epoch seconds)."""
    created = _ts(data["created_at"]) or 0.0
    queued = _ts(data.get("queued_at")) or created
    return Run(
        id=data["id"],
        environment=data.get("environment", ""),
        task_id=data["task_id"],
        queue=data.get("queue", ""),
        status=RunStatus(data["status"]),
        payload=data.get("payload"),
        output=data.get("output"),
        error=data.get("error"),
        tags=tuple(data.get("tags") or ()),
        metadata=dict(data.get("metadata") or {}),
        priority=float(data.get("priority") or 0.0),
        order_key=queued - float(data.get("priority") or 0.0),
        created_at=created,
        queued_at=queued,
        delay_until=_ts(data.get("delay_until")),
        expires_at=_ts(data.get("expires_at")),
        started_at=_ts(data.get("started_at")),
        finished_at=_ts(data.get("finished_at")),
        attempt_count=int(data.get("attempt_count") or 0),
        current_attempt_id=None,
        retry=RetryPolicy.from_json(data.get("retry")),
        max_duration=data.get("max_duration"),
        ttl=data.get("ttl"),
        idempotency_key=data.get("idempotency_key"),
        idempotency_expires_at=_ts(data.get("idempotency_expires_at")),
        concurrency_key=data.get("concurrency_key"),
        parent_run_id=data.get("parent_run_id"),
        root_run_id=data.get("root_run_id"),
        batch_id=data.get("batch_id"),
        replayed_from=data.get("replayed_from"),
        worker_id=None,
        lease_expires_at=None,
        updated_at=_ts(data.get("updated_at")) or created,
    )


def _jsonable(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            raise ValueError(f"{value!r} needs a timezone (datetime.now(timezone.utc), ...)")
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    if isinstance(value, RetryPolicy):
        return value.to_json()
    if isinstance(value, tuple):
        return list(value)
    if isinstance(value, Mapping):
        return {k: _jsonable(v) for k, v in value.items()}
    name = getattr(value, "name", None)  # a switchyard.Queue
    if name is not None and hasattr(value, "concurrency_limit"):
        return name
    return value


def trigger_options(options: Mapping[str, Any]) -> dict[str, Any]:
    """Trigger options as the API takes them (None left out)."""
    return {k: _jsonable(v) for k, v in options.items() if v is not None}


def _payload(value: Any) -> Any:
    dump = getattr(value, "model_dump", None)  # a pydantic model
    if callable(dump):
        return dump(mode="json")
    return value


# -- server-sent events ----------------------------------------------------------------------
@dataclass
class ServerSentEvent:
    """One parsed SSE event."""

    event: str = "message"
    data: str = ""
    id: str | None = None


class SseParser:
    """Feed lines (without their newline); get events back as they complete."""

    def __init__(self) -> None:
        self._event = ServerSentEvent()
        self._data: list[str] = []

    def feed(self, line: str) -> ServerSentEvent | None:
        """Take one line; the finished event when ``line`` is blank."""
        if not line:
            if not self._data and self._event.event == "message" and self._event.id is None:
                return None
            event = dataclasses.replace(self._event, data="\n".join(self._data))
            self._event, self._data = ServerSentEvent(), []
            return event
        if line.startswith(":"):
            return None
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "data":
            self._data.append(value)
        elif name == "event":
            self._event.event = value
        elif name == "id":
            self._event.id = value
        return None


# -- requests -------------------------------------------------------------------------------
@dataclass
class _Call(Generic[T]):
    method: str
    path: str
    parse: Callable[[Any], T]
    params: Mapping[str, Any] | None = None
    body: Any = _UNSET
    creates: bool = False
    """Sends an Idempotency-Key so a retry never does the work twice."""
    idempotency_key: str | None = None


def _q(value: str) -> str:
    return quote(value, safe="")


def _handle(data: Any) -> RunHandle:
    return RunHandle(data["id"], data["task_id"], bool(data.get("is_cached")))


def _batch(data: Any) -> BatchHandle:
    return BatchHandle(data["batch_id"], tuple(_handle(r) for r in data["runs"]))


def _page(data: Any) -> RunPage:
    return RunPage([run_from_json(r) for r in data["data"]], data.get("next_cursor"))


def _items(items: Sequence[Any], tasks: Sequence[str] | None = None) -> list[dict[str, Any]]:
    from switchyard.sdk.task import BatchItem

    out = []
    for index, item in enumerate(items):
        if isinstance(item, BatchItem):
            entry: dict[str, Any] = {"payload": _payload(item.payload)}
            if item.options:
                entry["options"] = trigger_options(item.options)
        else:
            entry = {"payload": _payload(item)}
        if tasks is not None:
            entry["task"] = tasks[index]
        out.append(entry)
    return out


class _Api:
    """The calls, shared by :class:`Client` and :class:`AsyncClient`."""

    def __init__(self, url: str, api_key: str, max_retries: int) -> None:
        if not url.startswith(("http://", "https://")):
            raise SwitchyardError(f"invalid API url {url!r}: use http(s)://host[:port]")
        if not api_key:
            raise SwitchyardError("an API key is needed: create one with `switchyard keys create`")
        self.url = url.rstrip("/")
        self.max_retries = max_retries
        self._headers = {
            "Authorization": f"Bearer {api_key}",
            "User-Agent": f"switchyard-python/{switchyard.__version__}",
        }

    # the calls ------------------------------------------------------------------------------
    def _c_trigger(
        self, task_id: str, payload: Any, options: Mapping[str, Any], key: str | None
    ) -> _Call[RunHandle]:
        body: dict[str, Any] = {"payload": _payload(payload)}
        opts = trigger_options(options)
        if opts:
            body["options"] = opts
        return _Call("POST", f"/api/v1/tasks/{_q(task_id)}/trigger", _handle, None, body, True, key)

    def _c_batch(
        self,
        task_id: str | None,
        entries: list[dict[str, Any]],
        idempotency_key: str | None,
        idempotency_key_ttl: Any,
        options: Mapping[str, Any],
    ) -> _Call[BatchHandle]:
        body: dict[str, Any] = {"items": entries}
        opts = trigger_options(options)
        if opts:
            body["options"] = opts
        if idempotency_key is not None:
            body["idempotency_key"] = idempotency_key
        if idempotency_key_ttl is not None:
            body["idempotency_key_ttl"] = _jsonable(idempotency_key_ttl)
        path = "/api/v1/batch-trigger" if task_id is None else f"/api/v1/tasks/{_q(task_id)}"
        if task_id is not None:
            path += "/batch-trigger"
        return _Call("POST", path, _batch, None, body, True)

    def _c_retrieve(self, run_id: str) -> _Call[Run]:
        return _Call("GET", f"/api/v1/runs/{_q(run_id)}", run_from_json)

    def _c_list(self, filters: Mapping[str, Any]) -> _Call[RunPage]:
        params: dict[str, Any] = {}
        for key, value in filters.items():
            if value is None:
                continue
            if key in ("status", "task") and not isinstance(value, str):
                value = ",".join(str(v) for v in value)
            if isinstance(value, dt.datetime):
                value = value.isoformat()
            params[key] = value
        return _Call("GET", "/api/v1/runs", _page, params)

    def _c_cancel(self, run_id: str) -> _Call[list[str]]:
        return _Call("POST", f"/api/v1/runs/{_q(run_id)}/cancel", lambda d: list(d["canceled"]))

    def _c_replay(self, run_id: str, payload: Any) -> _Call[RunHandle]:
        body = {} if payload is _UNSET else {"payload": _payload(payload)}
        return _Call("POST", f"/api/v1/runs/{_q(run_id)}/replay", _handle, None, body, True)

    def _c_reschedule(self, run_id: str, delay: Any) -> _Call[Run]:
        path = f"/api/v1/runs/{_q(run_id)}/reschedule"
        return _Call("POST", path, run_from_json, None, {"delay": _jsonable(delay)})

    def _c_metadata(self, run_id: str, metadata: Mapping[str, Any]) -> _Call[Run]:
        path = f"/api/v1/runs/{_q(run_id)}/metadata"
        return _Call("PUT", path, run_from_json, None, {"metadata": dict(metadata)})

    def _c_tasks(self) -> _Call[list[dict[str, Any]]]:
        return _Call("GET", "/api/v1/tasks", lambda d: list(d["data"]))

    def _c_create_token(self, options: Mapping[str, Any]) -> _Call[Token]:
        body = trigger_options(options)
        return _Call(
            "POST",
            "/api/v1/waitpoints/tokens",
            lambda d: Token(d["id"], d["url"], bool(d["is_cached"])),
            None,
            body,
        )

    def _c_token(self, token_id: str) -> _Call[dict[str, Any]]:
        return _Call("GET", f"/api/v1/waitpoints/tokens/{_q(token_id)}", dict)

    def _c_complete_token(self, token_id: str, data: Any) -> _Call[dict[str, Any]]:
        path = f"/api/v1/waitpoints/tokens/{_q(token_id)}/complete"
        return _Call("POST", path, dict, None, {"data": _payload(data)})

    def _c_queues(self) -> _Call[list[dict[str, Any]]]:
        return _Call("GET", "/api/v1/queues", lambda d: list(d["data"]))

    def _c_queue(
        self, name: str, action: str = "", method: str = "GET", body: Any = _UNSET
    ) -> _Call[dict[str, Any]]:
        path = f"/api/v1/queues/{_q(name)}" + (f"/{action}" if action else "")
        return _Call(method, path, dict, None, body)

    def _c_environment(
        self, action: str = "", method: str = "GET", body: Any = _UNSET
    ) -> _Call[dict[str, Any]]:
        return _Call(
            method, "/api/v1/environment" + (f"/{action}" if action else ""), dict, None, body
        )

    def _c_public_token(self, scope: str, target: str, expires_in: Any) -> _Call[str]:
        body: dict[str, Any] = {"scope": scope, "id": target}
        if expires_in is not None:
            body["expires_in"] = _jsonable(expires_in)
        return _Call("POST", "/api/v1/auth/public-tokens", lambda d: str(d["token"]), None, body)

    # plumbing ----------------------------------------------------------------------------------
    def _request_headers(self, call: _Call[Any]) -> dict[str, str]:
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

    def _delay(self, attempt: int, response: httpx.Response | None) -> float:
        if response is not None:
            after = response.headers.get("retry-after")
            if after:
                try:
                    return min(30.0, max(0.0, float(after)))
                except ValueError:
                    pass
        return min(5.0, 0.2 * 2.0**attempt)

    def _kwargs(self, call: _Call[Any], headers: Mapping[str, str]) -> dict[str, Any]:
        kwargs: dict[str, Any] = {"params": call.params, "headers": headers}
        if call.body is not _UNSET:
            kwargs["json"] = call.body
        return kwargs


def _stream_params(tag: str | Sequence[str], limit: int | None) -> dict[str, Any]:
    tags = [tag] if isinstance(tag, str) else list(tag)
    params: dict[str, Any] = {"tag": ",".join(tags)}
    if limit is not None:
        params["limit"] = limit
    return params


class Client(_Api):
    """A synchronous client for ``switchyard server`` (or ``switchyard dev``)."""

    def __init__(
        self,
        url: str,
        api_key: str,
        *,
        timeout: float = 30.0,
        max_retries: int = 3,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        super().__init__(url, api_key, max_retries)
        self._http = httpx.Client(
            base_url=self.url, headers=self._headers, timeout=timeout, transport=transport
        )

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the connections."""
        self._http.close()

    def _do(self, call: _Call[T]) -> T:
        headers = self._request_headers(call)
        attempt = 0
        while True:
            response: httpx.Response | None = None
            try:
                response = self._http.request(call.method, call.path, **self._kwargs(call, headers))
            except httpx.TransportError as exc:
                if attempt >= self.max_retries:
                    raise ClientError(0, "unreachable", f"{self.url}: {exc}") from exc
            else:
                if response.status_code < 400:
                    return call.parse(response.json())
                if response.status_code not in _RETRY_STATUSES or attempt >= self.max_retries:
                    raise self._error(response)
            time.sleep(self._delay(attempt, response))
            attempt += 1

    # runs -------------------------------------------------------------------------------------
    def trigger(
        self, task_id: str, payload: Any = None, *, request_key: str | None = None, **options: Any
    ) -> RunHandle:
        """Trigger a run with any :meth:`switchyard.Task.trigger` option.

        ``request_key`` is the ``Idempotency-Key`` (a fresh one by default): pass your
        own to make a trigger safe to repeat across processes.
        """
        return self._do(self._c_trigger(task_id, payload, options, request_key))

    def batch_trigger(
        self,
        task_id: str,
        items: Sequence[Any],
        *,
        idempotency_key: str | None = None,
        idempotency_key_ttl: Any = None,
        **options: Any,
    ) -> BatchHandle:
        """Trigger many runs of a task at once (payloads or :class:`~switchyard.BatchItem`)."""
        call = self._c_batch(task_id, _items(items), idempotency_key, idempotency_key_ttl, options)
        return self._do(call)

    def batch_trigger_many(self, items: Iterable[tuple[str, Any]], **options: Any) -> BatchHandle:
        """Trigger runs of several tasks at once: ``[(task_id, payload), ...]``."""
        pairs = list(items)
        entries = _items([p for _, p in pairs], [t for t, _ in pairs])
        return self._do(self._c_batch(None, entries, None, None, options))

    def retrieve(self, run: str | RunHandle) -> Run:
        """The run as it is now."""
        return self._do(self._c_retrieve(_id(run)))

    def list_runs(self, **filters: Any) -> RunPage:
        """Runs newest first: ``status``, ``task``, ``tag``, ``queue``, ``period``,
        ``created_after``, ``created_before``, ``batch_id``, ``limit``, ``cursor``."""
        return self._do(self._c_list(filters))

    def cancel(self, run: str | RunHandle) -> list[str]:
        """Cancel a run and its unfinished children; the ids canceled."""
        return self._do(self._c_cancel(_id(run)))

    def replay(self, run: str | RunHandle, payload: Any = _UNSET) -> RunHandle:
        """A new run of the same task (with ``payload`` if given)."""
        return self._do(self._c_replay(_id(run), payload))

    def reschedule(self, run: str | RunHandle, delay: Any) -> Run:
        """Move a delayed run: ``delay`` is a duration from now or a datetime."""
        return self._do(self._c_reschedule(_id(run), delay))

    def update_metadata(self, run: str | RunHandle, metadata: Mapping[str, Any]) -> Run:
        """Replace a run's metadata."""
        return self._do(self._c_metadata(_id(run), metadata))

    def _events(self, path: str, params: Mapping[str, Any] | None) -> Iterator[Run]:
        last_id: str | None = None
        seen: dict[str, float] = {}
        failures = 0
        while True:
            headers = {"Accept": "text/event-stream"}
            if last_id:
                headers["Last-Event-ID"] = last_id
            try:
                with self._http.stream(
                    "GET",
                    path,
                    params=params,
                    headers=headers,
                    timeout=httpx.Timeout(30.0, read=60.0),
                ) as response:
                    if response.status_code == 204:
                        return
                    if response.status_code >= 400:
                        response.read()
                        raise self._error(response)
                    failures = 0
                    parser = SseParser()
                    for line in response.iter_lines():
                        event = parser.feed(line)
                        if event is None:
                            continue
                        if event.id:
                            last_id = event.id
                        if event.event == "end":
                            return
                        if event.event == "run":
                            run = run_from_json(json.loads(event.data))
                            if run.updated_at > seen.get(run.id, float("-inf")):
                                seen[run.id] = run.updated_at
                                yield run
            except httpx.TransportError:
                failures += 1
                if failures > self.max_retries:
                    raise
                time.sleep(self._delay(failures - 1, None))

    def subscribe(self, run: str | RunHandle) -> Iterator[Run]:
        """The run now, then each change (status, metadata, output) until it finishes.

        Reconnects by itself after a network error and resumes where it was.
        """
        return self._events(f"/api/v1/runs/{_q(_id(run))}/events", None)

    def subscribe_to_tag(
        self, tag: str | Sequence[str], *, limit: int | None = None
    ) -> Iterator[Run]:
        """Runs with the tag(s): the ``limit`` (default 100) most recent, then every
        change and every new run, until you stop iterating."""
        return self._events("/api/v1/runs/events", _stream_params(tag, limit))

    def poll(self, run: str | RunHandle, *, timeout: float = 60.0) -> Run:
        """Wait (over the realtime stream) until the run finishes; return it."""
        deadline = time.monotonic() + timeout
        for current in self.subscribe(run):
            if current.is_final:
                return current
            if time.monotonic() > deadline:
                break
        current = self.retrieve(run)
        if not current.is_final:
            raise TimeoutError(f"run {current.id} is still {current.status} after {timeout}s")
        return current

    # tasks, tokens, queues ------------------------------------------------------------------
    def list_tasks(self) -> list[dict[str, Any]]:
        """Registered tasks, with payload JSON Schemas."""
        return self._do(self._c_tasks())

    def create_token(self, **options: Any) -> Token:
        """A token: ``timeout``, ``idempotency_key``, ``idempotency_key_ttl``, ``tags``."""
        return self._do(self._c_create_token(options))

    def retrieve_token(self, token_id: str) -> dict[str, Any]:
        """A token with its status, output and callback URL."""
        return self._do(self._c_token(token_id))

    def complete_token(self, token_id: str, data: Any = None) -> dict[str, Any]:
        """Complete a token; ``data`` becomes its output (the first completion wins)."""
        return self._do(self._c_complete_token(token_id, data))

    def list_queues(self) -> list[dict[str, Any]]:
        """Queues with their counts."""
        return self._do(self._c_queues())

    def retrieve_queue(self, name: str) -> dict[str, Any]:
        """A queue's stats."""
        return self._do(self._c_queue(name))

    def pause_queue(self, name: str) -> dict[str, Any]:
        """Pause a queue."""
        return self._do(self._c_queue(name, "pause", "POST"))

    def resume_queue(self, name: str) -> dict[str, Any]:
        """Resume a queue."""
        return self._do(self._c_queue(name, "resume", "POST"))

    def set_queue_limit(self, name: str, limit: int | None) -> dict[str, Any]:
        """Override a queue's concurrency limit; ``None`` resets it to the code's."""
        if limit is None:
            return self._do(self._c_queue(name, "concurrency-limit", "DELETE"))
        return self._do(self._c_queue(name, "concurrency-limit", "PUT", {"limit": limit}))

    def pause_environment(self) -> dict[str, Any]:
        """Pause the key's environment."""
        return self._do(self._c_environment("pause", "POST"))

    def resume_environment(self) -> dict[str, Any]:
        """Resume the key's environment."""
        return self._do(self._c_environment("resume", "POST"))

    def create_public_token(self, scope: str, id: str, *, expires_in: Any = None) -> str:
        """A browser token: ``read_run`` (one run) or ``complete_token`` (one token)."""
        return self._do(self._c_public_token(scope, id, expires_in))


class AsyncClient(_Api):
    """:class:`Client` for ``async`` code: the same methods, awaited."""

    def __init__(
        self,
        url: str,
        api_key: str,
        *,
        timeout: float = 30.0,
        max_retries: int = 3,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        super().__init__(url, api_key, max_retries)
        self._http = httpx.AsyncClient(
            base_url=self.url, headers=self._headers, timeout=timeout, transport=transport
        )

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the connections."""
        await self._http.aclose()

    async def _do(self, call: _Call[T]) -> T:
        headers = self._request_headers(call)
        attempt = 0
        while True:
            response: httpx.Response | None = None
            try:
                response = await self._http.request(
                    call.method, call.path, **self._kwargs(call, headers)
                )
            except httpx.TransportError as exc:
                if attempt >= self.max_retries:
                    raise ClientError(0, "unreachable", f"{self.url}: {exc}") from exc
            else:
                if response.status_code < 400:
                    return call.parse(response.json())
                if response.status_code not in _RETRY_STATUSES or attempt >= self.max_retries:
                    raise self._error(response)
            await asyncio.sleep(self._delay(attempt, response))
            attempt += 1

    async def trigger(
        self, task_id: str, payload: Any = None, *, request_key: str | None = None, **options: Any
    ) -> RunHandle:
        """See :meth:`Client.trigger`."""
        return await self._do(self._c_trigger(task_id, payload, options, request_key))

    async def batch_trigger(
        self,
        task_id: str,
        items: Sequence[Any],
        *,
        idempotency_key: str | None = None,
        idempotency_key_ttl: Any = None,
        **options: Any,
    ) -> BatchHandle:
        """See :meth:`Client.batch_trigger`."""
        call = self._c_batch(task_id, _items(items), idempotency_key, idempotency_key_ttl, options)
        return await self._do(call)

    async def retrieve(self, run: str | RunHandle) -> Run:
        """See :meth:`Client.retrieve`."""
        return await self._do(self._c_retrieve(_id(run)))

    async def list_runs(self, **filters: Any) -> RunPage:
        """See :meth:`Client.list_runs`."""
        return await self._do(self._c_list(filters))

    async def cancel(self, run: str | RunHandle) -> list[str]:
        """See :meth:`Client.cancel`."""
        return await self._do(self._c_cancel(_id(run)))

    async def replay(self, run: str | RunHandle, payload: Any = _UNSET) -> RunHandle:
        """See :meth:`Client.replay`."""
        return await self._do(self._c_replay(_id(run), payload))

    async def reschedule(self, run: str | RunHandle, delay: Any) -> Run:
        """See :meth:`Client.reschedule`."""
        return await self._do(self._c_reschedule(_id(run), delay))

    async def update_metadata(self, run: str | RunHandle, metadata: Mapping[str, Any]) -> Run:
        """See :meth:`Client.update_metadata`."""
        return await self._do(self._c_metadata(_id(run), metadata))

    async def _events(self, path: str, params: Mapping[str, Any] | None) -> AsyncIterator[Run]:
        last_id: str | None = None
        seen: dict[str, float] = {}
        failures = 0
        while True:
            headers = {"Accept": "text/event-stream"}
            if last_id:
                headers["Last-Event-ID"] = last_id
            try:
                async with self._http.stream(
                    "GET",
                    path,
                    params=params,
                    headers=headers,
                    timeout=httpx.Timeout(30.0, read=60.0),
                ) as response:
                    if response.status_code == 204:
                        return
                    if response.status_code >= 400:
                        await response.aread()
                        raise self._error(response)
                    failures = 0
                    parser = SseParser()
                    async for line in response.aiter_lines():
                        event = parser.feed(line)
                        if event is None:
                            continue
                        if event.id:
                            last_id = event.id
                        if event.event == "end":
                            return
                        if event.event == "run":
                            run = run_from_json(json.loads(event.data))
                            if run.updated_at > seen.get(run.id, float("-inf")):
                                seen[run.id] = run.updated_at
                                yield run
            except httpx.TransportError:
                failures += 1
                if failures > self.max_retries:
                    raise
                await asyncio.sleep(self._delay(failures - 1, None))

    def subscribe(self, run: str | RunHandle) -> AsyncIterator[Run]:
        """See :meth:`Client.subscribe` (``async for``)."""
        return self._events(f"/api/v1/runs/{_q(_id(run))}/events", None)

    def subscribe_to_tag(
        self, tag: str | Sequence[str], *, limit: int | None = None
    ) -> AsyncIterator[Run]:
        """See :meth:`Client.subscribe_to_tag` (``async for``)."""
        return self._events("/api/v1/runs/events", _stream_params(tag, limit))

    async def poll(self, run: str | RunHandle, *, timeout: float = 60.0) -> Run:
        """See :meth:`Client.poll`."""

        async def final() -> Run:
            async for current in self.subscribe(run):
                if current.is_final:
                    return current
            return await self.retrieve(run)

        try:
            return await asyncio.wait_for(final(), timeout)
        except TimeoutError:
            current = await self.retrieve(run)
            raise TimeoutError(
                f"run {current.id} is still {current.status} after {timeout}s"
            ) from None

    async def list_tasks(self) -> list[dict[str, Any]]:
        """See :meth:`Client.list_tasks`."""
        return await self._do(self._c_tasks())

    async def create_token(self, **options: Any) -> Token:
        """See :meth:`Client.create_token`."""
        return await self._do(self._c_create_token(options))

    async def retrieve_token(self, token_id: str) -> dict[str, Any]:
        """See :meth:`Client.retrieve_token`."""
        return await self._do(self._c_token(token_id))

    async def complete_token(self, token_id: str, data: Any = None) -> dict[str, Any]:
        """See :meth:`Client.complete_token`."""
        return await self._do(self._c_complete_token(token_id, data))

    async def list_queues(self) -> list[dict[str, Any]]:
        """See :meth:`Client.list_queues`."""
        return await self._do(self._c_queues())

    async def retrieve_queue(self, name: str) -> dict[str, Any]:
        """See :meth:`Client.retrieve_queue`."""
        return await self._do(self._c_queue(name))

    async def pause_queue(self, name: str) -> dict[str, Any]:
        """See :meth:`Client.pause_queue`."""
        return await self._do(self._c_queue(name, "pause", "POST"))

    async def resume_queue(self, name: str) -> dict[str, Any]:
        """See :meth:`Client.resume_queue`."""
        return await self._do(self._c_queue(name, "resume", "POST"))

    async def set_queue_limit(self, name: str, limit: int | None) -> dict[str, Any]:
        """See :meth:`Client.set_queue_limit`."""
        if limit is None:
            return await self._do(self._c_queue(name, "concurrency-limit", "DELETE"))
        return await self._do(self._c_queue(name, "concurrency-limit", "PUT", {"limit": limit}))

    async def pause_environment(self) -> dict[str, Any]:
        """See :meth:`Client.pause_environment`."""
        return await self._do(self._c_environment("pause", "POST"))

    async def resume_environment(self) -> dict[str, Any]:
        """See :meth:`Client.resume_environment`."""
        return await self._do(self._c_environment("resume", "POST"))

    async def create_public_token(self, scope: str, id: str, *, expires_in: Any = None) -> str:
        """See :meth:`Client.create_public_token`."""
        return await self._do(self._c_public_token(scope, id, expires_in))


def _id(run: str | RunHandle) -> str:
    return run.id if isinstance(run, RunHandle) else run
