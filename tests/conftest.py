"""Fixtures: every storage test runs on SQLite and on a real PostgreSQL.

PostgreSQL tests each get a fresh schema in the database at SWITCHYARD_TEST_PG_URL
(default postgresql://postgres@127.0.0.1:5432/postgres). They are skipped when it
cannot be reached, except under CI=true, where that is a failure.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from urllib.parse import quote

import pytest

from switchyard.config import Config, WorkerSettings
from switchyard.core.clock import FakeClock
from switchyard.runtime import Runtime, reset_runtime
from switchyard.storage import Storage, open_storage

PG_BASE_URL = os.environ.get(
    "SWITCHYARD_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
BACKENDS = ["sqlite", "postgres"]


def _pg_reachable() -> str | None:
    try:
        import psycopg

        with psycopg.connect(PG_BASE_URL, connect_timeout=3) as conn:
            conn.execute("SELECT 1")
        return None
    except Exception as exc:  # pragma: no cover - depends on the machine
        return str(exc)


_PG_ERROR = _pg_reachable()


def require_postgres() -> None:
    """Skip (or, under CI, fail) when PostgreSQL is unreachable."""
    if _PG_ERROR is None:
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"PostgreSQL is required in CI but unreachable: {_PG_ERROR}")
    pytest.skip(f"PostgreSQL unreachable: {_PG_ERROR}")


def new_pg_schema_url() -> tuple[str, str]:
    """Create a fresh schema; return (url whose search_path is it, schema name)."""
    import psycopg

    schema = f"sy_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(PG_BASE_URL, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    sep = "&" if "?" in PG_BASE_URL else "?"
    return f"{PG_BASE_URL}{sep}options={quote(f'-csearch_path={schema}')}", schema


def drop_pg_schema(schema: str) -> None:
    """Drop a schema made by :func:`new_pg_schema_url`."""
    import psycopg

    with psycopg.connect(PG_BASE_URL, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: object) -> Iterator[str]:
    """A fresh, empty database URL on each backend."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/switchyard.db"
        return
    require_postgres()
    url, schema = new_pg_schema_url()
    try:
        yield url
    finally:
        drop_pg_schema(schema)


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh PostgreSQL schema URL (PostgreSQL-only tests)."""
    require_postgres()
    url, schema = new_pg_schema_url()
    try:
        yield url
    finally:
        drop_pg_schema(schema)


@pytest.fixture
def clock() -> FakeClock:
    """A clock that moves only when the test says so."""
    return FakeClock()


@pytest.fixture
def storage(database_url: str) -> Iterator[Storage]:
    """A migrated storage on each backend."""
    store = open_storage(database_url)
    store.migrate()
    try:
        yield store
    finally:
        store.close()


def make_config(database_url: str, **changes: object) -> Config:
    """A test config: short leases so recovery tests are quick."""
    settings = {"lease_seconds": 2.0, "shutdown_grace": 5.0, "concurrency": 20, "threads": 4}
    worker = changes.pop("worker", None) or WorkerSettings(**settings)  # type: ignore[arg-type]
    return Config(database_url=database_url, worker=worker, **changes)  # type: ignore[arg-type]


@pytest.fixture
def runtime(database_url: str, clock: FakeClock) -> Iterator[Runtime]:
    """The process runtime bound to a fresh database and the fake clock."""
    from switchyard import runtime as runtime_module

    rt = runtime_module.configure(make_config(database_url), clock=clock)
    try:
        yield rt
    finally:
        reset_runtime()
