"""The HTTP API under load: triggers per second, and realtime fan-out to many subscribers.

Run it with ``.venv/bin/python benchmarks/http.py`` (``--help`` lists the knobs); the
code is here, ``http.py`` only starts it. Each
measurement gets a fresh database, an API key and ``switchyard server`` processes with
the rate limit off:

1. triggers over HTTP: ``--clients`` concurrent keep-alive connections (32) send
   ``POST /api/v1/tasks/noop/trigger`` for ``--seconds`` seconds, spread over
   ``--servers`` server processes; rate = accepted triggers / elapsed time; every one
   is checked to be a stored run. Then the same with an ``Idempotency-Key`` header on
   each request (one more write each).
2. SSE fan-out: ``--subscribers`` (1,000) streams on ``GET /api/v1/runs/events?tag=``
   of one tag, then ``--events`` runs with the tag triggered over HTTP, one every 50 ms;
   latency = time from the trigger's response to each subscriber's event. Delivery
   must be complete: every subscriber gets every run.

The load generator is a minimal HTTP/1.1 client on asyncio streams so the
measurement is the server's cost, not the client library's. Everything shares the
machine (2 cores here): server, PostgreSQL and load generator.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from _bench_support import (
    BenchError,
    ChildProcess,
    Target,
    child_env,
    database,
    free_port,
    fresh_database,
    percentile,
    postgres_version,
    switchyard_runtime,
    wait_http_ready,
)
from rich.console import Console
from rich.table import Table

import switchyard as sy
from switchyard.core.api_keys import ApiKey, hash_key, key_prefix, new_key, new_key_id
from switchyard.core.models import TaskInfo

TRIGGER_TARGET = Target(">=", 1_500.0)
FANOUT_P99_TARGET = Target("<=", 1_000.0)
out = Console() if sys.stdout.isatty() else Console(width=120)
err = Console(stderr=True, soft_wrap=True)


# -- a minimal HTTP/1.1 client ------------------------------------------------------------
class Connection:
    """One keep-alive HTTP/1.1 connection."""

    def __init__(self, base_url: str, key: str) -> None:
        parts = urlsplit(base_url)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self.auth = f"Authorization: Bearer {key}\r\n"
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def open(self) -> None:
        """Connect."""
        self.reader, self.writer = await asyncio.open_connection(self.host, self.port)

    async def request(
        self, method: str, path: str, body: bytes = b"", extra: str = ""
    ) -> tuple[int, bytes]:
        """Send one request, read the whole response: (status, body)."""
        assert self.reader is not None and self.writer is not None
        head = (
            f"{method} {path} HTTP/1.1\r\nHost: {self.host}\r\n{self.auth}{extra}"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
        )
        self.writer.write(head.encode() + body)
        status_line = await self.reader.readline()
        status = int(status_line.split()[1])
        length = 0
        while True:
            line = await self.reader.readline()
            if line in (b"\r\n", b""):
                break
            name, _, value = line.partition(b":")
            if name.lower() == b"content-length":
                length = int(value)
        return status, await self.reader.readexactly(length)

    async def stream(self, path: str) -> asyncio.StreamReader:
        """Send a GET and return the reader positioned at the body (SSE)."""
        assert self.reader is not None and self.writer is not None
        self.writer.write(
            f"GET {path} HTTP/1.1\r\nHost: {self.host}\r\n{self.auth}"
            "Accept: text/event-stream\r\n\r\n".encode()
        )
        status_line = await self.reader.readline()
        if b" 200 " not in status_line:
            raise BenchError(f"stream refused: {status_line!r}")
        while (await self.reader.readline()) not in (b"\r\n", b""):
            pass
        return self.reader

    def close(self) -> None:
        """Close the socket."""
        if self.writer is not None:
            self.writer.close()


# -- setup ---------------------------------------------------------------------------------
@dataclass
class Setup:
    """Servers on a fresh database with an API key and the ``noop`` task registered."""

    urls: list[str]
    key: str
    database_url: str


def prepare(url: str) -> str:
    """Migrate, register the task and create an API key; returns the key."""
    with switchyard_runtime(url) as runtime:
        runtime.engine.register([TaskInfo(id="noop", queue="task/noop")])
        secret = new_key("dev")
        runtime.storage.create_api_key(
            ApiKey(new_key_id(), "dev", "bench", key_prefix(secret), hash_key(secret), time.time())
        )
    return secret


@contextmanager
def servers(url: str, count: int, workdir: Path) -> Iterator[list[str]]:
    """``count`` ``switchyard server`` processes (rate limit off); their base URLs."""
    with ExitStack() as stack:
        urls = []
        for index in range(count):
            port = free_port()
            argv = [sys.executable, "-m", "switchyard", "--database-url", url]
            argv += ["server", "--port", str(port)]
            env = child_env(SWITCHYARD_RATE_LIMIT="off")
            proc = stack.enter_context(
                ChildProcess(f"server {index}", argv, workdir / f"server-{index}.log", env)
            )
            base = f"http://127.0.0.1:{port}"
            wait_http_ready(base, proc)
            urls.append(base)
        yield urls


# -- measurements --------------------------------------------------------------------------
@dataclass
class Row:
    """One line of the table."""

    measurement: str
    value: float | None
    unit: str
    target: Target | None = None
    detail: str = ""


async def _trigger_load(
    urls: list[str], key: str, clients: int, seconds: float, idempotent: bool
) -> tuple[int, int, list[float]]:
    connections = [Connection(urls[i % len(urls)], key) for i in range(clients)]
    await asyncio.gather(*(c.open() for c in connections))
    body = json.dumps({"payload": {"n": 1}}).encode()
    latencies: list[float] = []
    failures = 0
    ok = 0
    deadline = time.perf_counter() + seconds

    async def client(conn: Connection) -> None:
        nonlocal ok, failures
        while time.perf_counter() < deadline:
            extra = f"Idempotency-Key: {uuid.uuid4()}\r\n" if idempotent else ""
            start = time.perf_counter()
            try:
                status, _ = await conn.request("POST", "/api/v1/tasks/noop/trigger", body, extra)
            except (ConnectionError, asyncio.IncompleteReadError):
                failures += 1  # counted; the run may or may not exist: reconnect
                conn.close()
                await conn.open()
                continue
            latencies.append(time.perf_counter() - start)
            if status == 201:
                ok += 1
            else:
                failures += 1

    await asyncio.gather(*(client(c) for c in connections))
    for conn in connections:
        conn.close()
    return ok, failures, latencies


def measure_triggers(setup: Setup, clients: int, seconds: float, idempotent: bool) -> Row:
    """Triggers per second over HTTP."""
    with database(setup.database_url) as db:
        before = db.one("SELECT COUNT(*) FROM runs")[0]
    start = time.perf_counter()
    ok, failures, latencies = asyncio.run(
        _trigger_load(setup.urls, setup.key, clients, seconds, idempotent)
    )
    elapsed = time.perf_counter() - start
    with database(setup.database_url) as db:
        stored = db.one("SELECT COUNT(*) FROM runs")[0] - before
    if not ok <= stored <= ok + failures or failures > ok // 100:
        raise BenchError(f"{failures} failed requests; {ok} accepted but {stored} runs stored")
    name = f"triggers over HTTP, {clients} clients" + (" + Idempotency-Key" if idempotent else "")
    return Row(
        name,
        ok / elapsed,
        "triggers/s",
        TRIGGER_TARGET if not idempotent else None,
        f"{ok:,} in {elapsed:.1f}s; latency p50 {percentile(latencies, 50) * 1000:.1f} ms, "
        f"p99 {percentile(latencies, 99) * 1000:.1f} ms"
        + (f"; {failures} requests failed" if failures else ""),
    )


async def _fanout(
    urls: list[str], key: str, subscribers: int, events: int
) -> tuple[list[float], int, float]:
    tag = f"fan-{uuid.uuid4().hex[:6]}"
    sent_at: dict[str, float] = {}
    latencies: list[float] = []
    delivered = 0
    done = asyncio.Event()
    connections = [Connection(urls[i % len(urls)], key) for i in range(subscribers)]

    async def subscribe(conn: Connection) -> None:
        nonlocal delivered
        await conn.open()
        reader = await conn.stream(f"/api/v1/runs/events?tag={tag}&limit=0")
        seen: set[str] = set()
        ready.append(1)
        while len(seen) < events:
            line = await reader.readline()
            if not line:
                raise BenchError("a stream ended early")
            if line.startswith(b"data: {"):
                received = time.perf_counter()
                run_id = json.loads(line[6:])["id"]
                if run_id not in seen:
                    seen.add(run_id)
                    delivered += 1
                    while run_id not in sent_at:  # the trigger's response is on its way
                        await asyncio.sleep(0.001)
                    latencies.append(max(0.0, received - sent_at[run_id]))
        if delivered >= subscribers * events:
            done.set()

    ready: list[int] = []
    tasks = [asyncio.create_task(subscribe(c)) for c in connections]
    while len(ready) < subscribers:
        await asyncio.sleep(0.05)
        for task in tasks:
            if task.done() and task.exception():
                raise task.exception()  # type: ignore[misc]
    await asyncio.sleep(0.5)  # every stream is registered with its server's hub
    trigger = Connection(urls[0], key)
    await trigger.open()
    body = json.dumps({"payload": None, "options": {"tags": [tag]}}).encode()
    start = time.perf_counter()
    for _ in range(events):
        status, answer = await trigger.request("POST", "/api/v1/tasks/noop/trigger", body)
        if status != 201:
            raise BenchError(f"trigger failed: {status} {answer[:200]!r}")
        sent_at[json.loads(answer)["id"]] = time.perf_counter()
        await asyncio.sleep(0.05)
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(done.wait(), 60)
    elapsed = time.perf_counter() - start
    for task in tasks:
        task.cancel()
    for conn in [*connections, trigger]:
        conn.close()
    await asyncio.gather(*tasks, return_exceptions=True)
    return latencies, delivered, elapsed


def measure_fanout(setup: Setup, subscribers: int, events: int) -> list[Row]:
    """SSE fan-out: one tag, many subscribers."""
    latencies, delivered, elapsed = asyncio.run(_fanout(setup.urls, setup.key, subscribers, events))
    expected = subscribers * events
    if delivered < expected:
        raise BenchError(f"only {delivered:,} of {expected:,} events were delivered")
    label = f"SSE fan-out, {subscribers:,} subscribers to one tag"
    return [
        Row(
            f"{label}: latency p50",
            percentile(latencies, 50) * 1000,
            "ms",
            None,
            f"{events} runs x {subscribers:,} = {delivered:,} events in {elapsed:.1f}s",
        ),
        Row(f"{label}: latency p99", percentile(latencies, 99) * 1000, "ms", FANOUT_P99_TARGET),
        Row(f"{label}: deliveries", delivered / elapsed, "events/s"),
    ]


# -- output --------------------------------------------------------------------------------
def render(rows: list[Row], args: argparse.Namespace, environment: dict[str, str]) -> None:
    """Print the results table."""
    table = Table(
        title=f"switchyard HTTP API on PostgreSQL: {args.servers} server process(es)",
        title_style="bold",
    )
    table.add_column("Measurement", no_wrap=True)
    table.add_column("Result", justify="right", no_wrap=True)
    table.add_column("Target", justify="right")
    table.add_column("Status", justify="center")
    notes = []
    for row in rows:
        if row.detail:
            notes.append(f"[dim]{row.measurement}:[/] {row.detail}")
        if row.value is None:
            table.add_row(row.measurement, "error", "", "[bold red]ERROR[/]")
            continue
        result = (
            f"{row.value:,.0f} {row.unit}" if row.value >= 100 else f"{row.value:,.1f} {row.unit}"
        )
        target, status = "", ""
        if row.target is not None:
            sign = "≥" if row.target.op == ">=" else "≤"
            target = f"{sign} {row.target.limit:,.0f} {row.unit}"
            status = "[green]PASS[/]" if row.target.met(row.value) else "[red]FAIL[/]"
        table.add_row(row.measurement, result, target, status)
    out.print(table)
    for note in notes:
        out.print(note, highlight=False)
    out.print("  ".join(f"[dim]{k}[/] {v}" for k, v in environment.items()), highlight=False)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--clients", type=int, default=32, help="concurrent trigger clients")
    parser.add_argument("--seconds", type=float, default=10.0, help="seconds of trigger load")
    parser.add_argument("--servers", type=int, default=1, help="switchyard server processes")
    parser.add_argument("--subscribers", type=int, default=1000, help="SSE subscribers")
    parser.add_argument("--events", type=int, default=20, help="runs triggered for fan-out")
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get(
            "SWITCHYARD_BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
        ),
        help="an admin URL; the benchmark creates and drops its own database",
    )
    parser.add_argument("--json", type=Path, help="also write the results to this JSON file")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Run the measurements; 0 unless one failed with an error."""
    args = parse_args(argv)
    rows: list[Row] = []
    try:
        version = postgres_version(args.postgres_url)
    except Exception as exc:
        err.print(f"[red]PostgreSQL unreachable at {args.postgres_url}: {exc}[/]")
        return 1
    with tempfile.TemporaryDirectory(prefix="switchyard-http-bench-") as tmp:
        workdir = Path(tmp)
        measurements = [
            ("triggers", lambda s: [measure_triggers(s, args.clients, args.seconds, False)]),
            ("idempotent", lambda s: [measure_triggers(s, args.clients, args.seconds / 2, True)]),
            ("fan-out", lambda s: measure_fanout(s, args.subscribers, args.events)),
        ]
        for name, measure in measurements:
            err.print(f"[dim]measuring {name}…[/]")
            try:
                with fresh_database("postgres", workdir, name, args.postgres_url) as url:
                    key = prepare(url)
                    with servers(url, args.servers, workdir) as urls:
                        rows += measure(Setup(urls, key, url))
            except (BenchError, OSError) as exc:
                rows.append(Row(name, None, "", detail=str(exc)[:300]))
    environment = {
        "CPUs": str(os.cpu_count()),
        "Python": platform.python_version(),
        "PostgreSQL": version,
        "switchyard": sy.__version__,
    }
    render(rows, args, environment)
    if args.json:
        args.json.write_text(
            json.dumps(
                {"environment": environment, "rows": [r.__dict__ | {"target": None} for r in rows]},
                indent=2,
            )
        )
    return 1 if any(r.value is None for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
