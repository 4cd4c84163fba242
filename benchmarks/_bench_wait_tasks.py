"""The task module the waits benchmark's worker processes import (``--app``).

Two tasks that do nothing but wait, so the benchmark measures switchyard's waits:

- ``napper`` waits ``seconds`` with ``wait.for_`` (a durable duration wait);
- ``token-waiter`` waits on a token the benchmark created and returns the wall-clock
  time it resumed, which the benchmark compares with when its callback POST returned.
"""

from __future__ import annotations

import time
from typing import Any

from switchyard import task, wait


@task(id="napper")
async def napper(payload: dict[str, Any]) -> None:
    """Wait ``payload["seconds"]``, durably."""
    await wait.for_(seconds=payload["seconds"])


@task(id="token-waiter")
async def token_waiter(payload: dict[str, Any]) -> dict[str, float]:
    """Wait for the token ``payload["token"]``; return when the run resumed."""
    await wait.for_token(payload["token"])
    return {"resumed_at": time.time()}
