"""Access: the per-database secrets, API keys, and the HTTP requests an
``Idempotency-Key`` reserved (the server's and the CLI's way to the
:class:`~switchyard.storage.ports.access.AccessStore`)."""

from __future__ import annotations

from switchyard.core.api_keys import ApiKey, StoredRequest
from switchyard.engine.base import EngineBase


class Access(EngineBase):
    """Secrets, API keys and Idempotency-Key request records."""

    # -- secrets --------------------------------------------------------------------
    def secret(self, name: str) -> str:
        """The random per-database secret ``name`` (made on first use): it signs public
        tokens, dashboard sessions, callback URLs."""
        return self.storage.secret(name)

    # -- API keys ---------------------------------------------------------------------
    def create_api_key(self, key: ApiKey) -> None:
        """Store a new API key (its hash and prefix, never the key)."""
        self.storage.create_api_key(key)

    def list_api_keys(self, *, all_environments: bool = False) -> list[ApiKey]:
        """The environment's keys (every environment's with ``all_environments``),
        oldest first."""
        return self.storage.list_api_keys(None if all_environments else self.environment)

    def find_api_key(self, key_hash: str) -> ApiKey | None:
        """The key with this hash, in any environment, revoked or not; or None."""
        return self.storage.find_api_key(key_hash)

    def touch_api_key(self, key_id: str) -> None:
        """Record that a key was used, now."""
        self.storage.touch_api_key(key_id, self.now())

    def revoke_api_key(self, key_id: str) -> ApiKey | None:
        """Revoke a key now; returns it, or None if there is no such key."""
        return self.storage.revoke_api_key(key_id, self.now())

    # -- Idempotency-Key requests -------------------------------------------------------
    def begin_request(
        self, key: str, request_hash: str, now: float, ttl: float, stale_after: float
    ) -> StoredRequest | None:
        """Reserve ``key`` in the environment for a request (None), or return what is
        stored under it. ``now`` is the reservation's time, its ``reserved_at`` (see
        :meth:`AccessStore.begin_request`)."""
        return self.storage.begin_request(
            self.environment, key, request_hash, now, ttl, stale_after
        )

    def finish_request(
        self, key: str, reserved_at: float, status: int, response: str, now: float, ttl: float
    ) -> bool:
        """Store the response of the reservation made at ``reserved_at``; False if a
        retry took the key over meanwhile."""
        return self.storage.finish_request(
            self.environment, key, reserved_at, status, response, now, ttl
        )

    def release_request(self, key: str, reserved_at: float) -> None:
        """Drop the reservation made at ``reserved_at`` of a request that failed."""
        self.storage.release_request(self.environment, key, reserved_at)

    def purge_requests(self, now: float) -> int:
        """Delete expired request records (every environment's); returns how many."""
        return self.storage.purge_requests(now)
