"""End to end: real ``switchyard worker`` processes, killed and stopped for real.

Workers run ``tests.e2e.e2e_tasks`` in child processes; the test process triggers runs,
reads them back from the database, and reads what every attempt recorded (start and end
times on the system-wide monotonic clock, per worker pid) to check that each run
completed exactly once and never executed on two workers at once.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import pytest

import switchyard as sy
from switchyard.core.models import Attempt, Run
from switchyard.runtime import Runtime, configure, reset_runtime
from tests.conftest import make_config
from tests.e2e.e2e_tasks import e2e_limited, e2e_record, e2e_record_sync

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]
APP = "tests.e2e.e2e_tasks"
LEASE = 3.0  # the watchdog stops runs at 80 % of an unconfirmed lease: room for a loaded CI
T = TypeVar("T")

COMPLETED = sy.AttemptStatus.COMPLETED
CRASHED = sy.AttemptStatus.CRASHED
RELEASED = sy.AttemptStatus.RELEASED


# -- helpers ---------------------------------------------------------------------------------
def wait_until(check: Callable[[], T], what: str, timeout: float = 30.0) -> T:
    """Poll ``check`` until it returns something truthy; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g}s waiting for {what}")
        time.sleep(0.02)


@dataclass
class WorkerProcess:
    """One ``switchyard worker`` child process; its stdout and stderr go to ``log``."""

    name: str
    proc: subprocess.Popen[bytes]
    log: Path
    exited_at: float | None = None

    @property
    def pid(self) -> int:
        return self.proc.pid

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def is_started(self) -> bool:
        if self.proc.poll() is not None:
            raise AssertionError(
                f"worker {self.name} exited with {self.proc.returncode} before it started:\n"
                + self.output()
            )
        return " started: " in self.output()

    def kill9(self) -> float:
        """SIGKILL and reap; return the monotonic time at which it was surely dead."""
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)
        self.exited_at = time.monotonic()
        return self.exited_at

    def terminate(self, timeout: float = 30.0) -> int:
        """SIGTERM and wait for a graceful exit; return the exit code."""
        self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(
                f"worker {self.name} did not exit within {timeout:g}s of SIGTERM:\n" + self.output()
            ) from None
        self.exited_at = time.monotonic()
        return code


@dataclass
class Workers:
    """Starts worker processes for one test and kills whatever is left at the end."""

    tmp_path: Path
    url: str = ""
    procs: list[WorkerProcess] = field(default_factory=list)

    def start(
        self,
        name: str,
        *,
        concurrency: int = 4,
        lease: float | None = LEASE,
        config: Path | None = None,
        wait: bool = True,
        url: str | None = None,
        extra: tuple[str, ...] = (),
    ) -> WorkerProcess:
        """Start ``switchyard worker`` on ``url`` (default: the test's database)."""
        url = url or self.url
        cmd = [sys.executable, "-m", "switchyard", "--database-url", url, "--app", APP]
        if config is not None:
            cmd += ["--config", str(config)]
        cmd += ["worker", "--concurrency", str(concurrency)]
        if lease is not None:
            cmd += ["--lease", str(lease)]
        cmd += extra
        env = {k: v for k, v in os.environ.items() if not k.startswith("SWITCHYARD_")}
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
        env["PYTHONUNBUFFERED"] = "1"
        log = self.tmp_path / f"worker-{name}.log"
        with log.open("wb") as out:
            proc = subprocess.Popen(
                cmd, cwd=REPO, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=out
            )
        worker = WorkerProcess(name, proc, log)
        self.procs.append(worker)
        if wait:
            wait_until(worker.is_started, f"worker {name} to start", timeout=30)
        return worker

    def close(self) -> None:
        for w in self.procs:
            if w.proc.poll() is None:
                w.proc.kill()
            try:
                w.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:  # pragma: no cover - a stuck child
                print(f"worker {w.name} (pid {w.pid}) did not die")
        for w in self.procs:  # shown by pytest only when the test fails
            print(f"----- worker {w.name} (pid {w.pid}, exit {w.proc.returncode}) -----")
            print(w.output())


