"""SQLite storage: one file, WAL, the default for ``switchyard dev``."""

from switchyard.storage.sqlite.store import SqliteStorage

__all__ = ["SqliteStorage"]
