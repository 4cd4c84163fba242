"""Resuming a worker's own parked runs when their timers come due.

A worker keeps a suspended run's coroutine in memory; when that run's wait is over it
would normally be queued (maintenance tick), then claimed back (claim loop), then its
waitpoints read again: three transactions, a status change to QUEUED and back, and a
tick interval plus a wake-up of latency. :meth:`SqlResume.resume_due` does it in one
transaction, and only when a claim made at that moment would take the run too: the
environment and queue are not paused, limits leave room, the runs queued ahead of it
leave it a slot, and no concurrency-key round robin is in play. Otherwise the run is
queued as usual.

Lock order is the one of block and complete: waitpoint rows first (SKIP LOCKED, so a
tick completing the same timers is never waited for), then the runs, by id.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

from switchyard.core.models import Claim
from switchyard.core.states import RunStatus
from switchyard.core.waitpoints import Waitpoint, WaitpointKind, WaitpointStatus
from switchyard.storage.claiming import read_capacity
from switchyard.storage.rows import resumed_claim, waitpoint_from_row
from switchyard.storage.sql_hooks import SqlHooks

_TIMER_KINDS = (WaitpointKind.DURATION, WaitpointKind.DATETIME)
Parked = tuple[str, str, Sequence[str]]
"""A parked run: (run id, attempt id, the waitpoint ids it waits on)."""


class SqlResume(SqlHooks):
    """Mixin: complete a worker's due timers and take their runs back in place."""

    def resume_due(
        self,
        environment: str,
        worker_id: str,
        task_ids: Sequence[str],
        parked: Sequence[Parked],
        limit: int,
        now: float,
        lease_seconds: float,
    ) -> list[tuple[Claim, list[Waitpoint]]]:
        """Complete the due timers (``wait.for_``/``until``) that ``parked`` runs wait on.

        Up to ``limit`` of the runs this unblocks go straight back to EXECUTING on
        ``worker_id`` (same attempt, like a claim of a resuming run) and are returned
        with their completed waitpoints; the others are queued. Timers that another
        transaction holds (a maintenance tick completing them) are skipped.
        """
        ids = sorted({w for _, _, wids in parked for w in wids})
        if not ids:
            return []
        with self._tx() as cur:
            cur.execute(self.q["lock_waitpoints_skip_locked"], {"ids": self._list_param(ids)})
            due = {
                r["id"]: r
                for r in cur.fetchall()
                if r["status"] == WaitpointStatus.PENDING
                and r["kind"] in _TIMER_KINDS
                and r["complete_after"] is not None
                and r["complete_after"] <= now
            }
            if not due:
                return []
            due_ids = self._list_param(sorted(due))
            cur.execute(
                self.q["complete_locked_waitpoints"],
                {"ids": due_ids, "status": WaitpointStatus.COMPLETED, "error": None, "now": now},
            )
            completed = {
                w: dataclasses.replace(
                    waitpoint_from_row(row), status=WaitpointStatus.COMPLETED, completed_at=now
                )
                for w, row in due.items()
            }
            # Every run blocked on these (another worker's too, for a shared waitpoint).
            cur.execute(self.q["blockers_of"], {"ids": due_ids})
            run_ids = sorted({r["run_id"] for r in cur.fetchall()})
            rows: dict[str, Any] = {}
            if run_ids:
                cur.execute(self.q["lock_runs_by_ids"], {"ids": self._list_param(run_ids)})
                rows = {r["id"]: r for r in cur.fetchall() if r["status"] == RunStatus.WAITING}
            taken = (
                self._take_back(cur, environment, worker_id, task_ids, parked, rows, limit, now)
                if limit > 0 and rows
                else []
            )
            lease = now + lease_seconds
            if taken:
                cur.execute(
                    self.q["resume_locked_runs"],
                    {
                        "ids": self._list_param([r["id"] for r in taken]),
                        "worker_id": worker_id,
                        "lease_expires_at": lease,
                        "now": now,
                    },
                )
                cur.execute(
                    self.q["reassign_resumed_attempts"],
                    {"ids": self._list_param([r["id"] for r in taken]), "worker_id": worker_id},
                )
            queued = sorted(set(rows) - {r["id"] for r in taken})
            if queued:
                cur.execute(
                    self.q["queue_locked_runs"], {"ids": self._list_param(queued), "now": now}
                )
                self._notify(cur, set())
            if rows:
                cur.execute(
                    self.q["clear_blockers_bulk"], {"run_ids": self._list_param(sorted(rows))}
                )
        waits = {run_id: wids for run_id, _, wids in parked}
        out = []
        for row in taken:
            claim = resumed_claim(row, worker_id, lease, now)
            out.append((claim, [completed[w] for w in waits[row["id"]] if w in completed]))
        return out

    def _take_back(
        self,
        cur: Any,
        environment: str,
        worker_id: str,
        task_ids: Sequence[str],
        parked: Sequence[Parked],
        rows: dict[str, Any],
        limit: int,
        now: float,
    ) -> list[Any]:
        """The rows a claim by this worker would take now, in claim order, up to ``limit``.

        A claim of ``limit`` runs takes the queued runs ahead of a resuming one first, so
        it is taken back only if they leave it a slot (the worker claims them next); in
        a queue or environment with a limit, only if no run is queued ahead of it.
        """
        capacity = read_capacity(cur, self.q, environment, now)
        if capacity is None:
            return []  # the environment is paused
        cur.execute(self.q["has_keyed_queued"], {"environment": environment})
        if cur.fetchone() is not None:
            return []  # claims go round-robin across keys: leave the order to them
        blocked = capacity.blocked | capacity.full_unkeyed_queues()
        cur.execute(
            self.q["queued_head"],
            {
                "environment": environment,
                "task_ids": self._list_param(list(task_ids)),
                "blocked": self._list_param(sorted(blocked)),
                "limit": limit,
            },
        )
        heads = [(r["order_key"], r["id"]) for r in cur.fetchall()]
        attempts = {run_id: attempt_id for run_id, attempt_id, _ in parked}
        tasks = set(task_ids)
        taken: list[Any] = []
        ahead = 0  # queued runs a claim would take before this one
        for row in sorted(rows.values(), key=lambda r: (r["order_key"], r["id"])):
            key = (row["order_key"], row["id"])
            while ahead < len(heads) and heads[ahead] < key:
                ahead += 1
            queue = row["queue"]
            limited = (
                capacity.env_room is not None
                or queue in capacity.limits
                or queue in capacity.rate_room
            )
            if (
                len(taken) + ahead >= limit  # no slot left once those ahead are claimed
                or (limited and ahead)  # those ahead may need this run's slot in a limit
                or row["environment"] != environment
                or attempts.get(row["id"]) != row["current_attempt_id"]
                or row["task_id"] not in tasks
            ):
                break  # this run and every later one are left to claims, in order
            if capacity.take(row):
                taken.append(row)
        return taken
