"""What every SQL mixin of :class:`~switchyard.storage.sql.SqlStorage` stands on: the
dialect's named statements, its cursors and transactions, list parameters, wake-ups."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager
from typing import Any, Protocol


class Cursor(Protocol):
    """The part of a DB-API cursor the operations use (sqlite3 and psycopg agree)."""

    @property
    def rowcount(self) -> int: ...

    def execute(self, sql: str, params: Mapping[str, Any] = ..., /) -> Any: ...

    def executemany(self, sql: str, params: Sequence[Mapping[str, Any]], /) -> Any: ...

    def fetchone(self) -> Any: ...

    def fetchall(self) -> list[Any]: ...


class SqlHooks(ABC):
    """The dialect hooks; a dialect's storage class provides the abstract ones."""

    q: dict[str, str]
    """The dialect's statements by name (``-- name:`` sections of the .sql files)."""

    @abstractmethod
    def _tx(self) -> AbstractContextManager[Cursor]:
        """A cursor inside a write transaction, committed on normal exit."""

    def _read(self) -> AbstractContextManager[Cursor]:
        """A cursor for reads; by default a transaction as well."""
        return self._tx()

    def _is_data_error(self, exc: Exception) -> bool:
        """Whether the database refused the values written (not the connection failing):
        the same write would fail again, so it must not be retried as it is."""
        return isinstance(exc, (UnicodeError, ValueError, TypeError))

    @abstractmethod
    def _list_param(self, values: Sequence[str] | None) -> Any:
        """Encode a list parameter for the dialect's list statements."""

    def _notify(self, cur: Cursor, environments: set[str]) -> None:  # noqa: B027
        """Tell listening workers that runs may be claimable (dialects with NOTIFY);
        a dialect without NOTIFY keeps this no-op: its workers poll."""
