"""Fan-out: one post to many followers on many servers, delivered by N workers.

    python -m tests.bench.fanout [--followers N] [--servers M] [--workers K] [--profile DIR]

Runs `likeness serve` (workers off) and K `likeness worker` processes on DATABASE_URL (a scratch
database) and REDIS_URL. The M remote servers are one receiver process listening on M loopback
ports (a server is a `host:port`, so each is a peer of its own to the HTTP client and the
per-host limits), answering every POST with 202 at once over keep-alive. The N followers are
spread evenly over them and written straight into the database; each server has a shared inbox,
so a post is M deliveries, as with Mastodon. A warm-up post to one more server first lets the
workers start and load the author's key.

Then the author posts once through the API, and the table says how long the posting call took,
how long until every delivery was done, deliveries per second of wall-clock time, and deliveries
per second of the workers' CPU (user + system, from /proc; the receiver, PostgreSQL and Redis are
not counted): the receiver and the services share the machine's cores with the workers, so the wall
rate says how busy the box was as much as how fast a worker is, and the CPU rate is what a worker
core would do alone. With --profile,
py-spy records worker 0 during the fan-out (collapsed stacks in DIR, which flamegraph.pl and
speedscope read; it needs ptrace rights).
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import asyncpg
import httpx
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from tests.bench.servers import ScratchDatabases, free_port, wait_up

ANSWER = b"HTTP/1.1 202 Accepted\r\ncontent-length: 0\r\n\r\n"
TICKS = os.sysconf("SC_CLK_TCK")


class _Inbox(asyncio.Protocol):
    """A keep-alive HTTP/1.1 server that reads each request (headers and Content-Length body)
    and answers 202: as cheap a peer as can be, so that the figure is the sender's."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport, self.buffer, self.wanted = transport, b"", None

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while True:
            if self.wanted is None:
                end = self.buffer.find(b"\r\n\r\n")
                if end < 0:
                    return
                length = 0
                for line in self.buffer[:end].split(b"\r\n")[1:]:
                    name, _, value = line.partition(b":")
                    if name.strip().lower() == b"content-length":
                        length = int(value)
                self.wanted = end + 4 + length
            if len(self.buffer) < self.wanted:
                return
            self.buffer, self.wanted = self.buffer[self.wanted:], None
            self.transport.write(ANSWER)


def _receive(sockets: list[socket.socket]) -> None:
    async def serve() -> None:
        loop = asyncio.get_running_loop()
        for sock in sockets:
            await loop.create_server(_Inbox, sock=sock)
        await asyncio.Event().wait()

    asyncio.run(serve())


def _listening(count: int) -> list[socket.socket]:
    sockets = []
    for _ in range(count):
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        sock.listen(128)
        sockets.append(sock)
    return sockets


def _cpu_s(pids: list[int]) -> float:
    """User + system CPU seconds of these processes so far."""
    total = 0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])
    return total / TICKS


async def _seed(conn: asyncpg.Connection, author: str, ports: list[int], followers: int, start: int) -> None:
    """`followers` remote actors spread over the servers at `ports`, each following `author`."""
    servers = [f"127.0.0.1:{port}" for port in ports]
    rows = []
    for n in range(start, start + followers):
        domain = servers[n % len(servers)]
        uri = f"http://{domain}/users/f{n}"
        rows.append((uri, f"f{n}", domain, f"{uri}/inbox", f"http://{domain}/inbox"))
    await conn.execute(
        "INSERT INTO actors (uri, local, username, domain, inbox, shared_inbox, fetched_at)"
        " SELECT u, false, n, d, i, s, now() FROM unnest($1::text[], $2::text[], $3::text[], $4::text[],"
        " $5::text[]) AS x (u, n, d, i, s)", *(list(column) for column in zip(*rows, strict=True)))
    await conn.execute(
        "INSERT INTO follows (uri, follower_id, followed_id, accepted)"
        " SELECT a.uri || '#follow', a.id, (SELECT id FROM actors WHERE uri = $1), true"
        " FROM actors a WHERE a.uri = ANY($2::text[])", author, [row[0] for row in rows])


