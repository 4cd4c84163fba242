"""API keys and short-lived public tokens: making, hashing and checking them.

A secret API key (``sy_<env>_<random>``) belongs to one environment; the database keeps
only its SHA-256 hash and a short prefix to recognise it by. The key is shown once,
when it is created. (Keys are 192 random bits, so a fast hash is enough: there is
nothing to brute-force.)

A public token (``pt_<claims>.<signature>``) is for browsers: it reads one run or
completes one token, in one environment, until it expires. It is an HMAC-SHA256 over
its claims under a random per-database secret, so any server sharing the database
accepts it and nothing needs storing.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from switchyard.core.errors import SwitchyardError
from switchyard.core.models import TriggerResult

KEY_PREFIX = "sy_"
PUBLIC_TOKEN_PREFIX = "pt_"
PUBLIC_TOKEN_SECRET = "public-token"
"""Name of the per-database secret (``storage.secret``) that signs public tokens."""

DASHBOARD_SESSION_PREFIX = "ds_"
DASHBOARD_SESSION_SECRET = "dashboard-session"
DASHBOARD_SESSION = "dashboard"
"""Scope of a dashboard session: what a secret key may do, in one environment.

Signed like a public token, under its own secret and prefix, with the password's
fingerprint as its id: changing the password signs everybody out."""
DASHBOARD_SESSION_TTL = 12 * 3600.0

READ_RUN = "read_run"
COMPLETE_TOKEN = "complete_token"
PUBLIC_SCOPES = (READ_RUN, COMPLETE_TOKEN)
MAX_PUBLIC_TOKEN_TTL = 7 * 86400.0

_ENV_CHARS = re.compile(r"[^a-z0-9]+")


@dataclass(frozen=True, slots=True)
class ApiKey:
    """A stored API key (never the key itself: only its hash and prefix)."""

    id: str
    environment: str
    name: str
    prefix: str
    key_hash: str
    created_at: float
    revoked_at: float | None = None
    last_used_at: float | None = None

    @property
    def is_active(self) -> bool:
        """False once revoked."""
        return self.revoked_at is None


def password_fingerprint(password: str) -> str:
    """What a dashboard session carries of the password: enough to notice it changed."""
    return hashlib.sha256(b"switchyard-dashboard\x00" + password.encode()).hexdigest()[:16]


def hash_key(key: str) -> str:
    """The SHA-256 hex digest stored for ``key``."""
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


def new_key(environment: str) -> str:
    """A new secret key for ``environment``: ``sy_<env>_<32 url-safe chars>``."""
    env = _ENV_CHARS.sub("", environment.lower())[:16] or "env"
    return f"{KEY_PREFIX}{env}_{secrets.token_urlsafe(24)}"


def key_prefix(key: str) -> str:
    """What lists show of a key: enough to recognise it, too little to use it."""
    return key[: len(key) - 28] + "…" if len(key) > 36 else key[:8] + "…"


def new_key_id() -> str:
    """An id for a stored key (``key_`` + 16 hex digits)."""
    return f"key_{secrets.token_hex(8)}"


@dataclass(frozen=True, slots=True)
class StoredRequest:
    """A request seen before with the same idempotency key.

    ``status`` 0 means the first request is still being handled; otherwise ``status``
    and ``response`` (JSON text) are what it answered.
    """

    request_hash: str
    status: int
    response: str | None


@dataclass(frozen=True, slots=True)
class RequestResponse:
    """The response of a reserved request, stored in the transaction that makes its runs.

    Then a server that dies after the commit has already stored what a retry gets:
    never a second run. ``reserved_at`` (the ``now`` the key was reserved with)
    identifies the reservation; a takeover always reserves with a later time, so if a
    retry took the key over meanwhile, the whole transaction is rolled back
    (:class:`RequestTakenOverError`). The request's runs are ``count`` runs from index
    ``first`` of the trigger; ``render`` turns their results into ``(status, JSON)``.
    """

    environment: str
    key: str
    reserved_at: float
    first: int
    count: int
    render: Callable[[Sequence[TriggerResult]], tuple[int, str]]
    ttl: float


class RequestTakenOverError(SwitchyardError):
    """A retry took over this request's ``Idempotency-Key``; its work was rolled back."""

    def __init__(self, key: str) -> None:
        super().__init__(f"the request with Idempotency-Key {key!r} was taken over by a retry")
        self.key = key


# -- public tokens -------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class PublicClaims:
    """What a public token allows: ``scope`` on the object ``id`` until ``expires_at``."""

    environment: str
    scope: str
    id: str
    expires_at: float


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _sign(secret: str, body: str) -> str:
    return _b64(hmac.new(secret.encode(), body.encode(), hashlib.sha256).digest())


def sign_public_token(secret: str, claims: PublicClaims, prefix: str = PUBLIC_TOKEN_PREFIX) -> str:
    """A public token carrying ``claims``, signed with ``secret``."""
    payload = {"e": claims.environment, "s": claims.scope, "i": claims.id, "x": claims.expires_at}
    body = _b64(json.dumps(payload, separators=(",", ":")).encode())
    return f"{prefix}{body}.{_sign(secret, body)}"


class InvalidPublicToken(Exception):
    """The token is malformed, forged or expired; the message says which."""


def verify_public_token(
    secret: str, token: str, now: float, prefix: str = PUBLIC_TOKEN_PREFIX
) -> PublicClaims:
    """The claims of a valid, unexpired token; raises :class:`InvalidPublicToken`."""
    if not token.startswith(prefix) or token.count(".") != 1:
        raise InvalidPublicToken("malformed public token")
    body, signature = token[len(prefix) :].split(".")
    if not hmac.compare_digest(signature.encode(), _sign(secret, body).encode()):
        raise InvalidPublicToken("invalid public token signature")
    try:
        data: Any = json.loads(_unb64(body))
        claims = PublicClaims(str(data["e"]), str(data["s"]), str(data["i"]), float(data["x"]))
    except (ValueError, KeyError, TypeError) as exc:
        raise InvalidPublicToken("malformed public token") from exc
    if claims.expires_at <= now:
        raise InvalidPublicToken("the public token has expired: ask for a new one")
    return claims
