"""Rate limits over real HTTP: per address (X-Forwarded-For from the loopback proxy, as uvicorn's
proxy_headers reads it) and per account, 429 with Retry-After and Mastodon's X-RateLimit-*
headers, windows that expire, instances that share a Redis, and Redis being down."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime

import pytest
from redis.asyncio import Redis

from policy.rate_limits import DEFAULT_LIMITS, RateLimit, RateLimitError, parse_limit
from server.config import ConfigError, Settings
from tests.conftest import PASSWORD
from tests.test_cameos import _form


def _limits(**overrides: RateLimit) -> dict[str, RateLimit]:
    return {**DEFAULT_LIMITS, **{name.replace("__", "."): limit for name, limit in overrides.items()}}


def _from(ip: str) -> dict[str, str]:
    return {"X-Forwarded-For": ip}


async def _signup(instance, username: str, ip: str):
    return await instance.api(None, "POST", "/api/v1/accounts", headers=_from(ip), json={
        "username": username, "email": f"{username}@example.com", "password": PASSWORD})


async def _login(instance, username: str, password: str, ip: str):
    return await instance.api(None, "POST", "/oauth/token", headers=_from(ip), data={
        "grant_type": "password", "username": username, "password": password})


def _assert_refused(response, words: str) -> int:
    assert response.status_code == 429, response.text
    assert words in response.json()["error"], response.json()
    retry = int(response.headers["Retry-After"])
    assert retry >= 1
    assert response.headers["X-RateLimit-Remaining"] == "0"
    return retry


async def test_logins_are_limited_per_address_and_per_account(make_instance):
    """Mastodon's defaults: 25 login attempts per 5 minutes per address and per account."""
    a = await make_instance("a")
    await a.signup("alice")
    await a.signup("bob")
    limit = DEFAULT_LIMITS["login.ip"].limit
    assert limit == DEFAULT_LIMITS["login.account"].limit == 25
    for n in range(limit):
        response = await _login(a, "alice", "wrong password", "198.51.100.1")
        assert response.status_code == 401, response.text
        assert response.headers["X-RateLimit-Limit"] == "25"
        assert response.headers["X-RateLimit-Remaining"] == str(limit - n - 1)
        reset = datetime.fromisoformat(response.headers["X-RateLimit-Reset"].replace("Z", "+00:00"))
        assert 0 < (reset - datetime.now(UTC)).total_seconds() <= 300
    refused = await _login(a, "alice", PASSWORD, "198.51.100.1")  # even the right password
    retry = _assert_refused(refused, "too many login attempts")
    assert retry <= 300 and "at most 25 every 5 minutes" in refused.json()["error"]
    # From another address, alice is still refused (her account's limit); bob is not...
    _assert_refused(await _login(a, "Alice", PASSWORD, "198.51.100.2"), "for this account")
    assert (await _login(a, "bob", PASSWORD, "198.51.100.2")).status_code == 200
    # ...except from the address that used up its own limit.
    _assert_refused(await _login(a, "bob", PASSWORD, "198.51.100.1"), "from this address")


async def test_sign_ups_per_address_and_windows_expire(make_instance):
    # A window opens at its first request: long enough that three argon2 sign-ups on a busy
    # machine fit in it, short enough to wait out.
    a = await make_instance("a", rate_limits=_limits(sign_up__ip=RateLimit(3, 8)))
    for n in range(3):
        response = await _signup(a, f"user{n}", "203.0.113.1")
        assert response.status_code == 200, response.text
        assert response.headers["X-RateLimit-Remaining"] == str(2 - n)
    retry = _assert_refused(await _signup(a, "user3", "203.0.113.1"), "too many sign-ups from this address")
    assert retry <= 8
    assert await a.pool.fetchval("SELECT count(*) FROM users") == 3  # the refused one wrote nothing
    assert (await _signup(a, "other", "203.0.113.2")).status_code == 200
    await asyncio.sleep(retry + 0.2)
    assert (await _signup(a, "user3", "203.0.113.1")).status_code == 200


