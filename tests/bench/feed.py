"""Feed throughput on a large table: For You and Following (home) against their ceiling.

    python -m tests.bench.feed [--videos N] [--accounts N] [--requests N] [--concurrency C [C ...]]
                               [--processes N [N ...]] [--keep | --reuse DATABASE_URL]

Seeds a database (DATABASE_URL's server, or an embedded PostgreSQL) with `--accounts` accounts
(50 of them local people with tokens, the rest remote), `--videos` public videos over a year with
long-tailed engagement, a tenth of them tagged, about ten follows per account and a few For You
choices per viewer, all in a few set-based statements (generate_series); then runs `likeness serve`
on it (workers off) and has C clients page through both timelines as the 50 viewers, half first
pages and half second pages, for each concurrency C (1, 8 and 50 by default), in turns taken
with the ceiling's.

The ceiling is a bare Starlette endpoint that returns a fixed, already-serialised page of the
same 20 statuses (a For You page, as `serve` rendered it), served by uvicorn with `serve`'s
options, at the same concurrency: every row prints its requests/s as a fraction of it.
`--keep` leaves the seeded database in place and prints its URL; `--reuse URL` runs on it again.
More than one `--processes` count needs REDIS_URL.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
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
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from server.accounts import issue_token
from server.db import migrate, start_embedded_postgres
from tests.bench.servers import ScratchDatabases, free_port, wait_up

VIEWERS = 50
TIMELINES = (("For You", "/api/v1/timelines/for_you"), ("Following", "/api/v1/timelines/home"))
CEILING = "bare Starlette"
# Each row's requests are sent in this many turns, interleaved with the other rows'.
ROUNDS = 5
# The file with the ceiling's page, for the ceiling's own process.
CEILING_BODY = "LIKENESS_BENCH_CEILING_BODY"

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
    # Engagement with a long tail: most videos get a few likes, a few get thousands. (`has_video`
    # is what media's trigger would have set.)
    ("INSERT INTO posts (uri, actor_id, local, visibility, content, ai_generated, published_at,"
     " created_at, like_count, boost_count, reply_count, has_video)"
     " SELECT 'https://seed.example/posts/' || n, a, false, 'public', '<p>video ' || n || '</p>', true,"
     " t, t, floor(power(random(), 6) * 5000)::int, floor(power(random(), 8) * 500)::int,"
     " floor(power(random(), 8) * 200)::int, true"
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


def ceiling_app() -> Starlette:
    """The ceiling: one endpoint that returns the page in the file CEILING_BODY names, as is."""
    body = Path(os.environ[CEILING_BODY]).read_bytes()

    async def page(request: Request) -> Response:
        return Response(body, media_type="application/json")

    return Starlette(routes=[Route("/page", page)])


async def _targets(base: str, tokens: list[str], path: str) -> list[tuple[str, dict[str, str]]]:
    """Each viewer's first page of `path` and the second page its `next` link names."""
    targets = []
    async with httpx.AsyncClient(base_url=base, timeout=60) as client:
        for token in tokens:
            headers = {"Authorization": f"Bearer {token}"}
            first = await client.get(path, headers=headers)
            first.raise_for_status()
            targets.append((path, headers))
            targets.append((first.links.get("next", {}).get("url", path), headers))
    return targets


async def _hammer(clients: list[httpx.AsyncClient], targets: list[tuple[str, dict[str, str]]], count: int,
                  seed: int = 0) -> tuple[float, list[float], int]:
    """`count` GETs, each of a random target, by the clients at once (one connection each, kept
    from turn to turn): the seconds they took, each one's latency, and how many failed or came
    back empty."""
    latencies: list[float] = []
    failures = 0
    left = count
    rng = random.Random(seed)

    async def client_loop(client: httpx.AsyncClient) -> None:
        nonlocal left, failures
        while left > 0:
            left -= 1
            url, headers = rng.choice(targets)
            started = time.perf_counter()
            response = await client.get(url, headers=headers)
            latencies.append(time.perf_counter() - started)
            if response.status_code != 200 or not response.json():
                failures += 1

    started = time.perf_counter()
    await asyncio.gather(*(client_loop(client) for client in clients))
    return time.perf_counter() - started, latencies, failures


