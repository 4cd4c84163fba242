"""PostgreSQL storage: the distributed engine shared by every server and worker."""

from switchyard.storage.postgres.store import PostgresStorage

__all__ = ["PostgresStorage"]
