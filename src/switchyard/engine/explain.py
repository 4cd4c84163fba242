"""Why a run is not running: the answer to the question everyone asks first."""

from __future__ import annotations

from dataclasses import dataclass

from switchyard.core.models import Run
from switchyard.core.states import RunStatus
from switchyard.storage.base import Storage

# A worker that has not renewed for this long is not counted as serving its tasks.
_WORKER_STALE = 120.0


@dataclass(frozen=True, slots=True)
class Reason:
    """One reason, as a code for programs and a sentence for people."""

    code: str
    message: str


def explain(storage: Storage, run: Run, now: float) -> list[Reason]:
    """Every reason ``run`` is not executing now (empty when it is executing)."""
    env = run.environment
    if run.status == RunStatus.EXECUTING:
        return []
    if run.is_final:
        return [Reason("finished", f"the run finished: {run.status}")]
    if run.status == RunStatus.DELAYED:
        when = "" if run.delay_until is None else f" in {max(0.0, run.delay_until - now):.0f}s"
        what = "a retry after backoff" if run.attempt_count else "its delay"
        return [Reason("delayed", f"waiting for {what}; queued{when}")]
    if run.status == RunStatus.WAITING:
        waits = storage.blocking_waitpoints(run.id)
        names = ", ".join(f"{w.kind} {w.id}" for w in waits) or "its waitpoints"
        return [Reason("waiting", f"waiting on {names}")]
    reasons: list[Reason] = []
    info = storage.environment_info(env)
    if info.paused:
        reasons.append(Reason("environment_paused", f"environment {env!r} is paused"))
    elif info.concurrency_limit is not None and info.running >= info.concurrency_limit:
        reasons.append(
            Reason(
                "environment_limit",
                f"environment {env!r} runs {info.running} of its limit {info.concurrency_limit}",
            )
        )
    stats = storage.queue_stats(env, run.queue, now)
    if stats is not None:
        if stats.paused:
            reasons.append(Reason("queue_paused", f"queue {run.queue!r} is paused"))
        elif stats.rate_limit is not None and stats.rate_used >= stats.rate_limit:
            reasons.append(
                Reason(
                    "rate_limited",
                    f"queue {run.queue!r} started {stats.rate_used} runs in the last "
                    f"{stats.rate_period or 60:g}s, its rate limit is {stats.rate_limit}",
                )
            )
        elif stats.concurrency_limit is not None and stats.running >= stats.concurrency_limit:
            key = f" (key {run.concurrency_key!r} counts separately)" if run.concurrency_key else ""
            reasons.append(
                Reason(
                    "queue_limit",
                    f"queue {run.queue!r} runs {stats.running} of its limit "
                    f"{stats.concurrency_limit}{key}",
                )
            )
    serving = [
        w
        for w in info.workers
        if run.task_id in w.task_ids and now - w.heartbeat_at < _WORKER_STALE
    ]
    if not serving:
        reasons.append(
            Reason(
                "no_worker",
                f"no live worker runs task {run.task_id!r}: start one that imports it",
            )
        )
    if not reasons:
        ahead = "" if stats is None else f" ({stats.queued} queued in {run.queue!r})"
        reasons.append(Reason("queued", f"queued, in order of queue time and priority{ahead}"))
    return reasons