async def test_posting_and_gpu_requests_are_limited_per_account(make_instance):
    a = await make_instance("a", rate_limits=_limits(
        statuses__account=RateLimit(2, 600), generations__account=RateLimit(1, 600),
        remix_requests__account=RateLimit(1, 600), media__account=RateLimit(1, 600)))
    await a.signup("alice")
    await a.signup("bob")
    for n in range(2):
        response = await a.api("alice", "POST", "/api/v1/statuses", json={"status": f"post {n}"})
        assert response.status_code == 200 and response.headers["X-RateLimit-Limit"] == "2"
    _assert_refused(await a.api("alice", "POST", "/api/v1/statuses", json={"status": "one more"}),
                    "too many posts for this account: at most 2 every 10 minutes")
    assert (await a.api("bob", "POST", "/api/v1/statuses", json={"status": "mine"})).status_code == 200

    generation = {"prompt": "a cat on a skateboard"}
    assert (await a.api("alice", "POST", "/api/v1/generations", json=generation)).status_code == 201
    _assert_refused(await a.api("alice", "POST", "/api/v1/generations", json=generation),
                    "too many generation requests for this account")
    assert await a.pool.fetchval("SELECT count(*) FROM generation_jobs") == 1

    cameo = await a.api("alice", "POST", "/api/v1/cameos", **_form(permission="everyone"))
    assert cameo.status_code == 201, cameo.text  # reference images count as uploads
    _assert_refused(await a.api("alice", "POST", "/api/v2/media",
                                files={"file": ("x.png", b"not really", "image/png")}),
                    "too many uploads for this account")
    remix = {"prompt": "dancing", "cameos": [cameo.json()["uri"]]}
    assert (await a.api("bob", "POST", "/api/v1/remixes", json=remix)).status_code == 201
    _assert_refused(await a.api("bob", "POST", "/api/v1/remixes", json=remix),
                    "too many remix requests for this account")
    # Unauthenticated requests are counted per address only, and still get their 401.
    anonymous = await a.api(None, "POST", "/api/v1/statuses", json={"status": "x"})
    assert anonymous.status_code == 401 and anonymous.headers["X-RateLimit-Limit"] == "1500"


async def test_instances_sharing_a_redis_count_apart(make_instance):
    limits = _limits(sign_up__ip=RateLimit(1, 600))
    a = await make_instance("a", rate_limits=limits)
    b = await make_instance("b", rate_limits=limits)
    assert (await _signup(a, "first", "192.0.2.9")).status_code == 200
    _assert_refused(await _signup(a, "second", "192.0.2.9"), "sign-ups")
    assert (await _signup(b, "first", "192.0.2.9")).status_code == 200
    keys = [k.decode() for k in await a.instance.redis.keys(f"{a.instance.fed.queue_name}:rate-limit:*")]
    assert keys == [f"{a.instance.fed.queue_name}:rate-limit:sign_up:ip:192.0.2.9"]


async def test_redis_down_fails_open(make_instance, caplog):
    a = await make_instance("a", rate_limits=_limits(sign_up__ip=RateLimit(1, 600)))
    limiter = a.instance.limiter
    working = limiter.redis
    dead = Redis(host="127.0.0.1", port=1)  # nothing listens there
    limiter.redis = dead
    try:
        with caplog.at_level(logging.WARNING, logger="server.rate_limits"):
            for n in range(3):
                response = await _signup(a, f"user{n}", "192.0.2.1")
                assert response.status_code == 200, response.text
                assert "X-RateLimit-Limit" not in response.headers
        assert "rate limits not enforced, Redis is unavailable" in caplog.text
    finally:
        limiter.redis = working
        await dead.aclose()
    assert (await _signup(a, "back", "192.0.2.1")).status_code == 200
    _assert_refused(await _signup(a, "again", "192.0.2.1"), "sign-ups")


def test_limits_are_read_from_the_environment():
    settings = Settings.from_env({"LIKENESS_RATE_LIMIT_STATUSES_ACCOUNT": "10/1h",
                                  "LIKENESS_RATE_LIMIT_SIGN_UP_IP": "5 / 30m"})
    assert settings.rate_limits["statuses.account"] == RateLimit(10, 3600)
    assert settings.rate_limits["sign_up.ip"] == RateLimit(5, 1800)
    assert settings.rate_limits["login.ip"] == DEFAULT_LIMITS["login.ip"]
    with pytest.raises(ConfigError, match="LIKENESS_RATE_LIMIT_LOGIN_IP"):
        Settings.from_env({"LIKENESS_RATE_LIMIT_LOGIN_IP": "lots"})
    with pytest.raises(ConfigError, match="names no rate limit"):
        Settings.from_env({"LIKENESS_RATE_LIMIT_LOGINS_IP": "5/1m"})


@pytest.mark.parametrize(("text", "expected"), [
    ("25/300", RateLimit(25, 300)), ("25/5m", RateLimit(25, 300)), ("300/3h", RateLimit(300, 10800)),
    ("1/1d", RateLimit(1, 86400)), ("7/30s", RateLimit(7, 30))])
def test_parse_limit(text, expected):
    assert parse_limit(text) == expected


@pytest.mark.parametrize("text", ["", "25", "0/5m", "5/0", "-1/5m", "5/5w", "five/5m"])
def test_bad_limits(text):
    with pytest.raises(RateLimitError):
        parse_limit(text)
