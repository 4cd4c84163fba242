"""Recovery: the time-driven upkeep every worker runs.

Promote delayed runs, complete due waits and time out tokens, expire runs past their
TTL, recover runs whose lease lapsed.

Each step is one idempotent transaction, so any number of workers may run it at once.
"""

from __future__ import annotations

from dataclasses import dataclass

from switchyard.engine.base import EngineBase
from switchyard.engine.hooks import RecoverEvent
from switchyard.storage.base import Storage


@dataclass(frozen=True, slots=True)
class TickReport:
    """What one maintenance tick changed."""

    promoted: int
    waitpoints: int
    expired: int
    recovered: list[str]

    @property
    def changed(self) -> bool:
        """True when the tick moved any run."""
        return bool(self.promoted or self.waitpoints or self.expired or self.recovered)


def upkeep(storage: Storage, now: float) -> TickReport:
    """Run every upkeep step once at time ``now``."""
    return TickReport(
        promoted=storage.promote_delayed(now),
        waitpoints=storage.complete_due_waitpoints(now),
        expired=storage.expire(now),
        recovered=storage.recover_lapsed(now),
    )


class Recovery(EngineBase):
    """One round of upkeep, reported to the hooks."""

    def tick(self) -> TickReport:
        """One round of time-driven upkeep."""
        now = self.now()
        report = upkeep(self.storage, now)
        listeners = self.hooks.listeners("after_recover")
        if listeners and report.changed:
            event = RecoverEvent(
                report.recovered, report.expired, report.promoted, report.waitpoints, now
            )
            self.hooks.call("after_recover", listeners, event)
        return report
