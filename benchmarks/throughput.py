"""Throughput and start latency of switchyard on SQLite and PostgreSQL, with a Celery baseline.

Run it with ``.venv/bin/python benchmarks/throughput.py`` (or ``make bench``); ``--help``
lists the knobs. Every measurement uses a fresh database and no-op runs:

1. trigger, one call each: ``--runs`` ``trigger_sync`` calls, one transaction each.
2. trigger, batch: ``--runs`` runs with ``batch_trigger_sync`` in chunks of ``--chunk``.
3. drain: the runs of (2), drained by one worker process started once they are queued.
   Rate = runs / (last ``finished_at`` - first ``started_at``); the wall time counts
   from spawning the worker process, so it includes interpreter start-up.
4. end to end: one worker process, started and idle, then ``--runs`` runs triggered
   (with batch_trigger chunks, and again one ``trigger_sync`` call each).
   Rate = runs / (last ``finished_at`` - first ``created_at``).
5. start latency: an idle worker, one trigger at a time with a random 5-50 ms pause
   between; latency = ``started_at`` - ``created_at``.

The baseline, measured in the same run because the machines are shared and noisy:
Celery with the Redis broker, ``--runs`` ``delay()`` calls into one idle ``celery
worker`` process (prefork pool with one child per CPU, and solo pool; the better one is
the baseline). It needs ``pip install -e ".[bench]"``; without it the row says "not
available".

Targets come from the issue; missing one is reported, not an error: the exit status is
non-zero only when a measurement fails.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import importlib.util
import json
import os
import random
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

from _bench_support import (
    ChildProcess,
    Target,
    child_env,
    database,
    fresh_database,
    machine_info,
    package_version,
    percentile,
    postgres_version,
    switchyard_runtime,
    switchyard_worker,
    unwind_on_sigterm,
    wait_all_finished,
    wait_until,
    wait_worker_ready,
)
from _bench_tasks import noop
from rich.console import Console
from rich.table import Table

import switchyard as sy

BACKENDS = {"sqlite": "SQLite", "postgres": "PostgreSQL"}
CELERY = "Celery + Redis"
E2E_TARGET = {"sqlite": 3_000.0, "postgres": 2_000.0}  # runs/s, from the issue
LATENCY_P50_TARGET_MS = 5.0
IDLE_SETTLE = 0.5  # seconds an idle worker gets before measurements that need one
LATENCY_PAUSE = (0.005, 0.050)
RUNS_PER_S = "runs/s"

# Piped output (make bench in a log) would otherwise wrap the table at 80 columns.
out = Console() if sys.stdout.isatty() else Console(width=120)
err = Console(stderr=True, soft_wrap=True)


# -- results -------------------------------------------------------------------------------
@dataclass
class Row:
    """One line of the results table."""

    group: str
    measurement: str
    value: float | None = None
    unit: str = RUNS_PER_S
    target: Target | None = None
    vs_celery: bool = False
    """Show the ratio of this end-to-end rate to Celery's."""
    note: str = ""
    """Why there is no value (printed under the table)."""
    error: bool = False


@dataclass
class Settings:
    """What the command line chose."""

    runs: int
    chunk: int
    latency_samples: int
    concurrency: int | None
    timeout: float
    postgres_url: str
    redis_url: str
    workdir: Path


