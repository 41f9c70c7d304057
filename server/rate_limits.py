"""Rate limiting over Redis: counters per address and per account, and the `rate_limited`
wrapper that the limited routes go through (the table itself is policy/rate_limits.py).

Each counter is a fixed window: the first request sets its expiry, later ones count until it
lapses. One Lua script increments every counter of a request and reads their expiry in a
single atomic round trip. Keys begin with the instance's queue name, so instances that share a
Redis keep apart.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import logging
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from redis.exceptions import RedisError
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from policy.rate_limits import Count, RateLimit, binding, limits_for, refusal_message

from .http import current_user, error, read_params

log = logging.getLogger(__name__)

Endpoint = Callable[[Request], Awaitable[Response]]
AccountKey = Callable[[Request], Awaitable[str | None]]

# KEYS: counters; ARGV: their windows in ms. Returns count, ms left, for each key in turn.
_COUNT_SCRIPT = """
local out = {}
for i, key in ipairs(KEYS) do
    local count = redis.call('INCR', key)
    local ttl = redis.call('PTTL', key)
    if count == 1 or ttl < 0 then
        redis.call('PEXPIRE', key, ARGV[i])
        ttl = tonumber(ARGV[i])
    end
    out[#out + 1] = count
    out[#out + 1] = ttl
end
return out
"""
REDIS_TIMEOUT_S = 1.0


class RateLimiter:
    def __init__(self, redis: Any, prefix: str, limits: Mapping[str, RateLimit]) -> None:
        self.redis = redis
        self.prefix = prefix
        self.limits = limits

    async def hit(self, family: str, who: Mapping[str, str]) -> list[Count] | None:
        """Count one request of `family` for each scope in `who` (scope -> identity); the
        counts, or None when Redis cannot be reached.

        Failing open is deliberate: with Redis down the instance cannot queue work anyway, and
        refusing every sign-in and post on top would turn a degraded server into a dead one.
        """
        limits = {scope: limit for scope, limit in limits_for(self.limits, family).items()
                  if scope in who}
        if not limits:
            return []
        keys = [f"{self.prefix}:{family}:{scope}:{who[scope]}" for scope in limits]
        windows = [limit.period_s * 1000 for limit in limits.values()]
        try:
            raw = await asyncio.wait_for(self.redis.eval(_COUNT_SCRIPT, len(keys), *keys, *windows),
                                         REDIS_TIMEOUT_S)
        except (OSError, RedisError, TimeoutError) as exc:
            log.warning("rate limits not enforced, Redis is unavailable: %s", exc)
            return None
        return [Count(f"{family}.{scope}", limit, int(raw[2 * i]), int(raw[2 * i + 1]) / 1000)
                for i, (scope, limit) in enumerate(limits.items())]


def client_address(request: Request) -> str:
    """The client's IP: behind a proxy, uvicorn's proxy_headers has already put the forwarded
    address here (from FORWARDED_ALLOW_IPS only)."""
    return request.client.host if request.client else "unknown"


async def signed_in_account(request: Request) -> str | None:
    user = await current_user(request, required=False)
    return str(user["id"]) if user is not None else None


async def login_name(request: Request) -> str | None:
    """The account a login is for, as typed: guessing one account's password from many
    addresses is limited too. Hashed, so that no typed text ends up in Redis keys."""
    name = (await read_params(request)).get("username")
    if not isinstance(name, str) or not name.strip():
        return None
    return hashlib.sha256(name.strip().lower().encode()).hexdigest()[:32]


def rate_limited(family: str, *, account: AccountKey = signed_in_account) -> Callable[[Endpoint], Endpoint]:
    """Wrap a route: count the request per address and per account, answer 429 with
    `Retry-After` past a limit, and tell every answer Mastodon's `X-RateLimit-*` headers."""

    def wrap(endpoint: Endpoint) -> Endpoint:
        @functools.wraps(endpoint)
        async def limited(request: Request) -> Response:
            limiter: RateLimiter = request.app.state.instance.limiter
            who = {"ip": client_address(request)}
            key = await account(request)
            if key is not None:
                who["account"] = key
            counts = await limiter.hit(family, who)
            if not counts:
                return await endpoint(request)
            shown = binding(counts)
            headers = _headers(shown)
            if shown.refused:
                return error(429, refusal_message(shown),
                             headers={**headers, "Retry-After": str(shown.retry_after_s)})
            try:
                response = await endpoint(request)
            except HTTPException as exc:
                exc.headers = {**(exc.headers or {}), **headers}
                raise
            response.headers.update(headers)
            return response

        return limited

    return wrap


def _headers(count: Count) -> dict[str, str]:
    reset = datetime.now(UTC) + timedelta(seconds=count.reset_s)
    return {"X-RateLimit-Limit": str(count.limit.limit),
            "X-RateLimit-Remaining": str(count.remaining),
            "X-RateLimit-Reset": reset.isoformat(timespec="milliseconds").replace("+00:00", "Z")}
