"""Cost of claiming a run as the queue grows, on SQLite and PostgreSQL.

Run it with ``.venv/bin/python benchmarks/claims.py`` (or ``make bench``); ``--help``
lists the knobs. No worker process: the benchmark calls the storage claim path itself,
``storage.claim(...)`` then ``storage.finish(...)`` (COMPLETED) of the claimed runs, in
batches of ``--batches`` runs until ``--claims`` runs per batch size are claimed.

Scenarios, each in its own fresh databases:

1. plain: one task queue without limits, ``--small`` and ``--big`` queued runs. The cost
   per claimed run must stay flat: big / small <= 1.5.
2. limited: the same in a queue with a concurrency limit (``--queue-limit``) too big to
   block; a claim then locks the queue row and counts the running runs.
3. keyed: ``--keyed`` queued runs spread over ``--keys`` concurrency keys, which takes
   the fair (round-robin across keys) path; compared with plain, ``--small`` queued.
4. keyed-big: ``--big`` queued runs over ``--keys`` keys; big / keyed <= 1.5.

Fill: ``storage.trigger`` with ``--chunk`` runs per call, one call per simulated 1 ms.
Above ``--trigger-max`` runs only the first call goes through ``storage.trigger``; the
other chunks are copied from the row it wrote (SQLite: executemany in one transaction,
PostgreSQL: COPY), with fresh ids and the times that call would have written, and a
copied row is checked against the triggered one. PostgreSQL gets ``VACUUM ANALYZE``
after the fill (what autovacuum does shortly after a bulk load); SQLite gets no
``ANALYZE`` (switchyard never runs it).

Timing: the databases of a comparison (the two sizes of scenarios 1 and 2; scenarios 3
and 4) are filled and alive together, and measured in ``--rounds`` alternating rounds
(so drift on a shared machine hits both alike) after one untimed warm-up claim per batch
size; at most ``--max-seconds`` per database and batch size, so a slow path claims fewer
runs (the Claimed column) instead of running for an hour. PostgreSQL databases run with
``synchronous_commit=off`` unless ``--pg-synchronous-commit on``: a commit's disk flush
(milliseconds on a shared disk) would otherwise hide what a claim costs. ``--explain``
prints the plans of the claim statements (SQLite: EXPLAIN QUERY PLAN; PostgreSQL:
EXPLAIN ANALYZE, rolled back) on every filled database.

Missing a target is reported, not an error: the exit status is non-zero only when a
measurement fails.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sqlite3
import sys
import tempfile
import time
import traceback
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from _bench_support import (
    PG_DATABASE,
    BenchError,
    Target,
    database,
    fresh_database,
    machine_info,
    postgres_version,
    unwind_on_sigterm,
)
from rich.console import Console
from rich.table import Table

from switchyard.core.ids import new_id
from switchyard.core.models import DEFAULT_ENVIRONMENT, NewRun, Outcome, task_queue_name
from switchyard.core.states import AttemptStatus, RunStatus
from switchyard.storage import Storage, open_storage

BACKENDS = {"sqlite": "SQLite", "postgres": "PostgreSQL"}
SCENARIOS = ("plain", "limited", "keyed", "keyed-big")
TASK_ID = "bench.noop"
ENV = DEFAULT_ENVIRONMENT
LIMITED_QUEUE = "bench-limited"
LEASE_SECONDS = 300.0
CHUNK_STEP = 0.001  # simulated seconds between two trigger calls of the fill
FLAT = Target("<=", 1.5)
# Columns a copied row takes from its chunk's trigger time (order_key follows queued_at).
TIME_COLUMNS = ("created_at", "queued_at", "updated_at")
# The statements a claim runs in each scenario, printed by --explain.
CLAIM_STATEMENTS = ("limited_queues", "running_counts", "has_keyed_queued", "claim_candidates")
FAIR_STATEMENTS = ("has_keyed_queued", "queued_keys", "key_candidates", "unkeyed_candidates")

# Piped output (make bench in a log) would otherwise wrap the table at 80 columns.
out = Console() if sys.stdout.isatty() else Console(width=150)
err = Console(stderr=True, soft_wrap=True)


# -- results -------------------------------------------------------------------------------
@dataclass
class Row:
    """One line of the results table."""

    group: str
    scenario: str
    queued: int | None = None
    batch: int | None = None
    claimed: int | None = None
    """Runs claimed in the timed rounds (fewer than --claims when --max-seconds hit)."""
    claim_us: float | None = None
    """Mean time of ``claim`` per claimed run."""
    total_us: float | None = None
    """Mean time of ``claim`` + ``finish`` per claimed run."""
    ratio: float | None = None
    """claim + finish µs/run over the reference case's (``ratio_of``); the target's value."""
    claim_ratio: float | None = None
    """The same ratio for the claim alone."""
    ratio_of: str = ""
    target: Target | None = None
    note: str = ""
    error: bool = False

    @property
    def runs_per_s(self) -> float | None:
        """Runs claimed and finished per second."""
        return None if not self.total_us else 1e6 / self.total_us


@dataclass
class Settings:
    """What the command line chose."""

    big: int
    small: int
    keyed: int
    keys: int
    claims: int
    batches: list[int]
    rounds: int
    chunk: int
    trigger_max: int
    queue_limit: int
    scenarios: list[str]
    explain: bool
    max_seconds: float
    pg_synchronous_commit: str
    postgres_url: str
    workdir: Path


@dataclass(frozen=True)
class Spec:
    """One database to fill: how many queued runs, in which queue, over how many keys."""

    name: str
    scenario: str
    queued: int
    queue: str
    queue_limit: int | None = None
    keys: int = 0

    def new_run(self, index: int) -> NewRun:
        """The ``index``-th run of the fill."""
        return NewRun(
            TASK_ID,
            self.queue,
            "null",
            environment=ENV,
            concurrency_key=self.key(index),
            queue_concurrency_limit=self.queue_limit,
        )

    def key(self, index: int) -> str | None:
        """The concurrency key of the ``index``-th run: keys take turns."""
        return None if not self.keys else f"tenant-{index % self.keys:05d}"


@dataclass
class Tally:
    """Claimed runs and the time spent claiming and finishing them."""

    runs: int = 0
    calls: int = 0
    claim_s: float = 0.0
    finish_s: float = 0.0


@dataclass
class Filled:
    """A filled database and the storage measured on it."""

    spec: Spec
    url: str
    storage: Storage
    worker_id: str
    tallies: dict[int, Tally] = field(default_factory=dict)
    claimed: int = 0


# -- fill --------------------------------------------------------------------------------
def spec_groups(settings: Settings) -> list[list[Spec]]:
    """The databases the chosen scenarios need, in groups that are alive (and measured)
    together: the two sizes of a scenario, and the two keyed scenarios."""
    plain = task_queue_name(TASK_ID)
    sizes = (settings.small, settings.big)
    groups: list[list[Spec]] = []
    keyed: list[Spec] = []
    for scenario in settings.scenarios:
        if scenario == "plain":
            groups.append([Spec(f"plain-{n}", scenario, n, plain) for n in sizes])
        elif scenario == "limited":
            groups.append(
                [
                    Spec(f"limited-{n}", scenario, n, LIMITED_QUEUE, settings.queue_limit)
                    for n in sizes
                ]
            )
        else:
            queued = settings.keyed if scenario == "keyed" else settings.big
            keyed.append(Spec(scenario, scenario, queued, plain, keys=settings.keys))
    return groups + ([keyed] if keyed else [])


def chunk_time(base: float, chunk: int) -> float:
    """The simulated time of the fill's ``chunk``-th trigger call."""
    return base + chunk * CHUNK_STEP