async def _delivered(conn: asyncpg.Connection, activity: str, expected: int,
                     timeout: float) -> dict[str, int]:
    """Wait until every delivery of `activity` is finished; the count of each outcome."""
    deadline = time.monotonic() + timeout
    while True:
        rows = await conn.fetch(
            "SELECT d.state, count(*) AS n FROM deliveries d JOIN outbox_activities o ON o.id = d.activity_id"
            " WHERE o.uri = $1 GROUP BY d.state", activity)
        states = {r["state"]: r["n"] for r in rows}
        if sum(states.values()) >= expected and not states.get("queued"):
            return states
        if time.monotonic() > deadline:
            raise RuntimeError(f"deliveries not finished after {timeout:g} s: {states}")
        await asyncio.sleep(0.02)


async def _post(client: httpx.AsyncClient, text: str) -> tuple[str, float]:
    started = time.perf_counter()
    response = await client.post("/api/v1/statuses", json={"status": text})
    elapsed = time.perf_counter() - started
    response.raise_for_status()
    return f"{response.json()['uri']}/activity", elapsed


def _spawn(env: dict[str, str], logs: Path, name: str, *args: str) -> subprocess.Popen[bytes]:
    with open(logs / f"{name}.log", "ab") as log:
        return subprocess.Popen([sys.executable, "-m", "server.cli", *args], env=env,
                                stdout=log, stderr=subprocess.STDOUT)


