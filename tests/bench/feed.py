"""Feed latency on a large table: For You and Following (home) under concurrent clients.

    python -m tests.bench.feed [--posts N] [--accounts N] [--requests N] [--concurrency C]
                               [--processes N [N ...]]

Seeds a database (DATABASE_URL's server, or an embedded PostgreSQL) with `--accounts` accounts
(50 of them local people with tokens, the rest remote), `--posts` public videos over a year with
long-tailed engagement, a tenth of them tagged, about ten follows per account and a few For You
choices per viewer; then runs `likeness serve` on it (workers off) and has `--concurrency`
clients page through both timelines as the 50 viewers, half first pages and half second pages.
Prints p50 and p99 per endpoint, for each `--processes` count of web server processes in turn
(more than one needs REDIS_URL).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

import asyncpg
import httpx

from server.accounts import issue_token
from server.db import migrate, start_embedded_postgres
from tests.bench.servers import ScratchDatabases, free_port, wait_up

VIEWERS = 50
TIMELINES = (("For You", "/api/v1/timelines/for_you"), ("Following", "/api/v1/timelines/home"))

# (statement, the names of its parameters $1, $2, ...)
SEED: list[tuple[str, tuple[str, ...]]] = [
    # Triggers off while seeding: the counters are written directly, as they would have built up.
    ("SET session_replication_role = replica", ()),
    ("INSERT INTO users (username, email, password_hash)"
     " SELECT 'viewer' || n, 'viewer' || n || '@example.com', 'x' FROM generate_series(1, $1) n",
     ("viewers",)),
    ("INSERT INTO actors (uri, user_id, local, username, domain, inbox)"
     " SELECT $1 || '/users/viewer' || u.id, u.id, true, 'viewer' || u.id, $2,"
     " $1 || '/users/viewer' || u.id || '/inbox' FROM users u", ("base", "domain")),
    ("INSERT INTO actors (uri, local, username, domain, inbox)"
     " SELECT 'https://remote' || (n % 500) || '.example/users/u' || n, false, 'u' || n,"
     " 'remote' || (n % 500) || '.example', 'https://remote' || (n % 500) || '.example/inbox'"
     " FROM generate_series(1, $1) n", ("remote_accounts",)),
    # Engagement with a long tail: most videos get a few likes, a few get thousands.
    ("INSERT INTO posts (uri, actor_id, local, visibility, content, ai_generated, published_at,"
     " created_at, like_count, boost_count, reply_count)"
     " SELECT 'https://seed.example/posts/' || n, a, false, 'public', '<p>video ' || n || '</p>', true,"
     " t, t, floor(power(random(), 6) * 5000)::int, floor(power(random(), 8) * 500)::int,"
     " floor(power(random(), 8) * 200)::int"
     " FROM (SELECT n, 1 + floor(random() * (SELECT max(id) FROM actors))::bigint AS a,"
     "       now() - random() * interval '365 days' AS t FROM generate_series(1, $1) n) s"
     " WHERE a IN (SELECT id FROM actors)", ("posts",)),
    ("INSERT INTO media (post_id, actor_id, kind, media_type, remote_url, width, height, duration,"
     " blurhash) SELECT id, actor_id, 'video', 'video/mp4', 'https://seed.example/media/' || id || '.mp4',"
     " 480, 832, 10, 'LEHV6nWB2yk8pyo0adR*.7kCMdnj' FROM posts", ()),
    ("INSERT INTO tags (post_id, name) SELECT id, 'topic' || (id % 1000) FROM posts WHERE id % 10 = 0", ()),
    ("INSERT INTO follows (uri, follower_id, followed_id, accepted)"
     " SELECT 'https://seed.example/follows/' || f || '/' || t, f, t, true FROM ("
     "   SELECT a.id AS f, 1 + floor(random() * (SELECT max(id) FROM actors))::bigint AS t"
     "   FROM actors a, generate_series(1, 10)) s"
     " WHERE t IN (SELECT id FROM actors) AND t <> f ON CONFLICT DO NOTHING", ()),
    ("INSERT INTO feed_preferences (actor_id, tag, direction)"
     " SELECT a.id, 'topic' || (a.id * 7 % 1000), 'less' FROM actors a WHERE a.local", ()),
    ("INSERT INTO feed_preferences (actor_id, target_actor_id, direction)"
     " SELECT a.id, (SELECT followed_id FROM follows WHERE follower_id = a.id LIMIT 1), 'more'"
     " FROM actors a WHERE a.local", ()),
    ("SET session_replication_role = DEFAULT", ()),
    ("ANALYZE", ()),
]


async def seed(url: str, base: str, accounts: int, posts: int) -> list[str]:
    """Fill the database; the viewers' bearer tokens."""
    conn = await asyncpg.connect(url)
    try:
        await migrate(conn)
        values = {"viewers": VIEWERS, "base": base, "domain": urlsplit(base).netloc,
                  "remote_accounts": accounts - VIEWERS, "posts": posts}
        for statement, names in SEED:
            started = time.perf_counter()
            await conn.execute(statement, *(values[name] for name in names))
            print(f"  {time.perf_counter() - started:6.1f} s  {statement[:70]}", file=sys.stderr)
    finally:
        await conn.close()
    from server.db import create_pool

    pool = await create_pool(url)
    try:
        ids = [r["id"] for r in await pool.fetch("SELECT id FROM users ORDER BY id")]
        return [await issue_token(pool, user_id) for user_id in ids]
    finally:
        await pool.close()