def fill(backend: str, url: str, storage: Storage, spec: Spec, settings: Settings) -> None:
    """Queue ``spec.queued`` runs: storage.trigger, then bulk copies of a triggered row."""
    base = time.time() - 86_400.0
    size = settings.chunk
    chunks = -(-spec.queued // size)
    triggered = chunks if spec.queued <= settings.trigger_max else 1
    for c in range(triggered):
        first = c * size
        runs = [spec.new_run(i) for i in range(first, min(first + size, spec.queued))]
        storage.trigger(runs, chunk_time(base, c))
    if triggered < chunks:
        rows = (
            (c, i)
            for c in range(triggered, chunks)
            for i in range(c * size, min((c + 1) * size, spec.queued))
        )
        if backend == "sqlite":
            _copy_sqlite(url, spec, base, rows)
        else:
            _copy_postgres(url, spec, base, rows)
        check_copied(url, spec, base, chunks - 1)
    if backend == "postgres":
        import psycopg

        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("VACUUM ANALYZE")


def _copied(
    template: dict[str, Any], spec: Spec, base: float, rows: Iterator[tuple[int, int]]
) -> Iterator[list[Any]]:
    """Rows like ``template`` (a triggered run) for ``(chunk, index)`` pairs."""
    columns = list(template)
    values = list(template.values())
    at = {name: columns.index(name) for name in ("id", "order_key", "concurrency_key")}
    times = [columns.index(name) for name in TIME_COLUMNS]
    priority = template["priority"]
    for chunk, index in rows:
        now = chunk_time(base, chunk)
        row = values.copy()
        row[at["id"]] = new_id("run", now)
        for i in times:
            row[i] = now
        row[at["order_key"]] = now - priority
        row[at["concurrency_key"]] = spec.key(index)
        yield row


def _copy_sqlite(url: str, spec: Spec, base: float, rows: Iterator[tuple[int, int]]) -> None:
    conn = sqlite3.connect(url[len("sqlite:///") :], isolation_level=None, timeout=30.0)
    try:
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA cache_size=-1000000")  # 1 GB for this load only
        first = conn.execute("SELECT * FROM runs ORDER BY rowid LIMIT 1").fetchone()
        template = dict(zip(first.keys(), first, strict=True))
        names = ", ".join(template)
        marks = ", ".join("?" * len(template))
        conn.execute("BEGIN IMMEDIATE")
        conn.executemany(
            f"INSERT INTO runs ({names}) VALUES ({marks})", _copied(template, spec, base, rows)
        )
        conn.execute("COMMIT")
    finally:
        conn.close()


def _copy_postgres(url: str, spec: Spec, base: float, rows: Iterator[tuple[int, int]]) -> None:
    import psycopg
    from psycopg.rows import dict_row

    with psycopg.connect(url, row_factory=dict_row) as conn:
        first = conn.execute("SELECT * FROM runs ORDER BY created_at, id LIMIT 1").fetchone()
        assert first is not None
        template = dict(first)
        with conn.cursor().copy(f"COPY runs ({', '.join(template)}) FROM STDIN") as copy:
            for row in _copied(template, spec, base, rows):
                copy.write_row(row)


def check_copied(url: str, spec: Spec, base: float, last_chunk: int) -> None:
    """A copied run must look like a triggered one (types included on SQLite)."""
    ordered = "SELECT * FROM runs ORDER BY created_at {0}, id {0} LIMIT 1"
    first = _one_row(url, ordered.format("ASC"))
    last = _one_row(url, ordered.format("DESC"))
    with database(url) as db:
        now = chunk_time(base, last_chunk)
        expected = dict(first)
        expected.update({name: now for name in TIME_COLUMNS})
        expected["order_key"] = now - first["priority"]
        keys = {spec.key(i) for i in range(max(spec.keys, 1))}
        if last["concurrency_key"] not in keys:
            raise BenchError(f"a copied run has the key {last['concurrency_key']!r}")
        expected["concurrency_key"] = last["concurrency_key"]
        expected["id"] = last["id"]
        diff = {k: (v, last.get(k)) for k, v in expected.items() if last.get(k) != v}
        if set(last) != set(first) or diff:
            raise BenchError(f"a copied run differs from a triggered one: {diff}")
        if not re.fullmatch(r"run_[0-9A-HJKMNP-TV-Z]{26}", last["id"]):
            raise BenchError(f"a copied run has a malformed id {last['id']!r}")
        if url.startswith("sqlite:///"):
            types = ", ".join(f"typeof({name})" for name in first)
            kinds = [
                db.one(f"SELECT {types} FROM runs WHERE id = ?", r["id"]) for r in (first, last)
            ]
            if kinds[0] != kinds[1]:
                raise BenchError(f"copied run column types differ: {kinds}")
        count = db.one("SELECT COUNT(*) FROM runs WHERE status = 'QUEUED'")[0]
        if count != spec.queued:
            raise BenchError(f"expected {spec.queued:,} queued runs, found {count:,}")


def _one_row(url: str, query: str) -> dict[str, Any]:
    """The first row of ``query`` as a dict, read on a connection of its own."""
    if url.startswith("sqlite:///"):
        conn = sqlite3.connect(url[len("sqlite:///") :])
        try:
            cur = conn.execute(query)
            names = [d[0] for d in cur.description]
            return dict(zip(names, cur.fetchone(), strict=True))
        finally:
            conn.close()
    import psycopg
    from psycopg.rows import dict_row

    with psycopg.connect(url, row_factory=dict_row) as pg:
        row = pg.execute(query).fetchone()
    assert row is not None
    return dict(row)


def set_synchronous_commit(admin_url: str, name: str, value: str) -> None:
    """Set ``synchronous_commit`` for every later connection to database ``name``."""
    import psycopg
    from psycopg import sql

    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(
            sql.SQL("ALTER DATABASE {} SET synchronous_commit = {}").format(
                sql.Identifier(name), sql.Literal(value)
            )
        )


# -- measurement -------------------------------------------------------------------------
def claim_and_finish(
    target: Filled, runs: int, batch: int, tally: Tally | None, seconds: float | None = None
) -> None:
    """Claim ``runs`` runs, ``batch`` per claim, finishing each batch as COMPLETED.

    ``seconds``: stop early (after at least one claim) once this much time has passed.
    """
    storage = target.storage
    deadline = None if seconds is None else time.perf_counter() + seconds
    done = 0
    while done < runs and (deadline is None or done == 0 or time.perf_counter() < deadline):
        want = min(batch, runs - done)
        now = time.time()
        start = time.perf_counter()
        claims = storage.claim(ENV, target.worker_id, [TASK_ID], want, now, LEASE_SECONDS)
        claimed = time.perf_counter()
        if not claims:
            raise BenchError(f"claim({want}) returned nothing on {target.spec.name}")
        outcomes = [
            Outcome(c.run.id, c.attempt_id, RunStatus.COMPLETED, AttemptStatus.COMPLETED, "null")
            for c in claims
        ]
        applied = storage.finish(outcomes, time.time())
        finished = time.perf_counter()
        if applied != len(claims):
            raise BenchError(f"finish applied {applied} of {len(claims)} outcomes")
        done += len(claims)
        target.claimed += len(claims)
        if tally is not None:
            tally.runs += len(claims)
            tally.calls += 1
            tally.claim_s += claimed - start
            tally.finish_s += finished - claimed


def check_finished(target: Filled) -> None:
    """Every claimed run completed; none is left executing; the rest is still queued."""
    with database(target.url) as db:
        counts = dict(db.all("SELECT status, COUNT(*) FROM runs GROUP BY status"))
    expected = {"COMPLETED": target.claimed, "QUEUED": target.spec.queued - target.claimed}
    if {k: v for k, v in counts.items() if v} != {k: v for k, v in expected.items() if v}:
        raise BenchError(f"{target.spec.name}: expected {expected}, found {counts}")


# -- plans -------------------------------------------------------------------------------
def explain(backend: str, target: Filled) -> None:
    """Print the plan of each claim statement (PostgreSQL: EXPLAIN ANALYZE, rolled back)."""
    storage: Any = target.storage
    first_key = target.spec.key(0) or "tenant-00000"
    params = {
        "environment": ENV,
        "task_ids": storage._list_param([TASK_ID]),
        "blocked": storage._list_param([]),
        "limit": 50,
        "key": first_key,
        "after": "",
        "now": time.time(),
    }
    err.print(f"[bold]{BACKENDS[backend]}[/]: plans on {target.spec.name}", highlight=False)
    with suppress(_Rollback), storage._tx() as cur:
        keyed = target.spec.keys > 0
        for name in FAIR_STATEMENTS if keyed else CLAIM_STATEMENTS:
            sql = storage.q[name]
            if backend == "sqlite":
                cur.execute(f"EXPLAIN QUERY PLAN {sql}", params)
                lines = [str(r["detail"]) for r in cur.fetchall()]
            else:
                cur.execute(f"EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) {sql}", params)
                lines = [str(next(iter(r.values()))) for r in cur.fetchall()]
            err.print(f"  [bold]{name}[/]", highlight=False)
            for line in lines:
                err.print(f"    {line}", markup=False, highlight=False)
        if backend == "postgres":
            raise _Rollback


class _Rollback(Exception):
    """Raised to roll the EXPLAIN ANALYZE transaction back (it locks rows)."""


# -- one backend -------------------------------------------------------------------------
class BackendBench:
    """The scenarios on one backend: fill a group of databases, measure it, drop it."""

    def __init__(self, backend: str, settings: Settings) -> None:
        self.backend = backend
        self.label = BACKENDS[backend]
        self.s = settings

    def log(self, message: str) -> None:
        """Progress on stderr."""
        err.print(f"[bold]{self.label}[/]: {message}", highlight=False)

    @contextmanager
    def filled(self, spec: Spec) -> Iterator[Filled]:
        """A fresh database holding ``spec``'s queued runs; the storage open on it."""
        pg_name = f"{PG_DATABASE}_{spec.name.replace('-', '_')}"
        with fresh_database(
            self.backend, self.s.workdir, spec.name, self.s.postgres_url, pg_name
        ) as url:
            if self.backend == "postgres":
                set_synchronous_commit(self.s.postgres_url, pg_name, self.s.pg_synchronous_commit)
            storage = open_storage(url)
            try:
                storage.migrate()
                start = time.perf_counter()
                fill(self.backend, url, storage, spec, self.s)
                self.log(
                    f"filled {spec.name}: {spec.queued:,} queued runs, "
                    f"{time.perf_counter() - start:.1f} s"
                )
                worker_id = new_id("worker", time.time())
                yield Filled(spec, url, storage, worker_id)
            finally:
                storage.close()

    def run(self) -> list[Row]:
        """Every scenario of this backend, a group of databases at a time (so a big
        database shares the machine's caches with its small twin only); a group that
        fails becomes an error row and the rest go on."""
        measured: list[Filled] = []
        failed: list[Row] = []
        for specs in spec_groups(self.s):
            try:
                with ExitStack() as stack:
                    targets = [stack.enter_context(self.filled(spec)) for spec in specs]
                    if self.s.explain:
                        for target in targets:
                            explain(self.backend, target)
                    self.measure(targets)
                    for target in targets:
                        check_finished(target)
                measured += targets
            except Exception as exc:
                names = ", ".join(spec.name for spec in specs)
                err.print(f"[bold red]{self.label}: {names} failed[/]")
                err.print(traceback.format_exc(), markup=False, highlight=False)
                first_line = (str(exc) or type(exc).__name__).splitlines()[0]
                failed.append(Row(self.label, names, note=first_line, error=True))
        return self.rows(measured) + failed

    def measure(self, targets: list[Filled]) -> None:
        """Warm up, then ``rounds`` rounds; each round visits every database per batch size."""
        for target in targets:
            for batch in self.s.batches:
                claim_and_finish(target, batch, batch, None)
                target.tallies[batch] = Tally()
        for round_no in range(self.s.rounds):
            start = time.perf_counter()
            order = targets if round_no % 2 == 0 else targets[::-1]
            for batch in self.s.batches:
                share = self.s.claims // self.s.rounds + (
                    1 if round_no < self.s.claims % self.s.rounds else 0
                )
                seconds = self.s.max_seconds / self.s.rounds
                for target in order:
                    claim_and_finish(target, share, batch, target.tallies[batch], seconds)
            self.log(f"round {round_no + 1}/{self.s.rounds}: {time.perf_counter() - start:.1f} s")

    def rows(self, targets: list[Filled]) -> list[Row]:
        """Table rows with ratios to the reference of each scenario."""
        by_name = {t.spec.name: t for t in targets}
        s = self.s

        def per_run(name: str, batch: int, finish: bool = True) -> float | None:
            target = by_name.get(name)
            if target is None:
                return None
            tally = target.tallies[batch]
            return (tally.claim_s + (tally.finish_s if finish else 0.0)) / tally.runs * 1e6

        small, keyed = short(s.small), short(s.keyed)
        references = {
            f"plain-{s.big}": (f"plain-{s.small}", f"1 @ {small}", FLAT),
            f"limited-{s.small}": (f"plain-{s.small}", f"1 @ {small}", None),
            f"limited-{s.big}": (f"limited-{s.small}", f"2 @ {small}", FLAT),
            "keyed": (f"plain-{s.small}", f"1 @ {small}", None),
            "keyed-big": ("keyed", f"3 @ {keyed}", FLAT),
        }
        titles = {
            "plain": "1. one queue, no limit",
            "limited": f"2. queue limit {s.queue_limit:,}",
            "keyed": f"3. {s.keys:,} conc. keys",
            "keyed-big": f"4. {s.keys:,} conc. keys",
        }
        rows = []
        for target in targets:
            spec = target.spec
            for batch in s.batches:
                tally = target.tallies[batch]
                total = per_run(spec.name, batch)
                row = Row(
                    self.label,
                    titles[spec.scenario],
                    spec.queued,
                    batch,
                    claimed=tally.runs,
                    claim_us=tally.claim_s / tally.runs * 1e6,
                    total_us=total,
                )
                if spec.name in references:
                    ref, label, target_ratio = references[spec.name]
                    ref_value, ref_claim = per_run(ref, batch), per_run(ref, batch, False)
                    if ref_value and ref_claim and total and row.claim_us:
                        row.ratio, row.ratio_of, row.target = total / ref_value, label, target_ratio
                        row.claim_ratio = row.claim_us / ref_claim
                rows.append(row)
        return rows