@pytest.fixture
def workers(tmp_path: Path) -> Iterator[Workers]:
    group = Workers(tmp_path)
    try:
        yield group
    finally:
        group.close()


@pytest.fixture
def records_dir(tmp_path: Path) -> Path:
    path = tmp_path / "records"
    path.mkdir()
    return path


def connect(url: str, workers: Workers) -> Runtime:
    """Point this process's SDK at ``url`` (reset by the ``sdk`` fixture)."""
    workers.url = url
    return configure(make_config(url))


@pytest.fixture
def sdk() -> Iterator[None]:
    try:
        yield
    finally:
        reset_runtime()


def read_records(folder: Path) -> list[dict[str, Any]]:
    """Every line the attempts wrote, from every worker (a torn last line is skipped)."""
    lines = []
    for path in sorted(folder.glob("*.jsonl")):
        for text in path.read_text().splitlines():
            with contextlib.suppress(json.JSONDecodeError):
                lines.append(json.loads(text))
    return lines


@dataclass
class Interval:
    """One attempt as the task saw it: start and (unless it was killed) end."""

    run: str
    attempt: int
    pid: int
    worker: str
    start: float
    end: float | None = None


def intervals(folder: Path) -> dict[tuple[str, int], Interval]:
    """The recorded attempts keyed by (run id, attempt number)."""
    found: dict[tuple[str, int], Interval] = {}
    for line in read_records(folder):
        key = (line["run"], line["attempt"])
        if line["event"] == "start":
            assert key not in found, f"attempt {key} started twice"
            found[key] = Interval(key[0], key[1], line["pid"], line["worker"], line["t"])
        else:
            assert key in found and found[key].end is None, f"bad end record {line}"
            found[key].end = line["t"]
    return found


def max_overlap(spans: list[tuple[float, float]]) -> int:
    """The most spans open at any one instant (an end at t comes before a start at t)."""
    events = sorted([(s, 1) for s, _ in spans] + [(e, -1) for _, e in spans])
    most = current = 0
    for _, delta in events:
        current += delta
        most = max(most, current)
    return most


def poll_all(runs: list[str], timeout: float) -> list[Run]:
    deadline = time.monotonic() + timeout
    return [sy.runs.poll_sync(r, timeout=max(0.1, deadline - time.monotonic())) for r in runs]


def check_completed_once(
    runtime: Runtime,
    run: Run,
    spans: dict[tuple[str, int], Interval],
    killed: WorkerProcess | None,
) -> list[Attempt]:
    """The run completed exactly once and its attempts never overlapped in time.

    Every attempt but the last crashed on the killed worker: it was claimed and then
    either never got to start the task, was cut short, or finished the work but died
    before its outcome was written (at least once). Either way the next attempt must
    start only after that process was gone.
    """
    assert run.status == sy.RunStatus.COMPLETED, run
    attempts = runtime.engine.list_attempts(run.id)
    statuses = [a.status for a in attempts]
    assert statuses.count(COMPLETED) == 1, (run.id, statuses)
    assert statuses[-1] == COMPLETED, (run.id, statuses)
    assert [a.number for a in attempts] == list(range(1, len(attempts) + 1))
    mine = [spans.get((run.id, a.number)) for a in attempts]
    done = mine[-1]
    assert done is not None and done.end is not None, (run.id, statuses, mine)
    assert attempts[-1].worker_id == done.worker
    assert run.output == {"pid": done.pid, "attempt": done.attempt}
    if len(attempts) == 1:
        return attempts
    assert killed is not None and killed.exited_at is not None
    killed_ids = {s.worker for s in spans.values() if s.pid == killed.pid}
    for attempt, span in zip(attempts[:-1], mine[:-1], strict=True):
        assert attempt.status == CRASHED and attempt.worker_id in killed_ids, (run.id, attempt)
        assert span is None or span.pid == killed.pid, (run.id, attempt, span)
    for span in mine[1:]:
        assert span is not None and span.start > killed.exited_at, (mine, killed.exited_at)
    return attempts


