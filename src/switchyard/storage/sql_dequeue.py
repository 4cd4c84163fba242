"""Claiming, finishing and leases of :class:`~switchyard.storage.sql.SqlStorage`.

A claim reads the limits in force (``claiming.read_capacity``) and takes the oldest
runs by ``queued_at - priority`` that fit them, in one transaction; on PostgreSQL the
limited queue rows are locked while counting, so two workers never both take a queue's
last slot.
"""

from __future__ import annotations

import dataclasses
from abc import abstractmethod
from collections.abc import Iterable, Sequence
from typing import Any

from switchyard.core.ids import new_id
from switchyard.core.models import Claim, Outcome
from switchyard.core.states import RunStatus
from switchyard.storage.claiming import (
    CLAIM_ROUNDS,
    KEYS_PER_CLAIM,
    Capacity,
    per_key,
    read_capacity,
    round_robin,
)
from switchyard.storage.queries import execute_grouped, execute_many
from switchyard.storage.rows import dump_json, resumed_claim, run_from_row
from switchyard.storage.sql_hooks import Cursor, SqlHooks


class SqlDequeue(SqlHooks):
    """Mixin: claim runs, finish attempts, renew and release leases."""

    _last_key: dict[str, str]
    """Per environment, the concurrency key the last round-robin claim ended at."""

    @abstractmethod
    def _complete_waiters_of(self, cur: Any, run_ids: Iterable[str], now: float) -> None: ...

    def claim(
        self,
        environment: str,
        worker_id: str,
        task_ids: Sequence[str],
        limit: int,
        now: float,
        lease_seconds: float,
    ) -> list[Claim]:
        if limit <= 0 or not task_ids:
            return []
        claims: list[Claim] = []
        with self._tx() as cur:
            capacity = read_capacity(cur, self.q, environment, now)
            if capacity is None:
                return []
            tasks_param = self._list_param(list(task_ids))
            cur.execute(self.q["has_keyed_queued"], {"environment": environment})
            if cur.fetchone() is not None:
                chosen = self._fair_candidates(cur, environment, tasks_param, capacity, limit)
                return self._mark_claimed(cur, chosen, worker_id, now, lease_seconds)
            for _ in range(CLAIM_ROUNDS):
                want = limit - len(claims)
                if want <= 0:
                    break
                blocked = capacity.blocked | capacity.full_unkeyed_queues()
                cur.execute(
                    self.q["claim_candidates"],
                    {
                        "environment": environment,
                        "task_ids": tasks_param,
                        "blocked": self._list_param(sorted(blocked)),
                        "limit": want,
                    },
                )
                rows = cur.fetchall()
                chosen = [row for row in rows if capacity.take(row)]
                claims.extend(self._mark_claimed(cur, chosen, worker_id, now, lease_seconds))
                if len(chosen) == len(rows) or len(rows) < want:
                    break
        return claims

    def _fair_candidates(
        self, cur: Any, environment: str, tasks_param: Any, capacity: Capacity, limit: int
    ) -> list[Any]:
        """Round-robin across concurrency keys, reading only as many keys as it can use.

        Keys are visited in name order from where the previous claim stopped (wrapping
        around), a window at a time, until the claim is full or 256 keys were visited.
        """
        after = self._last_key.get(environment, "")
        blocked = self._list_param(sorted(capacity.blocked))
        params = {"environment": environment, "task_ids": tasks_param, "blocked": blocked}
        cur.execute(self.q["unkeyed_candidates"], {**params, "limit": limit})
        unkeyed = cur.fetchall()
        chosen: list[Any] = []
        seen: set[str] = set()
        visited, wrapped = 0, False
        while len(chosen) < limit and visited < KEYS_PER_CLAIM:
            window = min(KEYS_PER_CLAIM - visited, limit - len(chosen))
            cur.execute(
                self.q["queued_keys"],
                {"environment": environment, "after": after, "limit": window},
            )
            keys = [r["k"] for r in cur.fetchall()]
            if not keys:
                if wrapped or not after:
                    break
                wrapped, after = True, ""
                continue
            visited += len(keys)
            after = keys[-1]
            each = per_key(limit - len(chosen), len(keys) + 1)
            groups = [unkeyed] if unkeyed else []
            for key in keys:
                cur.execute(self.q["key_candidates"], {**params, "key": key, "limit": each})
                groups.append(cur.fetchall())
            for row in round_robin(groups):
                if row["id"] not in seen and capacity.take(row):
                    seen.add(row["id"])
                    chosen.append(row)
                    if len(chosen) == limit:
                        break
            unkeyed = [row for row in unkeyed if row["id"] not in seen]
        for row in unkeyed:  # nothing keyed could be taken: plain runs fill the claim
            if len(chosen) == limit:
                break
            if capacity.take(row):
                chosen.append(row)
        self._last_key[environment] = after
        return chosen

    def _mark_claimed(
        self, cur: Any, rows: list[Any], worker_id: str, now: float, lease_seconds: float
    ) -> list[Claim]:
        if not rows:
            return []
        lease = now + lease_seconds
        updates: list[dict[str, Any]] = []
        attempts: list[dict[str, Any]] = []
        claims: list[Claim] = []
        resumed: list[str] = []
        for row in rows:
            if row["is_resuming"]:
                resumed.append(row["id"])
                claims.append(resumed_claim(row, worker_id, lease, now))
                continue
            run = run_from_row(row)
            attempt_id = new_id("attempt", now)
            number = run.attempt_count + 1
            updates.append(
                {
                    "id": run.id,
                    "attempt_id": attempt_id,
                    "worker_id": worker_id,
                    "lease_expires_at": lease,
                    "now": now,
                }
            )
            attempts.append(
                {
                    "id": attempt_id,
                    "run_id": run.id,
                    "number": number,
                    "worker_id": worker_id,
                    "now": now,
                }
            )
            claimed = dataclasses.replace(
                run,
                status=RunStatus.EXECUTING,
                attempt_count=number,
                current_attempt_id=attempt_id,
                worker_id=worker_id,
                lease_expires_at=lease,
                started_at=run.started_at if run.started_at is not None else now,
                expires_at=None,
                updated_at=now,
            )
            claims.append(Claim(claimed, attempt_id, number))
        if len(updates) > 1 and "mark_claimed_many" in self.q:
            cur.execute(
                self.q["mark_claimed_many"],
                {
                    "ids": self._list_param([u["id"] for u in updates]),
                    "attempt_ids": self._list_param([u["attempt_id"] for u in updates]),
                    "worker_id": worker_id,
                    "lease_expires_at": lease,
                    "now": now,
                },
            )
        else:
            execute_many(cur, self.q, "mark_claimed", updates)
        execute_many(cur, self.q, "insert_attempt", attempts)
        if resumed:
            cur.execute(
                self.q["mark_resumed_many"],
                {
                    "ids": self._list_param(resumed),
                    "worker_id": worker_id,
                    "lease_expires_at": lease,
                    "now": now,
                },
            )
            # The attempt goes on here, maybe on another worker than the one it started on.
            cur.execute(
                self.q["reassign_resumed_attempts"],
                {"ids": self._list_param(resumed), "worker_id": worker_id},
            )
        return claims

    def finish(self, outcomes: Sequence[Outcome], now: float) -> int:
        if not outcomes:
            return 0
        try:
            return self._finish(outcomes, now)
        except Exception as exc:
            if not self._is_data_error(exc):
                raise  # the database is unreachable: the caller keeps them and retries
            if len(outcomes) == 1:
                return self._finish([outcomes[0].unstorable(exc)], now)
        # One outcome the database refuses (a string it cannot store, say) must not hold
        # back the others: write them one by one, the refused one as a failure.
        applied = 0
        for outcome in outcomes:
            applied += self.finish([outcome], now)
        return applied

    def _finish(self, outcomes: Sequence[Outcome], now: float) -> int:
        runs, attempts = [], []
        for o in outcomes:
            error = dump_json(o.error)
            runs.append(
                {
                    "run_id": o.run_id,
                    "attempt_id": o.attempt_id,
                    "status": o.status,
                    "output": o.output_json,
                    "error": error,
                    "finished_at": now if o.status.is_final else None,
                    "retry_at": o.retry_at,
                    "now": now,
                }
            )
            attempts.append(
                {
                    "attempt_id": o.attempt_id,
                    "attempt_status": o.attempt_status,
                    "error": error,
                    "now": now,
                }
            )
        with self._tx() as cur:
            applied = execute_grouped(
                cur, self.q, "finish_run", runs, ("run_id", "attempt_id"), self._list_param
            )
            execute_grouped(
                cur, self.q, "finish_attempt", attempts, ("attempt_id",), self._list_param
            )
            self._complete_waiters_of(cur, [o.run_id for o in outcomes if o.status.is_final], now)
            self._notify(cur, set())
        return applied

    def _renew(
        self, cur: Cursor, worker_id: str, now: float, lease_seconds: float
    ) -> dict[str, str | None]:
        params = {"worker_id": worker_id, "lease_expires_at": now + lease_seconds, "now": now}
        cur.execute(self.q["renew_leases"], params)
        cur.execute(self.q["heartbeat_worker"], params)
        cur.execute(self.q["held_runs"], params)
        return {r["id"]: r["current_attempt_id"] for r in cur.fetchall()}

    def release(self, worker_id: str, run_ids: Sequence[str], now: float) -> int:
        if not run_ids:
            return 0
        with self._tx() as cur:
            return self._release(cur, worker_id, run_ids, now)

    def _release(self, cur: Cursor, worker_id: str, run_ids: Sequence[str], now: float) -> int:
        released = 0
        for run_id in run_ids:
            params = {"id": run_id, "worker_id": worker_id, "now": now}
            cur.execute(self.q["release_run"], params)
            if cur.rowcount:
                released += 1
                cur.execute(self.q["release_attempt"], params)
        self._notify(cur, set())
        return released
