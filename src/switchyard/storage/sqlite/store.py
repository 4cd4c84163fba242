"""SQLite implementation of :class:`~switchyard.storage.base.Storage`.

Writers take ``BEGIN IMMEDIATE`` so SQLite's single-writer lock serializes claims:
concurrency limits hold across processes without row locks. Workers learn of new
runs by polling ``PRAGMA data_version``, which changes whenever another connection
commits and costs no disk read.
"""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from typing import Any

from switchyard.storage import queries
from switchyard.storage.base import LeaseChannel, Notifier
from switchyard.storage.sql import SqlStorage, iter_statements
from switchyard.storage.sql_hooks import Cursor
from switchyard.storage.sql_leases import SqlLeaseChannel

_POLL_SECONDS = 0.002


def _connect(path: str) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30.0)
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("PRAGMA busy_timeout=30000")
    return conn


class SqliteNotifier(Notifier):
    """Polls ``PRAGMA data_version`` every 2 ms: commits by any process wake it."""

    def __init__(self, path: str) -> None:
        self._conn = _connect(path)
        self._version = self._read()

    def _read(self) -> int:
        return int(self._conn.execute("PRAGMA data_version").fetchone()[0])

    async def wait(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while True:
            version = self._read()
            if version != self._version:
                self._version = version
                return True
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            await asyncio.sleep(min(_POLL_SECONDS, left))

    async def close(self) -> None:
        self._conn.close()


class SqliteStorage(SqlStorage):
    """Storage in one SQLite file (created with its folder when missing)."""

    def __init__(self, path: str) -> None:
        super().__init__()
        self.path = path
        self.url = f"sqlite:///{path}"
        folder = os.path.dirname(os.path.abspath(path))
        os.makedirs(folder, exist_ok=True)
        self.q = queries.load(
            ("switchyard.storage", "queries.sql"), ("switchyard.storage.sqlite", "queries.sql")
        )
        self._local = threading.local()
        self._conns: list[sqlite3.Connection] = []
        self._lock = threading.Lock()

    def _conn(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = _connect(self.path)
            self._local.conn = conn
            with self._lock:
                self._conns.append(conn)
        return conn

    @contextmanager
    def _tx(self) -> Iterator[Cursor]:
        conn = self._conn()
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn.cursor()
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    @contextmanager
    def _read(self) -> Iterator[Cursor]:
        conn = self._conn()
        conn.execute("BEGIN")
        try:
            yield conn.cursor()
        finally:
            conn.execute("COMMIT")

    def _list_param(self, values: Sequence[str] | None) -> Any:
        return None if values is None else json.dumps(list(values))

    def _is_data_error(self, exc: Exception) -> bool:
        return isinstance(exc, (sqlite3.DataError, sqlite3.InterfaceError)) or (
            super()._is_data_error(exc)
        )

    def open_lease_channel(self, timeout: float) -> LeaseChannel:
        # The channel's thread gets a connection of its own (they are per thread), one
        # that gives up on a locked database well before the lease runs out.
        millis = max(50, int(timeout * 1000))

        @contextmanager
        def tx() -> Iterator[Cursor]:
            self._conn().execute(f"PRAGMA busy_timeout={millis}")
            with self._tx() as cur:
                yield cur

        return SqlLeaseChannel(self, tx)

    def open_notifier(self, environment: str) -> Notifier:
        return SqliteNotifier(self.path)

    def migrate(self) -> list[str]:
        conn = self._conn()
        applied: list[str] = []
        conn.execute("BEGIN IMMEDIATE")
        try:
            conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations "
                "(version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at REAL NOT NULL)"
            )
            done = {r[0] for r in conn.execute("SELECT version FROM schema_migrations")}
            for number, name, script in queries.migrations("switchyard.storage.sqlite.migrations"):
                if number in done:
                    continue
                for statement in iter_statements(script):
                    conn.execute(statement)
                conn.execute(
                    "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
                    (number, name, time.time()),
                )
                applied.append(name)
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
        return applied

    def close(self) -> None:
        with self._lock:
            for conn in self._conns:
                with suppress(sqlite3.ProgrammingError):
                    conn.close()
            self._conns.clear()
        self._local = threading.local()