# -- output ----------------------------------------------------------------------------------
def short(n: int) -> str:
    """10000 -> 10k, 1000000 -> 1M (exact values only; else with separators)."""
    for size, suffix in ((1_000_000, "M"), (1_000, "k")):
        if n >= size and n % size == 0:
            return f"{n // size}{suffix}"
    return f"{n:,}"


def render(rows: list[Row], settings: Settings, environment: dict[str, str]) -> None:
    """Print the results table and how to read it."""
    table = Table(
        title=f"switchyard claim cost: {settings.claims:,} runs claimed per batch size, "
        "storage.claim + storage.finish",
        title_style="bold",
    )
    table.add_column("Backend", style="bold")
    table.add_column("Scenario", no_wrap=True)
    table.add_column("Queued", justify="right")
    table.add_column("Batch", justify="right")
    table.add_column("Claimed", justify="right")
    table.add_column("claim µs/run", justify="right")
    table.add_column("+finish µs/run", justify="right")
    table.add_column("runs/s", justify="right")
    table.add_column("Ratio vs", justify="right", no_wrap=True)
    table.add_column("claim only", justify="right")
    table.add_column("Target", justify="right")
    table.add_column("Status", justify="center")
    shown = None
    notes: list[str] = []
    for row in rows:
        if shown is not None and row.group != shown:
            table.add_section()
        group = row.group if row.group != shown else ""
        shown = row.group
        if row.error:
            table.add_row(group, row.scenario, *[""] * 9, "[bold red]ERROR[/]")
            notes.append(f"[red]{row.group}, {row.scenario}: {row.note}[/]")
            continue
        if row.total_us is None:
            table.add_row(group, row.scenario, *[""] * 9, "[dim]n/a[/]")
            notes.append(f"[yellow]{row.group}, {row.scenario}: {row.note}[/]")
            continue
        ratio, claim_ratio, target, status = "", "", "", ""
        if row.ratio is not None:
            ratio = f"{row.ratio:.2f}x {row.ratio_of}"
        if row.claim_ratio is not None:
            claim_ratio = f"{row.claim_ratio:.2f}x"
        if row.target is not None and row.ratio is not None:
            sign = "≥" if row.target.op == ">=" else "≤"
            target = f"{sign} {row.target.limit:.2f}"
            status = "[green]PASS[/]" if row.target.met(row.ratio) else "[red]FAIL[/]"
        table.add_row(
            group,
            row.scenario,
            f"{row.queued:,}",
            f"{row.batch}",
            f"{row.claimed:,}",
            f"{row.claim_us:,.0f}",
            f"{row.total_us:,.0f}",
            f"{row.runs_per_s:,.0f}",
            ratio,
            claim_ratio,
            target,
            status,
        )
    out.print(table)
    for note in notes:
        out.print(note, highlight=False)
    out.print("  ".join(f"[dim]{k}[/] {v}" for k, v in environment.items()), highlight=False)
    out.print(
        f"[dim]Fresh databases per backend, filled first (storage.trigger, {settings.chunk:,} "
        f"runs per call; above {settings.trigger_max:,} runs, copies of a triggered row), then "
        f"measured in {settings.rounds} alternating rounds, at most {settings.max_seconds:g} s "
        f"per database and batch size. µs/run = time in storage.claim (+ storage.finish) / "
        f"runs claimed; runs/s = 1e6 / (claim + finish µs/run); Ratio = claim + finish µs/run "
        f"over scenario N @ size, same batch size (the target applies to it; claim only: the "
        f"same for storage.claim alone). One process, no worker; PostgreSQL VACUUM "
        f"ANALYZEd after the fill, synchronous_commit={settings.pg_synchronous_commit}; SQLite "
        f"(WAL, synchronous=NORMAL) not analyzed.[/]"
    )


