"""How the SDK reaches switchyard outside a run: the database, or the HTTP API.

Picked once per configuration by :func:`current_transport` (again after
:func:`~switchyard.configure` or :func:`~switchyard.runtime.reset_runtime`):

- :class:`HttpTransport` when a client is configured (``configure(client=Client(...))``,
  or ``api_url`` + ``api_key`` in the config, ``SWITCHYARD_API_URL`` +
  ``SWITCHYARD_API_KEY``): every call goes to the server; no database is opened;
- :class:`DatabaseTransport` otherwise: the engine's operations on the configured
  runtime's database.

Every SDK function outside a run (``Task.trigger``, ``runs.*``, ``queues.*``,
``environments.*``, ``wait.create_token`` / ``complete_token`` / ``retrieve_token`` /
``list_tokens``, ``idempotency_keys.reset``) goes through it. Inside a run durable
operations are journaled by the run's execution instead (:mod:`switchyard.sdk.execution`).

An operation the HTTP API does not offer raises :class:`~switchyard.SwitchyardError`
over HTTP; it never falls back to a local database.
"""

from __future__ import annotations

import builtins
import dataclasses
import json
import threading
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol

from switchyard.client import Client
from switchyard.client.models import (
    environment_from_json,
    queue_from_json,
    queue_stats_from_json,
    token_from_json,
)
from switchyard.core import jsonutil
from switchyard.core.durations import DurationLike
from switchyard.core.errors import SwitchyardError
from switchyard.core.handles import BatchHandle, BatchItem, RunHandle, Token
from switchyard.core.models import EnvironmentInfo, QueueInfo, QueueStats, Run, RunFilter, RunPage
from switchyard.core.options import TriggerOptions
from switchyard.core.waitpoints import Waitpoint, WaitpointFilter, WaitpointKind
from switchyard.engine.tokens import TimeoutLike
from switchyard.runtime import Runtime, configuration, current_client, current_runtime

if TYPE_CHECKING:
    from switchyard.sdk.task import Task

__all__ = [
    "DEFAULT_STATS_WINDOW",
    "DatabaseTransport",
    "HttpTransport",
    "Transport",
    "current_transport",
]

DEFAULT_STATS_WINDOW = 300.0
"""The window (seconds) of queue stats; the HTTP API reports this one only."""


class Transport(Protocol):
    """What the SDK does outside a run; :class:`DatabaseTransport` or :class:`HttpTransport`."""

    # -- triggering -----------------------------------------------------------------
    def trigger(self, task: Task[Any], payload: Any, options: Mapping[str, Any]) -> RunHandle:
        """Trigger one run of ``task`` with :class:`TriggerOptions` ``options``."""
        ...

    def batch_trigger(
        self,
        task: Task[Any],
        items: Sequence[Any],
        idempotency_key: str | None,
        idempotency_key_ttl: DurationLike | None,
        options: Mapping[str, Any],
    ) -> BatchHandle:
        """Trigger a batch of runs of ``task``: all are created or none."""
        ...

    # -- runs ---------------------------------------------------------------------------
    def retrieve_run(self, run_id: str) -> Run:
        """The run as stored now."""
        ...

    def list_runs(self, filters: RunFilter, limit: int, cursor: str | None) -> RunPage:
        """Runs newest first. ``filters.environment`` is not used: a transport lists
        its own environment (the runtime's, or the API key's)."""
        ...

    def cancel_run(self, run_id: str) -> builtins.list[str]:
        """Cancel a run and its unfinished children; the ids canceled."""
        ...

    def replay_run(self, run_id: str, payload: Any) -> RunHandle:
        """A new run of the same task (``payload`` None: with the same payload)."""
        ...

    # -- tokens ---------------------------------------------------------------------------
    def create_token(
        self,
        timeout: TimeoutLike,
        idempotency_key: str | None,
        idempotency_key_ttl: DurationLike | None,
        tags: str | Sequence[str] | None,
    ) -> Token:
        """Create a token (``idempotency_key`` already resolved, global)."""
        ...

    def complete_token(self, token_id: str, data: Any) -> Waitpoint:
        """Complete a token; the first completion wins. The token as it now stands."""
        ...

    def retrieve_token(self, token_id: str) -> Waitpoint:
        """A token's current state."""
        ...

    def list_tokens(
        self, filters: WaitpointFilter, limit: int, cursor: str | None
    ) -> tuple[builtins.list[Waitpoint], str | None]:
        """Tokens newest first, the page and the next cursor. As for :meth:`list_runs`,
        ``filters.environment`` is not used."""
        ...

    # -- queues and the environment -----------------------------------------------------
    def pause_queue(self, queue: str) -> None:
        """Pause a queue."""
        ...

    def resume_queue(self, queue: str) -> None:
        """Resume a queue."""
        ...

    def set_queue_limit(self, queue: str, limit: int | None) -> None:
        """Override a queue's concurrency limit (``None``: back to the code's)."""
        ...

    def queue_stats(self, queue: str, window: float) -> QueueStats:
        """A queue's stats over ``window`` seconds."""
        ...

    def list_queues(self) -> builtins.list[QueueInfo]:
        """Every queue of the environment."""
        ...

    def pause_environment(self) -> None:
        """Pause the environment."""
        ...

    def resume_environment(self) -> None:
        """Resume the environment."""
        ...

    def set_environment_limit(self, limit: int | None) -> None:
        """Cap the environment's running runs (``None``: no cap)."""
        ...

    def environment_info(self) -> EnvironmentInfo:
        """The environment: paused or not, its limit, its workers."""
        ...

    # -- idempotency keys -------------------------------------------------------------------
    def reset_idempotency_key(self, task_id: str, key: str) -> bool:
        """Free a (resolved) key for a task; whether a run held it."""
        ...


