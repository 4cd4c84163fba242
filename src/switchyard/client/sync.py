"""The synchronous :class:`Client`."""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

import httpx

from switchyard.client.calls import (
    UNSET,
    Api,
    Call,
    T,
    items_json,
    quoted,
    run_id,
    stream_params,
)
from switchyard.client.models import END_OF_STREAM, RunStream
from switchyard.core.handles import BatchHandle, RunHandle, Token
from switchyard.core.models import Run, RunPage


class Client(Api):
    """A synchronous client for ``switchyard server`` (or ``switchyard dev``).

    ``timeout`` is per request. Failed requests are retried as :mod:`switchyard.client`
    says: 429, 503 and ``409 request_in_progress`` always, connection errors, timeouts,
    502 and 504 when the request is safe to repeat (it has an ``Idempotency-Key``,
    which every trigger, batch trigger and replay gets, or is a GET, PUT, DELETE or a
    repeatable POST), with exponential backoff and jitter, never sooner than the
    server's ``Retry-After``; at most ``max_retries`` retries, none starting later
    than ``max_retry_time`` seconds after the first attempt (``max_retries=0``: none).
    """

    def __init__(
        self,
        url: str,
        api_key: str,
        *,
        timeout: float = 30.0,
        max_retries: int = 6,
        max_retry_time: float = 60.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        super().__init__(url, api_key, max_retries, max_retry_time)
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

    def _do(self, call: Call[T]) -> T:
        headers = self._request_headers(call)  # the same Idempotency-Key for each retry
        attempts = self._attempts(call, headers)
        while True:
            try:
                response = self._http.request(call.method, call.path, **self._kwargs(call, headers))
            except httpx.TransportError as exc:
                error, wait = self._unreachable(attempts, exc)
                if wait is None:
                    raise error from exc
            else:
                if response.status_code < 400:
                    return call.parse(response.json())
                error, wait = self._failed(attempts, response)
                if wait is None:
                    raise error
            time.sleep(wait)

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
        call = self._c_batch(
            task_id, items_json(items), idempotency_key, idempotency_key_ttl, options
        )
        return self._do(call)

    def batch_trigger_many(self, items: Iterable[tuple[str, Any]], **options: Any) -> BatchHandle:
        """Trigger runs of several tasks at once: ``[(task_id, payload), ...]``."""
        pairs = list(items)
        entries = items_json([p for _, p in pairs], [t for t, _ in pairs])
        return self._do(self._c_batch(None, entries, None, None, options))

    def retrieve(self, run: str | RunHandle) -> Run:
        """The run as it is now."""
        return self._do(self._c_retrieve(run_id(run)))

    def list_runs(self, **filters: Any) -> RunPage:
        """Runs newest first: ``status``, ``task``, ``tag``, ``queue``, ``period``,
        ``created_after``, ``created_before``, ``batch_id``, ``limit``, ``cursor``."""
        return self._do(self._c_list(filters))

    def cancel(self, run: str | RunHandle) -> list[str]:
        """Cancel a run and its unfinished children; the ids canceled."""
        return self._do(self._c_cancel(run_id(run)))

    def replay(self, run: str | RunHandle, payload: Any = UNSET) -> RunHandle:
        """A new run of the same task (with ``payload`` if given)."""
        return self._do(self._c_replay(run_id(run), payload))

    def reschedule(self, run: str | RunHandle, delay: Any) -> Run:
        """Move a delayed run: ``delay`` is a duration from now or a datetime."""
        return self._do(self._c_reschedule(run_id(run), delay))

    def update_metadata(self, run: str | RunHandle, metadata: Mapping[str, Any]) -> Run:
        """Replace a run's metadata."""
        return self._do(self._c_metadata(run_id(run), metadata))

    def _events(self, path: str, params: Mapping[str, Any] | None) -> Iterator[Run]:
        stream = RunStream()
        failures = 0
        while True:
            headers = stream.headers()
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
                    for line in response.iter_lines():
                        found = stream.feed(line)
                        if found is END_OF_STREAM:
                            return
                        if isinstance(found, Run):
                            yield found
            except httpx.TransportError:
                failures += 1
                if failures > self.max_retries:
                    raise
                time.sleep(self.retry.backoff(failures - 1))

    def subscribe(self, run: str | RunHandle) -> Iterator[Run]:
        """The run now, then each change (status, metadata, output) until it finishes.

        Reconnects by itself after a network error and resumes where it was.
        """
        return self._events(f"/api/v1/runs/{quoted(run_id(run))}/events", None)

    def subscribe_to_tag(
        self, tag: str | Sequence[str], *, limit: int | None = None
    ) -> Iterator[Run]:
        """Runs with the tag(s): the ``limit`` (default 100) most recent, then every
        change and every new run, until you stop iterating."""
        return self._events("/api/v1/runs/events", stream_params(tag, limit))

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

    def list_tokens(self, **filters: Any) -> dict[str, Any]:
        """Tokens newest first, ``{data, next_cursor}``: ``status``, ``tag``,
        ``idempotency_key``, ``created_after``, ``created_before``, ``limit``, ``cursor``."""
        return self._do(self._c_tokens(filters))

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

    def retrieve_environment(self) -> dict[str, Any]:
        """The key's environment: paused or not, its limit, its workers."""
        return self._do(self._c_environment())

    def set_environment_limit(self, limit: int | None) -> dict[str, Any]:
        """Cap how many runs of the key's environment execute at once (``None``: no cap)."""
        return self._do(self._c_environment("concurrency-limit", "PUT", {"limit": limit}))

    def create_public_token(self, scope: str, id: str, *, expires_in: Any = None) -> str:
        """A browser token: ``read_run`` (one run) or ``complete_token`` (one token)."""
        return self._do(self._c_public_token(scope, id, expires_in))