def environment_info(postgres: str | None) -> dict[str, str]:
    """Versions and machine facts printed under the table."""
    return machine_info(postgres)


# -- main ------------------------------------------------------------------------------------
def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(
        description="Cost of storage.claim + storage.finish per run with 10k vs 1M queued "
        "runs, a limited queue and concurrency keys, on SQLite and PostgreSQL.",
    )
    parser.add_argument("--backend", choices=["sqlite", "postgres", "all"], default="all")
    parser.add_argument("--big", type=int, default=1_000_000, help="queued runs, big case")
    parser.add_argument("--small", type=int, default=10_000, help="queued runs, small case")
    parser.add_argument(
        "--keyed", type=int, default=100_000, help="queued runs of the keyed scenario"
    )
    parser.add_argument("--keys", type=int, default=1_000, help="concurrency keys")
    parser.add_argument(
        "--claims", type=int, default=2_000, help="runs claimed per database and batch size"
    )
    parser.add_argument(
        "--batches", default="50,1", help="runs per claim call, comma-separated (default 50,1)"
    )
    parser.add_argument("--rounds", type=int, default=8, help="alternating measurement rounds")
    parser.add_argument("--chunk", type=int, default=5_000, help="runs per trigger call")
    parser.add_argument(
        "--trigger-max",
        type=int,
        default=100_000,
        help="fills up to this size go through storage.trigger only; bigger ones are copied",
    )
    parser.add_argument("--queue-limit", type=int, default=1_000, help="scenario 2's limit")
    parser.add_argument(
        "--scenarios",
        default=",".join(SCENARIOS),
        help=f"comma-separated subset of {','.join(SCENARIOS)}",
    )
    parser.add_argument(
        "--max-seconds",
        type=float,
        default=8.0,
        help="time cap per database and batch size: a slow path claims fewer runs (the "
        "Claimed column shows how many)",
    )
    parser.add_argument(
        "--pg-synchronous-commit",
        choices=["on", "off"],
        default="off",
        help="synchronous_commit of the PostgreSQL bench databases (default off: the cost "
        "of a claim, not of the disk's flush at each commit)",
    )
    parser.add_argument("--explain", action="store_true", help="print the claim plans")
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get(
            "SWITCHYARD_BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
        ),
        help="a PostgreSQL database to connect to while (re)creating the 'switchyard_bench_*' "
        "databases [env SWITCHYARD_BENCH_PG_URL]",
    )
    parser.add_argument("--json", type=Path, help="also write the results to this JSON file")
    args = parser.parse_args(argv)
    try:
        args.batches = [int(b) for b in args.batches.split(",") if b.strip()]
    except ValueError:
        parser.error("--batches takes comma-separated integers")
    args.scenarios = [s.strip() for s in args.scenarios.split(",") if s.strip()]
    unknown = set(args.scenarios) - set(SCENARIOS)
    if unknown or not args.scenarios:
        parser.error(f"--scenarios: choose from {', '.join(SCENARIOS)}")
    for name in ("big", "small", "keyed", "keys", "claims", "rounds", "chunk", "queue_limit"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be at least 1")
    if not args.batches or min(args.batches) < 1:
        parser.error("--batches must be at least 1")
    # Warm-up takes one claim per batch size; the measured runs come on top.
    needed = (args.claims + max(args.batches)) * len(args.batches)
    sizes = {"plain": args.small, "limited": args.small, "keyed": args.keyed}
    if min(sizes.get(name, args.big) for name in args.scenarios) < needed:
        parser.error(f"every database needs at least {needed:,} queued runs (--claims)")
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
            big=args.big,
            small=args.small,
            keyed=args.keyed,
            keys=args.keys,
            claims=args.claims,
            batches=args.batches,
            rounds=args.rounds,
            chunk=args.chunk,
            trigger_max=args.trigger_max,
            queue_limit=args.queue_limit,
            scenarios=args.scenarios,
            explain=args.explain,
            max_seconds=args.max_seconds,
            pg_synchronous_commit=args.pg_synchronous_commit,
            postgres_url=args.postgres_url,
            workdir=Path(tmp),
        )
        try:
            for backend in backends:
                if backend == "postgres":
                    try:
                        postgres = postgres_version(settings.postgres_url)
                    except Exception as exc:
                        reason = f"cannot connect to {settings.postgres_url}: {exc}"
                        err.print(f"[yellow]PostgreSQL skipped:[/] {reason}")
                        # Asked for explicitly, a missing PostgreSQL is an error.
                        is_error = args.backend == "postgres"
                        rows.append(
                            Row(BACKENDS[backend], "all scenarios", note=reason, error=is_error)
                        )
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
            "rows": [
                {**asdict(row), "target": None if row.target is None else asdict(row.target)}
                for row in rows
            ],
        }
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(document, indent=2))
    return 1 if any(row.error for row in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