async def run(database_url: str, redis_url: str, *, followers: int, servers: int, workers: int,
              profile: Path | None, timeout: float) -> dict[str, float | int | str]:
    workdir = Path(tempfile.mkdtemp(prefix="likeness-fanout-"))
    # Listening first: a free port chosen before could be taken by one of these.
    sockets = _listening(servers + 1)
    ports = [sock.getsockname()[1] for sock in sockets]
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("LIKENESS_")}
    env.update(DATABASE_URL=database_url, REDIS_URL=redis_url, LIKENESS_DOMAIN=f"127.0.0.1:{port}",
               LIKENESS_HTTPS="0", LIKENESS_ALLOW_PRIVATE_FETCH="1", LIKENESS_RUN_WORKERS="0",
               LIKENESS_DATA_DIR=str(workdir / "data"),
               LIKENESS_RATE_LIMIT_STATUSES_ACCOUNT="100000/1h", LIKENESS_RATE_LIMIT_STATUSES_IP="100000/1h")
    receiver = multiprocessing.get_context("spawn").Process(target=_receive, args=(sockets,), daemon=True)
    receiver.start()
    for sock in sockets:
        sock.close()
    processes = [_spawn(env, workdir, "web", "serve", "--port", str(port))]
    spy = None
    try:
        await wait_up(f"{base}/.well-known/nodeinfo")
        processes += [_spawn(env, workdir, f"worker{n}", "worker") for n in range(workers)]
        async with httpx.AsyncClient(base_url=base, timeout=60) as client:
            response = await client.post("/api/v1/accounts", json={
                "username": "alice", "email": "alice@example.com", "password": "fan-out bench password"})
            if response.status_code != 200:
                raise RuntimeError(f"could not make the author: {response.status_code} {response.text}")
            client.headers["Authorization"] = f"Bearer {response.json()['access_token']}"
            conn = await asyncpg.connect(database_url)
            try:
                author = f"{base}/users/alice"
                await _seed(conn, author, ports[-1:], 1, 0)
                activity, _ = await _post(client, "warm-up")
                await _delivered(conn, activity, 1, 120)
                await _seed(conn, author, ports[:-1], followers, 1)
                # As autovacuum would within a minute on a live instance: with the statistics of
                # before the seed, the planner walks all the followers to find the local ones
                # (`home_audience`, 35-45 ms at 50,000) instead of the few local accounts.
                await conn.execute("ANALYZE actors, follows")
                pids = [p.pid for p in processes[1:]]
                if profile is not None:
                    profile.mkdir(parents=True, exist_ok=True)
                    spy = subprocess.Popen([_py_spy(), "record", "--pid", str(pids[0]), "--rate", "250",
                                            "--format", "raw",
                                            "--output", str(profile / "fanout-worker0.txt")],
                                           stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
                    await asyncio.sleep(1.0)
                cpu_before = _cpu_s(pids)
                started = time.perf_counter()
                activity, posting = await _post(client, "to all my followers")
                states = await _delivered(conn, activity, servers + 1, timeout)
                elapsed = time.perf_counter() - started
                cpu = _cpu_s(pids) - cpu_before
            finally:
                await conn.close()
    finally:
        if spy is not None:
            spy.send_signal(2)
            spy.wait(timeout=60)
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
        receiver.kill()
    done = sum(states.values())
    return {"followers": followers, "servers": servers, "workers": workers, "deliveries": done,
            "outcomes": " ".join(f"{k}={v}" for k, v in sorted(states.items())),
            "posting_ms": posting * 1000, "seconds": elapsed, "per_s": done / elapsed,
            "cpu_ms": cpu * 1000 / done}


def _signing_ceiling(samples: int = 300) -> float:
    """Deliveries per CPU-second that the signing alone allows on this machine now: each one is
    signed with the author's RSA-2048 key (PKCS#1 v1.5, SHA-256), whatever else it costs."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    string = b"(request-target): post /inbox\nhost: 127.0.0.1:4000\ndate: Mon, 07 Dec 2026 22:00:00 GMT"
    started = time.process_time()
    for _ in range(samples):
        key.sign(string, padding.PKCS1v15(), hashes.SHA256())
    return samples / (time.process_time() - started)


def _py_spy() -> str:
    found = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    if not Path(found).exists():
        raise SystemExit("--profile needs py-spy (pip install py-spy)")
    return found


def table(results: list[dict[str, float | int | str]]) -> str:
    lines = ["| followers | servers | workers | deliveries | posting call ms | all done s | deliveries/s |"
             " deliveries per worker CPU-s | worker CPU ms/delivery | outcomes |",
             "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
    for r in results:
        lines.append(f"| {r['followers']} | {r['servers']} | {r['workers']} | {r['deliveries']} |"
                     f" {r['posting_ms']:.0f} | {r['seconds']:.2f} | {r['per_s']:.0f} |"
                     f" {1000 / r['cpu_ms']:.0f} | {r['cpu_ms']:.2f} |"
                     f" {r['outcomes']} |")
    return "\n".join(lines)


async def main(args: argparse.Namespace) -> None:
    redis_url = os.environ.get("REDIS_URL")
    if not os.environ.get("DATABASE_URL") or not redis_url:
        raise SystemExit("the fan-out bench needs DATABASE_URL and REDIS_URL: the web process and the"
                         " workers share them")
    results = []
    for _ in range(args.runs):
        async with ScratchDatabases() as databases:
            database_url = await databases.new()
            assert database_url is not None
            results.append(await run(database_url, redis_url, followers=args.followers, servers=args.servers,
                                     workers=args.workers, profile=args.profile, timeout=args.timeout))
    print(f"\none post, {args.followers} followers on {args.servers} servers (shared inboxes),"
          f" {args.workers} worker(s), {os.cpu_count()} cores\n")
    print(table(results))
    print(f"\nsigning alone allows {_signing_ceiling():.0f} deliveries per CPU-second on this machine now"
          " (one RSA-2048 signature each)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--followers", type=int, default=10_000)
    parser.add_argument("--servers", type=int, default=1_000)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--runs", type=int, default=1, help="fresh database each run")
    parser.add_argument("--profile", type=Path, default=None, help="folder for a py-spy flame graph")
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds to wait for the deliveries")
    parsed = parser.parse_args()
    if parsed.servers < 1 or parsed.followers < parsed.servers or parsed.workers < 1:
        parser.error("need at least one server and one worker, and at least as many followers as servers")
    asyncio.run(main(parsed))
