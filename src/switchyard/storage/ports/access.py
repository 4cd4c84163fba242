"""The AccessStore port: secrets, API keys and the HTTP requests an Idempotency-Key reserved."""

from __future__ import annotations

from abc import ABC, abstractmethod

from switchyard.core.api_keys import ApiKey, StoredRequest


class AccessStore(ABC):
    """Secrets, API keys and the HTTP requests an Idempotency-Key reserved."""

    @abstractmethod
    def secret(self, name: str) -> str:
        """A random secret kept in the database, made on first use."""

    @abstractmethod
    def create_api_key(self, key: ApiKey) -> None:
        """Store a new API key (its hash and prefix, never the key)."""

    @abstractmethod
    def list_api_keys(self, environment: str | None) -> list[ApiKey]:
        """Keys of one environment (of all for None), oldest first."""

    @abstractmethod
    def find_api_key(self, key_hash: str) -> ApiKey | None:
        """The key with this hash, revoked or not, or None."""

    @abstractmethod
    def revoke_api_key(self, key_id: str, now: float) -> ApiKey | None:
        """Revoke a key; returns it, or None if there is no such key."""

    @abstractmethod
    def touch_api_key(self, key_id: str, now: float) -> None:
        """Record that a key was used."""

    @abstractmethod
    def begin_request(
        self,
        environment: str,
        key: str,
        request_hash: str,
        now: float,
        ttl: float,
        stale_after: float,
    ) -> StoredRequest | None:
        """Reserve an idempotency key for a request (None), or return what is stored.

        The reservation is known by ``now``: pass it as ``reserved_at`` to
        :meth:`trigger` (``responses``), :meth:`finish_request` and
        :meth:`release_request`. One older than ``stale_after`` seconds is taken over.
        """

    @abstractmethod
    def finish_request(
        self,
        environment: str,
        key: str,
        reserved_at: float,
        status: int,
        response: str,
        now: float,
        ttl: float,
    ) -> bool:
        """Store the response of the reservation made at ``reserved_at`` (the ``now`` of
        its :meth:`begin_request`); False if a retry took the key over meanwhile."""

    @abstractmethod
    def release_request(self, environment: str, key: str, reserved_at: float) -> None:
        """Drop the reservation made at ``reserved_at`` of a request that failed."""

    @abstractmethod
    def purge_requests(self, now: float) -> int:
        """Delete expired request records."""
