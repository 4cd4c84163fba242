"""Who is calling, in which environment, and how often: API keys, public tokens, limits.

Every request to a path that is not public needs a credential, sent as
``Authorization: Bearer <credential>``:

- a **secret API key** (``switchyard keys create``): full access to its environment;
- the key in ``SWITCHYARD_API_KEY`` (or ``create_app(api_key=...)``): an extra secret
  key for the server's own environment, handy in development;
- a **dashboard session** (``POST /api/v1/auth/dashboard-sessions`` with the dashboard
  password): what a secret key may do in the server's environment, for 12 hours;
- a **public token** (``POST /api/v1/auth/public-tokens``): reads one run or completes
  one token, until it expires. Browsers can send it as ``?access_token=`` too, since
  ``EventSource`` cannot set headers.

The credential decides the environment: each request gets a runtime view whose engine
works in that environment (``runtime_of(request)`` returns it). Each credential also
has a token bucket (``rate_limit`` requests per second, bursts of twice that), and each
client address one for failed sign-ins (:class:`AuthFailures`), checked *before* the
credential so a throttled address learns nothing from its guesses.
"""

from __future__ import annotations

import copy
import dataclasses
import math
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import parse_qs

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from switchyard.core.api_keys import (
    COMPLETE_TOKEN,
    DASHBOARD_SESSION_PREFIX,
    DASHBOARD_SESSION_SECRET,
    PUBLIC_TOKEN_PREFIX,
    PUBLIC_TOKEN_SECRET,
    READ_RUN,
    ApiKey,
    InvalidPublicToken,
    PublicClaims,
    hash_key,
    password_fingerprint,
    verify_public_token,
)
from switchyard.core.clock import monotonic
from switchyard.core.errors import ConfigError
from switchyard.engine import Engine
from switchyard.runtime import Runtime
from switchyard.server.errors import ApiError, error_response

API_KEY_ENV = "SWITCHYARD_API_KEY"


def api_key_from_env() -> str | None:
    """The extra API key from ``SWITCHYARD_API_KEY``, or None when it is unset."""
    return os.environ.get(API_KEY_ENV) or None


RATE_LIMIT_ENV = "SWITCHYARD_RATE_LIMIT"
DEFAULT_RATE_LIMIT = 1000.0
"""Requests per second per credential and server process (bursts of twice that)."""

RUNTIME_SCOPE_KEY = "switchyard.runtime"
AUTH_SCOPE_KEY = "switchyard.auth"

_KEY_CACHE_SECONDS = 5.0
_MISS_CACHE_SECONDS = 1.0
_TOUCH_EVERY = 60.0

# What a public token may do: (method, path pattern with the object id as group 1).
_PUBLIC_ROUTES: dict[str, tuple[tuple[str, re.Pattern[str]], ...]] = {
    READ_RUN: (
        ("GET", re.compile(r"/api/v1/runs/([^/]+)")),
        ("GET", re.compile(r"/api/v1/runs/([^/]+)/events")),
    ),
    COMPLETE_TOKEN: (
        ("GET", re.compile(r"/api/v1/waitpoints/tokens/([^/]+)")),
        ("POST", re.compile(r"/api/v1/waitpoints/tokens/([^/]+)/complete")),
    ),
}


@dataclass(frozen=True, slots=True)
class Auth:
    """The credential of a request: its environment, and what it may do."""

    environment: str
    kind: str
    """``secret`` (an API key) or ``public`` (a public token)."""
    key_id: str | None = None
    claims: PublicClaims | None = None


def parse_rate_limit(text: str | None) -> float | None:
    """``"500"`` / ``"500/s"`` / ``"6000/m"`` → requests per second; ``"off"``/``"0"`` → None."""
    if text is None or not text.strip():
        return DEFAULT_RATE_LIMIT
    value = text.strip().lower()
    if value in ("off", "none", "0"):
        return None
    number, _, unit = value.partition("/")
    try:
        rate = float(number)
    except ValueError:
        raise ConfigError(
            f"invalid {RATE_LIMIT_ENV}={text!r}: expected requests per second like '500', "
            "'500/s' or '6000/m', or 'off'"
        ) from None
    per = {"": 1.0, "s": 1.0, "m": 60.0, "h": 3600.0}.get(unit)
    if per is None or rate <= 0:
        raise ConfigError(f"invalid {RATE_LIMIT_ENV}={text!r}: use '500/s', '6000/m' or 'off'")
    return rate / per