async def _rows(every: list[tuple[str, str, list[tuple[str, dict[str, str]]]]], requests: int,
                concurrency: int) -> list[tuple[str, float, float, float, int]]:
    """Each endpoint's requests/s, p50 and p99 in ms and failures with `concurrency` clients,
    measured in ROUNDS turns taken one endpoint after the other, so that all of them see the same
    load of a shared machine."""
    taken: dict[str, tuple[float, list[float], int]] = {name: (0.0, [], 0) for name, _, _ in every}
    async with contextlib.AsyncExitStack() as stack:
        clients = {name: [await stack.enter_async_context(httpx.AsyncClient(base_url=base, timeout=60))
                          for _ in range(concurrency)] for name, base, _ in every}
        for name, _, targets in every:
            await _hammer(clients[name], targets, concurrency)  # open the connections
        for turn in range(ROUNDS):
            for name, _, targets in every:
                elapsed, latencies, failures = await _hammer(clients[name], targets,
                                                             max(1, requests // ROUNDS), seed=turn)
                before = taken[name]
                taken[name] = (before[0] + elapsed, before[1] + latencies, before[2] + failures)
    rows = []
    for name, (elapsed, latencies, failures) in taken.items():
        ordered = sorted(latencies)
        p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
        rows.append((name, len(ordered) / elapsed, statistics.median(ordered) * 1000, p99 * 1000, failures))
    return rows


async def main(args: argparse.Namespace) -> None:
    workdir = Path(tempfile.mkdtemp(prefix="likeness-bench-"))
    if args.reuse:
        await _run(workdir, args.reuse, args, seeded=True)
        return
    async with ScratchDatabases() as databases:
        url = await databases.new()
        embedded = None
        if url is None:
            embedded = start_embedded_postgres(workdir / "db")
            url = embedded.get_uri()
        if args.keep and databases.names:
            databases.names.clear()
            print(f"the seeded database stays: --reuse {url}", file=sys.stderr)
        try:
            await _run(workdir, url, args, seeded=False)
        finally:
            if embedded is not None:
                embedded.cleanup()


async def _reused(url: str) -> tuple[int, list[str]]:
    """The port a seeded database's local accounts were made for, and fresh tokens for them."""
    from server.db import create_pool

    pool = await create_pool(url)
    try:
        uri = await pool.fetchval("SELECT uri FROM actors WHERE local AND user_id IS NOT NULL LIMIT 1")
        ids = [r["id"] for r in await pool.fetch("SELECT id FROM users ORDER BY id")]
        return urlsplit(uri).port or 80, [await issue_token(pool, user_id) for user_id in ids]
    finally:
        await pool.close()


async def _size(url: str) -> tuple[int, int]:
    """How many videos and accounts the database holds."""
    conn = await asyncpg.connect(url)
    try:
        return (await conn.fetchval("SELECT count(*) FROM media WHERE kind = 'video'"),
                await conn.fetchval("SELECT count(*) FROM actors"))
    finally:
        await conn.close()


def _uvicorn(app: str, port: int, env: dict[str, str]) -> subprocess.Popen:
    """`app` under uvicorn with the options `likeness serve` gives it (server/cli/main.py)."""
    return subprocess.Popen([sys.executable, "-m", "uvicorn", app, "--factory", "--port", str(port),
                             "--log-level", "info", "--proxy-headers", "--forwarded-allow-ips",
                             "127.0.0.1"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


async def _run(workdir: Path, url: str, args: argparse.Namespace, *, seeded: bool) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LIKENESS_")}
    env["DATABASE_URL"] = url
    if seeded:
        port, tokens = await _reused(url)
    else:
        port = free_port()
        print(f"seeding {args.accounts} accounts and {args.videos} videos ...", file=sys.stderr)
        tokens = await seed(url, f"http://127.0.0.1:{port}", args.accounts, args.videos)
    base = f"http://127.0.0.1:{port}"
    env.update(LIKENESS_DOMAIN=f"127.0.0.1:{port}", LIKENESS_HTTPS="0",
               LIKENESS_DATA_DIR=str(workdir / "data"), LIKENESS_RUN_WORKERS="0")
    ceiling_port = free_port()
    ceiling_base = f"http://127.0.0.1:{ceiling_port}"
    rows: list[tuple[str, int, int, float, float, float, int]] = []
    page_size = 0
    for count in args.processes:
        server = subprocess.Popen([sys.executable, "-m", "server.cli", "serve", "--port", str(port),
                                   "--processes", str(count)],
                                  env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        ceiling = None
        try:
            await wait_up(f"{base}/.well-known/nodeinfo")
            targets = {path: await _targets(base, tokens, path) for _, path in TIMELINES}
            async with httpx.AsyncClient(base_url=base, timeout=60) as client:
                page = await client.get(TIMELINES[0][1], headers=targets[TIMELINES[0][1]][0][1])
            page_size = len(page.content)
            (workdir / "page.json").write_bytes(page.content)
            ceiling = _uvicorn("tests.bench.feed:ceiling_app", ceiling_port,
                               {**env, CEILING_BODY: str(workdir / "page.json")})
            await wait_up(f"{ceiling_base}/page")
            every = [(CEILING, ceiling_base, [("/page", {})]),
                     *((name, base, targets[path]) for name, path in TIMELINES)]
            await _rows(every, 100, 8)  # warm the caches and the pool
            for concurrency in args.concurrency:
                rows += [(name, count, concurrency, *row)
                         for name, *row in await _rows(every, args.requests, concurrency)]
        finally:
            for process in (server, ceiling):
                if process is not None:
                    process.terminate()
                    process.wait()
    videos, accounts = await _size(url)
    print(f"\n{videos} videos, {accounts} accounts, {args.requests} requests a row,"
          f" 20 statuses a page ({page_size} bytes), {os.cpu_count()} cores\n")
    print(f"| {'timeline':<14} | {'processes':>9} | {'clients':>7} | {'requests/s':>10} | {'p50 ms':>7} |"
          f" {'p99 ms':>7} | {'errors':>6} | {'of ceiling':>10} |")
    print(f"|{'-' * 16}|{'-' * 11}|{'-' * 9}|{'-' * 12}|{'-' * 9}|{'-' * 9}|{'-' * 8}|{'-' * 12}|")
    ceilings = {(count, clients): rate for name, count, clients, rate, *_ in rows if name == CEILING}
    for name, count, clients, rate, p50, p99, errors in rows:
        print(f"| {name:<14} | {count:>9} | {clients:>7} | {rate:>10.0f} | {p50:>7.1f} | {p99:>7.1f} |"
              f" {errors:>6} | {rate / ceilings[count, clients]:>10.2f} |")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--videos", "--posts", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=1000, help="requests in each row")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 8, 50])
    parser.add_argument("--processes", type=int, nargs="+", default=[1],
                        help="web server processes; several counts are run one after another")
    parser.add_argument("--keep", action="store_true", help="leave the seeded database in place")
    parser.add_argument("--reuse", metavar="DATABASE_URL", help="a database --keep left, seeded already")
    args = parser.parse_args()
    if args.accounts <= VIEWERS or args.videos < 1:
        parser.error(f"--accounts must be over {VIEWERS} and --videos at least 1")
    asyncio.run(main(args))
