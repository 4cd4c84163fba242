"""Reading waitpoints (and the run states and secrets the doors ask for) in
:class:`~switchyard.storage.sql.SqlStorage`: every read is one statement."""

from __future__ import annotations

from collections.abc import Sequence

from switchyard.core.waitpoints import (
    Waitpoint,
    WaitpointFilter,
)
from switchyard.storage.rows import waitpoint_from_row
from switchyard.storage.sql_hooks import SqlHooks


class SqlWaitpointReads(SqlHooks):
    """Mixin: waitpoints by id, by filter, by run; run states; secrets."""

    def get_waitpoint(self, environment: str, waitpoint_id: str) -> Waitpoint | None:
        """One waitpoint, or None."""
        with self._read() as cur:
            cur.execute(self.q["get_waitpoint"], {"id": waitpoint_id})
            row = cur.fetchone()
        if row is None or row["environment"] != environment:
            return None
        return waitpoint_from_row(row)

    def secret(self, name: str) -> str:
        """A random secret kept in the database, made on first use (e.g. callback URLs)."""
        import secrets

        with self._tx() as cur:
            cur.execute(self.q["get_setting"], {"name": name})
            row = cur.fetchone()
            if row is not None:
                return str(row["value"])
            cur.execute(self.q["insert_setting"], {"name": name, "value": secrets.token_hex(32)})
            cur.execute(self.q["get_setting"], {"name": name})
            return str(cur.fetchone()["value"])

    def get_waitpoints_many(
        self, id_lists: Sequence[Sequence[str]]
    ) -> list[list[Waitpoint] | BaseException]:
        """:meth:`get_waitpoints` for many lists with one query."""
        all_ids = sorted({w for ids in id_lists for w in ids})
        with self._read() as cur:
            cur.execute(self.q["waitpoints_by_ids"], {"ids": self._list_param(all_ids)})
            found = {r["id"]: waitpoint_from_row(r) for r in cur.fetchall()}
        return [[found[w] for w in ids if w in found] for ids in id_lists]

    def get_waitpoints(self, waitpoint_ids: Sequence[str]) -> list[Waitpoint]:
        """Several waitpoints by id (unknown ids are left out)."""
        out = []
        with self._read() as cur:
            for waitpoint_id in waitpoint_ids:
                cur.execute(self.q["get_waitpoint"], {"id": waitpoint_id})
                row = cur.fetchone()
                if row is not None:
                    out.append(waitpoint_from_row(row))
        return out

    def list_waitpoints(
        self, filters: WaitpointFilter, limit: int, cursor: str | None
    ) -> tuple[list[Waitpoint], str | None]:
        """Waitpoints newest first, with the cursor of the next page."""
        params = {
            "environment": filters.environment,
            "kinds": self._list_param([str(k) for k in filters.kinds]),
            "statuses": self._list_param([str(s) for s in filters.statuses] or None),
            "tag": filters.tag,
            "idempotency_key": filters.idempotency_key,
            "created_after": filters.created_after,
            "created_before": filters.created_before,
            "created_by_run_id": filters.created_by_run_id,
            "cursor": cursor,
            "limit": limit + 1,
        }
        with self._read() as cur:
            cur.execute(self.q["list_waitpoints"], params)
            rows = cur.fetchall()
        items = [waitpoint_from_row(r) for r in rows[:limit]]
        return items, (items[-1].id if len(rows) > limit and items else None)

    def blocking_waitpoints(self, run_id: str) -> list[Waitpoint]:
        """The waitpoints a WAITING run is blocked on."""
        with self._read() as cur:
            cur.execute(self.q["run_waitpoint_ids"], {"run_id": run_id})
            ids = [r["waitpoint_id"] for r in cur.fetchall()]
        return self.get_waitpoints(ids)

    def run_waitpoints(self, run_id: str) -> list[Waitpoint]:
        """Every waitpoint the run waited on or waits on now, oldest first."""
        with self._read() as cur:
            cur.execute(self.q["run_waitpoint_history"], {"run_id": run_id})
            return [waitpoint_from_row(r) for r in cur.fetchall()]

    def run_states(self, run_ids: Sequence[str]) -> dict[str, tuple[str, str | None, str | None]]:
        """``{run_id: (status, current attempt id, worker id)}`` for existing runs."""
        if not run_ids:
            return {}
        with self._read() as cur:
            cur.execute(self.q["run_states"], {"ids": self._list_param(list(run_ids))})
            rows = cur.fetchall()
        return {r["id"]: (r["status"], r["current_attempt_id"], r["worker_id"]) for r in rows}
