"""Storage backends behind one interface; :func:`open_storage` picks one from a URL."""

from __future__ import annotations

import re

from switchyard.core.errors import ConfigError
from switchyard.storage.base import Notifier, Storage

__all__ = ["Notifier", "Storage", "open_storage", "redacted_url", "sqlite_path"]

_URL_PASSWORD = re.compile(r"^([a-z][a-z0-9+.-]*://[^:/@?#]*):[^@/?#]*@", re.IGNORECASE)
_QUERY_PASSWORD = re.compile(r"([?&]password=)[^&#]*", re.IGNORECASE)


def redacted_url(url: str) -> str:
    """``url`` fit to print or log: its password (in the user part, or a libpq
    ``?password=``) replaced by ``***``, as in ``postgresql://user:***@host/db``."""
    return _QUERY_PASSWORD.sub(r"\1***", _URL_PASSWORD.sub(r"\1:***@", url))


def sqlite_path(url: str) -> str:
    """The file path in ``sqlite:///relative.db`` or ``sqlite:////absolute.db``."""
    path = url[len("sqlite:///") :]
    if not path:
        raise ConfigError(f"database URL {url!r} names no file: use sqlite:///path/to/file.db")
    return path


def open_storage(url: str) -> Storage:
    """Open the storage a database URL names (``sqlite:///…`` or ``postgresql://…``)."""
    if url.startswith("sqlite:///"):
        from switchyard.storage.sqlite import SqliteStorage

        return SqliteStorage(sqlite_path(url))
    if url.startswith(("postgresql://", "postgres://")):
        from switchyard.storage.postgres import PostgresStorage

        return PostgresStorage(url)
    raise ConfigError(
        f"unsupported database URL {redacted_url(url)!r}: use sqlite:///path/to/file.db or "
        "postgresql://user@host:5432/dbname"
    )
