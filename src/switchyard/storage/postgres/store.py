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
from contextlib import contextmanager, suppress
from typing import Any

from switchyard.storage import queries
from switchyard.storage.base import LeaseChannel, Notifier
from switchyard.storage.sql import SqlStorage, iter_statements
from switchyard.storage.sql_hooks import Cursor
from switchyard.storage.sql_leases import SqlLeaseChannel

try:
    import psycopg
    from psycopg.rows import dict_row
    from psycopg_pool import ConnectionPool
except ImportError as exc:  # pragma: no cover - depends on the install
    raise ImportError(
        "PostgreSQL support needs psycopg: pip install 'switchyard-tasks[postgres]'"
    ) from exc

_CHANNEL = "switchyard"
_NETWORK = {
    # A dead peer or a silent network fails a connection in seconds, not in the kernel's
    # 15 minutes of retransmissions: sent bytes unacknowledged for 10 s, or no answer to
    # three keep-alive probes, close it.
    "connect_timeout": 10,
    "keepalives": 1,
    "keepalives_idle": 5,
    "keepalives_interval": 2,
    "keepalives_count": 3,
    "tcp_user_timeout": 10_000,
}
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
            kwargs={"row_factory": dict_row, **_NETWORK},
            open=True,
            name="switchyard",
        )

    @contextmanager
    def _tx(self) -> Iterator[Cursor]:
        with self.pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
            yield cur

    def _list_param(self, values: Sequence[str] | None) -> Any:
        return None if values is None else list(values)

    def _is_data_error(self, exc: Exception) -> bool:
        return isinstance(exc, psycopg.DataError) or super()._is_data_error(exc)

    def open_lease_channel(self, timeout: float) -> LeaseChannel:
        conn: list[Any] = []
        millis = max(100, int(timeout * 1000))

        def connection() -> Any:
            if conn and not conn[0].closed:
                return conn[0]
            conn.clear()
            params: dict[str, Any] = {
                **_NETWORK,
                "connect_timeout": max(2, round(timeout)),  # libpq's least is 2 s
                "keepalives_idle": 1,
                "keepalives_interval": 1,
                "tcp_user_timeout": millis,
            }
            new = psycopg.connect(self.url, row_factory=dict_row, **params)
            new.execute(f"SET statement_timeout = {millis}")
            new.execute(f"SET lock_timeout = {millis}")
            new.commit()
            conn.append(new)
            return new

        @contextmanager
        def tx() -> Iterator[Cursor]:
            try:
                with connection().transaction(), conn[0].cursor() as cur:
                    yield cur
            except BaseException:
                close()  # a broken or timed-out connection is not reused
                raise

        def close() -> None:
            if conn:
                with suppress(Exception):
                    conn[0].close()
                conn.clear()

        return SqlLeaseChannel(self, tx, close)

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