# -- switchyard measurements ---------------------------------------------------------------
class BackendBench:
    """The switchyard measurements on one backend."""

    def __init__(self, backend: str, settings: Settings) -> None:
        self.backend = backend
        self.label = BACKENDS[backend]
        self.s = settings

    def log(self, message: str) -> None:
        """Progress on stderr."""
        err.print(f"[bold]{self.label}[/]: {message}")

    @contextmanager
    def fresh(self, name: str) -> Iterator[str]:
        """A fresh database for the measurement ``name``, with this process configured on it."""
        with (
            fresh_database(self.backend, self.s.workdir, name, self.s.postgres_url) as url,
            switchyard_runtime(url),
        ):
            yield url

    def worker(self, url: str, name: str) -> ChildProcess:
        """A worker process (not started yet) logging to the work folder."""
        log = self.s.workdir / f"{self.backend}-{name}-worker.log"
        return switchyard_worker(url, log, self.s.concurrency)

    def trigger_in_chunks(self, n: int) -> None:
        """Trigger ``n`` runs with ``batch_trigger_sync``, ``chunk`` per call."""
        for start in range(0, n, self.s.chunk):
            noop.batch_trigger_sync([None] * min(self.s.chunk, n - start))

    @staticmethod
    def trigger_one_each(n: int) -> None:
        """Trigger ``n`` runs with one ``trigger_sync`` call each."""
        for _ in range(n):
            noop.trigger_sync(None)

    def run(self) -> list[Row]:
        """Every measurement; one that fails becomes an error row and the rest go on."""
        batch = f"batch_trigger, {self.s.chunk:,} per call"
        phases: list[tuple[str, Callable[[], list[Row]]]] = [
            ("trigger, one call each", self.measure_trigger_one_each),
            ("trigger batch_trigger, then drain", self.measure_batch_and_drain),
            (f"end to end, {batch}", lambda: self.measure_end_to_end(batch, batch=True)),
            (
                "end to end, one call each",
                lambda: self.measure_end_to_end("one call each", batch=False),
            ),
            ("start latency", self.measure_latency),
        ]
        rows: list[Row] = []
        for title, phase in phases:
            try:
                rows += phase()
            except Exception as exc:
                err.print(f"[bold red]{self.label}: {title} failed[/]")
                err.print(traceback.format_exc(), markup=False, highlight=False)
                first_line = (str(exc) or type(exc).__name__).splitlines()[0]
                rows.append(Row(self.label, title, note=first_line, error=True))
        return rows

    def measure_trigger_one_each(self) -> list[Row]:
        """Trigger rate with one call (one transaction) per run."""
        n = self.s.runs
        with self.fresh("trigger-one"):
            self.trigger_one_each(10)  # warm-up: connections, environment and queue rows
            start = time.perf_counter()
            self.trigger_one_each(n)
            rate = n / (time.perf_counter() - start)
        self.log(f"trigger, one call each: {rate:,.0f} runs/s")
        return [Row(self.label, "trigger, one call each", rate)]

    def measure_batch_and_drain(self) -> list[Row]:
        """Batch trigger rate, then one worker process drains what was triggered."""
        n = self.s.runs
        with self.fresh("drain") as url, database(url) as db:
            start = time.perf_counter()
            self.trigger_in_chunks(n)
            trigger_rate = n / (time.perf_counter() - start)
            self.log(f"trigger, batch_trigger: {trigger_rate:,.0f} runs/s")
            with self.worker(url, "drain") as worker:
                stats = wait_all_finished(db, n, self.s.timeout, worker)
                wall = time.perf_counter() - worker.started_at
        assert stats.first_started is not None and stats.last_finished is not None
        rate = n / (stats.last_finished - stats.first_started)
        self.log(f"drain: {rate:,.0f} runs/s, {wall:.2f} s from worker spawn")
        return [
            Row(self.label, f"trigger, batch_trigger, {self.s.chunk:,} per call", trigger_rate),
            Row(self.label, "drain, 1 worker", rate),
            Row(self.label, "drain wall time, from worker spawn", wall, unit="s"),
        ]

    def measure_end_to_end(self, how: str, *, batch: bool) -> list[Row]:
        """An idle worker process, then ``runs`` triggers; first created → last finished."""
        n = self.s.runs
        name = "e2e-batch" if batch else "e2e-one"
        with self.fresh(name) as url, database(url) as db, self.worker(url, name) as worker:
            wait_worker_ready(db, worker)
            time.sleep(IDLE_SETTLE)
            start = time.perf_counter()
            if batch:
                self.trigger_in_chunks(n)
            else:
                self.trigger_one_each(n)
            producer_rate = n / (time.perf_counter() - start)
            stats = wait_all_finished(db, n, self.s.timeout, worker)
        assert stats.first_created is not None and stats.last_finished is not None
        rate = n / (stats.last_finished - stats.first_created)
        self.log(f"end to end, {how}: {rate:,.0f} runs/s (producer {producer_rate:,.0f}/s)")
        target = Target(">=", E2E_TARGET[self.backend])
        return [Row(self.label, f"end to end, {how}", rate, target=target, vs_celery=True)]

    def measure_latency(self) -> list[Row]:
        """Trigger-to-start latency with an idle worker, one run at a time."""
        samples = self.s.latency_samples
        rng = random.Random(20240601)
        with (
            self.fresh("latency") as url,
            database(url) as db,
            self.worker(url, "latency") as worker,
        ):
            wait_worker_ready(db, worker)
            time.sleep(IDLE_SETTLE)
            for _ in range(samples):
                time.sleep(rng.uniform(*LATENCY_PAUSE))
                noop.trigger_sync(None)
            wait_all_finished(db, samples, self.s.timeout, worker)
            latencies = [
                (started - created) * 1000
                for started, created in db.all("SELECT started_at, created_at FROM runs")
            ]
        p50, p99 = percentile(latencies, 50), percentile(latencies, 99)
        self.log(f"start latency: p50 {p50:.2f} ms, p99 {p99:.2f} ms, max {max(latencies):.2f}")
        return [
            Row(
                self.label,
                "start latency p50, idle worker",
                p50,
                unit="ms",
                target=Target("<=", LATENCY_P50_TARGET_MS),
            ),
            Row(self.label, "start latency p99, idle worker", p99, unit="ms"),
        ]


