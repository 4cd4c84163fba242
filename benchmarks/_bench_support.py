"""Helpers for the benchmarks: fresh databases, child processes, run statistics.

Nothing here is specific to one measurement; ``throughput.py`` and ``waits.py`` compose
these pieces.
"""

from __future__ import annotations

import importlib.metadata
import math
import os
import platform
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import switchyard as sy
from switchyard.runtime import Runtime, reset_runtime

BENCH_DIR = Path(__file__).resolve().parent
PG_DATABASE = "switchyard_bench"


class BenchError(Exception):
    """A measurement could not be taken (a process died, a wait timed out, ...)."""


# -- databases ---------------------------------------------------------------------------
def postgres_url(admin_url: str, database: str = PG_DATABASE) -> str:
    """``admin_url`` with its database name replaced."""
    return urlsplit(admin_url)._replace(path=f"/{database}").geturl()


def _recreate_pg_database(admin_url: str, database: str, *, create: bool) -> None:
    import psycopg
    from psycopg import sql

    name = sql.Identifier(database)
    with psycopg.connect(admin_url, autocommit=True, connect_timeout=5) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(name))
        if create:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(name))


def postgres_version(admin_url: str) -> str:
    """The server version (raises if PostgreSQL cannot be reached)."""
    import psycopg

    with psycopg.connect(admin_url, autocommit=True, connect_timeout=5) as conn:
        row = conn.execute("SHOW server_version").fetchone()
    return str(row[0]).split()[0] if row else "?"


@contextmanager
def fresh_database(
    backend: str, workdir: Path, name: str, pg_admin_url: str, pg_database: str = PG_DATABASE
) -> Iterator[str]:
    """A new, empty database for one measurement; its URL. Removed on exit.

    ``pg_database``: the PostgreSQL database's name (distinct names let two live at once).
    """
    if backend == "sqlite":
        path = workdir / f"{name}.db"
        try:
            yield f"sqlite:///{path}"
        finally:
            for suffix in ("", "-wal", "-shm"):
                with suppress(FileNotFoundError):
                    Path(f"{path}{suffix}").unlink()
        return
    _recreate_pg_database(pg_admin_url, pg_database, create=True)
    try:
        yield postgres_url(pg_admin_url, pg_database)
    finally:
        _recreate_pg_database(pg_admin_url, pg_database, create=False)


@contextmanager
def switchyard_runtime(url: str, public_url: str | None = None) -> Iterator[Runtime]:
    """Configure this process's switchyard runtime on ``url`` (migrates); closed on exit.

    ``public_url``: where token callback URLs made here point (a server's address).
    """
    extra = {} if public_url is None else {"public_url": public_url}
    runtime = sy.configure(sy.define_config(database_url=url, **extra))
    try:
        yield runtime
    finally:
        reset_runtime()


class Database:
    """A plain connection for reading results, independent of switchyard's own."""

    def __init__(self, url: str) -> None:
        self._sqlite = url.startswith("sqlite:///")
        if self._sqlite:
            self._conn: Any = sqlite3.connect(
                url[len("sqlite:///") :], isolation_level=None, timeout=30.0
            )
        else:
            import psycopg

            self._conn = psycopg.connect(url, autocommit=True)

    def all(self, query: str, *params: Any) -> list[tuple[Any, ...]]:
        """Rows of ``query``; parameters are written ``?`` for both backends."""
        if not self._sqlite:
            query = query.replace("?", "%s")
        return [tuple(row) for row in self._conn.execute(query, params).fetchall()]

    def one(self, query: str, *params: Any) -> tuple[Any, ...]:
        """The first row of ``query``."""
        return self.all(query, *params)[0]

    def close(self) -> None:
        """Close the connection."""
        self._conn.close()


@contextmanager
def database(url: str) -> Iterator[Database]:
    """A :class:`Database`, closed on exit."""
    db = Database(url)
    try:
        yield db
    finally:
        db.close()


@dataclass(frozen=True)
class RunStats:
    """Counts and time bounds of the runs in a database."""

    total: int
    finished: int
    completed: int
    first_created: float | None
    first_started: float | None
    last_finished: float | None


