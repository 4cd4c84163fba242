"""Queue and environment control and statistics of :class:`~switchyard.storage.sql.SqlStorage`.

Pause, resume and limits are rows in ``queues`` and ``environments`` that every claim
reads in its own transaction, so they take effect cluster-wide at the next claim.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from switchyard.core.models import EnvironmentInfo, QueueStats, WorkerInfo
from switchyard.storage.sql_hooks import SqlHooks


def _percentile(values: Sequence[float], fraction: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


class SqlQueues(SqlHooks):
    """Mixin: pause, resume, limits, statistics."""

    def _ensure(self, cur: Any, environment: str, queue: str | None, now: float) -> None:
        cur.execute(self.q["ensure_environment"], {"environment": environment, "now": now})
        if queue is not None:
            cur.execute(
                self.q["ensure_queue"],
                {"environment": environment, "name": queue, "concurrency_limit": None, "now": now},
            )

    def set_queue_paused(self, environment: str, queue: str, paused: bool, now: float) -> None:
        """Pause or resume a queue (created if it does not exist yet)."""
        with self._tx() as cur:
            self._ensure(cur, environment, queue, now)
            params = {"environment": environment, "name": queue, "paused": int(paused), "now": now}
            cur.execute(self.q["set_queue_paused"], params)
            if not paused:
                self._notify(cur, {environment})

    def set_queue_limit(self, environment: str, queue: str, limit: int | None, now: float) -> None:
        """Override a queue's concurrency limit at runtime; ``None`` goes back to the code's."""
        with self._tx() as cur:
            self._ensure(cur, environment, queue, now)
            params = {"environment": environment, "name": queue, "limit": limit, "now": now}
            cur.execute(self.q["set_queue_override"], params)
            self._notify(cur, {environment})

    def set_environment_paused(self, environment: str, paused: bool, now: float) -> None:
        """Pause or resume a whole environment."""
        with self._tx() as cur:
            self._ensure(cur, environment, None, now)
            params = {"environment": environment, "paused": int(paused), "now": now}
            cur.execute(self.q["set_environment_paused"], params)
            if not paused:
                self._notify(cur, {environment})

    def set_environment_limit(self, environment: str, limit: int | None, now: float) -> None:
        """Cap how many runs of the environment execute at once; ``None`` removes the cap."""
        with self._tx() as cur:
            self._ensure(cur, environment, None, now)
            cur.execute(
                self.q["set_environment_limit"],
                {"environment": environment, "limit": limit, "now": now},
            )
            self._notify(cur, {environment})

    def reset_idempotency_key(self, environment: str, task_id: str, key: str, now: float) -> int:
        """Free a run's idempotency key so the next trigger with it makes a new run."""
        with self._tx() as cur:
            cur.execute(
                self.q["reset_idempotency_key"],
                {
                    "environment": environment,
                    "task_id": task_id,
                    "idempotency_key": key,
                    "now": now,
                },
            )
            return int(cur.rowcount)

    def queue_stats(
        self, environment: str, queue: str, now: float, window: float = 300.0
    ) -> QueueStats | None:
        """Counts, the oldest queued run's age, starts per minute and queue wait p50/p95."""
        params = {"environment": environment, "name": queue}
        with self._read() as cur:
            cur.execute(self.q["get_queue"], params)
            row = cur.fetchone()
            if row is None:
                return None
            cur.execute(self.q["queue_status_counts"], params)
            counts = {r["status"]: r["n"] for r in cur.fetchall()}
            cur.execute(self.q["oldest_queued"], params)
            oldest = cur.fetchone()["oldest"]
            cur.execute(self.q["recent_starts"], {**params, "since": now - window})
            starts = cur.fetchall()
            rate_used = 0
            if row["rate_limit"] is not None:
                since = now - (row["rate_period"] or 60.0)
                cur.execute(self.q["starts_since"], {**params, "since": since})
                rate_used = cur.fetchone()["n"]
        waits = [r["waited"] for r in starts if r["number"] == 1]
        override, base = row["limit_override"], row["concurrency_limit"]
        return QueueStats(
            name=queue,
            environment=environment,
            paused=bool(row["paused"]),
            concurrency_limit=override if override is not None else base,
            base_limit=base,
            limit_override=override,
            queued=counts.get("QUEUED", 0),
            running=counts.get("EXECUTING", 0),
            waiting=counts.get("WAITING", 0),
            delayed=counts.get("DELAYED", 0),
            oldest_queued_age=None if oldest is None else max(0.0, now - oldest),
            started_per_minute=len(starts) * 60.0 / window,
            wait_p50=_percentile(waits, 0.50),
            wait_p95=_percentile(waits, 0.95),
            window=window,
            rate_limit=row["rate_limit"],
            rate_period=row["rate_period"],
            rate_used=rate_used,
        )

    def environment_info(self, environment: str) -> EnvironmentInfo:
        """Whether the environment is paused, its limit, and running runs per worker."""
        params = {"environment": environment}
        with self._read() as cur:
            cur.execute(self.q["get_environment"], params)
            env = cur.fetchone()
            cur.execute(self.q["running_by_worker"], params)
            running = {r["worker_id"]: r["running"] for r in cur.fetchall()}
            cur.execute(self.q["list_workers"], params)
            workers = tuple(
                WorkerInfo(
                    id=w["id"],
                    hostname=w["hostname"],
                    pid=w["pid"],
                    task_ids=tuple(json.loads(w["task_ids"])),
                    started_at=w["started_at"],
                    heartbeat_at=w["heartbeat_at"],
                    running=running.get(w["id"], 0),
                )
                for w in cur.fetchall()
            )
        return EnvironmentInfo(
            name=environment,
            paused=bool(env["paused"]) if env is not None else False,
            concurrency_limit=None if env is None else env["concurrency_limit"],
            running=sum(running.values()),
            workers=workers,
        )
