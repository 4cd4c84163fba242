"""A Python client for the HTTP API: code that has the API but not the database.

```python
from switchyard import Client

with Client("https://jobs.example.com", api_key="sy_prod_...") as sy:
    handle = sy.trigger("send-email", {"to": "ada@example.com"}, tags=["user:42"])
    for run in sy.subscribe(handle.id):          # realtime, until the run finishes
        print(run.status, run.metadata)
```

:class:`Client` is synchronous, :class:`AsyncClient` the same for ``async`` code. Both
send an ``Idempotency-Key`` with every trigger, batch trigger and replay (the same one
on each retry), so a retried trigger never makes a second run, and retry what is safe
to retry (see :mod:`switchyard.client.retrying`): 429, 503 and ``409
request_in_progress`` always; connection errors, timeouts, 502 and 504 when the
request is safe to repeat. They wait with exponential backoff and jitter, at least the
``Retry-After`` the server asks for, at most ``max_retries`` times (6) and not beyond
``max_retry_time`` seconds (60) after the first attempt. Errors from the API raise
:class:`ClientError` with its ``status``, ``code`` and ``message`` (and ``errors`` for
payloads that fail their schema).

With ``switchyard.configure(client=Client(...))`` (or ``SWITCHYARD_API_URL`` and
``SWITCHYARD_API_KEY``), what the SDK does outside runs (``task.trigger(...)``,
``switchyard.runs.*``, the token calls, ``queues.*``, ``environments.*``) goes through
the client instead of the database (see :mod:`switchyard.sdk.transport`).
"""

from __future__ import annotations

from switchyard.client.aio import AsyncClient
from switchyard.client.models import (
    ClientError,
    ServerSentEvent,
    SseParser,
    run_from_json,
    trigger_options,
)
from switchyard.client.retrying import RetryBudget
from switchyard.client.sync import Client

__all__ = [
    "AsyncClient",
    "Client",
    "ClientError",
    "RetryBudget",
    "ServerSentEvent",
    "SseParser",
    "run_from_json",
    "trigger_options",
]