def run_stats(db: Database) -> RunStats:
    """Read :class:`RunStats` for every run in the database."""
    row = db.one(
        "SELECT COUNT(*),"
        " SUM(CASE WHEN finished_at IS NOT NULL THEN 1 ELSE 0 END),"
        " SUM(CASE WHEN status = 'COMPLETED' THEN 1 ELSE 0 END),"
        " MIN(created_at), MIN(started_at), MAX(finished_at) FROM runs"
    )
    return RunStats(int(row[0]), int(row[1] or 0), int(row[2] or 0), row[3], row[4], row[5])


# -- child processes ---------------------------------------------------------------------
def child_env(**extra: str) -> dict[str, str]:
    """This environment without ``SWITCHYARD_*`` settings, with ``benchmarks/`` importable."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("SWITCHYARD_") or k.startswith("SWITCHYARD_BENCH_")
    }
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(BENCH_DIR), env.get("PYTHONPATH")]))
    env.update(extra)
    return env


class ChildProcess:
    """A process in its own session whose output goes to a log file; always ended on exit.

    Use as a context manager: SIGTERM on exit, then SIGKILL to its whole process group
    if it has not stopped within ``stop_timeout`` seconds.
    """

    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        log_path: Path,
        env: dict[str, str],
        stop_timeout: float = 30.0,
    ) -> None:
        self.name = name
        self.argv = list(argv)
        self.log_path = log_path
        self.env = env
        self.stop_timeout = stop_timeout
        self.proc: subprocess.Popen[bytes] | None = None
        self.started_at = 0.0

    def __enter__(self) -> ChildProcess:
        with open(self.log_path, "wb") as log:
            self.started_at = time.perf_counter()
            self.proc = subprocess.Popen(
                self.argv,
                cwd=BENCH_DIR,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def pid(self) -> int:
        """The process id."""
        assert self.proc is not None
        return self.proc.pid

    def stop(self) -> None:
        """End the process (gracefully if it listens to SIGTERM)."""
        proc = self.proc
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(self.stop_timeout)
        except subprocess.TimeoutExpired:
            with suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()

    def check_alive(self) -> None:
        """Raise :class:`BenchError` with the end of the log if the process has exited."""
        assert self.proc is not None
        code = self.proc.poll()
        if code is not None:
            raise BenchError(
                f"{self.name} exited with code {code}; its last output:\n{self.log_tail()}"
            )

    def log_tail(self, lines: int = 15) -> str:
        """The last lines of the process's output."""
        try:
            text = self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""
        return "\n".join(text.splitlines()[-lines:])


def _switchyard_argv(url: str, app: str | None) -> list[str]:
    argv = [sys.executable, "-m", "switchyard", "--database-url", url]
    return argv + (["--app", app] if app else [])


def switchyard_worker(
    url: str,
    log_path: Path,
    concurrency: int | None = None,
    stop_timeout: float = 30.0,
    app: str = "_bench_tasks",
    options: Sequence[str] = (),
) -> ChildProcess:
    """A ``switchyard worker`` process running a benchmark task module (``app``), with
    extra command-line ``options``."""
    argv = [*_switchyard_argv(url, app), "worker", *options]
    if concurrency is not None:
        argv += ["--concurrency", str(concurrency)]
    return ChildProcess("switchyard worker", argv, log_path, child_env(), stop_timeout)


def switchyard_dev(
    url: str,
    log_path: Path,
    port: int,
    app: str,
    concurrency: int | None = None,
    stop_timeout: float = 30.0,
) -> ChildProcess:
    """A ``switchyard dev`` process: a worker and the HTTP API on ``port``, one event loop."""
    argv = [*_switchyard_argv(url, app), "dev", "--port", str(port)]
    if concurrency is not None:
        argv += ["--concurrency", str(concurrency)]
    return ChildProcess("switchyard dev", argv, log_path, child_env(), stop_timeout)


