"""Waitpoint operations of :class:`~switchyard.storage.sql.SqlStorage`.

Completing a waitpoint and suspending a run on it both lock the waitpoint row first,
so a completion that races a suspension is never missed: whichever commits second
sees the other.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

from switchyard.core.errors import RunNotExecutingError
from switchyard.core.states import RunStatus
from switchyard.core.waitpoints import (
    JournalEntry,
    JournalRef,
    NewWaitpoint,
    Waitpoint,
    WaitpointKind,
    WaitpointStatus,
    new_waitpoint,
)
from switchyard.storage.queries import execute_many
from switchyard.storage.rows import dump_json, waitpoint_from_row, waitpoint_params
from switchyard.storage.sql_hooks import SqlHooks

_TIMEOUT_ERROR = {"type": "WaitpointTimeoutError", "message": "the waitpoint timed out"}
_TIMER_KINDS = (WaitpointKind.DURATION, WaitpointKind.DATETIME)


NewTimer = tuple[Waitpoint, JournalRef]
"""A waitpoint a run made in memory (see ``Execution.defer_waitpoint``) and its journal entry."""


class SqlWaitpoints(SqlHooks):
    """Mixin: waitpoints, blocking and the journal, over the host's cursor."""

    # -- create ------------------------------------------------------------------------
    def create_waitpoint(
        self, new: NewWaitpoint, journal: JournalRef | None, now: float
    ) -> tuple[Waitpoint, bool]:
        """Create a waitpoint (or find the live one with its key); journal it if asked.

        Returns the waitpoint and whether it already existed.
        """
        with self._tx() as cur:
            waitpoint, cached = self._create_waitpoint(cur, new, now)
            if journal is not None:
                self._journal(cur, journal, waitpoint.id, None, now)
        return waitpoint, cached

    def _create_waitpoint(self, cur: Any, new: NewWaitpoint, now: float) -> tuple[Waitpoint, bool]:
        key = new.idempotency_key
        if key is not None:
            cur.execute(
                self.q["find_idempotent_waitpoint"],
                {"environment": new.environment, "idempotency_key": key},
            )
            row = cur.fetchone()
            if row is not None:
                expires = row["idempotency_expires_at"]
                if expires is None or expires > now:
                    return waitpoint_from_row(row), True
                cur.execute(self.q["free_waitpoint_key"], {"id": row["id"], "now": now})
        params, created = self._new_waitpoint(new, now)
        cur.execute(self.q["insert_waitpoint"], params)
        if cur.rowcount == 0:  # a concurrent create won the key
            cur.execute(
                self.q["find_idempotent_waitpoint"],
                {"environment": new.environment, "idempotency_key": key},
            )
            return waitpoint_from_row(cur.fetchone()), True
        execute_many(
            cur,
            self.q,
            "insert_waitpoint_tag",
            [{"tag": t, "waitpoint_id": created.id} for t in new.tags],
        )
        return created, False

    @staticmethod
    def _new_waitpoint(new: NewWaitpoint, now: float) -> tuple[dict[str, Any], Waitpoint]:
        """Insert parameters for a new waitpoint, and the waitpoint they make."""
        created = new_waitpoint(new, now)
        return waitpoint_params(created), created

    def create_waitpoints(
        self, items: Sequence[tuple[NewWaitpoint, JournalRef | None]], now: float
    ) -> list[tuple[Waitpoint, bool] | BaseException]:
        """:meth:`create_waitpoint` for many items in one transaction (group commit)."""
        try:
            with self._tx() as cur:
                out: list[tuple[Waitpoint, bool] | BaseException] = []
                inserts, tags, journal = [], [], []
                for new, ref in items:
                    if new.idempotency_key is None:
                        # No key, no conflict possible: insert them all in one batch.
                        params, waitpoint = self._new_waitpoint(new, now)
                        inserts.append(params)
                        tags += [{"tag": t, "waitpoint_id": waitpoint.id} for t in new.tags]
                        cached = False
                    else:
                        waitpoint, cached = self._create_waitpoint(cur, new, now)
                    if ref is not None:
                        journal.append(self._journal_params(ref, waitpoint.id, None, now))
                    out.append((waitpoint, cached))
                for statement, rows in (
                    ("insert_waitpoint", inserts),
                    ("insert_waitpoint_tag", tags),
                    ("insert_journal", journal),
                ):
                    execute_many(cur, self.q, statement, rows)
                return out
        except Exception:
            if len(items) == 1:
                raise
        # One item broke the batch: write them one by one so only it fails.
        results: list[tuple[Waitpoint, bool] | BaseException] = []
        for new, ref in items:
            try:
                results.append(self.create_waitpoint(new, ref, now))
            except Exception as exc:
                results.append(exc)
        return results

    # -- journal ------------------------------------------------------------------------
    def _journal(
        self,
        cur: Any,
        ref: JournalRef,
        waitpoint_id: str | None,
        result_json: str | None,
        now: float,
    ) -> None:
        cur.execute(
            self.q["insert_journal"], self._journal_params(ref, waitpoint_id, result_json, now)
        )

    @staticmethod
    def _journal_params(
        ref: JournalRef, waitpoint_id: str | None, result_json: str | None, now: float
    ) -> dict[str, Any]:
        return {
            "run_id": ref.run_id,
            "attempt_number": ref.attempt_number,
            "position": ref.position,
            "kind": ref.kind,
            "name": ref.name,
            "waitpoint_id": waitpoint_id,
            "result": result_json,
            "now": now,
        }

    def record_journal(
        self,
        ref: JournalRef,
        result_json: str | None,
        now: float,
        waitpoint_id: str | None = None,
    ) -> None:
        """Record a durable operation: a step's result, or the waitpoint a wait is on."""
        with self._tx() as cur:
            self._journal(cur, ref, waitpoint_id, result_json, now)

    def load_journal(self, run_id: str, attempt_number: int) -> list[JournalEntry]:
        """An attempt's journal in order, each entry with its waitpoint's current state."""
        with self._read() as cur:
            cur.execute(
                self.q["load_journal"], {"run_id": run_id, "attempt_number": attempt_number}
            )
            rows = cur.fetchall()
            entries = []
            for row in rows:
                waitpoint = None
                if row["waitpoint_id"] is not None:
                    cur.execute(self.q["get_waitpoint"], {"id": row["waitpoint_id"]})
                    found = cur.fetchone()
                    waitpoint = None if found is None else waitpoint_from_row(found)
                entries.append(
                    JournalEntry(
                        position=row["position"],
                        kind=row["kind"],
                        name=row["name"],
                        waitpoint_id=row["waitpoint_id"],
                        result=None if row["result"] is None else json.loads(row["result"]),
                        waitpoint=waitpoint,
                    )
                )
        return entries

    # -- block and complete -------------------------------------------------------------
    def block_run(
        self, run_id: str, attempt_id: str, waitpoint_ids: Sequence[str], now: float
    ) -> list[Waitpoint]:
        """Suspend the run (WAITING, slot freed) until one of the waitpoints completes.

        If some already completed, the run is not suspended and those are returned.
        Raises :class:`RunNotExecutingError` if the run is no longer executing.
        """
        [result] = self.block_runs([(run_id, attempt_id, waitpoint_ids)], now)
        if isinstance(result, BaseException):
            raise result
        return result

    def block_runs(
        self, items: Sequence[tuple[str, str, Sequence[str]]], now: float
    ) -> list[list[Waitpoint] | BaseException]:
        """:meth:`block_run` for many runs in one transaction (group commit), set-based."""
        return self.create_and_block([(run, attempt, ids, ()) for run, attempt, ids in items], now)

    def create_and_block(
        self, items: Sequence[tuple[str, str, Sequence[str], Sequence[NewTimer]]], now: float
    ) -> list[list[Waitpoint] | BaseException]:
        """:meth:`block_runs`, first storing waitpoints the runs made but did not store yet.

        Items are ``(run id, attempt id, waitpoint ids, new waitpoints)``; a new
        waitpoint comes with the journal entry of the wait that made it. One statement
        locks every waitpoint, one suspends every run that has nothing completed yet,
        one batch of inserts records what each run waits on.
        """
        try:
            return self._create_and_block(items, now)
        except Exception:
            if len(items) == 1 or not any(made for *_, made in items):
                raise
        # A new waitpoint broke the batch (stored before?): one by one, so only it fails.
        results: list[list[Waitpoint] | BaseException] = []
        for item in items:
            try:
                results += self._create_and_block([item], now)
            except Exception as exc:
                results.append(exc)
        return results

    def _create_and_block(
        self, items: Sequence[tuple[str, str, Sequence[str], Sequence[NewTimer]]], now: float
    ) -> list[list[Waitpoint] | BaseException]:
        all_ids = sorted({w for _, _, ids, _ in items for w in ids})
        with self._tx() as cur:
            new = [(w, ref) for *_, made in items for w, ref in made]
            if new:
                execute_many(cur, self.q, "insert_waitpoint", [waitpoint_params(w) for w, _ in new])
                execute_many(
                    cur,
                    self.q,
                    "insert_journal",
                    [self._journal_params(ref, w.id, None, w.created_at) for w, ref in new],
                )
            cur.execute(self.q["lock_waitpoints_by_ids"], {"ids": self._list_param(all_ids)})
            found = {r["id"]: r for r in cur.fetchall()}
            out: list[list[Waitpoint] | BaseException] = []
            suspend: list[tuple[int, str, str, Sequence[str]]] = []
            for n, (run_id, attempt_id, ids, _) in enumerate(items):
                missing = [w for w in ids if w not in found]
                done = [
                    waitpoint_from_row(found[w])
                    for w in sorted(set(ids))
                    if w in found and found[w]["status"] != WaitpointStatus.PENDING
                ]
                if missing:
                    out.append(LookupError(f"no waitpoint {missing[0]!r}"))
                elif done:
                    out.append(done)
                else:
                    out.append([])
                    suspend.append((n, run_id, attempt_id, ids))
            if suspend:
                cur.execute(
                    self.q["suspend_runs_bulk"],
                    {
                        "run_ids": self._list_param([r for _, r, _, _ in suspend]),
                        "attempt_ids": self._list_param([a for _, _, a, _ in suspend]),
                        "now": now,
                    },
                )
                suspended = {r["id"] for r in cur.fetchall()}
                blockers = []
                for n, run_id, _, ids in suspend:
                    if run_id not in suspended:
                        out[n] = RunNotExecutingError(run_id)
                        continue
                    blockers += [
                        {"run_id": run_id, "waitpoint_id": w, "now": now} for w in set(ids)
                    ]
                if blockers:
                    execute_many(cur, self.q, "insert_blocker", blockers)
                    self._notify(cur, set())
        return out

    def complete_waitpoint(
        self,
        environment: str,
        waitpoint_id: str,
        *,
        output_json: str | None = None,
        error: dict[str, Any] | None = None,
        timed_out: bool = False,
        now: float,
    ) -> Waitpoint | None:
        """Complete (or time out) a pending waitpoint; the first completion wins.

        Returns the waitpoint as it now stands, or None if there is no such waitpoint.
        """
        with self._tx() as cur:
            cur.execute(self.q["lock_waitpoint"], {"id": waitpoint_id})
            row = cur.fetchone()
            if row is None or row["environment"] != environment:
                return None
            if row["status"] == WaitpointStatus.PENDING:
                status = WaitpointStatus.TIMED_OUT if timed_out else WaitpointStatus.COMPLETED
                if timed_out and error is None:
                    error = _TIMEOUT_ERROR
                self._complete(cur, waitpoint_id, status, output_json, error, now)
            cur.execute(self.q["get_waitpoint"], {"id": waitpoint_id})
            return waitpoint_from_row(cur.fetchone())

    def _complete(
        self,
        cur: Any,
        waitpoint_id: str,
        status: WaitpointStatus,
        output_json: str | None,
        error: dict[str, Any] | None,
        now: float,
    ) -> bool:
        cur.execute(
            self.q["complete_waitpoint"],
            {
                "id": waitpoint_id,
                "status": status,
                "output": output_json,
                "error": dump_json(error),
                "now": now,
            },
        )
        if cur.rowcount == 0:
            return False
        cur.execute(self.q["blocked_runs"], {"waitpoint_id": waitpoint_id})
        run_ids = [r["run_id"] for r in cur.fetchall()]
        for run_id in run_ids:
            cur.execute(self.q["unblock_run"], {"run_id": run_id, "now": now})
            cur.execute(self.q["clear_blockers"], {"run_id": run_id})
        if run_ids:
            self._notify(cur, set())
        return True

    def complete_due_waitpoints(self, now: float) -> int:
        """Complete duration waits that are due and time out tokens past their timeout."""
        total = 0
        for _ in range(20):  # 1,000 per transaction, so a burst never holds the lock long
            count = self._complete_due(now)
            total += count
            if count < 1000:
                break
        return total

    def _complete_due(self, now: float) -> int:
        """One set-based round: complete up to 1,000 due waitpoints, queue their runs."""
        with self._tx() as cur:
            cur.execute(self.q["due_waitpoints"], {"now": now})
            rows = cur.fetchall()
            if not rows:
                return 0
            timers = [r["id"] for r in rows if r["kind"] in _TIMER_KINDS]
            tokens = [r["id"] for r in rows if r["kind"] not in _TIMER_KINDS]
            # The rows are locked and pending: update them, and their runs, by key.
            for ids, status, error in (
                (timers, WaitpointStatus.COMPLETED, None),
                (tokens, WaitpointStatus.TIMED_OUT, dump_json(_TIMEOUT_ERROR)),
            ):
                if ids:
                    cur.execute(
                        self.q["complete_locked_waitpoints"],
                        {
                            "ids": self._list_param(ids),
                            "status": status,
                            "error": error,
                            "now": now,
                        },
                    )
            self._queue_blocked(cur, timers + tokens, now)
        return len(rows)

    def _queue_blocked(self, cur: Any, waitpoint_ids: Sequence[str], now: float) -> list[str]:
        """Queue the WAITING runs blocked on these (just completed) waitpoints."""
        cur.execute(self.q["blockers_of"], {"ids": self._list_param(sorted(waitpoint_ids))})
        run_ids = sorted({r["run_id"] for r in cur.fetchall()})
        if not run_ids:
            return []
        cur.execute(self.q["lock_run_states"], {"ids": self._list_param(run_ids)})
        waiting = [r["id"] for r in cur.fetchall() if r["status"] == RunStatus.WAITING]
        if waiting:
            ids = self._list_param(waiting)
            cur.execute(self.q["queue_locked_runs"], {"ids": ids, "now": now})
            cur.execute(self.q["clear_blockers_bulk"], {"run_ids": ids})
            self._notify(cur, set())
        return waiting

    def _complete_waiters_of(self, cur: Any, run_ids: Iterable[str], now: float) -> None:
        """Runs reached a final state: complete RUN and BATCH waitpoints waiting on them."""
        ids = list(run_ids)
        if not ids:
            return
        cur.execute(self.q["pending_child_waitpoints"], {"run_ids": self._list_param(ids)})
        for row in cur.fetchall():
            if (
                row["status"] != WaitpointStatus.PENDING
                or not RunStatus(row["run_status"]).is_final
            ):
                continue
            error = None
            if row["run_status"] != "COMPLETED":
                error = json.loads(row["run_error"]) if row["run_error"] else {}
                error = {"type": "RunFailed", **error, "status": row["run_status"]}
            cur.execute(self.q["lock_waitpoint"], {"id": row["id"]})
            cur.fetchone()
            self._complete(cur, row["id"], WaitpointStatus.COMPLETED, row["run_output"], error, now)
        cur.execute(self.q["batches_of_runs"], {"run_ids": self._list_param(ids)})
        for row in cur.fetchall():
            cur.execute(self.q["lock_waitpoint"], {"id": row["id"]})
            locked = cur.fetchone()
            if locked is None or locked["status"] != WaitpointStatus.PENDING:
                continue
            cur.execute(self.q["unfinished_in_batch"], {"batch_id": row["batch_id"]})
            if cur.fetchone()["n"] == 0:
                self._complete(cur, row["id"], WaitpointStatus.COMPLETED, None, None, now)
