"""Requests per client, limited with GCRA (the generic cell rate algorithm) kept in Redis.

A client is its token when it presents one the service knows, else its address (IPv6: its /64).
Each client has one Redis key holding its *theoretical arrival time* (TAT): a request is allowed
when, after it, the TAT would be at most ``burst`` emission intervals ahead of now. One Lua call
per request reads and moves the TAT atomically with the Redis server's clock, so every API
process (``syndicate api --workers N``, containers on several hosts) shares one budget per
client. ``gcra`` is the same rule in Python, for tests and for reading.

Busy clients do not pay a Redis call per request: a call may take a *lease* of several requests
at once (``lease_size``: a twentieth of the smaller of the rate and the burst, so one for the
small anonymous limits), which the API process then spends locally for up to
``LEASE_SECONDS``. A lease is charged in full when it is taken, and one that cannot be had
whole falls back to a single request, so near its limit a client is held exactly; what a lease
changes is only that ``N`` API processes may each hold up to one lease's worth unspent (and
that an unspent rest expires, charged: a client never gets more than its budget).

Liveness probes and, unless ``SYNDICATE_RATE_LIMIT_FEEDS``, feed reads (stored bytes, cacheable)
are not counted. If Redis cannot be reached the request goes through (it fails on its own).
"""

from __future__ import annotations

import ipaddress
import logging
import math
import time
from dataclasses import dataclass
from typing import Any

import redis
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Receive, Scope, Send

from shared import keys
from shared.auth import bearer_token, fingerprint, known_scope
from shared.problems import problem
from shared.redis_conn import Lua, get_redis
from shared.settings import Settings, get_settings

log = logging.getLogger(__name__)

MICROS = 1_000_000
EXEMPT_PATHS = frozenset({"/healthz", "/readyz"})

#: how long the unspent rest of a lease may be spent before it expires
LEASE_SECONDS = 1.0
#: leases kept per process before expired ones are swept out
LEASES_KEPT = 4096

#: KEYS[1] the client's TAT; ARGV emission interval (µs), capacity (burst × emission, µs), for
#: tests only a fixed "now" (µs), and the requests wanted (a lease; one if it cannot be had
#: whole); returns {allowed, retry-after µs, remaining, granted}
_GCRA = Lua(
    """
local emission = tonumber(ARGV[1])
local capacity = tonumber(ARGV[2])
local now
if ARGV[3] ~= nil and ARGV[3] ~= '' then
  now = tonumber(ARGV[3])
else
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000000 + tonumber(t[2])
end
local cost = tonumber(ARGV[4] or '1')
local tat = tonumber(redis.call('GET', KEYS[1]))
if tat == nil or tat < now then tat = now end
local new_tat = tat + emission * cost
if cost > 1 and new_tat - now > capacity then
  cost = 1
  new_tat = tat + emission
end
local ahead = new_tat - now
if ahead > capacity then
  return {0, ahead - capacity, 0, 0}
end
redis.call('SET', KEYS[1], string.format('%.0f', new_tat), 'PX', math.ceil(ahead / 1000) + 1)
return {1, 0, math.floor((capacity - ahead) / emission), cost}
"""
)


@dataclass(frozen=True)
class Limit:
    """A sustained rate and the burst allowed on top of it."""

    per_second: float
    burst: int

    @property
    def emission_us(self) -> int:
        """Microseconds between two requests at the sustained rate."""
        return max(1, round(MICROS / self.per_second))

    @property
    def capacity_us(self) -> int:
        return self.emission_us * self.burst


