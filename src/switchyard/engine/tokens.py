"""Tokens: waitpoints that something outside the run completes (a person, a webhook).

The one implementation every door uses (the SDK's ``wait.*_token``, the HTTP API and
its callback URL, the CLI's ``switchyard tokens``, the dashboard through the API):
creating a token, reading and listing tokens, completing one (first completion wins) or
timing it out, and the signed callback URL.

A callback URL is a bearer capability: ``{public_url}/api/v1/waitpoints/tokens/{id}/
callback/{signature}``, where the signature is an HMAC of the token id under a random
per-database secret (so rotating API keys never breaks outstanding URLs), checked in
constant time.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
from collections.abc import Sequence

from switchyard.core.durations import DurationLike, parse_duration, parse_optional_duration
from switchyard.core.errors import InvalidOptionError
from switchyard.core.models import DEFAULT_IDEMPOTENCY_TTL
from switchyard.core.waitpoints import (
    NewWaitpoint,
    Waitpoint,
    WaitpointFilter,
    WaitpointKind,
)
from switchyard.engine.enqueue import normalize_tags
from switchyard.engine.waitpoints import Waitpoints

CALLBACK_SECRET = "callback-url"
"""The name of the per-database secret that signs callback URLs."""
CALLBACK_PREFIX = "/api/v1/waitpoints/tokens"
"""Where the HTTP API serves tokens; callback URLs live under it."""

TimeoutLike = DurationLike | dt.datetime | None
"""A token's timeout: a duration (``"1h"``, 3600), an aware datetime, or ISO 8601 text."""


class TokenNotFoundError(InvalidOptionError):
    """No token with this id in the environment."""

    def __init__(self, token_id: str) -> None:
        super().__init__("token", token_id, "the id of an existing token")
        self.token_id = token_id


def token_signature(secret: str, token_id: str) -> str:
    """The HMAC that makes a token's callback URL a capability."""
    return hmac.new(secret.encode(), token_id.encode(), hashlib.sha256).hexdigest()[:40]


def callback_url(public_url: str, secret: str, token_id: str) -> str:
    """A token's callback URL on the API at ``public_url``, signed with ``secret``."""
    signature = token_signature(secret, token_id)
    return f"{public_url.rstrip('/')}{CALLBACK_PREFIX}/{token_id}/callback/{signature}"


def signature_ok(secret: str, token_id: str, signature: str) -> bool:
    """Whether ``signature`` is the token's, compared in constant time."""
    return hmac.compare_digest(signature.encode(), token_signature(secret, token_id).encode())


def timeout_at(timeout: TimeoutLike, now: float) -> float | None:
    """When a token with ``timeout`` times out (None: never by itself)."""
    if timeout is None:
        return None
    if isinstance(timeout, str):
        try:
            return now + parse_duration(timeout, option="timeout")
        except InvalidOptionError:
            try:
                timeout = dt.datetime.fromisoformat(timeout.strip())
            except ValueError:
                raise InvalidOptionError(
                    "timeout",
                    timeout,
                    "a duration like '30s', '1h', '2d' or an ISO 8601 datetime like "
                    "2025-01-31T12:00:00Z",
                ) from None
    if isinstance(timeout, dt.datetime):
        if timeout.tzinfo is None:
            raise InvalidOptionError(
                "timeout", timeout, "a timezone-aware datetime (an offset, Z or +hh:mm)"
            )
        return timeout.timestamp()
    seconds = parse_optional_duration(timeout, option="timeout")
    return None if seconds is None else now + seconds


class Tokens(Waitpoints):
    """Create, read, list, complete and time out tokens; their callback URLs."""

    def callback_secret(self) -> str:
        """The per-database secret that signs callback URLs (read once, then kept)."""
        secret: str | None = self.__dict__.get("_callback_secret")
        if secret is None:
            secret = self.storage.secret(CALLBACK_SECRET)
            self.__dict__["_callback_secret"] = secret
        return secret

    def token_url(self, public_url: str, token_id: str) -> str:
        """The token's callback URL on the API at ``public_url``: POST JSON there."""
        return callback_url(public_url, self.callback_secret(), token_id)

    def new_token(
        self,
        *,
        timeout: TimeoutLike = None,
        idempotency_key: str | None = None,
        idempotency_key_ttl: DurationLike | None = None,
        tags: str | Sequence[str] | None = None,
        created_by_run_id: str | None = None,
    ) -> NewWaitpoint:
        """A token to create (checked; not stored yet). ``idempotency_key`` is already
        scoped (see :mod:`switchyard.core.idempotency`)."""
        ttl = parse_optional_duration(idempotency_key_ttl, option="idempotency_key_ttl")
        return NewWaitpoint(
            WaitpointKind.TOKEN,
            self.environment,
            timeout_at=timeout_at(timeout, self.now()),
            idempotency_key=idempotency_key,
            idempotency_ttl=DEFAULT_IDEMPOTENCY_TTL if ttl is None else ttl,
            tags=normalize_tags(tags),
            created_by_run_id=created_by_run_id,
        )

    def create_token(self, new: NewWaitpoint) -> tuple[Waitpoint, bool]:
        """Store a token made by :meth:`new_token`; True with an existing one (its key)."""
        return self.storage.create_waitpoint(new, None, self.now())

    def get_token(self, token_id: str, *, any_environment: bool = False) -> Waitpoint:
        """A token by id, or :class:`TokenNotFoundError`. ``any_environment``: whichever
        environment it is in (its signed callback URL is the capability, not a key)."""
        if any_environment:
            found = self.storage.get_waitpoints([token_id])
            token = found[0] if found else None
        else:
            token = self.storage.get_waitpoint(self.environment, token_id)
        if token is None or token.kind != WaitpointKind.TOKEN:
            raise TokenNotFoundError(token_id)
        return token

    def list_tokens(
        self, filters: WaitpointFilter, limit: int = 50, cursor: str | None = None
    ) -> tuple[list[Waitpoint], str | None]:
        """Tokens newest first, filtered; the page and the next cursor."""
        return self.storage.list_waitpoints(filters, max(1, min(limit, 1000)), cursor)

    def complete_token(
        self,
        token: str | Waitpoint,
        output_json: str | None,
        *,
        door: str,
        any_environment: bool = False,
    ) -> tuple[Waitpoint, bool]:
        """Complete a token with ``output_json`` (first completion wins); the runs
        waiting on it continue. Returns it as it now stands and whether it had already
        been completed or timed out before this call. ``token``: its id, or the token
        as :meth:`get_token` just returned it (not read again). ``door`` names the caller
        for the hooks; ``any_environment`` as in :meth:`get_token`."""
        before = self._known(token, any_environment)
        return self._settle(before, door, output_json=output_json)

    def time_out_token(self, token: str | Waitpoint, *, door: str) -> tuple[Waitpoint, bool]:
        """Time a token out now: the runs waiting on it get a timed-out result."""
        return self._settle(self._known(token, False), door, timed_out=True)

    def _known(self, token: str | Waitpoint, any_environment: bool) -> Waitpoint:
        if isinstance(token, Waitpoint):
            return token
        return self.get_token(token, any_environment=any_environment)

    def _settle(
        self,
        before: Waitpoint,
        door: str,
        *,
        output_json: str | None = None,
        timed_out: bool = False,
    ) -> tuple[Waitpoint, bool]:
        now = self.now()
        done = self.complete_waitpoint(
            before.id,
            door=door,
            output_json=output_json,
            timed_out=timed_out,
            environment=before.environment,
            now=now,
        )
        if done is None:
            raise TokenNotFoundError(before.id)
        return done, (not before.is_pending or done.completed_at != now)
