"""Which queued runs a claim takes: dequeue order, concurrency limits, fairness.

Rules, in order:

- nothing from a paused environment or a paused queue;
- never more running than a queue's limit; a concurrency key gives each key its own
  copy of the queue's limit (runs without a key share one more copy);
- never more running in the environment than its limit;
- never more started in a rate-limited queue's period than its rate limit (attempts
  started count; a run resuming from a wait does not);
- within a group of runs, ``order_key`` (``queued_at - priority``) then id;
- when runs with concurrency keys are queued, claims go round-robin across keys (and
  the runs without a key as one more group), so a tenant with a large backlog cannot
  starve one that triggered later.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

# How many times one claim re-reads the queue head after skipping runs whose queue
# filled up; bounds the work of a claim when many queues sit at their limit.
CLAIM_ROUNDS = 4
# Keys visited per claim; the next claim starts after the last one (rotation).
KEYS_PER_CLAIM = 256


@dataclass
class Capacity:
    """Room left per (queue, concurrency key) and in the environment."""

    limits: dict[str, int]
    running: dict[tuple[str, str | None], int]
    blocked: set[str]
    env_room: int | None
    rate_room: dict[str, int] = field(default_factory=dict)
    left: dict[tuple[str, str | None], int] = field(default_factory=dict)

    def take(self, row: Any) -> bool:
        """Reserve a slot for ``row`` if its queue (and key) and the environment have room."""
        if self.env_room is not None and self.env_room <= 0:
            return False
        queue = row["queue"]
        if queue in self.blocked or self.rate_room.get(queue, 1) <= 0:
            return False
        limit = self.limits.get(queue)
        if limit is not None:
            pair = (queue, row["concurrency_key"])
            room = self.left.setdefault(pair, limit - self.running.get(pair, 0))
            if room <= 0:
                return False
            self.left[pair] = room - 1
        if queue in self.rate_room:
            self.rate_room[queue] -= 1
        if self.env_room is not None:
            self.env_room -= 1
        return True

    def full_unkeyed_queues(self) -> set[str]:
        """Limited queues whose key-less copy is full (to skip them in SQL)."""
        return {queue for (queue, key), room in self.left.items() if key is None and room <= 0} | {
            queue
            for queue, limit in self.limits.items()
            if self.running.get((queue, None), 0) >= limit
        }


def read_capacity(cur: Any, q: dict[str, str], environment: str, now: float) -> Capacity | None:
    """The environment's room for more runs; None when the environment is paused."""
    params = {"environment": environment}
    cur.execute(q["environment_state"], params)
    env_row = cur.fetchone()
    if env_row is not None and env_row["paused"]:
        return None
    cur.execute(q["limited_queues"], params)
    limited = cur.fetchall()
    env_limit = None if env_row is None else env_row["concurrency_limit"]
    running: dict[tuple[str, str | None], int] = {}
    if limited or env_limit is not None:
        cur.execute(q["running_counts"], params)
        running = {(r["queue"], r["concurrency_key"]): r["running"] for r in cur.fetchall()}
    limits: dict[str, int] = {}
    blocked: set[str] = set()
    for row in limited:
        if row["paused"]:
            blocked.add(row["name"])
        elif row["effective_limit"] is not None:
            limits[row["name"]] = row["effective_limit"]
    rate_room: dict[str, int] = {}
    for row in limited:
        if row["rate_limit"] is not None and row["name"] not in blocked:
            cur.execute(
                q["starts_since"],
                {**params, "name": row["name"], "since": now - (row["rate_period"] or 60.0)},
            )
            rate_room[row["name"]] = row["rate_limit"] - cur.fetchone()["n"]
            if rate_room[row["name"]] <= 0:
                blocked.add(row["name"])
    env_room = None if env_limit is None else env_limit - sum(running.values())
    return Capacity(limits, running, blocked, env_room, rate_room)


def round_robin(groups: Sequence[Sequence[Any]]) -> Iterator[Any]:
    """One row of each group in turn; groups whose head is oldest go first."""
    ordered = sorted((g for g in groups if g), key=lambda g: (g[0]["order_key"], g[0]["id"]))
    iterators = [iter(g) for g in ordered]
    while iterators:
        alive = []
        for it in iterators:
            row = next(it, None)
            if row is not None:
                alive.append(it)
                yield row
        iterators = alive


def per_key(want: int, groups: int) -> int:
    """Rows to read from each group so round-robin can fill ``want`` slots."""
    return max(1, math.ceil(want / max(1, groups)))