class DatabaseTransport:
    """The engine's operations on the configured runtime's database."""

    def __init__(self, runtime: Runtime | None = None) -> None:
        self._runtime = runtime

    @property
    def runtime(self) -> Runtime:
        """The runtime given, or the configured one (configured on first use)."""
        return self._runtime if self._runtime is not None else current_runtime()

    def trigger(self, task: Task[Any], payload: Any, options: Mapping[str, Any]) -> RunHandle:
        runtime = self.runtime
        new = task._new_run(runtime, payload, TriggerOptions.parse(options, where=None))
        result = runtime.engine.trigger([new])[0]
        return RunHandle(result.run_id, task.id, result.is_cached)

    def batch_trigger(
        self,
        task: Task[Any],
        items: Sequence[Any],
        idempotency_key: str | None,
        idempotency_key_ttl: DurationLike | None,
        options: Mapping[str, Any],
    ) -> BatchHandle:
        runtime = self.runtime
        batch_id = runtime.engine.new_batch_id(runtime.clock.now())
        new_runs = task._batch_runs(
            runtime, items, batch_id, idempotency_key, idempotency_key_ttl, options
        )
        results = runtime.engine.trigger(new_runs)
        return BatchHandle(
            batch_id, tuple(RunHandle(r.run_id, task.id, r.is_cached) for r in results)
        )

    def retrieve_run(self, run_id: str) -> Run:
        return self.runtime.engine.get_run(run_id)

    def list_runs(self, filters: RunFilter, limit: int, cursor: str | None) -> RunPage:
        engine = self.runtime.engine
        query = dataclasses.replace(filters, environment=engine.environment)
        return engine.list_runs(query, limit=limit, cursor=cursor)

    def cancel_run(self, run_id: str) -> builtins.list[str]:
        return self.runtime.engine.cancel(run_id)

    def replay_run(self, run_id: str, payload: Any) -> RunHandle:
        payload_json = None if payload is None else jsonutil.dumps(payload, what="payload")
        result = self.runtime.engine.replay(run_id, payload_json)
        return RunHandle(result.run_id, result.task_id, False)

    def create_token(
        self,
        timeout: TimeoutLike,
        idempotency_key: str | None,
        idempotency_key_ttl: DurationLike | None,
        tags: str | Sequence[str] | None,
    ) -> Token:
        runtime = self.runtime
        engine = runtime.engine
        new = engine.new_token(
            timeout=timeout,
            idempotency_key=idempotency_key,
            idempotency_key_ttl=idempotency_key_ttl,
            tags=tags,
            created_by_run_id=None,
        )
        waitpoint, cached = engine.create_token(new)
        url = engine.token_url(runtime.config.public_url, waitpoint.id)
        return Token(waitpoint.id, url, cached)

    def complete_token(self, token_id: str, data: Any) -> Waitpoint:
        runtime = self.runtime
        limit = runtime.config.max_payload_bytes
        output = jsonutil.dumps(data, what="token output", limit=limit)
        return runtime.engine.complete_token(token_id, output, door="sdk")[0]

    def retrieve_token(self, token_id: str) -> Waitpoint:
        return self.runtime.engine.get_token(token_id)

    def list_tokens(
        self, filters: WaitpointFilter, limit: int, cursor: str | None
    ) -> tuple[builtins.list[Waitpoint], str | None]:
        engine = self.runtime.engine
        query = dataclasses.replace(filters, environment=engine.environment)
        return engine.list_tokens(query, limit, cursor)

    def pause_queue(self, queue: str) -> None:
        self.runtime.engine.pause_queue(queue)

    def resume_queue(self, queue: str) -> None:
        self.runtime.engine.resume_queue(queue)

    def set_queue_limit(self, queue: str, limit: int | None) -> None:
        self.runtime.engine.set_queue_limit(queue, limit)

    def queue_stats(self, queue: str, window: float) -> QueueStats:
        return self.runtime.engine.queue_stats(queue, window)

    def list_queues(self) -> builtins.list[QueueInfo]:
        return self.runtime.engine.list_queues()

    def pause_environment(self) -> None:
        self.runtime.engine.pause_environment()

    def resume_environment(self) -> None:
        self.runtime.engine.resume_environment()

    def set_environment_limit(self, limit: int | None) -> None:
        self.runtime.engine.set_environment_limit(limit)

    def environment_info(self) -> EnvironmentInfo:
        return self.runtime.engine.environment_info()

    def reset_idempotency_key(self, task_id: str, key: str) -> bool:
        return self.runtime.engine.reset_idempotency_key(task_id, key) > 0


