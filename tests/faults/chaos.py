"""Chaos: worker processes killed (kill -9) and cut off from PostgreSQL while they run
durable waits, tokens, child runs and steps; then every run is checked.

Each worker reaches PostgreSQL through its own :class:`~tests.faults.proxy.FaultProxy`.
While runs are triggered (each with an idempotency key, some keys twice), the driver
kills a random worker and starts a new one, blackholes or resets a worker's traffic for
a while, or kills the ``switchyard server`` process and starts it again; it completes
the tokens runs wait on by POSTing to their callback URLs on that server (retrying
while it is down). At the end it reports:

- ``lost``: runs not COMPLETED once everything healed (or with a wrong result);
- ``duplicated``: idempotency keys that made more than one run, runs with more than
  one completed attempt;
- ``overlaps``: runs two of whose executions executed at the same instant (each
  execution records when it starts, pauses for a durable wait, resumes, ends or is
  stopped; an execution of a killed process ends when the process died).

``make chaos`` runs the long version (``python -m tests.faults.chaos``); the short one
is ``tests/faults/test_chaos.py`` in ``make test``.
"""

from __future__ import annotations

import argparse
import contextlib
import random
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

import switchyard as sy
from switchyard.runtime import configure, current_runtime, reset_runtime
from switchyard.sdk.wait import token_url
from tests.conftest import drop_pg_schema, make_config, new_pg_schema_url, require_postgres
from tests.e2e.e2e_tasks import e2e_chaos
from tests.e2e.test_worker_processes import WorkerProcess, Workers, read_records
from tests.faults.proxy import FaultProxy
from tests.processes import Proc, base_env, free_port

PG = ("127.0.0.1", 5432)
KINDS = ("wait", "token", "child", "step")


@dataclass
class Report:
    """What a chaos run did and what it found."""

    runs: int = 0
    completed: int = 0
    lost: int = 0
    duplicated: int = 0
    overlaps: int = 0
    kills: int = 0
    server_kills: int = 0
    partitions: int = 0
    fail_stops: int = 0
    executions: int = 0
    seconds: float = 0.0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """No run lost, duplicated or executed twice at once."""
        return not (self.lost or self.duplicated or self.overlaps or self.problems)

    def table(self) -> str:
        """The report as a printed table."""
        rows = [
            ("runs", self.runs),
            ("completed", self.completed),
            ("executions", self.executions),
            ("worker kills (-9)", self.kills),
            ("server kills (-9)", self.server_kills),
            ("partitions", self.partitions),
            ("fail-stops", self.fail_stops),
            ("overlaps", self.overlaps),
            ("lost", self.lost),
            ("duplicated", self.duplicated),
            ("seconds", f"{self.seconds:.0f}"),
        ]
        width = max(len(name) for name, _ in rows)
        lines = [f"| {'what'.ljust(width)} | value |", f"|{'-' * (width + 2)}|-------|"]
        lines += [f"| {name.ljust(width)} | {value!s:>5} |" for name, value in rows]
        return "\n".join(lines + [f"problem: {p}" for p in self.problems[:20]])


