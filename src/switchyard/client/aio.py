"""The asynchronous :class:`AsyncClient`."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping, Sequence
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


class AsyncClient(Api):
    """:class:`Client` for ``async`` code: the same methods, awaited."""

    def __init__(
        self,
        url: str,
        api_key: str,
        *,
        timeout: float = 30.0,
        max_retries: int = 6,
        max_retry_time: float = 60.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        super().__init__(url, api_key, max_retries, max_retry_time)
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

    async def _do(self, call: Call[T]) -> T:
        headers = self._request_headers(call)  # the same Idempotency-Key for each retry
        attempts = self._attempts(call, headers)
        while True:
            try:
                response = await self._http.request(
                    call.method, call.path, **self._kwargs(call, headers)
                )
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
            await asyncio.sleep(wait)

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
        call = self._c_batch(
            task_id, items_json(items), idempotency_key, idempotency_key_ttl, options
        )
        return await self._do(call)

    async def retrieve(self, run: str | RunHandle) -> Run:
        """See :meth:`Client.retrieve`."""
        return await self._do(self._c_retrieve(run_id(run)))

    async def list_runs(self, **filters: Any) -> RunPage:
        """See :meth:`Client.list_runs`."""
        return await self._do(self._c_list(filters))

    async def cancel(self, run: str | RunHandle) -> list[str]:
        """See :meth:`Client.cancel`."""
        return await self._do(self._c_cancel(run_id(run)))

    async def replay(self, run: str | RunHandle, payload: Any = UNSET) -> RunHandle:
        """See :meth:`Client.replay`."""
        return await self._do(self._c_replay(run_id(run), payload))

    async def reschedule(self, run: str | RunHandle, delay: Any) -> Run:
        """See :meth:`Client.reschedule`."""
        return await self._do(self._c_reschedule(run_id(run), delay))

    async def update_metadata(self, run: str | RunHandle, metadata: Mapping[str, Any]) -> Run:
        """See :meth:`Client.update_metadata`."""
        return await self._do(self._c_metadata(run_id(run), metadata))

    async def _events(self, path: str, params: Mapping[str, Any] | None) -> AsyncIterator[Run]:
        stream = RunStream()
        failures = 0
        while True:
            headers = stream.headers()
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
                    async for line in response.aiter_lines():
                        found = stream.feed(line)
                        if found is END_OF_STREAM:
                            return
                        if isinstance(found, Run):
                            yield found
            except httpx.TransportError:
                failures += 1
                if failures > self.max_retries:
                    raise
                await asyncio.sleep(self.retry.backoff(failures - 1))

    def subscribe(self, run: str | RunHandle) -> AsyncIterator[Run]:
        """See :meth:`Client.subscribe` (``async for``)."""
        return self._events(f"/api/v1/runs/{quoted(run_id(run))}/events", None)

    def subscribe_to_tag(
        self, tag: str | Sequence[str], *, limit: int | None = None
    ) -> AsyncIterator[Run]:
        """See :meth:`Client.subscribe_to_tag` (``async for``)."""
        return self._events("/api/v1/runs/events", stream_params(tag, limit))

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

    async def list_tokens(self, **filters: Any) -> dict[str, Any]:
        """See :meth:`Client.list_tokens`."""
        return await self._do(self._c_tokens(filters))

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

    async def retrieve_environment(self) -> dict[str, Any]:
        """See :meth:`Client.retrieve_environment`."""
        return await self._do(self._c_environment())

    async def set_environment_limit(self, limit: int | None) -> dict[str, Any]:
        """See :meth:`Client.set_environment_limit`."""
        return await self._do(self._c_environment("concurrency-limit", "PUT", {"limit": limit}))

    async def create_public_token(self, scope: str, id: str, *, expires_in: Any = None) -> str:
        """See :meth:`Client.create_public_token`."""
        return await self._do(self._c_public_token(scope, id, expires_in))
