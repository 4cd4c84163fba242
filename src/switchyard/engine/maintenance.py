"""Time-driven upkeep every worker runs: promote delayed runs, expire, recover lapsed leases.

Each step is one idempotent transaction, so any number of workers may run it at once.
"""

from __future__ import annotations

from dataclasses import dataclass

from switchyard.storage.base import Storage


@dataclass(frozen=True, slots=True)
class TickReport:
    """What one maintenance tick changed."""

    promoted: int
    expired: int
    recovered: list[str]

    @property
    def changed(self) -> bool:
        """True when the tick moved any run."""
        return bool(self.promoted or self.expired or self.recovered)


def tick(storage: Storage, now: float) -> TickReport:
    """Run every upkeep step once at time ``now``."""
    return TickReport(
        promoted=storage.promote_delayed(now),
        expired=storage.expire(now),
        recovered=storage.recover_lapsed(now),
    )