class Chaos:
    """One chaos run against the PostgreSQL database at ``url``."""

    def __init__(self, url: str, folder: Path, *, workers: int, lease: float, seed: int) -> None:
        self.url = url
        self.folder = folder
        self.records = folder / "records"
        self.records.mkdir(parents=True, exist_ok=True)
        self.lease = lease
        self.rng = random.Random(seed)
        self.group = Workers(folder, url=url)
        self.proxies = [FaultProxy(PG) for _ in range(workers)]
        self.slots: list[WorkerProcess] = []
        self.deaths: dict[int, float] = {}  # pid -> monotonic time it was surely dead
        self.cut: dict[int, float] = {}  # proxy index -> when to heal it
        self.report = Report()
        self.handles: dict[str, str] = {}  # idempotency key -> run id
        self.spawned = 0
        self.port = free_port()
        self.server: Proc | None = None
        self.http = httpx.Client(timeout=2.0)

    # -- processes ---------------------------------------------------------------------------
    def _spawn(self, index: int, wait: bool = False) -> WorkerProcess:
        # A worker whose network is cut cannot start until it heals: don't wait for it.
        self.spawned += 1
        return self.group.start(
            f"w{index}-{self.spawned}",
            concurrency=8,
            lease=self.lease,
            url=self.proxies[index].url_for(self.url),
            extra=("--inline-wait-max", "0"),
            wait=wait,
        )

    def _start_server(self) -> None:
        base = f"http://127.0.0.1:{self.port}"
        self.spawned += 1
        self.server = Proc(
            ["server", "--port", str(self.port)],
            self.folder,
            base_env(self.url, SWITCHYARD_PUBLIC_URL=base),
            f"server-{self.spawned}",
        )
        self.server.wait_healthy(base)

    def _kill_server(self) -> None:
        assert self.server is not None
        self.server.popen.kill()
        self.server.popen.wait(10)
        self.report.server_kills += 1
        self._start_server()

    def _check_exits(self) -> None:
        for index, proc in enumerate(self.slots):
            if proc.proc.poll() is not None:  # exited by itself: a fail-stop
                self.deaths[proc.pid] = time.monotonic()
                self.report.fail_stops += 1
                self.report.problems.append(
                    f"worker {proc.name} exited with {proc.proc.returncode}"
                )
                self.slots[index] = self._spawn(index)

    def _fault(self) -> None:
        index = self.rng.randrange(len(self.slots))
        # The first faults are a kill and a partition, whatever the dice say.
        dice = 0.3 if not self.report.kills else 0.9 if not self.report.partitions else 0.0
        dice = dice or self.rng.random()
        if dice < 0.15:
            self._kill_server()
        elif dice < 0.55:
            proc = self.slots[index]
            self.deaths[proc.pid] = proc.kill9()
            self.report.kills += 1
            self.slots[index] = self._spawn(index)
        elif index not in self.cut:
            proxy = self.proxies[index]
            proxy.blackhole() if self.rng.random() < 0.5 else proxy.reset()
            self.cut[index] = time.monotonic() + self.rng.uniform(1.5, 3.0) * self.lease
            self.report.partitions += 1

    def _heal(self, everything: bool = False) -> None:
        now = time.monotonic()
        for index, until in list(self.cut.items()):
            if everything or now >= until:
                self.proxies[index].heal()
                del self.cut[index]

    # -- runs --------------------------------------------------------------------------------
    def _trigger(self, start: int, count: int) -> None:
        for i in range(start, start + count):
            key = f"chaos-{i}"
            payload = {
                "dir": str(self.records),
                "n": i,
                "kind": KINDS[i % len(KINDS)],
                "sleep": self.rng.uniform(0.02, 0.3),
                "wait": self.rng.uniform(0.2, 1.0),
            }
            handle = e2e_chaos.trigger_sync(payload, idempotency_key=key)
            self.handles[key] = handle.id
            if i % 10 == 0:  # the same key again: the same run
                again = e2e_chaos.trigger_sync(payload, idempotency_key=key)
                if again.id != handle.id:
                    self.report.duplicated += 1
                    self.report.problems.append(f"{key} made {handle.id} and {again.id}")

    def _complete_tokens(self) -> None:
        """POST each pending token's callback URL; whatever fails is tried next time."""
        with contextlib.suppress(Exception):  # the database may be busy recovering
            tokens, _ = sy.wait.list_tokens_sync(status="PENDING", limit=200)
            runtime = current_runtime()
            for token in tokens:
                if any(t.startswith("chaos:") for t in token.tags):
                    with contextlib.suppress(httpx.HTTPError):  # the server may be down
                        self.http.post(token_url(runtime, token.id), json={"ok": 1})

    def _pending(self) -> int:
        return sum(
            1
            for run_id in self.handles.values()
            if not sy.runs.retrieve_sync(run_id).status.is_final
        )

    # -- the whole run -----------------------------------------------------------------------
    def run(self, runs: int, seconds: float, fault_every: float) -> Report:
        started = time.monotonic()
        self._start_server()
        self.slots = [self._spawn(i, wait=True) for i in range(len(self.proxies))]
        deadline = started + seconds
        trigger_until = started + seconds * 0.6
        triggered = 0
        next_fault = started + fault_every
        while time.monotonic() < deadline:
            now = time.monotonic()
            if triggered < runs:
                share = min(1.0, (now - started) / (trigger_until - started))
                due = int(runs * share)
                if due > triggered:
                    self._trigger(triggered, due - triggered)
                    triggered = due
            if not self.report.server_kills and now >= started + seconds / 2:
                self._kill_server()  # at least once, whatever the dice say
            if now >= next_fault:
                self._fault()
                next_fault = now + self.rng.uniform(0.5, 1.5) * fault_every
            self._heal()
            self._check_exits()
            self._complete_tokens()
            time.sleep(0.1)
        if triggered < runs:
            self._trigger(triggered, runs - triggered)
        self._heal(everything=True)
        drain = time.monotonic() + 120
        while time.monotonic() < drain and self._pending():
            self._check_exits()
            self._complete_tokens()
            time.sleep(0.25)
        self.report.seconds = time.monotonic() - started
        self._analyze()
        return self.report

    def close(self) -> None:
        """Kill what is left, close the proxies."""
        self.group.procs = [p for p in self.group.procs if p.proc.poll() is None]
        for proc in self.group.procs:
            proc.proc.kill()
            proc.proc.wait(10)
        for proxy in self.proxies:
            proxy.close()
        if self.server is not None:
            self.server.popen.kill()
            self.server.popen.wait(10)
        self.http.close()

    # -- checks ------------------------------------------------------------------------------
    def _analyze(self) -> None:
        report = self.report
        report.runs = len(self.handles)
        for key, run_id in self.handles.items():
            run = sy.runs.retrieve_sync(run_id)
            n = int(key.split("-")[1])
            expected = {"wait": None, "token": {"ok": 1}, "child": n * 2, "step": n}
            if run.status != sy.RunStatus.COMPLETED:
                report.lost += 1
                report.problems.append(f"{run_id} ({key}) ended {run.status}")
                continue
            if run.output != {"n": n, "result": expected[KINDS[n % len(KINDS)]]}:
                report.lost += 1
                report.problems.append(f"{run_id} ({key}) output {run.output!r}")
                continue
            report.completed += 1
            done = [a for a in runtime_attempts(run_id) if a.status == sy.AttemptStatus.COMPLETED]
            if len(done) != 1:
                report.duplicated += 1
                report.problems.append(f"{run_id} has {len(done)} completed attempts")
        report.overlaps = self._overlaps()

    def _overlaps(self) -> int:
        now = time.monotonic()
        stretches: dict[str, list[tuple[float, float, str]]] = {}
        opened: dict[str, tuple[str, float, int]] = {}  # execution -> (run, since, pid)
        executions: set[str] = set()
        for line in sorted(read_records(self.records), key=lambda r: r["t"]):
            event, _, execution = str(line["event"]).partition(":")
            if not execution:
                continue
            executions.add(execution)
            if event in ("start", "resume"):
                opened[execution] = (line["run"], line["t"], line["pid"])
            elif execution in opened:
                run, since, _ = opened.pop(execution)
                stretches.setdefault(run, []).append((since, line["t"], execution))
        for execution, (run, since, pid) in opened.items():
            end = self.deaths.get(pid, now)  # killed mid-stretch: it ended with the process
            stretches.setdefault(run, []).append((since, end, execution))
        self.report.executions = len(executions)
        bad = 0
        for run, spans in stretches.items():
            spans.sort()
            latest_end, latest_exec = float("-inf"), ""
            for start, end, execution in spans:
                if start < latest_end and execution != latest_exec:
                    bad += 1
                    self.report.problems.append(f"{run}: two executions at once at {start:.3f}")
                    break
                if end > latest_end:
                    latest_end, latest_exec = end, execution
        return bad


