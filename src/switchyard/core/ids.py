"""Prefixed, time-sortable ids: ``run_01JD...``.

The prefix names the concept (``run``, ``attempt``, ``batch``, ``worker``,
``waitpoint``); the body is a ULID (48-bit milliseconds + 80 random bits in Crockford
base32), so ids sort by creation time and make stable pagination cursors. Within one
process ids are monotonic: two made in the same millisecond (or with a clock that
stood still) differ by one in the random part, so they still sort in creation order.
"""

from __future__ import annotations

import os
import threading

_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
PREFIXES = frozenset({"run", "attempt", "batch", "worker", "waitpoint", "schedule"})
_RANDOM_MAX = (1 << 80) - 1
_lock = threading.Lock()
_last: dict[str, tuple[int, int]] = {}


def new_id(prefix: str, now: float) -> str:
    """Return a new id like ``run_01JD3Q...`` for the time ``now`` (epoch seconds)."""
    if prefix not in PREFIXES:
        raise ValueError(f"unknown id prefix {prefix!r}")
    millis = int(now * 1000)
    random = int.from_bytes(os.urandom(10), "big")
    with _lock:
        last_millis, last_random = _last.get(prefix, (-1, 0))
        if millis <= last_millis and last_random < _RANDOM_MAX:
            millis, random = last_millis, last_random + 1
        _last[prefix] = (millis, random)
    value = (millis << 80) | random
    chars = []
    for _ in range(26):
        chars.append(_ALPHABET[value & 31])
        value >>= 5
    return f"{prefix}_{''.join(reversed(chars))}"


def prefix_of(identifier: str) -> str:
    """The concept prefix of an id (``run`` for ``run_01...``)."""
    head, sep, _ = identifier.partition("_")
    return head if sep else ""
