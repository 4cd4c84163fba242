"""Durable waits on SQLite and PostgreSQL: many runs waiting at once, and token callbacks.

Run it with ``.venv/bin/python benchmarks/waits.py`` (or ``make bench``); ``--help``
lists the knobs. Every measurement uses a fresh database:

1. many waits: one idle ``switchyard worker`` process, then ``--runs`` runs of a task
   that does ``await wait.for_(seconds=2)`` triggered with ``batch_trigger`` (chunks of
   ``--chunk``). Time = last ``finished_at`` - the moment the first trigger call began.
   Tried with each ``--concurrency`` value; the best (shortest) is reported in full.
   Two ``--modes``: ``default`` (the worker as shipped: a wait of 5 s or less sleeps in
   the worker, as in Trigger.dev; the target applies here) and ``checkpointed``
   (``--inline-wait-max 0``: every wait frees its slot, is stored, and resumes through
   the database; reported without a target).
   Memory: the worker's RSS (``VmRSS``) and the number of runs in their wait (WAITING or,
   sleeping in the worker, EXECUTING) are sampled together every ``--sample-every``
   seconds; memory per waiting run = (RSS at the sample with the most - RSS idle before
   the first trigger) / that number of runs.
2. token callbacks: a ``switchyard dev`` process (worker and HTTP API in one process;
   ``--api server`` runs a worker and a ``switchyard server`` instead). The benchmark
   creates ``--tokens`` + ``--sequential`` tokens with ``wait.create_token_sync`` and
   triggers one run per token that does ``await wait.for_token(id)`` and returns the
   time it resumed. Once every run is WAITING:

   - sequential: one POST to a token's callback URL at a time, each after the previous
     run has finished (an idle system);
   - burst: POSTs to ``--tokens`` callback URLs, ``--post-concurrency`` at a time.

   Latency = the run's resume time - the time its POST returned 200 (the completion is
   committed by then; both clocks are this machine's). In the burst the client, short
   of CPU, can see a 200 after the run already resumed, so the burst is also measured
   (and judged) from the token's ``completed_at``, which the completing transaction
   sets just before it commits. Resumes/s = tokens / (last resume - first POST sent).

Targets come from the issue; missing one is reported, not an error: the exit status is
non-zero only when a measurement fails.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import httpx
from _bench_support import (
    BenchError,
    ChildProcess,
    Database,
    Target,
    database,
    free_port,
    fresh_database,
    machine_info,
    percentile,
    postgres_version,
    rss_bytes,
    switchyard_dev,
    switchyard_runtime,
    switchyard_server,
    switchyard_worker,
    unwind_on_sigterm,
    wait_all_finished,
    wait_http_ready,
    wait_until,
    wait_worker_ready,
)
from _bench_wait_tasks import napper, token_waiter
from rich.console import Console
from rich.table import Table

import switchyard as sy
from switchyard import wait

APP = "_bench_wait_tasks"
BACKENDS = {"sqlite": "SQLite", "postgres": "PostgreSQL"}
ALL_DONE_TARGET_S = 5.0  # every run finished within 5 s of the first trigger
MODES = {
    "default": "as shipped (≤ 5 s: sleeps in worker)",
    "checkpointed": "all checkpointed",
}
TOKEN_P50_TARGET_MS = {"postgres": 20.0}  # completion-to-resume p50, PostgreSQL only
IDLE_SETTLE = 0.5  # seconds an idle worker gets before a measurement starts
POLL = 0.005  # seconds between checks whether a run resumed (sequential POSTs)
# Its own database name: other benchmarks running at the same time drop "switchyard_bench".
PG_DATABASE = f"switchyard_bench_waits_{os.getpid()}"

# Piped output (make bench in a log) would otherwise wrap the table at 80 columns.
out = Console() if sys.stdout.isatty() else Console(width=160)
err = Console(stderr=True, soft_wrap=True)

MIB = 1024 * 1024


# -- results -------------------------------------------------------------------------------
@dataclass
class Row:
    """One line of the results table."""

    group: str
    measurement: str
    value: float | None = None
    unit: str = "s"
    target: Target | None = None
    shown: str = ""
    """The result as printed, when not just ``value`` and ``unit``."""
    note: str = ""
    """Why there is no value (printed under the table)."""
    error: bool = False


@dataclass
class Settings:
    """What the command line chose."""

    runs: int
    seconds: float
    chunk: int
    concurrency: list[int]
    modes: list[str]
    sample_every: float
    tokens: int
    sequential: int
    post_concurrency: int
    api: str
    timeout: float
    postgres_url: str
    workdir: Path


@dataclass
class Sample:
    """The worker's RSS and the runs in their wait, read together."""

    at: float
    rss: int
    waiting: int