def rate_limit_from_env() -> float | None:
    """The rate limit in ``SWITCHYARD_RATE_LIMIT`` (default 1000 requests/s)."""
    return parse_rate_limit(os.environ.get(RATE_LIMIT_ENV))


class TokenBuckets:
    """One token bucket per credential: ``rate`` tokens a second, ``burst`` at most."""

    def __init__(self, rate: float, burst: float | None = None) -> None:
        self.rate = rate
        self.burst = burst if burst is not None else max(1.0, 2 * rate)
        self._buckets: dict[str, tuple[float, float]] = {}

    def take(self, who: str, now: float) -> float:
        """0 when the request may go ahead, else seconds until it may."""
        tokens, last = self._buckets.get(who, (self.burst, now))
        tokens = min(self.burst, tokens + (now - last) * self.rate)
        if tokens >= 1:
            self._buckets[who] = (tokens - 1, now)
            return 0.0
        self._buckets[who] = (tokens, now)
        if len(self._buckets) > 10_000:  # forget idle credentials
            self._buckets = {k: v for k, v in self._buckets.items() if now - v[1] < 60}
        return (1 - tokens) / self.rate


AUTH_FAILURE_BURST = 10
AUTH_FAILURES_PER_SECOND = 0.2
"""Failed sign-ins allowed per client address: 10 at once, then one every 5 s."""


class AuthFailures:
    """Failed authentications per client address: wrong API keys, forged or expired
    tokens and sessions, wrong dashboard passwords, bad callback signatures.

    A token bucket (``burst`` failures, then ``rate`` a second) that is checked before a
    credential is: a throttled address gets 429 whatever it sends, so guessing goes no
    faster than ``rate``. Each failure costs a token even below zero (requests already
    past the check when the bucket emptied), so concurrency buys no extra guesses in
    the long run. Addresses that never fail cost nothing.
    """

    def __init__(
        self, rate: float = AUTH_FAILURES_PER_SECOND, burst: float = AUTH_FAILURE_BURST
    ) -> None:
        self.rate = rate
        self.burst = burst
        self._buckets: dict[str, tuple[float, float]] = {}

    def _tokens(self, who: str, now: float) -> float:
        tokens, last = self._buckets.get(who, (self.burst, now))
        return min(self.burst, tokens + (now - last) * self.rate)

    def wait(self, who: str, now: float) -> float:
        """0 when ``who`` may try a credential now, else seconds until it may."""
        if who not in self._buckets:
            return 0.0
        tokens = self._tokens(who, now)
        return 0.0 if tokens >= 1 else (1 - tokens) / self.rate

    def check(self, who: str, what: str = "failed sign-ins") -> None:
        """Raise 429 (with ``Retry-After``) while ``who`` is throttled."""
        wait = self.wait(who, monotonic())
        if wait > 0:
            raise ApiError(
                429,
                "rate_limited",
                f"too many {what} from this address; retry in {math.ceil(wait)}s "
                f"({self.burst:.0f} are allowed, then one every {1 / self.rate:.0f}s)",
                {"Retry-After": str(max(1, math.ceil(wait)))},
            )

    def failed(self, who: str) -> None:
        """Count a failure of ``who`` (the bucket may go below zero, down to -burst)."""
        now = monotonic()
        self._buckets[who] = (max(-self.burst, self._tokens(who, now) - 1), now)
        if len(self._buckets) > 10_000:  # forget addresses whose bucket is full again
            full = (self.burst - 1) / self.rate
            self._buckets = {k: v for k, v in self._buckets.items() if now - v[1] < full}