# -- the Celery baseline -----------------------------------------------------------------------
def celery_unavailable(redis_url: str) -> str | None:
    """Why the Celery baseline cannot run, or None when it can."""
    for module in ("celery", "redis"):
        if importlib.util.find_spec(module) is None:
            return f"{module} is not installed (pip install -e '.[bench]')"
    import redis

    try:
        redis.Redis.from_url(redis_url, socket_connect_timeout=2).ping()
    except redis.RedisError as exc:
        return f"Redis at {redis_url} cannot be reached ({exc})"
    return None


def run_celery(pool: str, settings: Settings) -> float:
    """Celery's end-to-end rate with one worker process using ``pool``."""
    import _bench_celery as bc

    n = settings.runs
    redis = bc.client()
    redis.delete(*bc.KEYS)
    argv = [sys.executable, "-m", "celery", "-A", "_bench_celery", "worker", f"--pool={pool}"]
    if pool == "prefork":
        argv.append(f"--concurrency={os.cpu_count() or 1}")
    argv += ["--loglevel=WARNING", "--without-gossip", "--without-mingle", "--without-heartbeat"]
    log = settings.workdir / f"celery-{pool}-worker.log"
    try:
        with ChildProcess(f"celery worker ({pool})", argv, log, child_env()) as worker:
            wait_until(lambda: redis.get(bc.READY_KEY), "the Celery worker to start", 60, worker)
            time.sleep(IDLE_SETTLE)
            first_created = time.time()
            for _ in range(n):
                bc.noop.delay(None)
            wait_until(
                lambda: int(redis.get(bc.DONE_KEY) or 0) >= n,
                f"{n:,} Celery tasks to finish",
                settings.timeout,
                worker,
                0.05,
            )
            last_finished = float(redis.get(bc.LAST_KEY) or 0)
    finally:
        redis.delete(*bc.KEYS)
    return n / (last_finished - first_created)


