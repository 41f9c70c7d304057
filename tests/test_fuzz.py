"""Hostile requests (tests/hostile.py: bodies, headers, paths and query parameters) at the inbox,
signed and unsigned, and at the client API, signed in as a user and as an admin: any 5xx, or any
traceback the server logs meanwhile (workers handling what the inbox accepted included), fails.

`python -m tests.bench.fuzz` runs the same generator longer and prints the tally per family.
"""

from __future__ import annotations

import asyncio
import random

from tests.conftest import eventually
from tests.hostile import hostile_requests, send_all, server_tracebacks

REQUESTS = 600
SEED = 12


async def test_hostile_requests_get_no_5xx_and_log_no_traceback(make_instance, peer):
    a = await make_instance()
    tokens = {"user": await a.signup("alice"), "admin": await a.signup("staff")}
    await a.set_role("staff", "admin")
    assert (await a.api("alice", "POST", "/api/v1/statuses", json={"status": "hi #cats"})).status_code == 200
    peer.add_actor("mallory")
    requests = hostile_requests(random.Random(SEED), REQUESTS, tokens, peer.base, "mallory",
                                f"{a.base_url}/users/alice")
    with server_tracebacks() as tracebacks:
        tally = await send_all(a.base_url, requests, peer.signed_headers, concurrency=8)

        async def handled() -> bool:
            return not await a.pool.fetchval(
                "SELECT count(*) FROM inbox_activities WHERE state = 'pending' AND attempts = 0")

        await eventually(handled, timeout=30)
        await asyncio.sleep(0.5)
    assert sum(tally.server_errors.values()) == 0, tally.examples
    assert tracebacks == [], tracebacks[:3]
    assert sum(tally.sent.values()) == REQUESTS, tally
    assert tally.sent["inbox (signed)"] and tally.sent["statuses"], tally