def auth_failures(request: Request) -> AuthFailures:
    """The app's count of failed sign-ins (one for every way of signing in)."""
    state = request.app.state
    found: AuthFailures | None = getattr(state, "auth_failures", None)
    if found is None:
        found = state.auth_failures = AuthFailures()
    return found


def client_address(scope: Scope) -> str:
    """The client's address (the proxy's, unless the server trusts its headers)."""
    client = scope.get("client")
    return str(client[0]) if client else ""


def runtime_for(base: Runtime, environment: str) -> Runtime:
    """``base`` working in ``environment``: same storage and clock, its own engine."""
    if environment == base.engine.environment:
        return base
    view = copy.copy(base)
    view.config = dataclasses.replace(base.config, environment=environment)
    view.engine = Engine(
        storage=base.storage,
        clock=base.clock,
        environment=environment,
        defaults=base.config.defaults(),
        hooks=base.engine.hooks,  # one set of hooks sees every environment's operations
    )
    return view


def auth_of(request: Request) -> Auth | None:
    """The request's credential (None when the app checks none, or the path is public)."""
    auth: Auth | None = request.scope.get(AUTH_SCOPE_KEY)
    return auth


def require_secret_key(request: Request) -> None:
    """Refuse public tokens (routes that only a secret key may use)."""
    auth = auth_of(request)
    if auth is not None and auth.kind != "secret":
        raise ApiError(403, "forbidden", "this needs a secret API key, not a public token")


_MISSING = "missing API key: send 'Authorization: Bearer <key>'"
"""The one 401 that is no failed attempt (a page asking before signing in)."""


def _unauthorized(message: str) -> ApiError:
    return ApiError(401, "unauthorized", message, {"WWW-Authenticate": "Bearer"})