# -- kill -9 ---------------------------------------------------------------------------------
def test_kill_9_mid_run_completes_once_on_the_other_worker(
    database_url: str, workers: Workers, records_dir: Path, sdk: None
) -> None:
    runtime = connect(database_url, workers)
    a = workers.start("a")
    handle = e2e_record.trigger_sync({"dir": str(records_dir), "first_sleep": 60, "sleep": 0.2})

    started = wait_until(lambda: intervals(records_dir).get((handle.id, 1)), "attempt 1 to start")
    assert started.pid == a.pid
    run = sy.runs.retrieve_sync(handle)
    assert run.status == sy.RunStatus.EXECUTING and run.worker_id == started.worker

    b = workers.start("b")
    killed_at = a.kill9()
    run = sy.runs.poll_sync(handle, timeout=30)

    attempts = check_completed_once(runtime, run, intervals(records_dir), killed=a)
    assert [x.status for x in attempts] == [CRASHED, COMPLETED]
    assert attempts[0].error is not None and attempts[0].error["type"] == "WorkerLost"
    spans = intervals(records_dir)
    first, second = spans[(handle.id, 1)], spans[(handle.id, 2)]
    assert (first.pid, first.end) == (a.pid, None)
    assert second.pid == b.pid and second.end is not None
    assert second.start > killed_at
    assert run.output == {"pid": b.pid, "attempt": 2}
    assert len(spans) == 2


def test_kill_9_with_many_runs_each_completes_exactly_once(
    database_url: str, workers: Workers, records_dir: Path, sdk: None
) -> None:
    runtime = connect(database_url, workers)
    a = workers.start("a", concurrency=4)
    b = workers.start("b", concurrency=4)
    batch = e2e_record.batch_trigger_sync([{"dir": str(records_dir), "sleep": 0.4}] * 30)
    ids = [h.id for h in batch.runs]

    def midway() -> bool:
        spans = intervals(records_dir).values()
        finished = sum(1 for s in spans if s.end is not None)
        a_busy = any(s.pid == a.pid and s.end is None for s in spans)
        return finished >= 8 and a_busy

    wait_until(midway, "8 runs to finish while worker a is busy")
    a.kill9()
    runs = poll_all(ids, timeout=60)

    spans = intervals(records_dir)
    crashed = 0
    for run in runs:
        attempts = check_completed_once(runtime, run, spans, killed=a)
        crashed += len(attempts) - 1
        # side effects: one per run, except work whose outcome died with worker a
        ends = [s for s in spans.values() if s.run == run.id and s.end is not None]
        lost = [s for s in ends if s.attempt != attempts[-1].number]
        assert len(ends) - len(lost) == 1
        assert all(s.pid == a.pid for s in lost), lost
    assert crashed >= 1, "worker a was killed holding no run"
    assert {s.pid for s in spans.values()} == {a.pid, b.pid}
    # after the kill only worker b started attempts
    late = [s for s in spans.values() if a.exited_at and s.start > a.exited_at]
    assert late and {s.pid for s in late} == {b.pid}


# -- graceful shutdown -----------------------------------------------------------------------
def write_config(tmp_path: Path, url: str, grace: float) -> Path:
    path = tmp_path / "e2e_config.py"
    path.write_text(
        "from switchyard import define_config\n\n"
        f"config = define_config(database_url={url!r}, app=[{APP!r}], "
        f'worker={{"shutdown_grace": {grace!r}, "lease_seconds": 2}})\n'
    )
    return path


def test_sigterm_lets_a_short_run_finish_and_exits_0(
    database_url: str, workers: Workers, records_dir: Path, sdk: None
) -> None:
    runtime = connect(database_url, workers)
    a = workers.start("a")
    handle = e2e_record.trigger_sync({"dir": str(records_dir), "sleep": 1.0})
    wait_until(lambda: intervals(records_dir).get((handle.id, 1)), "the run to start")

    assert a.terminate() == 0
    run = sy.runs.retrieve_sync(handle)  # final before the process exited
    assert run.status == sy.RunStatus.COMPLETED
    assert [x.status for x in runtime.engine.list_attempts(handle.id)] == [COMPLETED]
    span = intervals(records_dir)[(handle.id, 1)]
    assert span.pid == a.pid and span.end is not None
    assert a.exited_at is not None and span.end < a.exited_at