async def _hammer(base: str, tokens: list[str], path: str, count: int, concurrency: int
                  ) -> tuple[list[float], int]:
    """`count` GETs of `path` by `concurrency` clients as random viewers; every other one is the
    second page, reached through the first page's `next` link."""
    latencies: list[float] = []
    failures = 0
    left = count
    rng = random.Random(1)

    async def client_loop() -> None:
        nonlocal left, failures
        async with httpx.AsyncClient(base_url=base, timeout=60) as client:
            while left > 0:
                left -= 1
                headers = {"Authorization": f"Bearer {rng.choice(tokens)}"}
                url = path
                if left % 2:
                    first = await client.get(path, headers=headers)
                    url = first.links.get("next", {}).get("url", path)
                started = time.perf_counter()
                response = await client.get(url, headers=headers)
                latencies.append(time.perf_counter() - started)
                if response.status_code != 200 or not response.json():
                    failures += 1

    await asyncio.gather(*(client_loop() for _ in range(concurrency)))
    return latencies, failures


async def main(accounts: int, posts: int, requests: int, concurrency: int, processes: list[int]) -> None:
    workdir = Path(tempfile.mkdtemp(prefix="likeness-bench-"))
    async with ScratchDatabases() as databases:
        url = await databases.new()
        embedded = None
        if url is None:
            embedded = start_embedded_postgres(workdir / "db")
            url = embedded.get_uri()
        try:
            await _run(workdir, url, accounts, posts, requests, concurrency, processes)
        finally:
            if embedded is not None:
                embedded.cleanup()


async def _run(workdir: Path, url: str, accounts: int, posts: int, requests: int, concurrency: int,
               processes: list[int]) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LIKENESS_")}
    env["DATABASE_URL"] = url
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    print(f"seeding {accounts} accounts and {posts} videos ...", file=sys.stderr)
    tokens = await seed(url, base, accounts, posts)
    env.update(LIKENESS_DOMAIN=f"127.0.0.1:{port}", LIKENESS_HTTPS="0",
               LIKENESS_DATA_DIR=str(workdir / "data"), LIKENESS_RUN_WORKERS="0")
    rows = []
    single: list[tuple[int, str, float]] = []
    for count in processes:
        server = subprocess.Popen([sys.executable, "-m", "server.cli", "serve", "--port", str(port),
                                   "--processes", str(count)],
                                  env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            await wait_up(f"{base}/.well-known/nodeinfo")
            for name, path in TIMELINES:
                await _hammer(base, tokens, path, 100, concurrency)  # warm the caches and the pool
                started = time.perf_counter()
                latencies, failures = await _hammer(base, tokens, path, requests, concurrency)
                elapsed = time.perf_counter() - started
                ordered = sorted(latencies)
                p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
                rows.append((name, count, len(ordered) / elapsed, statistics.median(ordered) * 1000,
                             p99 * 1000, failures))
            async with httpx.AsyncClient(base_url=base, timeout=60) as client:
                headers = {"Authorization": f"Bearer {tokens[0]}"}
                for _, path in TIMELINES:
                    for _ in range(50):
                        started = time.perf_counter()
                        (await client.get(path, headers=headers)).raise_for_status()
                        single.append((count, path, time.perf_counter() - started))
        finally:
            server.terminate()
            server.wait()
    print(f"\n{posts} videos, {accounts} accounts, {requests} requests per endpoint, {concurrency} concurrent"
          f" clients, 20 statuses a page, {os.cpu_count()} cores\n")
    print(f"| {'timeline':<10} | {'processes':>9} | {'requests/s':>10} | {'p50 ms':>7} | {'p99 ms':>7} |"
          f" {'errors':>6} |")
    print(f"|{'-' * 12}|{'-' * 11}|{'-' * 12}|{'-' * 9}|{'-' * 9}|{'-' * 8}|")
    for name, count, rate, p50, p99, errors in rows:
        print(f"| {name:<10} | {count:>9} | {rate:>10.0f} | {p50:>7.1f} | {p99:>7.1f} | {errors:>6} |")
    for count in processes:
        for _, path in TIMELINES:
            times = sorted(t for c, p, t in single if p == path and c == count)
            print(f"\none client alone, {count} process(es), {path}: p50"
                  f" {statistics.median(times) * 1000:.1f} ms, max {times[-1] * 1000:.1f} ms")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--posts", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--processes", type=int, nargs="+", default=[1],
                        help="web server processes; several counts are run one after another")
    args = parser.parse_args()
    asyncio.run(main(args.accounts, args.posts, args.requests, args.concurrency, args.processes))
