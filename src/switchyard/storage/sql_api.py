"""HTTP API operations of :class:`~switchyard.storage.sql.SqlStorage`.

API keys (stored hashed), the responses of requests sent with an ``Idempotency-Key``
header, editing a run's metadata or delay, and reading the runs that changed since a
moment (realtime streams poll this).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from switchyard.core.api_keys import (
    ApiKey,
    RequestResponse,
    RequestTakenOverError,
    StoredRequest,
)
from switchyard.core.models import Run, TriggerResult
from switchyard.storage.rows import run_from_row
from switchyard.storage.sql_hooks import Cursor, SqlHooks


def _api_key(row: Any) -> ApiKey:
    return ApiKey(
        id=row["id"],
        environment=row["environment"],
        name=row["name"],
        prefix=row["prefix"],
        key_hash=row["key_hash"],
        created_at=row["created_at"],
        revoked_at=row["revoked_at"],
        last_used_at=row["last_used_at"],
    )


class SqlApi(SqlHooks):
    """Mixin: API keys, request idempotency, run edits and run changes."""

    # -- API keys ----------------------------------------------------------------------
    def create_api_key(self, key: ApiKey) -> None:
        """Store a new key (its hash and prefix)."""
        with self._tx() as cur:
            cur.execute(
                self.q["insert_api_key"],
                {
                    "id": key.id,
                    "environment": key.environment,
                    "name": key.name,
                    "prefix": key.prefix,
                    "key_hash": key.key_hash,
                    "now": key.created_at,
                },
            )

    def list_api_keys(self, environment: str | None) -> list[ApiKey]:
        """Keys of one environment (every environment for None), oldest first."""
        with self._read() as cur:
            cur.execute(
                self.q["list_api_keys"],
                {"environment": environment or "", "all_environments": int(environment is None)},
            )
            return [_api_key(r) for r in cur.fetchall()]

    def find_api_key(self, key_hash: str) -> ApiKey | None:
        """The key with this hash (revoked or not), or None."""
        with self._read() as cur:
            cur.execute(self.q["find_api_key"], {"key_hash": key_hash})
            row = cur.fetchone()
        return None if row is None else _api_key(row)

    def revoke_api_key(self, key_id: str, now: float) -> ApiKey | None:
        """Revoke a key (revoking twice keeps the first time); None if there is none."""
        with self._tx() as cur:
            cur.execute(self.q["revoke_api_key"], {"id": key_id, "now": now})
            cur.execute(self.q["get_api_key"], {"id": key_id})
            row = cur.fetchone()
        return None if row is None else _api_key(row)

    def touch_api_key(self, key_id: str, now: float) -> None:
        """Record that the key was used."""
        with self._tx() as cur:
            cur.execute(self.q["touch_api_key"], {"id": key_id, "now": now})

    # -- request idempotency -----------------------------------------------------------
    def begin_request(
        self,
        environment: str,
        key: str,
        request_hash: str,
        now: float,
        ttl: float,
        stale_after: float,
    ) -> StoredRequest | None:
        """Reserve ``key`` for a request; None when reserved (go ahead and handle it).

        Otherwise returns what is stored: a finished response to send again, or
        ``status`` 0 while the first request is still in flight. A reservation older
        than ``stale_after`` seconds (its server died) or an expired one is taken over.
        """
        params = {
            "environment": environment,
            "request_key": key,
            "request_hash": request_hash,
            "now": now,
            "expires_at": now + ttl,
            "stale_before": now - stale_after,
        }
        with self._tx() as cur:
            cur.execute(self.q["reserve_request"], params)
            if cur.rowcount == 1:
                return None
            cur.execute(self.q["take_over_request"], params)
            if cur.rowcount == 1:
                return None
            cur.execute(self.q["get_request"], params)
            row = cur.fetchone()
        if row is None:  # deleted in between: the caller may simply try again
            return StoredRequest(request_hash, 0, None)
        return StoredRequest(row["request_hash"], row["status"], row["response"])

    def finish_request(
        self,
        environment: str,
        key: str,
        reserved_at: float,
        status: int,
        response: str,
        now: float,
        ttl: float,
    ) -> bool:
        """Store the response of the reservation made at ``reserved_at`` (kept ``ttl``
        seconds); False if a retry took the key over meanwhile."""
        with self._tx() as cur:
            return self._finish_request(
                cur, environment, key, reserved_at, status, response, now + ttl
            )

    def _finish_request(
        self,
        cur: Cursor,
        environment: str,
        key: str,
        reserved_at: float,
        status: int,
        response: str,
        expires_at: float,
    ) -> bool:
        cur.execute(
            self.q["finish_request"],
            {
                "environment": environment,
                "request_key": key,
                "reserved_at": reserved_at,
                "status": status,
                "response": response,
                "expires_at": expires_at,
            },
        )
        return bool(cur.rowcount == 1)

    def _store_responses(
        self,
        cur: Cursor,
        responses: Sequence[RequestResponse],
        results: Sequence[TriggerResult],
        now: float,
    ) -> None:
        """Store each reserved request's response in the transaction of its runs."""
        for r in responses:
            status, text = r.render(results[r.first : r.first + r.count])
            if not self._finish_request(
                cur, r.environment, r.key, r.reserved_at, status, text, now + r.ttl
            ):
                raise RequestTakenOverError(r.key)  # rolls the runs back with it

    def release_request(self, environment: str, key: str, reserved_at: float) -> None:
        """Drop the reservation made at ``reserved_at`` (its request failed), so a retry
        handles the request afresh; a reservation taken over by a retry stays."""
        with self._tx() as cur:
            cur.execute(
                self.q["release_request"],
                {"environment": environment, "request_key": key, "reserved_at": reserved_at},
            )

    def purge_requests(self, now: float) -> int:
        """Delete expired request records; returns how many."""
        with self._tx() as cur:
            cur.execute(self.q["purge_requests"], {"now": now})
            return int(cur.rowcount)

    # -- run edits -----------------------------------------------------------------------
    def update_run_metadata(
        self, environment: str, run_id: str, metadata_json: str, now: float
    ) -> Run | None:
        """Replace a run's metadata; the run as it now is, or None if there is none."""
        params = {"environment": environment, "id": run_id, "metadata": metadata_json, "now": now}
        with self._tx() as cur:
            cur.execute(self.q["update_run_metadata"], params)
            cur.execute(self.q["get_run"], params)
            row = cur.fetchone()
        return None if row is None else run_from_row(row)

    def reschedule_run(
        self, environment: str, run_id: str, delay_until: float, now: float
    ) -> tuple[Run | None, bool]:
        """Move a delayed run (``delay`` option, not yet started) to a new time.

        Returns the run as it now is (None if there is none) and whether it moved.
        """
        params = {"environment": environment, "id": run_id, "delay_until": delay_until, "now": now}
        with self._tx() as cur:
            cur.execute(self.q["reschedule_run"], params)
            moved = cur.rowcount == 1
            cur.execute(self.q["get_run"], params)
            row = cur.fetchone()
        return (None if row is None else run_from_row(row)), moved

    # -- realtime --------------------------------------------------------------------------
    def runs_changed(
        self,
        environment: str,
        run_ids: Sequence[str],
        tags: Sequence[str],
        since: float,
        limit: int = 5000,
    ) -> list[tuple[str | None, Run]]:
        """Runs among ``run_ids`` or tagged with one of ``tags`` updated after ``since``.

        Each item is ``(tag, run)``: the tag it matched, or None for an id match.
        """
        out: list[tuple[str | None, Run]] = []
        with self._read() as cur:
            if run_ids:
                cur.execute(
                    self.q["runs_changed_by_id"],
                    {
                        "environment": environment,
                        "run_ids": self._list_param(list(run_ids)),
                        "since": since,
                    },
                )
                out.extend((None, run_from_row(r)) for r in cur.fetchall())
            if tags:
                cur.execute(
                    self.q["runs_changed_by_tag"],
                    {
                        "environment": environment,
                        "tags": self._list_param(list(tags)),
                        "since": since,
                        "limit": limit,
                    },
                )
                out.extend((r["matched_tag"], run_from_row(r)) for r in cur.fetchall())
        return out
