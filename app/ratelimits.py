"""Request rate limits: each caller's requests counted over a sliding window, per signed-in
member, per app, or per address, on counters every worker shares (Redis) or, without Redis,
in this worker's memory; the IETF `RateLimit` and `RateLimit-Policy` fields on every counted
answer (draft-ietf-httpapi-ratelimit-headers) and `429 too-many-requests` past the limit.

Who is counted comes from the access token alone, as `TokenIssuer` checks it (its cache of
verified tokens): no request reads the database for it. The counters are `limits`' sliding
window counters: two small counters per caller whatever its quota (a moving window keeps a
timestamp per request: 600 per member), no burst of twice the quota where two fixed windows
meet, and one Lua script on Redis per count, so every worker sees one count at once.
"""

import hashlib
import hmac
import logging
import math
import os
import time
from dataclasses import dataclass
from typing import Any

from limits import RateLimitItem, RateLimitItemPerSecond
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import SlidingWindowCounterRateLimiter
from limits.errors import StorageError
from redis.asyncio import ConnectionPool
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.middleware import ProblemRenderer
from app.security import InvalidToken, TokenIssuer
from app.settings import Settings
from cooperative.kernel.errors import TequioError, Text

log = logging.getLogger("tequio.ratelimits")

# not counted: the load balancer's health checks, and the docs' own files
EXEMPT_PREFIXES = ("/healthz/", "/static/")
REDIS_TIMEOUT_SECONDS = 0.5  # a Redis slower than this is treated as away
AWAY_SECONDS = 5.0  # after Redis failed, requests go uncounted this long before it is tried again
WARN_EVERY_SECONDS = 60.0


class TooManyRequests(TequioError):
    status = 429
    slug = "too-many-requests"
    title = Text("Too many requests", "Demasiadas solicitudes")
    detail = Text(
        "More than {quota:# request|# requests} in {window:# second|# seconds}. Try again in "
        "{retry_after:# second|# seconds}.",
        "Más de {quota:# solicitud|# solicitudes} en {window:# segundo|# segundos}. Intente de "
        "nuevo en {retry_after:# segundo|# segundos}.",
    )


@dataclass(frozen=True, slots=True)
class Policy:
    """A quota: `quota` requests in any `window` seconds, for each caller it applies to."""

    name: str
    quota: int
    window: int

    @property
    def item(self) -> RateLimitItem:
        return RateLimitItemPerSecond(self.quota, self.window)

    @property
    def field(self) -> str:
        """Its `RateLimit-Policy` item: `"member";q=600;w=60`."""
        return f'"{self.name}";q={self.quota};w={self.window}'


@dataclass(frozen=True, slots=True)
class Verdict:
    """A counted request: taken or not, and what the caller has left of its quota."""

    policy: Policy
    allowed: bool
    remaining: int
    reset_seconds: int  # within this many seconds the caller can use no more than `remaining`

    def fields(self) -> dict[str, str]:
        return {
            "RateLimit-Policy": self.policy.field,
            "RateLimit": f'"{self.policy.name}";r={self.remaining};t={self.reset_seconds}',
        }

    def refusal(self) -> TooManyRequests:
        return TooManyRequests(
            quota=self.policy.quota,
            window=self.policy.window,
            retry_after=self.reset_seconds,
            headers={"Retry-After": str(self.reset_seconds), **self.fields()},
            extensions={"violated-policies": [self.policy.name]},
        )


def policies(settings: Settings) -> dict[str, Policy]:
    window = settings.rate_limit_window_seconds
    return {
        "anonymous": Policy("anonymous", settings.rate_limit_anonymous, window),
        "member": Policy("member", settings.rate_limit_member, window),
        "app": Policy("app", settings.rate_limit_app, window),
        "unverified": Policy("unverified", settings.rate_limit_unverified, window),
    }


class SweptMemoryStorage(MemoryStorage):
    """`limits`' memory storage, its expired counters swept at most every `SWEEP_SECONDS`.

    The library starts a sweep of every counter it holds after each count that finds the last
    sweep finished, nearly every request: a cost that grows with the callers in the window
    (0.27 ms a request with 2,000, 2.5 ms with 20,000, here). A counter past its window is
    already read as empty when it is next counted (the library checks its expiry then); the
    sweep only frees the memory of those never counted again, which once a second does as well.
    """

    SWEEP_SECONDS = 1.0
    _swept_at = -math.inf

    async def _MemoryStorage__schedule_expiry(self) -> None:  # noqa: N802  (the library's hook)
        now = time.monotonic()
        if now - self._swept_at >= self.SWEEP_SECONDS:
            self._swept_at = now
            await super()._MemoryStorage__schedule_expiry()  # type: ignore[misc]