class AccessMiddleware:
    """Authenticate, pick the environment, and rate-limit every non-public request."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        runtime: Runtime,
        public: Sequence[re.Pattern[str]],
        extra_key: str | None,
        rate_limit: float | None,
        failures: AuthFailures | None = None,
    ) -> None:
        self.app = app
        self.failures = failures if failures is not None else AuthFailures()
        self.runtime = runtime
        self._public = tuple(public)
        self._extra_hash = None if not extra_key else hash_key(extra_key)
        self._buckets = None if rate_limit is None else TokenBuckets(rate_limit)
        self._keys: dict[str, tuple[ApiKey | None, float]] = {}
        self._touched: dict[str, float] = {}
        self._views: dict[str, Runtime] = {}
        self._secrets: dict[str, str] = {}

    def _view(self, environment: str) -> Runtime:
        view = self._views.get(environment)
        if view is None:
            view = self._views[environment] = runtime_for(self.runtime, environment)
        return view

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if "\x00" in scope["path"] or b"%00" in scope.get("query_string", b""):
            response = error_response(
                400, "bad_request", "the URL contains a NUL character (%00); remove it"
            )
            await response(scope, receive, send)
            return
        if any(p.fullmatch(scope["path"]) for p in self._public):
            await self.app(scope, receive, send)
            return
        who = client_address(scope)
        try:
            self.failures.check(who, "failed authentications")
            try:
                auth = await self._authenticate(scope)
            except ApiError as exc:
                if exc.status == 401 and exc.message != _MISSING:
                    self.failures.failed(who)
                raise
            if auth.kind == "public":
                self._check_public_scope(scope, auth)
            if self._buckets is not None:
                wait = self._buckets.take(auth.key_id or "", monotonic())
                if wait > 0:
                    raise ApiError(
                        429,
                        "rate_limited",
                        f"too many requests for this credential; retry in {wait:.2f}s "
                        "(the limit is per API key and server process)",
                        {"Retry-After": str(max(1, round(wait + 0.5)))},
                    )
        except ApiError as exc:
            response = error_response(exc.status, exc.code, exc.message, exc.headers)
            await response(scope, receive, send)
            return
        scope[AUTH_SCOPE_KEY] = auth
        scope[RUNTIME_SCOPE_KEY] = self._view(auth.environment)
        await self.app(scope, receive, send)

    async def _authenticate(self, scope: Scope) -> Auth:
        given = ""
        for name, value in scope.get("headers", ()):
            if name == b"authorization":
                given = value.decode("latin-1").strip()
                break
        if given:
            scheme, _, credential = given.partition(" ")
            if scheme.lower() != "bearer" or not credential.strip():
                raise _unauthorized("send the key as 'Authorization: Bearer <key>'")
            credential = credential.strip()
        else:
            query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
            credential = (query.get("access_token") or [""])[0]
            if credential and not credential.startswith(PUBLIC_TOKEN_PREFIX):
                raise _unauthorized(
                    "?access_token= takes public tokens only; send secret keys as "
                    "'Authorization: Bearer <key>' so they stay out of URLs and logs"
                )
        if not credential:
            raise _unauthorized(_MISSING)
        if credential.startswith(PUBLIC_TOKEN_PREFIX):
            return await self._public_token(credential)
        if credential.startswith(DASHBOARD_SESSION_PREFIX):
            return await self._dashboard_session(credential)
        digest = hash_key(credential)
        if digest == self._extra_hash:
            return Auth(self.runtime.engine.environment, "secret", key_id="env")
        key = await self._lookup(digest)
        if key is None:
            raise _unauthorized("invalid API key")
        if not key.is_active:
            raise _unauthorized(f"API key {key.prefix} was revoked; create a new one")
        return Auth(key.environment, "secret", key_id=key.id)

    async def _lookup(self, digest: str) -> ApiKey | None:
        now = monotonic()
        cached = self._keys.get(digest)
        if cached is not None and cached[1] > now:
            return cached[0]
        engine = self.runtime.engine
        key = await run_in_threadpool(engine.find_api_key, digest)
        ttl = _KEY_CACHE_SECONDS if key is not None else _MISS_CACHE_SECONDS
        if len(self._keys) > 10_000:
            self._keys.clear()
        self._keys[digest] = (key, now + ttl)
        touched = -_TOUCH_EVERY if key is None else self._touched.get(key.id, -_TOUCH_EVERY)
        if key is not None and key.is_active and now - touched >= _TOUCH_EVERY:
            self._touched[key.id] = now
            await run_in_threadpool(engine.touch_api_key, key.id)
        return key

    async def _secret(self, name: str) -> str:
        """A per-database signing secret, read once per process."""
        found = self._secrets.get(name)
        if found is None:
            found = self._secrets[name] = await run_in_threadpool(self.runtime.engine.secret, name)
        return found

    async def _public_token(self, token: str) -> Auth:
        secret = await self._secret(PUBLIC_TOKEN_SECRET)
        try:
            claims = verify_public_token(secret, token, self.runtime.clock.now())
        except InvalidPublicToken as exc:
            raise _unauthorized(str(exc)) from None
        return Auth(claims.environment, "public", key_id=f"public:{claims.id}", claims=claims)

    async def _dashboard_session(self, token: str) -> Auth:
        password = self.runtime.config.dashboard_password
        if password is None:
            raise _unauthorized("dashboard sign-in with a password is off; use an API key")
        secret = await self._secret(DASHBOARD_SESSION_SECRET)
        try:
            claims = verify_public_token(
                secret, token, self.runtime.clock.now(), DASHBOARD_SESSION_PREFIX
            )
        except InvalidPublicToken as exc:
            raise _unauthorized(str(exc).replace("public token", "dashboard session")) from None
        if claims.id != password_fingerprint(password):
            raise _unauthorized("the dashboard password changed: sign in again")
        return Auth(claims.environment, "secret", key_id="dashboard")

    @staticmethod
    def _check_public_scope(scope: Scope, auth: Auth) -> None:
        claims = auth.claims
        assert claims is not None
        for method, pattern in _PUBLIC_ROUTES.get(claims.scope, ()):
            match = pattern.fullmatch(scope["path"])
            if match and scope["method"] in (method, "HEAD") and match.group(1) == claims.id:
                return
        raise ApiError(
            403,
            "forbidden",
            f"this public token only allows {claims.scope} on {claims.id!r}; "
            "use a secret API key for anything else",
        )
