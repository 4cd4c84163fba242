"""Prefixed, time-sortable ids: ``run_01JD...``.

The prefix names the concept (``run``, ``attempt``, ``batch``, ``worker``,
``waitpoint``); the body is a ULID (48-bit milliseconds + 80 random bits in Crockford
base32), so ids sort by creation time and make stable pagination cursors.
"""

from __future__ import annotations

import os

_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
PREFIXES = frozenset({"run", "attempt", "batch", "worker", "waitpoint", "schedule"})


def new_id(prefix: str, now: float) -> str:
    """Return a new id like ``run_01JD3Q...`` for the time ``now`` (epoch seconds)."""
    if prefix not in PREFIXES:
        raise ValueError(f"unknown id prefix {prefix!r}")
    value = (int(now * 1000) << 80) | int.from_bytes(os.urandom(10), "big")
    chars = []
    for _ in range(26):
        chars.append(_ALPHABET[value & 31])
        value >>= 5
    return f"{prefix}_{''.join(reversed(chars))}"


def prefix_of(identifier: str) -> str:
    """The concept prefix of an id (``run`` for ``run_01...``)."""
    head, sep, _ = identifier.partition("_")
    return head if sep else ""
