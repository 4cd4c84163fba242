"""Keeping a worker's leases, on threads of its own.

A run may execute on a worker only while that worker holds its lease. The keeper
renews every lease in one statement through a :class:`~switchyard.storage.base.LeaseChannel`
(its own connection, with network timeouts far below the lease), on its own thread: not
behind the worker's other database calls, and not on the event loop, which user code
can block.

A second thread, the watchdog, judges each run by the worker's own monotonic clock. A
run's lease is good until ``lease_seconds`` after the moment the last renewal that
covered it (or its claim) was *sent*; once less than a fifth of that is left without a
confirmed renewal, the run is stopped here, whatever the database does (answers late,
never answers, refuses connections). Other workers recover a run only once its lease
has lapsed in the database, so the run never executes in two places at once. If a
stopped attempt is still running when its lease runs out (a thread stuck in a C call,
an event loop blocked by the task itself), the keeper calls ``fail_stop``: in
``switchyard worker`` the process exits, the one way left to keep that promise.

The watchdog also pings the event loop and names the task that kept it from answering
for more than :data:`LOOP_BLOCKED_WARN` seconds.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass

from switchyard.core.clock import monotonic
from switchyard.storage.base import LeaseChannel

log = logging.getLogger("switchyard.worker")

STOP_AT = 0.8
"""Stop a run once this share of its lease has passed without a confirmed renewal."""
FAIL_STOP_AT = 0.95
"""Past this share, a stopped attempt that is still running makes the worker fail-stop."""
LOOP_BLOCKED_WARN = 0.5
"""Seconds the event loop may go without answering before the keeper names the culprit."""


@dataclass
class _Lease:
    attempt_id: str
    since: float  # monotonic time the claim was sent
    deadline: float  # monotonic time the lease lapses unless a renewal is confirmed
    stopped: bool = False


class LeaseKeeper:
    """Renews a worker's leases and stops runs whose lease it cannot prove.

    ``stop(run_id, attempt_id, why)`` and ``fail_stop(run_id)`` are called from the
    keeper's threads; ``waiting(run_id)`` says whether a run is suspending (WAITING in
    storage, about to be parked), which needs no lease. ``describe(task)`` names the
    asyncio task that blocked the loop.
    """

    def __init__(
        self,
        channel: LeaseChannel,
        worker_id: str,
        lease_seconds: float,
        now: Callable[[], float],
        *,
        stop: Callable[[str, str, str], None],
        fail_stop: Callable[[str], None],
        waiting: Callable[[str], bool],
        loop: asyncio.AbstractEventLoop,
        describe: Callable[[asyncio.Task[object] | None], str],
    ) -> None:
        self._channel = channel
        self._worker_id = worker_id
        self.lease_seconds = lease_seconds
        self._now = now
        self._stop = stop
        self._fail_stop = fail_stop
        self._waiting = waiting
        self._loop = loop
        self._describe = describe
        self.every = min(lease_seconds / 3, 2.0)
        self._lock = threading.Lock()
        self._leases: dict[str, _Lease] = {}
        self._release: dict[str, str] = {}  # stopped here, attempt over: hand back
        self._closing = threading.Event()
        self._ping: float | None = None  # when the loop was last asked to answer
        self._blocker: str | None = None
        self.renewed = 0
        self.last_renewal: float | None = None
        self._threads = [
            threading.Thread(target=self._renew_loop, name="switchyard-lease", daemon=True),
            threading.Thread(target=self._watch_loop, name="switchyard-watchdog", daemon=True),
        ]

    # -- called on the event loop ----------------------------------------------------------
    def hold(self, run_id: str, attempt_id: str, since: float) -> None:
        """The worker claimed (or resumed) ``run_id``; the claim was sent at ``since``."""
        with self._lock:
            self._leases[run_id] = _Lease(attempt_id, since, since + self.lease_seconds)
            self._release.pop(run_id, None)

    def abandon(self, run_id: str, attempt_id: str) -> None:
        """A claim came back too late to run safely: hand it back at the next renewal
        that shows it still held here (or let its lease lapse)."""
        with self._lock:
            self._release[run_id] = attempt_id

    def drop(self, run_id: str, attempt_id: str) -> None:
        """The attempt is over here (finished, stopped or parked as WAITING)."""
        with self._lock:
            lease = self._leases.get(run_id)
            if lease is None or lease.attempt_id != attempt_id:
                return
            del self._leases[run_id]
            if lease.stopped:
                self._release[run_id] = attempt_id

    def start(self) -> None:
        """Start the renewal and watchdog threads."""
        for thread in self._threads:
            thread.start()

    def close(self) -> None:
        """Stop both threads and close the channel."""
        self._closing.set()
        for thread in self._threads:
            if thread.is_alive():
                thread.join(timeout=self.lease_seconds + 5)
        self._channel.close()

    # -- renewal thread ----------------------------------------------------------------------
    def _renew_loop(self) -> None:
        failures = 0
        while not self._closing.is_set():
            sent = monotonic()
            try:
                held = self._channel.renew(self._worker_id, self._now(), self.lease_seconds)
                self._renewed(sent, held)
                failures = 0
            except Exception as exc:
                failures += 1
                if failures == 1 or failures % 10 == 0:
                    log.warning(
                        "lease renewal failed (%d in a row): %s: %s",
                        failures,
                        type(exc).__name__,
                        exc,
                    )
            self._closing.wait(max(0.0, sent + self.every - monotonic()))

    def _renewed(self, sent: float, held: dict[str, str | None]) -> None:
        lost: list[tuple[str, str]] = []
        with self._lock:
            self.renewed += 1
            self.last_renewal = sent
            for run_id, lease in self._leases.items():
                if lease.since > sent or lease.stopped:
                    continue  # claimed after the renewal was sent: not in `held` yet
                if held.get(run_id) == lease.attempt_id:
                    lease.deadline = max(lease.deadline, sent + self.lease_seconds)
                elif not self._waiting(run_id):
                    lease.stopped = True
                    lost.append((run_id, lease.attempt_id))
            release = {r: a for r, a in self._release.items() if held.get(r) == a}
            self._release.clear()
        for run_id, attempt_id in lost:
            self._stop(run_id, attempt_id, "it was canceled or its lease was lost")
        if release:
            released = self._channel.release(self._worker_id, list(release), self._now())
            log.info("handed %d stopped runs back to their queues", released)

    # -- watchdog thread ---------------------------------------------------------------------
    def _watch_loop(self) -> None:
        tick = min(0.05, self.lease_seconds / 40)
        while not self._closing.wait(tick):
            self._judge(monotonic())
            self._check_loop(monotonic())

    def _judge(self, now: float) -> None:
        stop: list[tuple[str, str]] = []
        fail: list[str] = []
        with self._lock:
            for run_id, lease in self._leases.items():
                start = lease.deadline - self.lease_seconds
                if now < start + self.lease_seconds * STOP_AT or self._waiting(run_id):
                    continue
                if not lease.stopped:
                    lease.stopped = True
                    stop.append((run_id, lease.attempt_id))
                elif now >= start + self.lease_seconds * FAIL_STOP_AT:
                    fail.append(run_id)
        for run_id, attempt_id in stop:
            unconfirmed = now - (self.last_renewal or 0.0)
            self._stop(
                run_id,
                attempt_id,
                f"no lease renewal confirmed for {unconfirmed:.1f}s "
                f"(lease {self.lease_seconds:g}s): another worker may take it over",
            )
        for run_id in fail:
            self._fail_stop(run_id)

    def _check_loop(self, now: float) -> None:
        if self._ping is None:
            self._ping = now
            try:
                self._loop.call_soon_threadsafe(self._pong)
            except RuntimeError:  # the loop is closed: the worker is gone
                self._closing.set()
            return
        if self._blocker is None and now - self._ping > LOOP_BLOCKED_WARN:
            self._blocker = self._describe(asyncio.current_task(self._loop))
            log.warning(
                "%s is blocking the event loop (%.1fs so far): no other async run on this "
                "worker makes progress meanwhile; make it `def` or await "
                "asyncio.to_thread(...) for blocking calls",
                self._blocker,
                now - self._ping,
            )

    def _pong(self) -> None:
        if self._ping is None:
            return
        if self._blocker is not None:
            log.warning(
                "%s blocked the event loop for %.1fs", self._blocker, monotonic() - self._ping
            )
        self._blocker = None
        self._ping = None
