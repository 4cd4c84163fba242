"""The task module the throughput benchmark's worker processes import (``--app``).

One no-op task: the benchmark measures switchyard's own overhead, not task work.
"""

from __future__ import annotations

from typing import Any

from switchyard import task


@task(id="noop")
async def noop(payload: Any) -> None:
    """Do nothing."""
    return None