def _storage(redis_url: str | None) -> tuple[Storage, ConnectionPool | None]:
    """Redis when configured (the same TEQUIO_REDIS_URL as the consult broker), shared by every
    worker and host; else this worker's memory. Redis is asked once per count, never retried,
    with a short timeout: a Redis away must not hold requests up (they go uncounted)."""
    if not redis_url:
        return SweptMemoryStorage(), None
    pool = ConnectionPool.from_url(
        redis_url,
        socket_timeout=REDIS_TIMEOUT_SECONDS,
        socket_connect_timeout=REDIS_TIMEOUT_SECONDS,
        retry=Retry(NoBackoff(), 0),
        client_name=f"tequio-limits-{os.getpid()}",
    )
    options: dict[str, Any] = {"connection_pool": pool}
    storage = RedisStorage(
        "async+redis://",  # the pool says where
        implementation="redispy",
        key_prefix="tequio:ratelimit",
        wrap_exceptions=True,
        **options,
    )
    return storage, pool


def _bearer_token(scope: Scope) -> str | None:
    """The token of `Authorization: Bearer <token>`, read as FastAPI's OAuth2 scheme reads it."""
    for name, value in scope.get("headers", []):
        if name == b"authorization":
            scheme, _, token = value.decode("latin-1").partition(" ")
            if scheme.lower() != "bearer":
                return None
            return token.strip() or None
    return None


class RateLimits:
    """This worker's view of the counters: who a request counts against, and the count."""

    def __init__(self, settings: Settings, tokens: TokenIssuer) -> None:
        self.policies = policies(settings)
        self.tokens = tokens
        self.shared = settings.redis_url is not None
        self._storage, self._pool = _storage(settings.redis_url)
        self._limiter = SlidingWindowCounterRateLimiter(self._storage)
        secret = settings.secret_key.get_secret_value().encode()
        self._address_key = hmac.new(secret, b"tequio rate limits", hashlib.sha256).digest()
        self._away_until = 0.0
        self._warned_at = -math.inf

    def caller(self, scope: Scope) -> tuple[Policy, str]:
        """The policy a request falls under and whom it counts against: the app a valid token
        was issued to (only approved apps get tokens), else its member (tighter while the member's
        contact is not verified: the token says so); without a
        valid token, the client address (behind TEQUIO_FORWARDED_ALLOW_IPS's proxies, the
        address they report), kept only as a keyed hash."""
        token = _bearer_token(scope)
        if token is not None:
            try:
                bearer = self.tokens.bearer(token)
            except InvalidToken:
                pass  # counted by address; the route answers 401
            else:
                if bearer.client_id is not None:
                    return self.policies["app"], f"app:{bearer.client_id}"
                name = "member" if bearer.verified else "unverified"
                return self.policies[name], f"member:{bearer.account_id}"
        client = scope.get("client")
        address = str(client[0]) if client else "unknown"
        hashed = hmac.new(self._address_key, address.encode(), hashlib.sha256).hexdigest()
        return self.policies["anonymous"], f"address:{hashed[:32]}"

    async def count(self, policy: Policy, who: str) -> Verdict | None:
        """Counts one request against `who`; None when the counters cannot be reached (the
        request is served uncounted, and the worker says so in its log once a minute)."""
        if time.monotonic() < self._away_until:
            return None
        item = policy.item
        try:
            allowed = await self._limiter.hit(item, who)
            stats = await self._limiter.get_window_stats(item, who)
        except (StorageError, RedisError, OSError) as exc:
            self._away(exc)
            return None
        # `limits` keeps its windows by the host's clock, so the wait is measured by it too
        wait = max(0, math.ceil(stats.reset_time - time.time()))
        if allowed:
            return Verdict(policy, True, max(0, stats.remaining), wait)
        return Verdict(policy, False, 0, max(1, wait))

    def _away(self, exc: BaseException) -> None:
        now = time.monotonic()
        self._away_until = now + AWAY_SECONDS
        if now - self._warned_at >= WARN_EVERY_SECONDS:
            self._warned_at = now
            cause = exc.storage_error if isinstance(exc, StorageError) else exc
            log.warning(
                "rate limits: Redis does not answer (%s); requests are served uncounted "
                "until it does",
                type(cause).__name__,
            )

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.aclose()


class RateLimitMiddleware:
    """Counts each HTTP request before any route runs (health checks and static files aside):
    within the quota it goes on, its answer carrying `RateLimit-Policy` and `RateLimit`; past
    it, `429 too-many-requests` with `Retry-After`, and nothing of the request is done."""

    def __init__(self, app: ASGIApp, *, limits: RateLimits, render: ProblemRenderer) -> None:
        self.app = app
        self.limits = limits
        self.render = render

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or str(scope.get("path", "")).startswith(EXEMPT_PREFIXES):
            await self.app(scope, receive, send)
            return
        verdict = await self.limits.count(*self.limits.caller(scope))
        if verdict is None:
            await self.app(scope, receive, send)
            return
        if not verdict.allowed:
            response = await self.render(Request(scope), verdict.refusal())
            await response(scope, receive, send)
            return
        fields = [
            (name.lower().encode(), value.encode()) for name, value in verdict.fields().items()
        ]

        async def send_with_fields(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *fields]
            await send(message)

        await self.app(scope, receive, send_with_fields)