def measure_celery(settings: Settings) -> list[Row]:
    """The baseline rows: Celery end to end with the prefork and the solo pool."""
    measurement = "end to end, one call each"
    os.environ["SWITCHYARD_BENCH_REDIS_URL"] = settings.redis_url
    reason = celery_unavailable(settings.redis_url)
    if reason is not None:
        err.print(f"[yellow]Celery baseline not available:[/] {reason}")
        return [Row(CELERY, measurement, note=reason)]
    pools = {"prefork": f"prefork, {os.cpu_count() or 1} procs", "solo": "solo pool"}
    rows = []
    for pool, label in pools.items():
        try:
            rate = run_celery(pool, settings)
        except Exception as exc:  # the baseline is optional: report it, do not fail
            err.print(f"[yellow]Celery ({pool}) failed:[/] {exc}")
            first_line = (str(exc) or type(exc).__name__).splitlines()[0]
            rows.append(Row(CELERY, f"{measurement} ({label})", note=first_line))
            continue
        err.print(f"[bold]{CELERY}[/]: {pool} pool, end to end: {rate:,.0f} runs/s")
        rows.append(Row(CELERY, f"{measurement} ({label})", rate))
    return rows


# -- output ----------------------------------------------------------------------------------
def fmt_value(value: float, unit: str) -> str:
    """A value with its unit, at a sensible precision."""
    if unit == RUNS_PER_S:
        return f"{value:,.0f} {unit}"
    return f"{value:,.2f} {unit}"


def render(rows: list[Row], settings: Settings, environment: dict[str, str]) -> None:
    """Print the results table and how to read it."""
    celery = [r.value for r in rows if r.group == CELERY and r.value is not None]
    baseline = max(celery) if celery else None
    table = Table(
        title=f"switchyard throughput: {settings.runs:,} no-op runs, one worker process",
        title_style="bold",
    )
    table.add_column("Backend", style="bold")
    table.add_column("Measurement", no_wrap=True)
    table.add_column("Result", justify="right", no_wrap=True)
    table.add_column("Target", justify="right")
    table.add_column("vs Celery", justify="right")
    table.add_column("Status", justify="center")
    shown = None
    notes: list[str] = []
    for row in rows:
        if shown is not None and row.group != shown:
            table.add_section()
        result, status, ratio = "", "", ""
        if row.value is not None:
            result = fmt_value(row.value, row.unit)
            if row.target is not None:
                status = "[green]PASS[/]" if row.target.met(row.value) else "[red]FAIL[/]"
            if row.vs_celery and baseline:
                ratio = f"{row.value / baseline:.2f}x"
            if row.group == CELERY and row.value == baseline:
                ratio = "baseline"
        elif row.error:
            result, status = "error", "[bold red]ERROR[/]"
            notes.append(f"[red]{row.group}, {row.measurement}: {row.note}[/]")
        else:
            result, status = "not available", "[dim]n/a[/]"
            notes.append(f"[yellow]{row.group}, {row.measurement}: {row.note}[/]")
        target = ""
        if row.target is not None:
            sign = "≥" if row.target.op == ">=" else "≤"
            target = f"{sign} {fmt_value(row.target.limit, row.unit)}"
        group = row.group if row.group != shown else ""
        shown = row.group
        table.add_row(group, row.measurement, result, target, ratio, status)
    out.print(table)
    for note in notes:
        out.print(note, highlight=False)
    out.print(
        "  ".join(f"[dim]{k}[/] {v}" for k, v in environment.items()),
        highlight=False,
    )
    out.print(
        f"[dim]Fresh database per measurement. Drain and end-to-end rates come from the "
        f"runs' stored times: drain = runs / (last finished_at - first started_at), end to "
        f"end = runs / (last finished_at - first created_at) with the worker idle before the "
        f"first trigger. Latency: {settings.latency_samples} triggers, one at a time, "
        f"{LATENCY_PAUSE[0] * 1000:.0f}-{LATENCY_PAUSE[1] * 1000:.0f} ms apart. Celery: Redis "
        f"broker, results ignored, the better pool is the baseline; each task records its "
        f"finish time in Redis (one pipelined round trip). switchyard worker concurrency: "
        f"{settings.concurrency or sy.WorkerSettings().concurrency}.[/]"
    )