class HttpTransport:
    """The HTTP API through a :class:`~switchyard.Client`; no database is opened."""

    def __init__(self, client: Client) -> None:
        self.client = client

    def trigger(self, task: Task[Any], payload: Any, options: Mapping[str, Any]) -> RunHandle:
        return self.client.trigger(task.id, _wire_payload(task, payload), **options)

    def batch_trigger(
        self,
        task: Task[Any],
        items: Sequence[Any],
        idempotency_key: str | None,
        idempotency_key_ttl: DurationLike | None,
        options: Mapping[str, Any],
    ) -> BatchHandle:
        return self.client.batch_trigger(
            task.id,
            [_wire_payload(task, item) for item in items],
            idempotency_key=idempotency_key,
            idempotency_key_ttl=idempotency_key_ttl,
            **options,
        )

    def retrieve_run(self, run_id: str) -> Run:
        return self.client.retrieve(run_id)

    def list_runs(self, filters: RunFilter, limit: int, cursor: str | None) -> RunPage:
        return self.client.list_runs(
            status=[str(s) for s in filters.statuses] or None,
            task=list(filters.task_ids) or None,
            tag=filters.tag,
            queue=filters.queue,
            created_after=filters.created_after,
            created_before=filters.created_before,
            idempotency_key=filters.idempotency_key,
            batch_id=filters.batch_id,
            parent_run_id=filters.parent_run_id,
            limit=limit,
            cursor=cursor,
        )

    def cancel_run(self, run_id: str) -> builtins.list[str]:
        return self.client.cancel(run_id)

    def replay_run(self, run_id: str, payload: Any) -> RunHandle:
        if payload is None:
            return self.client.replay(run_id)
        return self.client.replay(run_id, _json_value(payload, "payload"))

    def create_token(
        self,
        timeout: TimeoutLike,
        idempotency_key: str | None,
        idempotency_key_ttl: DurationLike | None,
        tags: str | Sequence[str] | None,
    ) -> Token:
        return self.client.create_token(
            timeout=timeout,
            idempotency_key=idempotency_key,
            idempotency_key_ttl=idempotency_key_ttl,
            tags=tags,
        )

    def complete_token(self, token_id: str, data: Any) -> Waitpoint:
        output = _json_value(data, "token output")
        return token_from_json(self.client.complete_token(token_id, output))

    def retrieve_token(self, token_id: str) -> Waitpoint:
        return token_from_json(self.client.retrieve_token(token_id))

    def list_tokens(
        self, filters: WaitpointFilter, limit: int, cursor: str | None
    ) -> tuple[builtins.list[Waitpoint], str | None]:
        if filters.kinds != (WaitpointKind.TOKEN,) or filters.created_by_run_id is not None:
            raise _not_offered(
                "listing waitpoints other than tokens, or by the run that made them",
                "it lists tokens by status, tag, idempotency key and creation time",
            )
        page = self.client.list_tokens(
            status=[str(s) for s in filters.statuses] or None,
            tag=filters.tag,
            idempotency_key=filters.idempotency_key,
            created_after=filters.created_after,
            created_before=filters.created_before,
            limit=limit,
            cursor=cursor,
        )
        return [token_from_json(t) for t in page["data"]], page.get("next_cursor")

    def pause_queue(self, queue: str) -> None:
        self.client.pause_queue(queue)

    def resume_queue(self, queue: str) -> None:
        self.client.resume_queue(queue)

    def set_queue_limit(self, queue: str, limit: int | None) -> None:
        self.client.set_queue_limit(queue, limit)

    def queue_stats(self, queue: str, window: float) -> QueueStats:
        if window != DEFAULT_STATS_WINDOW:
            raise _not_offered(
                f"queue stats over a window of {window:g}s",
                f"it reports the last {DEFAULT_STATS_WINDOW:g}s only",
            )
        return queue_stats_from_json(self.client.retrieve_queue(queue))

    def list_queues(self) -> builtins.list[QueueInfo]:
        return [queue_from_json(q) for q in self.client.list_queues()]

    def pause_environment(self) -> None:
        self.client.pause_environment()

    def resume_environment(self) -> None:
        self.client.resume_environment()

    def set_environment_limit(self, limit: int | None) -> None:
        self.client.set_environment_limit(limit)

    def environment_info(self) -> EnvironmentInfo:
        return environment_from_json(self.client.retrieve_environment())

    def reset_idempotency_key(self, task_id: str, key: str) -> bool:
        raise _not_offered(
            "idempotency_keys.reset", "reset the key where the database is configured"
        )