@pytest.mark.parametrize("task", [e2e_record, e2e_record_sync], ids=["async", "sync"])
def test_sigterm_hands_back_a_run_longer_than_the_grace(
    database_url: str, workers: Workers, records_dir: Path, sdk: None, task: sy.Task[Any]
) -> None:
    runtime = connect(database_url, workers)
    config = write_config(workers.tmp_path, database_url, grace=1)
    a = workers.start("a", lease=None, config=config)
    handle = task.trigger_sync({"dir": str(records_dir), "first_sleep": 60, "sleep": 0.2})
    wait_until(lambda: intervals(records_dir).get((handle.id, 1)), "the run to start")

    signaled = time.monotonic()
    assert a.terminate() == 0
    assert a.exited_at is not None
    assert a.exited_at - signaled >= 1.0  # it waited out the grace period first
    run = sy.runs.retrieve_sync(handle)
    assert run.status == sy.RunStatus.QUEUED and run.worker_id is None
    assert [x.status for x in runtime.engine.list_attempts(handle.id)] == [RELEASED]
    assert intervals(records_dir)[(handle.id, 1)].end is None  # interrupted, not finished

    b = workers.start("b", lease=None, config=config)
    run = sy.runs.poll_sync(handle, timeout=30)
    assert run.status == sy.RunStatus.COMPLETED
    assert run.output == {"pid": b.pid, "attempt": 2}
    attempts = runtime.engine.list_attempts(handle.id)
    assert [x.status for x in attempts] == [RELEASED, COMPLETED]
    spans = intervals(records_dir)
    assert spans[(handle.id, 1)].end is None  # the stopped attempt never resumed
    assert spans[(handle.id, 2)].pid == b.pid
    assert spans[(handle.id, 2)].start > a.exited_at


# -- queue concurrency across processes ------------------------------------------------------
def test_queue_limit_holds_across_worker_processes(
    database_url: str, workers: Workers, records_dir: Path, sdk: None
) -> None:
    runtime = connect(database_url, workers)
    workers.start("a", concurrency=5)
    workers.start("b", concurrency=5)
    batch = e2e_limited.batch_trigger_sync([{"dir": str(records_dir), "sleep": 0.3}] * 12)
    runs = poll_all([h.id for h in batch.runs], timeout=60)

    assert [r.status for r in runs] == [sy.RunStatus.COMPLETED] * 12
    spans = intervals(records_dir)
    assert sorted(r for r, _ in spans) == sorted(r.id for r in runs)  # one attempt each
    assert all(s.end is not None for s in spans.values())
    most = max_overlap([(s.start, s.end) for s in spans.values() if s.end is not None])
    assert most == 2, f"{most} runs of a queue limited to 2 executed at once"
    [info] = [q for q in runtime.engine.list_queues() if q.name == "e2e-limited"]
    assert info.concurrency_limit == 2


def test_max_overlap_counts_open_spans() -> None:
    assert max_overlap([(0, 1), (1, 2), (2, 3)]) == 1
    assert max_overlap([(0, 3), (1, 2), (1.5, 4), (3, 5)]) == 3


# -- wake-ups ------------------------------------------------------------------------------------
def test_idle_worker_starts_new_runs_quickly_on_postgres(
    pg_url: str, workers: Workers, records_dir: Path, sdk: None
) -> None:
    connect(pg_url, workers)
    workers.start("a")
    payload = {"dir": str(records_dir), "sleep": 0}
    # Warm up: the worker's LISTEN connection is open once it has run something.
    sy.runs.poll_sync(e2e_record.trigger_sync(payload), timeout=30)
    delays = []
    for _ in range(5):
        run = sy.runs.poll_sync(e2e_record.trigger_sync(payload), timeout=30)
        assert run.status == sy.RunStatus.COMPLETED and run.started_at is not None
        delays.append(run.started_at - run.created_at)
    # Without NOTIFY an idle worker looks again only every second.
    assert max(delays) < 0.5, delays
    assert sum(d < 0.25 for d in delays) >= 3, delays
