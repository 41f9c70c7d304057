"""What a /metrics scrape costs PostgreSQL as deliveries pile up: the gauges read at scrape time
(the peer backlog, generation jobs by state), timed against the queued deliveries and the number
of peer hosts they are for. Every scraped process (web, each worker) runs them at each scrape.

    DATABASE_URL=postgresql://... python -m tests.bench.scrape [--repeat N]

Needs DATABASE_URL (a scratch database is made there and dropped). Prints a table.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time

import asyncpg

from federation import store as federation_store
from generation import store as generation_store
from server.db import create_pool, migrate
from server.metrics import BACKLOG_HOSTS
from tests.bench.servers import ScratchDatabases

# (queued deliveries, peer hosts): a post to 10,000 followers on 1,000 servers, then a backlog
# of twenty such posts to 10,000 servers that do not answer.
SIZES = [(10_000, 1_000), (100_000, 10_000), (200_000, 10_000)]

SEED = [
    "INSERT INTO actors (uri, local, username, domain, inbox)"
    " VALUES ('https://bench.example/users/a', false, 'a', 'bench.example', 'https://bench.example/inbox')"
    " ON CONFLICT DO NOTHING",
    "INSERT INTO outbox_activities (uri, actor_id, type, body, public)"
    " SELECT 'https://bench.example/activities/' || g, (SELECT min(id) FROM actors), 'Create', '{}', true"
    " FROM generate_series($1::int, $2::int) g",
    "INSERT INTO deliveries (activity_id, inbox)"
    " SELECT o.id, 'https://peer' || (n % $1::int) || '.example/users/u' || n || '/inbox'"
    " FROM outbox_activities o CROSS JOIN generate_series(1, $2::int) n WHERE o.uri = ANY($3::text[])",
]


async def _seed(conn: asyncpg.Connection, start: int, queued: int, hosts: int) -> int:
    """Add `queued` deliveries over `hosts` hosts, one activity per 10,000 of them."""
    activities = max(1, queued // 10_000)
    uris = [f"https://bench.example/activities/{n}" for n in range(start, start + activities)]
    await conn.execute(SEED[0])
    await conn.execute(SEED[1], start, start + activities - 1)
    await conn.execute(SEED[2], hosts, queued // activities, uris)
    await conn.execute("ANALYZE deliveries")
    return start + activities


async def _median_ms(read, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        await read()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


async def main(repeat: int) -> None:
    async with ScratchDatabases() as databases:
        url = await databases.new()
        if url is None:
            raise SystemExit("set DATABASE_URL")
        conn = await asyncpg.connect(url)
        await migrate(conn)
        pool = await create_pool(url)
        print(f"{'queued':>8} {'hosts':>7} {'backlog ms':>11} {'jobs ms':>8}")
        try:
            start = 0
            for queued, hosts in SIZES:
                # Each size is a fresh backlog: the previous one is taken as delivered.
                await conn.execute("UPDATE deliveries SET state = 'done' WHERE state = 'queued'")
                start = await _seed(conn, start, queued, hosts)
                backlog = await _median_ms(lambda: federation_store.backlog_by_host(pool, BACKLOG_HOSTS),
                                           repeat)
                jobs = await _median_ms(lambda: generation_store.jobs_by_state(pool), repeat)
                print(f"{queued:>8} {hosts:>7} {backlog:>11.1f} {jobs:>8.1f}")
        finally:
            await pool.close()
            await conn.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    asyncio.run(main(parser.parse_args().repeat))