def lease_size(limit: Limit) -> int:
    """Requests one Redis call may take at once for a client with ``limit``."""
    return max(1, int(min(limit.per_second, limit.burst) // 20))


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    retry_after_us: int
    remaining: int
    granted: int = 1  # requests paid for (a lease: the rest are spent locally)

    @property
    def retry_after_seconds(self) -> int:
        """``Retry-After``: whole seconds, at least 1."""
        return max(1, math.ceil(self.retry_after_us / MICROS))


def gcra(tat_us: int | None, now_us: int, limit: Limit) -> tuple[Verdict, int | None]:
    """One request at ``now_us`` against a client whose TAT is ``tat_us`` (``None``: fresh).

    Returns the verdict and the TAT to store (``None`` when refused: nothing changes)."""
    tat = now_us if tat_us is None or tat_us < now_us else tat_us
    new_tat = tat + limit.emission_us
    ahead = new_tat - now_us
    if ahead > limit.capacity_us:
        return Verdict(False, ahead - limit.capacity_us, 0, 0), None
    return Verdict(True, 0, (limit.capacity_us - ahead) // limit.emission_us), new_tat


class Limiter:
    """The Redis side: one atomic GCRA step per request."""

    def __init__(self, client: redis.Redis) -> None:
        self._client = client

    def hit(
        self, client_id: str, limit: Limit, now_us: int | None = None, cost: int = 1
    ) -> Verdict:
        """Charge ``cost`` requests (or one, if that many cannot be had) to the client."""
        args: list[Any] = [
            limit.emission_us,
            limit.capacity_us,
            "" if now_us is None else now_us,
            max(1, cost),
        ]
        allowed, retry_us, remaining, granted = _GCRA(
            self._client, [keys.rate_limit(client_id)], args
        )
        return Verdict(bool(allowed), int(retry_us), int(remaining), int(granted))


class Leases:
    """The unspent requests of leases this process took, per client (pure, no I/O)."""

    def __init__(self, seconds: float = LEASE_SECONDS, kept: int = LEASES_KEPT) -> None:
        self.seconds = seconds
        self.kept = kept
        self._left: dict[str, tuple[int, float]] = {}

    def spend(self, client_id: str, now: float) -> bool:
        """Spend one request of the client's lease, if it holds one in force."""
        left, until = self._left.get(client_id, (0, 0.0))
        if left <= 0 or now >= until:
            return False
        self._left[client_id] = (left - 1, until)
        return True

    def keep(self, client_id: str, granted: int, now: float) -> None:
        """A lease of ``granted`` requests was taken and one of them spent at once."""
        if granted <= 1:
            self._left.pop(client_id, None)
            return
        if len(self._left) >= self.kept:
            self._left = {k: v for k, v in self._left.items() if v[1] > now and v[0] > 0}
        self._left[client_id] = (granted - 1, now + self.seconds)


def address_key(address: str) -> str:
    """The bucket of an address: itself for IPv4, its /64 for IPv6 (one host's usual share)."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


def identify(scope: Scope, settings: Settings) -> tuple[str, Limit]:
    """Who is asking, and their limit: a known token, else the address."""
    authorization = None
    for name, value in scope.get("headers", ()):
        if name == b"authorization":
            authorization = value.decode("latin-1")
            break
    token = bearer_token(authorization)
    if token is not None and known_scope(token) is not None:
        limit = Limit(settings.rate_limit_token_per_second, settings.rate_limit_token_burst)
        return f"token:{fingerprint(token)}", limit
    client = scope.get("client")
    address = address_key(client[0]) if client else "unknown"
    limit = Limit(settings.rate_limit_anonymous_per_second, settings.rate_limit_anonymous_burst)
    return f"addr:{address}", limit


def counted(method: str, path: str, settings: Settings) -> bool:
    """Is this request counted? Probes never; feed reads only with RATE_LIMIT_FEEDS."""
    if path in EXEMPT_PATHS:
        return False
    is_feed = path == "/feeds" or path.startswith("/feeds/")
    return not (is_feed and method in ("GET", "HEAD") and not settings.rate_limit_feeds)


class RateLimitMiddleware:
    """ASGI middleware: ``429`` problem with ``Retry-After`` for a client over its limit."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._limiters: dict[int, Limiter] = {}
        self._leases = Leases()

    def _limiter(self) -> Limiter:
        client = get_redis()
        limiter = self._limiters.get(id(client))
        if limiter is None:
            limiter = self._limiters[id(client)] = Limiter(client)
        return limiter

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        settings = get_settings()
        if not settings.rate_limit_enabled or not counted(scope["method"], scope["path"], settings):
            await self.app(scope, receive, send)
            return
        client_id, limit = identify(scope, settings)
        if self._leases.spend(client_id, time.monotonic()):
            await self.app(scope, receive, send)
            return
        try:
            verdict = await run_in_threadpool(
                self._limiter().hit, client_id, limit, None, lease_size(limit)
            )
        except redis.RedisError as exc:
            log.warning("rate limit not checked (Redis: %s); request let through", exc)
            await self.app(scope, receive, send)
            return
        if verdict.allowed:
            self._leases.keep(client_id, verdict.granted, time.monotonic())
            await self.app(scope, receive, send)
            return
        who = "This token" if client_id.startswith("token:") else "This address"
        wait = verdict.retry_after_seconds
        response = problem(
            429,
            "Too many requests",
            f"{who} may make {limit.per_second:g} requests per second (bursts of "
            f"{limit.burst}); retry in {wait} s.",
            type_slug="rate-limited",
            instance=scope["path"],
            extra={"retry_after": wait},
            headers={"Retry-After": str(wait)},
        )
        await response(scope, receive, send)
