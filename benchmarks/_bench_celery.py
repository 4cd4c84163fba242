"""The Celery app of the benchmark's baseline: one no-op task on the Redis broker.

The worker is started with ``celery -A _bench_celery worker``; the broker comes from
``SWITCHYARD_BENCH_REDIS_URL``. Each run records that it finished (a counter and the
time of the last finish, one pipelined Redis round trip) so the benchmark can compute
the same end-to-end rate it computes from switchyard's ``finished_at`` column. Results
are ignored (no result backend); everything else is Celery's default configuration
(raising the prefetch multiplier made no measurable difference on the 2-core machine).
"""

from __future__ import annotations

import os
import time
from typing import Any

import redis
from celery import Celery
from celery.signals import worker_ready

REDIS_URL = os.environ.get("SWITCHYARD_BENCH_REDIS_URL", "redis://127.0.0.1:6379/15")
QUEUE = "switchyard-bench"
DONE_KEY = "switchyard-bench:done"
LAST_KEY = "switchyard-bench:last-finished"
READY_KEY = "switchyard-bench:ready"
KEYS = (QUEUE, DONE_KEY, LAST_KEY, READY_KEY)

app = Celery("switchyard_bench", broker=REDIS_URL)
app.conf.update(
    task_default_queue=QUEUE,
    task_ignore_result=True,
    broker_connection_retry_on_startup=True,
    worker_hijack_root_logger=False,
)

_client: tuple[int, redis.Redis] | None = None


def client() -> redis.Redis:
    """A Redis client for this process (prefork children must not share the parent's)."""
    global _client
    if _client is None or _client[0] != os.getpid():
        _client = (os.getpid(), redis.Redis.from_url(REDIS_URL))
    return _client[1]


@app.task(name="noop")
def noop(payload: Any = None) -> None:
    """Do nothing, then record the finish."""
    client().pipeline(transaction=False).incr(DONE_KEY).set(LAST_KEY, repr(time.time())).execute()


@worker_ready.connect
def _announce_ready(**_: Any) -> None:
    client().set(READY_KEY, os.getpid())