def switchyard_server(
    url: str, log_path: Path, port: int, stop_timeout: float = 30.0
) -> ChildProcess:
    """A ``switchyard server`` process: the HTTP API only, on ``port``."""
    argv = [*_switchyard_argv(url, None), "server", "--port", str(port)]
    return ChildProcess("switchyard server", argv, log_path, child_env(), stop_timeout)


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nothing listens on right now (for a child process to bind)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def rss_bytes(pid: int) -> int:
    """The resident set size of process ``pid`` (``VmRSS`` in ``/proc/<pid>/status``)."""
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise BenchError(f"process {pid} has no VmRSS (has it exited?)")


def wait_until(
    check: Any, what: str, timeout: float, proc: ChildProcess | None = None, every: float = 0.02
) -> Any:
    """Poll ``check()`` until it returns a truthy value; raise :class:`BenchError` on timeout."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if proc is not None:
            proc.check_alive()
        if time.monotonic() > deadline:
            tail = f"\n{proc.name} output:\n{proc.log_tail()}" if proc else ""
            raise BenchError(f"timed out after {timeout:g}s waiting for {what}{tail}")
        time.sleep(every)


def wait_http_ready(base_url: str, proc: ChildProcess, timeout: float = 30.0) -> None:
    """Wait until ``GET {base_url}/healthz`` answers 200."""
    import httpx

    def healthy() -> bool:
        try:
            return httpx.get(f"{base_url}/healthz", timeout=1.0).status_code == 200
        except httpx.HTTPError:
            return False

    wait_until(healthy, f"the API at {base_url}", timeout, proc, 0.05)


def wait_worker_ready(db: Database, worker: ChildProcess, timeout: float = 30.0) -> None:
    """Wait until the worker has registered itself (it starts claiming right after)."""
    wait_until(
        lambda: db.one("SELECT COUNT(*) FROM workers WHERE pid = ?", worker.pid)[0],
        "the worker to start",
        timeout,
        worker,
    )


def wait_all_finished(
    db: Database, expected: int, timeout: float, proc: ChildProcess | None = None
) -> RunStats:
    """Wait until ``expected`` runs have finished; raise if any did not complete."""

    def done() -> RunStats | None:
        stats = run_stats(db)
        return stats if stats.finished >= expected else None

    try:
        stats: RunStats = wait_until(done, f"{expected:,} runs to finish", timeout, proc, 0.05)
    except BenchError as exc:
        raise BenchError(f"{exc} ({run_stats(db).finished:,} finished)") from None
    if stats.completed != expected:
        counts = db.all("SELECT status, COUNT(*) FROM runs GROUP BY status")
        raise BenchError(f"expected {expected:,} completed runs, found {dict(counts)}")
    return stats


# -- numbers -----------------------------------------------------------------------------
@dataclass(frozen=True)
class Target:
    """A goal for one measurement: ``value >= limit`` or ``value <= limit``."""

    op: str
    limit: float

    def met(self, value: float) -> bool:
        """Whether ``value`` reaches the goal."""
        return value >= self.limit if self.op == ">=" else value <= self.limit


def percentile(values: Sequence[float], pct: float) -> float:
    """The nearest-rank percentile (``pct`` in 0-100) of a non-empty sequence."""
    ordered = sorted(values)
    rank = max(1, math.ceil(len(ordered) * pct / 100))
    return ordered[rank - 1]


# -- the run itself ------------------------------------------------------------------------
def _unwind(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def unwind_on_sigterm() -> None:
    """On SIGTERM, unwind like Ctrl-C, so child processes and databases are cleaned up."""
    signal.signal(signal.SIGTERM, _unwind)


def package_version(dist: str) -> str:
    """An installed distribution's version, or ``not installed``."""
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def machine_info(postgres: str | None) -> dict[str, str]:
    """Versions and machine facts every benchmark prints under its table."""
    info = {
        "CPUs": str(os.cpu_count()),
        "Python": platform.python_version(),
        "switchyard": package_version("switchyard-tasks"),
        "SQLite": sqlite3.sqlite_version,
    }
    if postgres:
        info["PostgreSQL"] = postgres
    return info