@dataclass
class NapResult:
    """One try of the many-waits measurement."""

    concurrency: int
    total: float
    """Last finished_at - the moment the first trigger call began."""
    trigger: float
    """How long triggering every run took."""
    slowest: float
    """The longest created_at -> finished_at of a single run."""
    idle_rss: int
    peak: Sample
    max_rss: int
    samples: list[Sample] = field(repr=False, default_factory=list)

    @property
    def per_waiting_run(self) -> float:
        """Bytes of worker RSS per waiting run at the peak."""
        return (self.peak.rss - self.idle_rss) / max(1, self.peak.waiting)


class Sampler(threading.Thread):
    """Samples the worker's RSS and the runs in their wait every ``every`` seconds."""

    def __init__(self, url: str, pid: int, every: float) -> None:
        super().__init__(name="rss-sampler", daemon=True)
        self.url, self.pid, self.every = url, pid, every
        self.samples: list[Sample] = []
        self.failure: BaseException | None = None
        self._halt = threading.Event()

    def run(self) -> None:
        try:
            db = Database(self.url)  # its own connection: sqlite3 ones stay in their thread
            try:
                next_at = time.monotonic()
                while not self._halt.is_set():
                    rss = rss_bytes(self.pid)
                    # The task only waits: a started, unfinished run is in its wait,
                    # WAITING (checkpointed) or EXECUTING (sleeping in the worker).
                    (waiting,) = db.one(
                        "SELECT COUNT(*) FROM runs WHERE status IN ('WAITING', 'EXECUTING')"
                    )
                    self.samples.append(Sample(time.time(), rss, int(waiting)))
                    next_at += self.every
                    self._halt.wait(max(0.0, next_at - time.monotonic()))
            finally:
                db.close()
        except BaseException as exc:
            self.failure = exc

    def finish(self) -> list[Sample]:
        """Stop sampling; the samples taken (raises if sampling failed)."""
        self._halt.set()
        self.join()
        if self.failure is not None:
            raise BenchError(f"sampling the worker's memory failed: {self.failure}")
        if not self.samples:
            raise BenchError("no memory samples were taken")
        return self.samples


def idle_rss(pid: int, samples: int = 5, every: float = 0.05) -> int:
    """The median RSS of an idle process over a few samples."""
    values = []
    for _ in range(samples):
        values.append(rss_bytes(pid))
        time.sleep(every)
    return int(statistics.median(values))