def runtime_attempts(run_id: str) -> list[Any]:
    """The run's attempts, through the SDK's runtime."""
    from switchyard.runtime import current_runtime

    return current_runtime().engine.list_attempts(run_id)


def chaos(
    *, runs: int, seconds: float, workers: int = 3, lease: float = 4.0, seed: int = 1
) -> Report:
    """A chaos run on a fresh PostgreSQL schema; returns its report."""
    require_postgres()
    url, schema = new_pg_schema_url()
    folder = Path(tempfile.mkdtemp(prefix="switchyard-chaos-"))
    run = Chaos(url, folder, workers=workers, lease=lease, seed=seed)
    configure(make_config(url, public_url=f"http://127.0.0.1:{run.port}"))
    try:
        return run.run(runs, seconds, fault_every=1.5)
    finally:
        run.close()
        reset_runtime()
        drop_pg_schema(schema)
        print(f"worker logs and records: {folder}")


def main() -> None:
    """``python -m tests.faults.chaos``: the long run of ``make chaos``."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3000)
    parser.add_argument("--seconds", type=float, default=180.0)
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--lease", type=float, default=4.0)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    report = chaos(
        runs=args.runs,
        seconds=args.seconds,
        workers=args.workers,
        lease=args.lease,
        seed=args.seed,
    )
    print(report.table())
    raise SystemExit(0 if report.ok else 1)


if __name__ == "__main__":
    main()
