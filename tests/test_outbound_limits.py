"""Every outbound request is bounded: a hostile server that answers WebFinger with an endless body
or a byte at a time costs each lookup at most the outbound deadline and a capped amount of memory,
and the lookups stuck on it cannot take the connections that inbound federation needs."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import AsyncIterator

import psutil
import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from federation.fetch import OutboundLimits
from server.config import ConfigError, Settings
from tests.conftest import eventually

DEADLINE = 3.0
# Small enough that the lookups to two hostile hosts fill the shared pool, as 110 did in the attack.
LIMITS = OutboundLimits(deadline=DEADLINE, per_host=2, connections=4)
# The peer gives up on a delivery long before A's lookups end, as a real one (10 s) before 30 s.
PEER_LIMITS = OutboundLimits(deadline=1.5)
HUGE = 512 * 1024 * 1024
CHUNK = 64 * 1024


class Hostile:
    """A server on three ports (three hosts): WebFinger on `huge_host` answers with 512 MB made on
    the fly, and on the `slow_hosts` with one byte a second, for ever."""

    def __init__(self) -> None:
        self.huge_host = ""
        self.slow_hosts: list[str] = []
        self.largest = 0  # the most bytes of one huge answer that were taken from it

    async def webfinger(self, request: Request) -> Response:
        body = self._huge() if request.url.netloc == self.huge_host else self._trickle()
        return StreamingResponse(body, media_type="application/jrd+json")

    async def _huge(self) -> AsyncIterator[bytes]:
        yield b'{"links": [], "pad": "'
        sent = 0
        for _ in range(HUGE // CHUNK):
            yield b"x" * CHUNK
            sent += CHUNK
            self.largest = max(self.largest, sent)
            await asyncio.sleep(0)  # so that the server notices a client that hung up

    async def _trickle(self) -> AsyncIterator[bytes]:
        while True:
            yield b" "
            await asyncio.sleep(1)


@pytest.fixture
async def hostile() -> AsyncIterator[Hostile]:
    site = Hostile()
    sockets = [socket.socket() for _ in range(3)]
    for sock in sockets:
        sock.bind(("127.0.0.1", 0))
    site.huge_host, *site.slow_hosts = (f"127.0.0.1:{sock.getsockname()[1]}" for sock in sockets)
    app = Starlette(routes=[Route("/.well-known/webfinger", site.webfinger)])
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off",
                                           timeout_graceful_shutdown=1))
    task = asyncio.create_task(server.serve(sockets=sockets))
    while not server.started:
        await asyncio.sleep(0.01)
    yield site
    server.should_exit = True
    await task


async def _timed(call) -> tuple[int, dict, float]:
    started = time.monotonic()
    response = await call
    return response.status_code, response.json(), time.monotonic() - started


def _search(a, host: str):
    return _timed(a.api("alice", "GET", "/api/v2/search",
                        params={"q": f"@someone@{host}", "resolve": "true"}))


async def test_hostile_lookups_end_in_time_and_the_api_stays_responsive(make_instance, hostile):
    a = await make_instance("a", outbound=LIMITS)
    await a.signup("alice")
    rss_before = psutil.Process().memory_info().rss
    hosts = [hostile.huge_host, hostile.slow_hosts[0]]
    mentions = " ".join(f"@someone{n}@{host}" for n in range(3) for host in hosts)
    post = _timed(a.api("alice", "POST", "/api/v1/statuses", json={"status": f"hi {mentions}"}))
    lookups = asyncio.gather(post, *(_search(a, host) for host in hosts * 10))
    await asyncio.sleep(DEADLINE / 3)

    # The API answers promptly meanwhile.
    for _ in range(5):
        status, _, took = await _timed(a.api("alice", "GET", "/api/v1/accounts/verify_credentials"))
        assert status == 200 and took < 1.5, took

    # Each lookup ended within the deadline, empty, without a 5xx. The server stops each at the
    # deadline; the test sees that plus the time this one process (instance, hostile server and
    # test) takes to get round to it on a busy machine.
    results = await asyncio.wait_for(lookups, DEADLINE * 3)
    for status, body, took in results:
        assert status == 200 and took < DEADLINE * 2, (status, body, took)
        assert body.get("accounts", []) == [] and body.get("mentions", []) == []
    # Each huge answer was read no further than the cap on a WebFinger answer (100 kB; what was
    # sent beyond it sat in socket buffers), not to its end.
    assert psutil.Process().memory_info().rss - rss_before < 100 * 1024 * 1024
    assert 0 < hostile.largest < 4 * 1024 * 1024


async def test_inbound_federation_works_while_lookups_hold_the_pool(make_instance, hostile):
    a = await make_instance("a", outbound=LIMITS)
    b = await make_instance("b", outbound=PEER_LIMITS)
    await a.signup("alice")
    await b.signup("bob")
    found = await b.api("bob", "GET", "/api/v2/search", params={"q": a.handle("alice"), "resolve": "true"})
    alice_on_b = found.json()["accounts"][0]["id"]

    # Two slow hosts, two connections each: every connection of A's shared pool, for the deadline.
    lookups = asyncio.gather(*(_search(a, host) for host in hostile.slow_hosts * 4))
    await asyncio.sleep(DEADLINE / 6)
    response = await b.api("bob", "POST", f"/api/v1/accounts/{alice_on_b}/follow")
    assert response.status_code == 200, response.text

    # bob's Follow reaches A and verifies (A fetches bob's key through the pool kept for keys)
    # before B gives up on the delivery, while the lookups still hold the shared pool.
    async def followed() -> bool:
        return await a.pool.fetchval("SELECT count(*) FROM follows WHERE accepted") == 1

    await eventually(followed, timeout=DEADLINE)
    assert await b.pool.fetchval("SELECT count(*) FROM deliveries WHERE state = 'done'") == 1
    for status, _, _ in await asyncio.wait_for(lookups, DEADLINE * 3):
        assert status == 200


def test_limits_are_settings() -> None:
    assert Settings.from_env({}).outbound == OutboundLimits()
    assert Settings.from_env({"LIKENESS_OUTBOUND_DEADLINE_S": "5", "LIKENESS_OUTBOUND_MAX_MB": "2",
                              "LIKENESS_OUTBOUND_PER_HOST": "3"}).outbound == \
        OutboundLimits(deadline=5, max_bytes=2 * 1024 * 1024, per_host=3)
    for name, value in [("LIKENESS_OUTBOUND_DEADLINE_S", "0"), ("LIKENESS_OUTBOUND_DEADLINE_S", "soon"),
                        ("LIKENESS_OUTBOUND_MAX_MB", "0"), ("LIKENESS_OUTBOUND_MAX_MB", "1.5"),
                        ("LIKENESS_OUTBOUND_PER_HOST", "0"), ("LIKENESS_OUTBOUND_PER_HOST", "1000")]:
        with pytest.raises(ConfigError, match=name):
            Settings.from_env({name: value})