# -- measurements ---------------------------------------------------------------------------
class BackendBench:
    """The measurements on one backend."""

    def __init__(self, backend: str, settings: Settings) -> None:
        self.backend = backend
        self.label = BACKENDS[backend]
        self.s = settings

    def log(self, message: str) -> None:
        """Progress on stderr."""
        err.print(f"[bold]{self.label}[/]: {message}")

    @contextmanager
    def fresh(self, name: str, public_url: str | None = None) -> Iterator[str]:
        """A fresh database for the measurement ``name``, with this process configured on it."""
        with (
            fresh_database(
                self.backend, self.s.workdir, name, self.s.postgres_url, PG_DATABASE
            ) as url,
            switchyard_runtime(url, public_url),
        ):
            yield url

    def log_path(self, name: str) -> Path:
        """Where a child process of measurement ``name`` writes its output."""
        return self.s.workdir / f"{self.backend}-{name}.log"

    def run(self) -> list[Row]:
        """Every measurement; one that fails becomes an error row and the rest go on."""
        phases: list[tuple[str, Callable[[], list[Row]]]] = [
            (f"{self.s.runs:,} waits at once", self.measure_many_waits),
            ("token callbacks", self.measure_tokens),
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

    # -- 1. many runs waiting at once ---------------------------------------------------------
    def measure_many_waits(self) -> list[Row]:
        """Each mode, each ``--concurrency`` value; rows for all, details for the best."""
        rows = []
        for mode in self.s.modes:
            rows += self.measure_mode(mode)
        return rows

    def measure_mode(self, mode: str) -> list[Row]:
        """One mode: the default (a short wait sleeps in the worker) or every wait
        checkpointed (``--inline-wait-max 0``)."""
        results = []
        for concurrency in self.s.concurrency:
            result = self.many_waits(concurrency, mode)
            results.append(result)
            self.log(
                f"{self.s.runs:,} waits ({mode}), concurrency {concurrency}: all done in "
                f"{result.total:.2f} s (triggering {result.trigger:.2f} s, slowest run "
                f"{result.slowest:.2f} s); RSS idle {result.idle_rss / MIB:.1f} MiB, "
                f"{result.peak.rss / MIB:.1f} MiB with {result.peak.waiting:,} waiting "
                f"({result.per_waiting_run / 1024:.2f} KiB each), max {result.max_rss / MIB:.1f}"
            )
        best = min(results, key=lambda r: r.total)
        what = f"{self.s.runs:,} runs wait {self.s.seconds:g} s, {MODES[mode]}"
        # The target is for what a user gets: the default worker settings.
        target = Target("<=", ALL_DONE_TARGET_S) if mode == "default" else None
        rows = []
        for r in results:
            mark = " (best)" if r is best and len(results) > 1 else ""
            label = f"{what}, c={r.concurrency}: all done{mark}"
            rows.append(Row(self.label, label, r.total, target=target))
        peak = best.peak
        rows += [
            Row(self.label, f"  triggering them ({self.s.chunk:,} per call)", best.trigger),
            Row(self.label, "  slowest run, created → finished", best.slowest),
            Row(
                self.label,
                "  worker RSS, idle → most runs in their wait",
                peak.rss / MIB,
                unit="MiB",
                shown=f"{best.idle_rss / MIB:.1f} → {peak.rss / MIB:.1f} MiB ({peak.waiting:,})",
            ),
            Row(self.label, "  memory per waiting run", best.per_waiting_run / 1024, unit="KiB"),
        ]
        return rows

    def many_waits(self, concurrency: int, mode: str) -> NapResult:
        """One worker with ``concurrency``; ``runs`` runs that each wait ``seconds``."""
        n = self.s.runs
        name = f"waits-{mode}-c{concurrency}"
        options = ["--inline-wait-max", "0"] if mode == "checkpointed" else []
        with (
            self.fresh(name) as url,
            database(url) as db,
            switchyard_worker(
                url, self.log_path(name), concurrency, app=APP, options=options
            ) as worker,
        ):
            wait_worker_ready(db, worker)
            time.sleep(IDLE_SETTLE)
            idle = idle_rss(worker.pid)
            sampler = Sampler(url, worker.pid, self.s.sample_every)
            sampler.start()
            try:
                payload = {"seconds": self.s.seconds}
                first_trigger = time.time()
                for start in range(0, n, self.s.chunk):
                    napper.batch_trigger_sync([payload] * min(self.s.chunk, n - start))
                trigger = time.time() - first_trigger
                stats = wait_all_finished(db, n, self.s.timeout, worker)
            finally:
                samples = sampler.finish()
            (slowest,) = db.one("SELECT MAX(finished_at - created_at) FROM runs")
        assert stats.last_finished is not None
        peak = max(samples, key=lambda s: (s.waiting, s.rss))
        return NapResult(
            concurrency=concurrency,
            total=stats.last_finished - first_trigger,
            trigger=trigger,
            slowest=float(slowest),
            idle_rss=idle,
            peak=peak,
            max_rss=max(s.rss for s in samples),
            samples=samples,
        )

    # -- 2. token callbacks ---------------------------------------------------------------------
    @contextmanager
    def api_processes(
        self, url: str, port: int, name: str
    ) -> Iterator[tuple[ChildProcess, ChildProcess]]:
        """The worker and the API: one ``dev`` process, or a worker and a server.

        Yields the process that runs the worker and the one that serves the API.
        """
        with ExitStack() as stack:
            if self.s.api == "dev":
                dev = switchyard_dev(url, self.log_path(f"{name}-dev"), port, APP)
                stack.enter_context(dev)
                yield dev, dev
                return
            server = switchyard_server(url, self.log_path(f"{name}-server"), port)
            stack.enter_context(server)
            worker = switchyard_worker(url, self.log_path(f"{name}-worker"), app=APP)
            stack.enter_context(worker)
            yield worker, server

    def measure_tokens(self) -> list[Row]:
        """Sequential callbacks on an idle system, then a burst; latency and resume rate."""
        n, m = self.s.tokens, self.s.sequential
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        with (
            self.fresh("tokens", public_url=base) as url,
            database(url) as db,
            self.api_processes(url, port, "tokens") as (worker, api),
        ):
            wait_worker_ready(db, worker)
            wait_http_ready(base, api)
            tokens = [wait.create_token_sync() for _ in range(n + m)]
            run_of: dict[str, str] = {}
            for start in range(0, n + m, self.s.chunk):
                chunk = tokens[start : start + self.s.chunk]
                batch = token_waiter.batch_trigger_sync([{"token": t.id} for t in chunk])
                run_of.update(zip((t.id for t in chunk), (r.id for r in batch.runs), strict=True))
            wait_until(
                lambda: db.one("SELECT COUNT(*) FROM runs WHERE status = 'WAITING'")[0] >= n + m,
                f"{n + m:,} runs to wait on their tokens",
                self.s.timeout,
                worker,
                0.05,
            )
            time.sleep(IDLE_SETTLE)

            returned: dict[str, float] = {}
            sequential = tokens[n:]
            with httpx.Client(timeout=30.0) as client:
                for token in sequential:
                    returned[token.id] = post_callback(client, token.url)
                    wait_until(
                        lambda t=token: db.one(
                            "SELECT finished_at FROM runs WHERE id = ?", run_of[t.id]
                        )[0],
                        f"the run waiting on {token.id} to finish",
                        self.s.timeout,
                        worker,
                        POLL,
                    )
            burst = tokens[:n]
            first_post, burst_returned = asyncio.run(
                post_callbacks([t.url for t in burst], self.s.post_concurrency)
            )
            returned.update(zip((t.id for t in burst), burst_returned, strict=True))
            wait_all_finished(db, n + m, self.s.timeout, worker)
            resumed = {
                json.loads(payload)["token"]: json.loads(output)["resumed_at"]
                for payload, output in db.all("SELECT payload, output FROM runs")
            }
            completed = dict(db.all("SELECT id, completed_at FROM waitpoints"))

        def latencies(group: list[Any], since: dict[str, float]) -> list[float]:
            return [(resumed[t.id] - since[t.id]) * 1000 for t in group]

        seq_ms, burst_ms = latencies(sequential, returned), latencies(burst, returned)
        burst_server_ms = latencies(burst, completed)
        rate = n / (max(resumed[t.id] for t in burst) - first_post)
        target = TOKEN_P50_TARGET_MS.get(self.backend)
        p50_target = None if target is None else Target("<=", target)
        rows = [
            Row(
                self.label,
                f"tokens: {n:,} callback POSTs, {self.s.post_concurrency} in flight",
                rate,
                unit="resumes/s",
            )
        ]

        def stats(label: str, values: list[float]) -> tuple[float, float]:
            p50, p99 = percentile(values, 50), percentile(values, 99)
            self.log(
                f"{label}: p50 {p50:.1f} ms, p99 {p99:.1f} ms, min {min(values):.1f}, "
                f"max {max(values):.1f}"
            )
            return p50, p99

        p50, p99 = stats("burst, token completed_at → resumed", burst_server_ms)
        rows += [
            Row(self.label, "  burst: completed_at → resume p50", p50, "ms", p50_target),
            Row(self.label, "  burst: completed_at → resume p99", p99, unit="ms"),
        ]
        p50, p99 = stats("burst, POST returned → resumed", burst_ms)
        rows.append(
            Row(
                self.label,
                "  burst: POST returned → resume p50 / p99",
                p50,
                unit="ms",
                shown=f"{p50:.1f} / {p99:.1f} ms",
            )
        )
        if seq_ms:
            p50, p99 = stats(f"{m} one by one, POST returned → resumed", seq_ms)
            rows += [
                Row(
                    self.label,
                    f"  {m} one by one: POST returned → resume p50",
                    p50,
                    "ms",
                    p50_target,
                ),
                Row(self.label, f"  {m} one by one: POST returned → resume p99", p99, unit="ms"),
            ]
        self.log(f"token callbacks: {rate:,.0f} resumes/s")
        return rows


def post_callback(client: httpx.Client, url: str) -> float:
    """POST a JSON body to a callback URL; when it returned 200."""
    response = client.post(url, json={"approved": True})
    if response.status_code != 200:
        raise BenchError(f"callback POST answered {response.status_code}: {response.text}")
    return time.time()


async def post_callbacks(urls: list[str], concurrency: int) -> tuple[float, list[float]]:
    """POST to every URL, ``concurrency`` at a time; when the first was sent, and when
    each returned 200."""
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    semaphore = asyncio.Semaphore(concurrency)
    async with httpx.AsyncClient(timeout=60.0, limits=limits) as client:

        async def post(url: str) -> float:
            async with semaphore:
                response = await client.post(url, json={"approved": True})
                if response.status_code != 200:
                    raise BenchError(
                        f"callback POST answered {response.status_code}: {response.text}"
                    )
                return time.time()

        first = time.time()
        done = await asyncio.gather(*(post(url) for url in urls))
    return first, list(done)


# -- output ----------------------------------------------------------------------------------
def fmt_value(value: float, unit: str) -> str:
    """A value with its unit, at a sensible precision."""
    if unit.endswith("/s"):
        return f"{value:,.0f} {unit}"
    if unit == "ms":
        return f"{value:,.1f} {unit}"
    return f"{value:,.2f} {unit}"


def render(rows: list[Row], settings: Settings, environment: dict[str, str]) -> None:
    """Print the results table and how to read it."""
    table = Table(
        title=f"switchyard waits: {settings.runs:,} runs waiting at once, token callbacks",
        title_style="bold",
    )
    table.add_column("Backend", style="bold", no_wrap=True)
    table.add_column("Measurement", no_wrap=True)
    table.add_column("Result", justify="right", no_wrap=True)
    table.add_column("Target", justify="right", no_wrap=True)
    table.add_column("Status", justify="center")
    shown = None
    notes: list[str] = []
    for row in rows:
        if shown is not None and row.group != shown:
            table.add_section()
        result, status = "", ""
        if row.value is not None:
            result = row.shown or fmt_value(row.value, row.unit)
            if row.target is not None:
                status = "[green]PASS[/]" if row.target.met(row.value) else "[red]FAIL[/]"
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
        table.add_row(group, row.measurement, result, target, status)
    out.print(table)
    for note in notes:
        out.print(note, highlight=False)
    out.print(
        "  ".join(f"[dim]{k}[/] {v}" for k, v in environment.items()),
        highlight=False,
    )
    api = "one `switchyard dev` process" if settings.api == "dev" else "a worker + a server"
    out.print(
        f"[dim]Fresh database per measurement, one worker process. Waits: each run does "
        f"`await wait.for_(seconds={settings.seconds:g})`; all done = last finished_at - start "
        f"of the first batch_trigger call; memory per waiting run = (RSS at the sample with "
        f"the most runs in their wait - idle RSS) / those runs, sampled every "
        f"{settings.sample_every * 1000:.0f} ms. Tokens: {api}; latency = the run's resume "
        f"time - the time its callback POST returned 200; resumes/s = tokens / (last resume "
        f"- first POST sent). In the burst the client (this process, short of CPU) can see "
        f"a 200 after the run already resumed (negative latencies), so the burst is judged "
        f"on the token's completed_at (set by the completing transaction before it commits)."
        f"[/]"
    )


def postgres_missing(settings: Settings, exc: Exception, is_error: bool) -> Row:
    """The row that stands for every PostgreSQL measurement when it cannot be reached."""
    reason = f"cannot connect to {settings.postgres_url}: {exc}"
    err.print(f"[yellow]PostgreSQL skipped:[/] {reason}")
    return Row(BACKENDS["postgres"], "all measurements", note=reason, error=is_error)


def environment_info(postgres: str | None, load: tuple[float, float, float]) -> dict[str, str]:
    """Versions and machine facts printed under the table."""
    return {
        **machine_info(postgres),
        "load avg at start": " ".join(f"{x:.2f}" for x in load),
        "worker default concurrency": str(sy.WorkerSettings().concurrency),
    }


# -- main ------------------------------------------------------------------------------------
def concurrency_list(text: str) -> list[int]:
    """``100,1000`` → ``[100, 1000]``."""
    try:
        values = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a comma-separated list of numbers: {text}") from None
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError("concurrency values must be at least 1")
    return values


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(
        description="switchyard's durable waits on SQLite and PostgreSQL: many runs "
        "waiting at once on one worker, and tokens completed over the callback URL.",
    )
    parser.add_argument("--backend", choices=["sqlite", "postgres", "all"], default="all")
    parser.add_argument("--runs", type=int, default=10_000, help="runs that wait at once")
    parser.add_argument("--seconds", type=float, default=2.0, help="how long each run waits")
    parser.add_argument("--chunk", type=int, default=1_000, help="runs per batch_trigger call")
    parser.add_argument(
        "--concurrency",
        type=concurrency_list,
        default=[100, 1000, 5000],
        help="worker --concurrency values to try for the waits, comma-separated "
        "(default: 100,1000,5000; the best is reported in full)",
    )
    parser.add_argument(
        "--modes",
        type=lambda text: [m.strip() for m in text.split(",") if m.strip()],
        default=list(MODES),
        help="how the worker waits, comma-separated: default (short waits sleep in the "
        "worker, as shipped) and/or checkpointed (--inline-wait-max 0: every wait frees "
        "its slot and is stored); default: both",
    )
    parser.add_argument(
        "--sample-every", type=float, default=0.1, help="seconds between memory samples"
    )
    parser.add_argument("--tokens", type=int, default=1_000, help="tokens completed in a burst")
    parser.add_argument(
        "--sequential", type=int, default=200, help="tokens completed one POST at a time"
    )
    parser.add_argument(
        "--post-concurrency", type=int, default=32, help="callback POSTs in flight in the burst"
    )
    parser.add_argument(
        "--api",
        choices=["dev", "server"],
        default="dev",
        help="token callbacks: one `switchyard dev` process, or a worker and a server",
    )
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get(
            "SWITCHYARD_BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
        ),
        help="a PostgreSQL database to connect to while (re)creating the benchmark's own "
        "'switchyard_bench_waits_<pid>' database [env SWITCHYARD_BENCH_PG_URL]",
    )
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds to wait for runs")
    parser.add_argument("--json", type=Path, help="also write the results to this JSON file")
    parser.add_argument(
        "--logs", type=Path, help="keep the child processes' logs (and SQLite files) here"
    )
    args = parser.parse_args(argv)
    for name in ("runs", "chunk", "tokens", "post_concurrency"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be at least 1")
    if args.sequential < 0 or args.seconds < 0 or args.sample_every <= 0:
        parser.error("--sequential and --seconds must be >= 0, --sample-every > 0")
    return args


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; 0 unless a measurement failed with an error."""
    args = parse_args(argv)
    unknown = sorted(set(args.modes) - set(MODES))
    if unknown or not args.modes:
        raise SystemExit(f"--modes: unknown {', '.join(unknown)}; use {', '.join(MODES)}")
    unwind_on_sigterm()
    load = os.getloadavg()
    backends = list(BACKENDS) if args.backend == "all" else [args.backend]
    rows: list[Row] = []
    postgres: str | None = None
    with ExitStack() as stack:
        if args.logs is not None:
            args.logs.mkdir(parents=True, exist_ok=True)
            tmp = str(args.logs)
        else:
            tmp = stack.enter_context(tempfile.TemporaryDirectory(prefix="switchyard-bench-"))
        settings = Settings(
            runs=args.runs,
            seconds=args.seconds,
            chunk=args.chunk,
            concurrency=args.concurrency,
            modes=args.modes,
            sample_every=args.sample_every,
            tokens=args.tokens,
            sequential=args.sequential,
            post_concurrency=args.post_concurrency,
            api=args.api,
            timeout=args.timeout,
            postgres_url=args.postgres_url,
            workdir=Path(tmp),
        )
        try:
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
    environment = environment_info(postgres, load)
    render(rows, settings, environment)
    if args.json:
        document = {
            "settings": {
                k: str(v) if isinstance(v, Path) else v
                for k, v in vars(args).items()
                if k != "json"
            },
            "environment": environment,
            "rows": [asdict(row) for row in rows],
        }
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(document, indent=2))
    return 1 if any(row.error for row in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
