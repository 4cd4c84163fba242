"""The lease channel of :class:`~switchyard.storage.sql.SqlStorage`: renewals and releases
on a connection of their own (see :class:`~switchyard.storage.base.LeaseChannel`)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from typing import Any

from switchyard.storage.base import LeaseChannel
from switchyard.storage.sql_hooks import Cursor


class SqlLeaseChannel(LeaseChannel):
    """Renew and release through ``tx``, a dialect's dedicated transaction factory."""

    def __init__(
        self,
        storage: Any,
        tx: Callable[[], AbstractContextManager[Cursor]],
        close: Callable[[], None] = lambda: None,
    ) -> None:
        self._storage = storage
        self._tx = tx
        self._close = close

    def renew(self, worker_id: str, now: float, lease_seconds: float) -> dict[str, str | None]:
        with self._tx() as cur:
            held: dict[str, str | None] = self._storage._renew(cur, worker_id, now, lease_seconds)
            return held

    def release(self, worker_id: str, run_ids: Sequence[str], now: float) -> int:
        if not run_ids:
            return 0
        with self._tx() as cur:
            released: int = self._storage._release(cur, worker_id, run_ids, now)
            return released

    def close(self) -> None:
        self._close()