def postgres_missing(settings: Settings, exc: Exception, is_error: bool) -> Row:
    """The row that stands for every PostgreSQL measurement when it cannot be reached."""
    reason = f"cannot connect to {settings.postgres_url}: {exc}"
    err.print(f"[yellow]PostgreSQL skipped:[/] {reason}")
    return Row(BACKENDS["postgres"], "all measurements", note=reason, error=is_error)


def environment_info(postgres: str | None) -> dict[str, str]:
    """Versions and machine facts printed under the table."""
    return {**machine_info(postgres), "Celery": package_version("celery")}


# -- main ------------------------------------------------------------------------------------
def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(
        description="switchyard throughput and start latency on SQLite and PostgreSQL, "
        "with Celery + Redis as a baseline measured in the same run.",
    )
    parser.add_argument("--runs", type=int, default=10_000, help="runs per measurement")
    parser.add_argument("--chunk", type=int, default=1_000, help="runs per batch_trigger call")
    parser.add_argument("--latency-samples", type=int, default=200, help="latency samples")
    parser.add_argument("--backend", choices=["sqlite", "postgres", "all"], default="all")
    parser.add_argument(
        "--concurrency", type=int, help="worker --concurrency (default: the worker's default)"
    )
    parser.add_argument("--no-celery", action="store_true", help="skip the Celery baseline")
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get(
            "SWITCHYARD_BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
        ),
        help="a PostgreSQL database to connect to while (re)creating the 'switchyard_bench' "
        "database [env SWITCHYARD_BENCH_PG_URL]",
    )
    parser.add_argument(
        "--redis-url",
        default=os.environ.get("SWITCHYARD_BENCH_REDIS_URL", "redis://127.0.0.1:6379/15"),
        help="Redis broker for the Celery baseline [env SWITCHYARD_BENCH_REDIS_URL]",
    )
    parser.add_argument("--timeout", type=float, default=180.0, help="seconds to wait for a drain")
    parser.add_argument("--json", type=Path, help="also write the results to this JSON file")
    args = parser.parse_args(argv)
    for name in ("runs", "chunk", "latency_samples"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be at least 1")
    return args


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; 0 unless a measurement failed with an error."""
    args = parse_args(argv)
    unwind_on_sigterm()
    backends = list(BACKENDS) if args.backend == "all" else [args.backend]
    rows: list[Row] = []
    postgres: str | None = None
    with tempfile.TemporaryDirectory(prefix="switchyard-bench-") as tmp:
        settings = Settings(
            runs=args.runs,
            chunk=args.chunk,
            latency_samples=args.latency_samples,
            concurrency=args.concurrency,
            timeout=args.timeout,
            postgres_url=args.postgres_url,
            redis_url=args.redis_url,
            workdir=Path(tmp),
        )
        try:
            if not args.no_celery:
                rows += measure_celery(settings)
            for backend in backends:
                if backend == "postgres":
                    try:
                        postgres = postgres_version(settings.postgres_url)
                    except Exception as exc:
                        # Asked for explicitly, a missing PostgreSQL is an error.
                        rows.append(postgres_missing(settings, exc, args.backend == "postgres"))
                        continue
                rows += BackendBench(backend, settings).run()
        except KeyboardInterrupt:
            err.print("[yellow]interrupted[/]")
            return 130
    environment = environment_info(postgres)
    render(rows, settings, environment)
    if args.json:
        document = {
            "settings": {k: v for k, v in vars(args).items() if k != "json"},
            "environment": environment,
            "rows": [asdict(row) for row in rows],
        }
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(document, indent=2))
    return 1 if any(row.error for row in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
