"""Rate limits: how many requests of one kind an address or an account may make per period.

A plain table, named `family.scope`: the family is what is limited (sign-ups, logins, posts...),
the scope whom it is counted for (`ip`, the client address; `account`, the signed-in account, or
for logins the name being logged in to). Defaults are near Mastodon's (its Rack::Attack rules
and its per-account RateLimiter); generation and remix requests, which Mastodon does not have,
are limited per request here, beside the job quotas in generation/ that bound GPU time.
Operators override any line with `LIKENESS_RATE_LIMIT_<FAMILY>_<SCOPE>=N/PERIOD`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass

SCOPES = ("ip", "account")


@dataclass(frozen=True)
class RateLimit:
    limit: int
    period_s: int


MINUTE = 60
HOUR = 3600

DEFAULT_LIMITS: Mapping[str, RateLimit] = {
    "sign_up.ip": RateLimit(25, 5 * MINUTE),
    "login.ip": RateLimit(25, 5 * MINUTE),
    "login.account": RateLimit(25, 5 * MINUTE),
    "statuses.account": RateLimit(300, 3 * HOUR),
    "statuses.ip": RateLimit(1500, 3 * HOUR),
    "media.account": RateLimit(30, 30 * MINUTE),
    "media.ip": RateLimit(150, 30 * MINUTE),
    "remix_requests.account": RateLimit(30, HOUR),
    "remix_requests.ip": RateLimit(150, HOUR),
    "generations.account": RateLimit(30, 10 * MINUTE),
    "generations.ip": RateLimit(150, 10 * MINUTE),
}

# What each family counts, and for whom, as a refusal says it.
FAMILY_NOUNS = {"sign_up": "sign-ups", "login": "login attempts", "statuses": "posts",
                "media": "uploads", "remix_requests": "remix requests",
                "generations": "generation requests"}
SCOPE_WORDS = {"ip": "from this address", "account": "for this account"}

_PERIOD_UNITS = {"": 1, "s": 1, "m": MINUTE, "h": HOUR, "d": 24 * HOUR}
_SPEC = re.compile(r"\s*(\d+)\s*/\s*(\d+)\s*([smhd]?)\s*")


class RateLimitError(ValueError):
    """A limit written in a way that cannot be read."""


def parse_limit(text: str) -> RateLimit:
    """`N/PERIOD`: N requests per PERIOD, in seconds or with a unit (`30s`, `5m`, `3h`, `1d`)."""
    match = _SPEC.fullmatch(text.lower())
    if match is None:
        raise RateLimitError(f"a rate limit is N/PERIOD, such as 25/5m or 300/3h, not {text!r}")
    limit, period = int(match[1]), int(match[2]) * _PERIOD_UNITS[match[3]]
    if limit < 1 or period < 1:
        raise RateLimitError(f"a rate limit needs at least one request per at least one second: {text!r}")
    return RateLimit(limit, period)


def env_name(name: str) -> str:
    return "LIKENESS_RATE_LIMIT_" + name.upper().replace(".", "_")


def limits_for(limits: Mapping[str, RateLimit], family: str) -> dict[str, RateLimit]:
    """The limits of one family, by scope."""
    return {scope: limits[f"{family}.{scope}"] for scope in SCOPES if f"{family}.{scope}" in limits}


@dataclass(frozen=True)
class Count:
    """One counter after a request: `count` requests so far in a window that ends in `reset_s`."""

    name: str
    limit: RateLimit
    count: int
    reset_s: float

    @property
    def refused(self) -> bool:
        return self.count > self.limit.limit

    @property
    def remaining(self) -> int:
        return max(0, self.limit.limit - self.count)

    @property
    def retry_after_s(self) -> int:
        return max(1, math.ceil(self.reset_s))


def binding(counts: list[Count]) -> Count:
    """The count a client should hear about: a refused one (the longest wait), else the one
    with the fewest requests left."""
    refused = [c for c in counts if c.refused]
    if refused:
        return max(refused, key=lambda c: c.reset_s)
    return min(counts, key=lambda c: (c.remaining, -c.reset_s))


def refusal_message(count: Count) -> str:
    family, scope = count.name.split(".")
    period = _duration(count.limit.period_s)
    period = period[2:] if period.startswith("1 ") else period  # "every hour", not "every 1 hour"
    return (f"too many {FAMILY_NOUNS.get(family, family)} {SCOPE_WORDS.get(scope, scope)}: at most "
            f"{count.limit.limit} every {period}; try again in {_duration(count.retry_after_s)}")


def _duration(seconds: int) -> str:
    for unit, size in (("day", 86400), ("hour", HOUR), ("minute", MINUTE)):
        if seconds >= size and seconds % size == 0:
            n = seconds // size
            return f"{n} {unit}{'s' if n != 1 else ''}"
    if seconds > MINUTE:
        return f"{seconds // MINUTE} min {seconds % MINUTE} s"
    return f"{seconds} second{'s' if seconds != 1 else ''}"