def _not_offered(what: str, hint: str) -> SwitchyardError:
    return SwitchyardError(
        f"{what} is not offered by the HTTP API, and this process is configured with a "
        f"client (configure(client=...) or SWITCHYARD_API_URL): {hint}"
    )


def _json_value(value: Any, what: str) -> Any:
    """``value`` as the JSON it is stored as, checked by the same rules as the database
    path (pydantic models, dataclasses and datetimes encoded; NaN, NUL refused)."""
    return json.loads(jsonutil.dumps(value, what=what))


def _wire_payload(task: Task[Any], item: Any) -> Any:
    """A payload (or batch item) to send over HTTP: schema tasks validate it here first."""
    if isinstance(item, BatchItem):
        return BatchItem(_wire_payload(task, item.payload), item.options)
    if task.schema is None:
        return item
    return task.schema.dump(task.schema.validate(item))


_lock = threading.Lock()
_picked: tuple[int, Transport] | None = None


def current_transport() -> Transport:
    """The transport of the current configuration: HTTP with a client, else the database.

    Picked once per configuration; :func:`~switchyard.configure` and
    :func:`~switchyard.runtime.reset_runtime` make the next call pick again.
    """
    global _picked
    picked = _picked
    if picked is not None and picked[0] == configuration():
        return picked[1]
    with _lock:
        generation = configuration()  # read first: a configure() meanwhile picks again
        if _picked is None or _picked[0] != generation:
            client = current_client()
            transport: Transport = DatabaseTransport() if client is None else HttpTransport(client)
            _picked = (generation, transport)
        return _picked[1]
