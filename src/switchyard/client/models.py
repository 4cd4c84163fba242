"""The client's JSON: runs from the API's JSON, options to it, server-sent events,
and :class:`ClientError`."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from switchyard.core.errors import SwitchyardError
from switchyard.core.models import EnvironmentInfo, QueueInfo, QueueStats, Run, WorkerInfo
from switchyard.core.options import options_json
from switchyard.core.retry import RetryPolicy
from switchyard.core.states import RunStatus
from switchyard.core.waitpoints import Waitpoint, WaitpointKind, WaitpointStatus


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


def token_from_json(data: Mapping[str, Any]) -> Waitpoint:
    """A token (a :class:`~switchyard.Waitpoint`) from the API's JSON; what a token's
    JSON leaves out (its environment, its key's expiry) is empty."""
    return Waitpoint(
        id=data["id"],
        environment=data.get("environment", ""),
        kind=WaitpointKind(data.get("kind", WaitpointKind.TOKEN)),
        status=WaitpointStatus(data["status"]),
        output=data.get("output"),
        error=data.get("error"),
        complete_after=_ts(data.get("complete_after")),
        timeout_at=_ts(data.get("timeout_at")),
        idempotency_key=data.get("idempotency_key"),
        idempotency_expires_at=None,
        tags=tuple(data.get("tags") or ()),
        child_run_id=data.get("child_run_id"),
        batch_id=data.get("batch_id"),
        batch_total=data.get("batch_total"),
        created_by_run_id=data.get("created_by_run_id"),
        created_at=_ts(data.get("created_at")) or 0.0,
        completed_at=_ts(data.get("completed_at")),
    )


def queue_from_json(data: Mapping[str, Any]) -> QueueInfo:
    """A queue with its counts (an item of ``GET /api/v1/queues``)."""
    return QueueInfo(
        name=data["name"],
        environment=data.get("environment", ""),
        concurrency_limit=data.get("concurrency_limit"),
        paused=bool(data.get("paused")),
        queued=int(data.get("queued") or 0),
        running=int(data.get("running") or 0),
    )


def queue_stats_from_json(data: Mapping[str, Any]) -> QueueStats:
    """A queue's stats (``GET /api/v1/queues/{name}``)."""
    names = {f.name for f in dataclasses.fields(QueueStats)}
    return QueueStats(**{k: v for k, v in data.items() if k in names})


def environment_from_json(data: Mapping[str, Any]) -> EnvironmentInfo:
    """The environment with its workers (``GET /api/v1/environment``)."""
    return EnvironmentInfo(
        name=data["name"],
        paused=bool(data["paused"]),
        concurrency_limit=data.get("concurrency_limit"),
        running=int(data.get("running") or 0),
        workers=tuple(
            WorkerInfo(
                id=w["id"],
                hostname=w["hostname"],
                pid=int(w["pid"]),
                task_ids=tuple(w.get("task_ids") or ()),
                started_at=_ts(w.get("started_at")) or 0.0,
                heartbeat_at=_ts(w.get("heartbeat_at")) or 0.0,
                running=int(w.get("running") or 0),
            )
            for w in data.get("workers") or ()
        ),
    )


def jsonable(value: Any) -> Any:
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
        return {k: jsonable(v) for k, v in value.items()}
    name = getattr(value, "name", None)  # a switchyard.Queue
    if name is not None and hasattr(value, "concurrency_limit"):
        return name
    return value


def trigger_options(options: Mapping[str, Any]) -> dict[str, Any]:
    """Trigger options as the API takes them: checked here by the same
    :meth:`TriggerOptions.parse <switchyard.core.options.TriggerOptions.parse>` as the
    server (a mistake fails before any request, with the same message); only those
    given, None left out."""
    return options_json(options)


def json_fields(fields: Mapping[str, Any]) -> dict[str, Any]:
    """Keyword arguments as a JSON body (None left out)."""
    return {k: jsonable(v) for k, v in fields.items() if v is not None}


def payload_json_value(value: Any) -> Any:
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


END_OF_STREAM = object()
"""What :meth:`RunStream.feed` returns when the server ends the stream."""


class RunStream:
    """The runs of a realtime stream, across reconnects: the last event id to resume
    from (``Last-Event-ID``) and each run's newest version, so a reconnect that replays
    events yields nothing twice. One per subscription; a fresh parser per connection."""

    def __init__(self) -> None:
        self.last_id: str | None = None
        self._seen: dict[str, float] = {}
        self._parser = SseParser()

    def headers(self) -> dict[str, str]:
        """The request headers of the next connection."""
        self._parser = SseParser()  # a new connection starts a new event
        headers = {"Accept": "text/event-stream"}
        if self.last_id:
            headers["Last-Event-ID"] = self.last_id
        return headers

    def feed(self, line: str) -> Run | object | None:
        """A run that changed, :data:`END_OF_STREAM`, or None (nothing new yet)."""
        event = self._parser.feed(line)
        if event is None:
            return None
        if event.id:
            self.last_id = event.id
        if event.event == "end":
            return END_OF_STREAM
        if event.event != "run":
            return None
        run = run_from_json(json.loads(event.data))
        if run.updated_at <= self._seen.get(run.id, float("-inf")):
            return None
        self._seen[run.id] = run.updated_at
        return run
