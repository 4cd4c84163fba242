"""PostgreSQL implementation of :class:`~switchyard.storage.base.Storage` (psycopg 3).

Claims lock candidate runs with ``FOR UPDATE SKIP LOCKED`` so workers never wait on
each other, and lock the rows of queues that have a concurrency limit so counting
running runs and claiming is atomic across machines. Every transaction that makes
work claimable sends ``NOTIFY switchyard``; idle workers ``LISTEN`` and claim within
milliseconds.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from switchyard.storage import queries
from switchyard.storage.base import Notifier
from switchyard.storage.sql import SqlStorage, iter_statements
from switchyard.storage.sql_hooks import Cursor

try:
    import psycopg
    from psycopg.rows import dict_row
    from psycopg_pool import ConnectionPool
except ImportError as exc:  # pragma: no cover - depends on the install
    raise ImportError(
        "PostgreSQL support needs psycopg: pip install 'switchyard[postgres]'"
    ) from exc

_CHANNEL = "switchyard"
_MIGRATION_LOCK = 0x5357_4954  # pg_advisory_xact_lock key: one migrator at a time


class PostgresNotifier(Notifier):
    """A LISTEN connection; each NOTIFY on the channel wakes the waiter."""

    def __init__(self, url: str) -> None:
        self._url = url
        self._conn: Any = None

    async def _connection(self) -> Any:
        if self._conn is None or self._conn.closed:
            self._conn = await psycopg.AsyncConnection.connect(self._url, autocommit=True)
            await self._conn.execute(f"LISTEN {_CHANNEL}")
        return self._conn

    async def wait(self, timeout: float) -> bool:
        try:
            conn = await self._connection()
            async for _ in conn.notifies(timeout=timeout, stop_after=1):
                return True
            return False
        except psycopg.OperationalError:
            # The listener connection broke: fall back to polling until it reconnects.
            self._conn = None
            await asyncio.sleep(min(timeout, 0.5))
            return True

    async def close(self) -> None:
        if self._conn is not None and not self._conn.closed:
            await self._conn.close()


class PostgresStorage(SqlStorage):
    """Storage in a PostgreSQL database, through a psycopg connection pool."""

    def __init__(self, url: str, *, min_size: int = 1, max_size: int = 8) -> None:
        super().__init__()
        self.url = url
        self.q = queries.load(
            ("switchyard.storage", "queries.sql"),
            ("switchyard.storage.postgres", "queries.sql"),
            rewrite=queries.pyformat,
        )
        self.pool = ConnectionPool(
            url,
            min_size=min_size,
            max_size=max_size,
            kwargs={"row_factory": dict_row},
            open=True,
            name="switchyard",
        )

    @contextmanager
    def _tx(self) -> Iterator[Cursor]:
        with self.pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
            yield cur

    def _list_param(self, values: Sequence[str] | None) -> Any:
        return None if values is None else list(values)

    def _notify(self, cur: Cursor, environments: set[str]) -> None:
        for env in sorted(environments) or [""]:
            cur.execute(self.q["notify"], {"environment": env})

    def open_notifier(self, environment: str) -> Notifier:
        return PostgresNotifier(self.url)

    def migrate(self) -> list[str]:
        applied: list[str] = []
        with self.pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
            cur.execute("SELECT pg_advisory_xact_lock(%(key)s)", {"key": _MIGRATION_LOCK})
            cur.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, "
                "name TEXT NOT NULL, applied_at DOUBLE PRECISION NOT NULL)"
            )
            cur.execute("SELECT version FROM schema_migrations")
            done = {r["version"] for r in cur.fetchall()}
            pending = queries.migrations("switchyard.storage.postgres.migrations")
            for number, name, script in pending:
                if number in done:
                    continue
                for statement in iter_statements(script):
                    cur.execute(statement.replace("%", "%%"))
                cur.execute(
                    "INSERT INTO schema_migrations (version, name, applied_at) VALUES (%s, %s, %s)",
                    (number, name, time.time()),
                )
                applied.append(name)
        return applied

    def close(self) -> None:
        self.pool.close()
