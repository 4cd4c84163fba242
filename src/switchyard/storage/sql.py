"""Domain operations written once over a DB-API cursor; dialects supply SQL and connections.

Every public method is one transaction. Status changes are guarded in SQL by the
status they come from, so racing operations (cancel vs. complete, two workers
recovering the same lapsed lease) settle without corrupting a run.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from typing import Any

from switchyard.core.api_keys import RequestResponse
from switchyard.core.ids import new_id
from switchyard.core.models import (
    Attempt,
    NewRun,
    QueueInfo,
    Run,
    RunFilter,
    RunPage,
    TaskInfo,
    TriggerResult,
)
from switchyard.core.states import AttemptStatus, RunStatus
from switchyard.core.waitpoints import JournalRef, NewWaitpoint, Waitpoint, WaitpointKind
from switchyard.storage.base import Storage
from switchyard.storage.queries import execute_many
from switchyard.storage.rows import (
    attempt_from_row,
    dump_json,
    run_from_row,
    task_from_row,
    waitpoint_from_row,
)
from switchyard.storage.sql_api import SqlApi
from switchyard.storage.sql_dequeue import SqlDequeue
from switchyard.storage.sql_hooks import Cursor
from switchyard.storage.sql_queues import SqlQueues
from switchyard.storage.sql_reads import SqlWaitpointReads
from switchyard.storage.sql_resume import SqlResume
from switchyard.storage.sql_steps import SqlSteps
from switchyard.storage.sql_waitpoints import SqlWaitpoints


class SqlStorage(
    SqlApi, SqlWaitpoints, SqlWaitpointReads, SqlSteps, SqlResume, SqlQueues, SqlDequeue, Storage
):
    """A :class:`Storage` over SQL; subclasses provide connections and dialect SQL
    (the hooks of :class:`~switchyard.storage.sql_hooks.SqlHooks`)."""

    def __init__(self) -> None:
        self._known_queues: set[tuple[str, str]] = set()
        self._known_envs: set[str] = set()
        self._last_key: dict[str, str] = {}

    # -- enqueue ------------------------------------------------------------------
    def trigger(
        self, runs: Sequence[NewRun], now: float, responses: Sequence[RequestResponse] = ()
    ) -> list[TriggerResult]:
        new_queues: set[tuple[str, str]] = set()
        new_envs: set[str] = set()
        with self._tx() as cur:
            results = self._trigger(cur, runs, now, new_envs, new_queues)
            self._store_responses(cur, responses, results, now)
        self._known_envs |= new_envs
        self._known_queues |= new_queues
        return results

    def trigger_children(
        self,
        runs: Sequence[NewRun],
        *,
        wait: str | None,
        journal: JournalRef | None,
        now: float,
    ) -> tuple[list[TriggerResult], Waitpoint | None]:
        """Trigger runs from inside a run, journaled, optionally with a waitpoint.

        ``wait="run"`` makes (or finds) the waitpoint of the single child run;
        ``wait="batch"`` makes the waitpoint of the whole batch. A child that has
        already finished (an idempotency key hit) completes its waitpoint at once.
        """
        new_queues: set[tuple[str, str]] = set()
        new_envs: set[str] = set()
        waitpoint: Waitpoint | None = None
        with self._tx() as cur:
            results = self._trigger(cur, runs, now, new_envs, new_queues)
            env = runs[0].environment
            parent = runs[0].parent_run_id
            if wait == "run":
                child = results[0].run_id
                cur.execute(self.q["waitpoint_for_child_run"], {"child_run_id": child})
                row = cur.fetchone()
                if row is None:
                    waitpoint, _ = self._create_waitpoint(
                        cur,
                        NewWaitpoint(
                            WaitpointKind.RUN, env, child_run_id=child, created_by_run_id=parent
                        ),
                        now,
                    )
                    self._complete_waiters_of(cur, [child], now)
                    cur.execute(self.q["get_waitpoint"], {"id": waitpoint.id})
                    row = cur.fetchone()
                waitpoint = waitpoint_from_row(row)
            elif wait == "batch":
                batch_id = runs[0].batch_id
                waitpoint, _ = self._create_waitpoint(
                    cur,
                    NewWaitpoint(
                        WaitpointKind.BATCH,
                        env,
                        batch_id=batch_id,
                        batch_total=len(runs),
                        created_by_run_id=parent,
                    ),
                    now,
                )
                self._complete_waiters_of(cur, [r.run_id for r in results], now)
                cur.execute(self.q["get_waitpoint"], {"id": waitpoint.id})
                waitpoint = waitpoint_from_row(cur.fetchone())
            if journal is not None:
                self._journal(
                    cur,
                    journal,
                    None if waitpoint is None else waitpoint.id,
                    json.dumps([[r.run_id, r.is_cached] for r in results]),
                    now,
                )
        self._known_envs |= new_envs
        self._known_queues |= new_queues
        return results, waitpoint

    def _trigger(
        self,
        cur: Cursor,
        runs: Sequence[NewRun],
        now: float,
        new_envs: set[str],
        new_queues: set[tuple[str, str]],
    ) -> list[TriggerResult]:
        results: list[TriggerResult] = []
        for env in {r.environment for r in runs} - self._known_envs:
            cur.execute(self.q["ensure_environment"], {"environment": env, "now": now})
            new_envs.add(env)
        for r in runs:
            key = (r.environment, r.queue)
            if key not in self._known_queues and key not in new_queues:
                cur.execute(
                    self.q["ensure_queue"],
                    {
                        "environment": r.environment,
                        "name": r.queue,
                        "concurrency_limit": r.queue_concurrency_limit,
                        "now": now,
                    },
                )
                new_queues.add(key)
        plain: list[dict[str, Any]] = []
        tags: list[dict[str, Any]] = []
        for r in runs:
            params = self._run_params(r, new_id("run", now), now)
            if r.debounce_key is not None:
                debounced = self._insert_debounced(cur, r, params, now)
                if debounced is not None:
                    results.append(TriggerResult(debounced, r.task_id, True))
                    continue
            elif r.idempotency_key is None:
                plain.append(params)
            else:
                cached = self._insert_keyed(cur, r, params, now)
                if cached is not None:
                    results.append(TriggerResult(cached, r.task_id, True))
                    continue
            results.append(TriggerResult(params["id"], r.task_id, False))
            tags.extend({"tag": t, "run_id": params["id"]} for t in r.tags)
        # New runs need no explicit notify: SQLite workers watch data_version and
        # PostgreSQL has a NOTIFY trigger on INSERT.
        execute_many(cur, self.q, "insert_run", plain)
        execute_many(cur, self.q, "insert_tag", tags)
        return results

    def _insert_keyed(
        self, cur: Cursor, r: NewRun, params: dict[str, Any], now: float
    ) -> str | None:
        """Insert a run with an idempotency key; return the live run's id if one exists."""
        find = {
            "environment": r.environment,
            "task_id": r.task_id,
            "idempotency_key": r.idempotency_key,
        }
        for _ in range(3):
            cur.execute(self.q["find_idempotent_run"], find)
            existing = cur.fetchone()
            if existing is not None:
                expired = (
                    existing["idempotency_expires_at"] is not None
                    and existing["idempotency_expires_at"] <= now
                )
                if not expired and not RunStatus(existing["status"]).frees_idempotency_key:
                    return str(existing["id"])
                cur.execute(self.q["free_idempotency_key"], {"id": existing["id"], "now": now})
            cur.execute(self.q["insert_run"], params)
            if cur.rowcount == 1:
                return None
            # A concurrent trigger committed the same key first: read it again.
        raise RuntimeError(f"could not settle idempotency key {r.idempotency_key!r}")

    def _insert_debounced(
        self, cur: Cursor, r: NewRun, params: dict[str, Any], now: float
    ) -> str | None:
        """Trailing debounce: push back and update the open window's run, or open one."""
        find = {
            "environment": r.environment,
            "task_id": r.task_id,
            "debounce_key": r.debounce_key,
        }
        for _ in range(3):
            cur.execute(self.q["find_debounced"], find)
            existing = cur.fetchone()
            if existing is not None:
                cur.execute(self.q["rearm_debounced"], {**params, "id": existing["id"]})
                if cur.rowcount:
                    return str(existing["id"])
                continue  # promoted meanwhile: the window closed, open a new one
            cur.execute(self.q["insert_run"], params)
            if cur.rowcount == 1:
                return None
        raise RuntimeError(f"could not settle debounce key {r.debounce_key!r}")

    @staticmethod
    def _run_params(r: NewRun, run_id: str, now: float) -> dict[str, Any]:
        delayed = r.delay_until is not None and r.delay_until > now
        queued_at = r.delay_until if delayed and r.delay_until is not None else now
        return {
            "id": run_id,
            "environment": r.environment,
            "task_id": r.task_id,
            "queue": r.queue,
            "status": RunStatus.DELAYED if delayed else RunStatus.QUEUED,
            "payload": r.payload_json,
            "tags": json.dumps(list(r.tags)),
            "metadata": r.metadata_json,
            "priority": r.priority,
            "order_key": queued_at - r.priority,
            "now": now,
            "queued_at": queued_at,
            "delay_until": r.delay_until if delayed else None,
            "expires_at": queued_at + r.ttl if r.ttl is not None else None,
            "retry": json.dumps(r.retry.to_json()),
            "max_duration": r.max_duration,
            "ttl": r.ttl,
            "idempotency_key": r.idempotency_key,
            "idempotency_expires_at": (
                now + r.idempotency_ttl if r.idempotency_key is not None else None
            ),
            "concurrency_key": r.concurrency_key,
            "parent_run_id": r.parent_run_id,
            "root_run_id": r.root_run_id or r.parent_run_id,
            "batch_id": r.batch_id,
            "replayed_from": r.replayed_from,
            "debounce_key": r.debounce_key,
        }

    def register(
        self, environment: str, tasks: Sequence[TaskInfo], worker_id: str | None, now: float
    ) -> None:
        import os
        import socket

        with self._tx() as cur:
            cur.execute(self.q["ensure_environment"], {"environment": environment, "now": now})
            queues: dict[str, TaskInfo] = {}
            for t in tasks:
                known = queues.get(t.queue)
                if known is None or (
                    known.queue_concurrency_limit is None and known.queue_rate_limit is None
                ):
                    queues[t.queue] = t
            for name, info in sorted(queues.items()):
                cur.execute(
                    self.q["define_queue"],
                    {
                        "environment": environment,
                        "name": name,
                        "concurrency_limit": info.queue_concurrency_limit,
                        "rate_limit": info.queue_rate_limit,
                        "rate_period": info.queue_rate_period,
                        "now": now,
                    },
                )
            for t in tasks:
                cur.execute(
                    self.q["upsert_task"],
                    {
                        "environment": environment,
                        "id": t.id,
                        "queue": t.queue,
                        "payload_schema": dump_json(t.payload_schema),
                        "retry": dump_json(t.retry),
                        "max_duration": t.max_duration,
                        "ttl": t.ttl,
                        "now": now,
                    },
                )
            if worker_id is not None:
                cur.execute(
                    self.q["upsert_worker"],
                    {
                        "id": worker_id,
                        "environment": environment,
                        "hostname": socket.gethostname(),
                        "pid": os.getpid(),
                        "task_ids": json.dumps(sorted(t.id for t in tasks)),
                        "now": now,
                    },
                )
        self._known_envs.add(environment)
        self._known_queues |= {(environment, name) for name in queues}

    def get_task(self, environment: str, task_id: str) -> TaskInfo | None:
        with self._read() as cur:
            cur.execute(self.q["get_task"], {"environment": environment, "id": task_id})
            row = cur.fetchone()
        return None if row is None else task_from_row(row)

    def list_tasks(self, environment: str) -> list[TaskInfo]:
        with self._read() as cur:
            cur.execute(self.q["list_tasks"], {"environment": environment})
            return [task_from_row(r) for r in cur.fetchall()]

    # -- maintenance --------------------------------------------------------------------
    def promote_delayed(self, now: float) -> int:
        with self._tx() as cur:
            cur.execute(self.q["promote_delayed"], {"now": now})
            count = cur.rowcount
            if count:
                self._notify(cur, set())
        return count

    def expire(self, now: float) -> int:
        with self._tx() as cur:
            cur.execute(self.q["expire_runs"], {"now": now})
            expired = [r["id"] for r in cur.fetchall()]
            self._complete_waiters_of(cur, expired, now)
        return len(expired)

    def recover_lapsed(self, now: float) -> list[str]:
        recovered = []
        with self._tx() as cur:
            cur.execute(self.q["lapsed_runs"], {"now": now})
            for row in cur.fetchall():
                run = run_from_row(row)
                error = {
                    "type": "WorkerLost",
                    "message": (
                        f"worker {run.worker_id} stopped renewing its lease on attempt "
                        f"{run.attempt_count} (killed, stopped or cut off); "
                        + (
                            "the run is queued again"
                            if run.retry.should_retry(run.attempt_count)
                            else "no attempts are left"
                        )
                    ),
                }
                retry = run.retry.should_retry(run.attempt_count)
                status = RunStatus.QUEUED if retry else RunStatus.CRASHED
                cur.execute(
                    self.q["requeue_lapsed"],
                    {
                        "id": run.id,
                        "attempt_id": run.current_attempt_id,
                        "status": status,
                        "error": dump_json(error),
                        "finished_at": None if retry else now,
                        "now": now,
                    },
                )
                if cur.rowcount:
                    cur.execute(
                        self.q["finish_attempt"],
                        {
                            "attempt_id": run.current_attempt_id,
                            "attempt_status": AttemptStatus.CRASHED,
                            "error": dump_json(error),
                            "now": now,
                        },
                    )
                    recovered.append(run.id)
                    if not retry:
                        self._complete_waiters_of(cur, [run.id], now)
            if recovered:
                self._notify(cur, set())
        return recovered

    # -- runs ---------------------------------------------------------------------------
    def get_run(self, environment: str, run_id: str) -> Run | None:
        with self._read() as cur:
            cur.execute(self.q["get_run"], {"environment": environment, "id": run_id})
            row = cur.fetchone()
        return None if row is None else run_from_row(row)

    def list_runs(self, filters: RunFilter, limit: int, cursor: str | None) -> RunPage:
        params = {
            "environment": filters.environment,
            "statuses": self._list_param([str(s) for s in filters.statuses] or None),
            "task_ids": self._list_param(list(filters.task_ids) or None),
            "tag": filters.tag,
            "queue": filters.queue,
            "created_after": filters.created_after,
            "created_before": filters.created_before,
            "idempotency_key": filters.idempotency_key,
            "batch_id": filters.batch_id,
            "parent_run_id": filters.parent_run_id,
            "cursor": cursor,
            "limit": limit + 1,
        }
        with self._read() as cur:
            cur.execute(self.q["list_runs"], params)
            rows = cur.fetchall()
        runs = [run_from_row(r) for r in rows[:limit]]
        return RunPage(runs, runs[-1].id if len(rows) > limit and runs else None)

    def list_attempts(self, run_id: str) -> list[Attempt]:
        with self._read() as cur:
            cur.execute(self.q["list_attempts"], {"run_id": run_id})
            return [attempt_from_row(r) for r in cur.fetchall()]

    def cancel(self, environment: str, run_id: str, now: float) -> list[str]:
        canceled = []
        with self._tx() as cur:
            cur.execute(self.q["run_tree"], {"environment": environment, "id": run_id})
            tree = cur.fetchall()
            for row in tree:
                if RunStatus(row["status"]).is_final:
                    continue
                cur.execute(self.q["cancel_run"], {"id": row["id"], "now": now})
                if cur.rowcount:
                    cur.execute(self.q["cancel_attempts"], {"id": row["id"], "now": now})
                    cur.execute(self.q["clear_blockers"], {"run_id": row["id"]})
                    canceled.append(row["id"])
            self._complete_waiters_of(cur, canceled, now)
            if canceled:
                self._notify(cur, {environment})
        return canceled

    # -- queues ---------------------------------------------------------------------------
    def list_queues(self, environment: str) -> list[QueueInfo]:
        with self._read() as cur:
            cur.execute(self.q["list_queues"], {"environment": environment})
            return [
                QueueInfo(
                    name=r["name"],
                    environment=r["environment"],
                    concurrency_limit=r["effective_limit"],
                    paused=bool(r["paused"]),
                    queued=r["queued"],
                    running=r["running"],
                )
                for r in cur.fetchall()
            ]


def iter_statements(script: str) -> Iterator[str]:
    """Split a migration script into statements.

    ``--`` comments are dropped; a ``;`` ends a statement except inside a ``$$`` body
    (PostgreSQL functions). String literals must not contain ``;`` or ``--``.
    """
    code = "\n".join(line.split("--", 1)[0] for line in script.splitlines())
    statement: list[str] = []
    for i, chunk in enumerate(code.split("$$")):
        if i % 2:  # inside a $$ body
            statement.append(f"$${chunk}$$")
            continue
        parts = chunk.split(";")
        for j, part in enumerate(parts):
            statement.append(part)
            if j < len(parts) - 1:
                text = "".join(statement).strip()
                if text:
                    yield text
                statement = []
    text = "".join(statement).strip()
    if text:
        yield text
