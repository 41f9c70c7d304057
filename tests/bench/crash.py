"""Crash test: the web process and the workers killed with SIGKILL under load, and restarted.

    python -m tests.bench.crash [--kills N] [--followers F] [--workers W] [--lease S]

Runs `likeness serve` (workers off) and W `likeness worker` processes on DATABASE_URL and
REDIS_URL (both needed: an embedded server would die with the web process). A scripted peer
(tests/peers.py) puts them under inbound load (signed Creates that mention alice, POSTed to the
shared inbox) and outbound load (alice posts; each post goes to F followers, each with an inbox
of its own, which take a moment to answer so that deliveries are in flight), and counts what it
receives by (activity id, inbox). Every process is killed with SIGKILL mid-load, N times, and
started again at once. At the end every inbound activity answered 2xx must have its post in the
database, and every (post, follower inbox) pair must have arrived at least once; duplicates may
only be deliveries that were in flight (leased) at a kill.

The lease is the instance's default (LIKENESS_FEDERATION_LEASE_S, 45 s) unless --lease is
given: in-flight work resumes when the dead workers' leases run out. Prints a table, per kill:
what was accepted and delivered since the previous kill and how much of it was lost, the
deliveries and inbox activities in flight at the kill, the duplicates that followed, and how long
after the kill (restarting included) a live worker had taken up every one of those in flight, and
had done them all. tests/test_crash.py runs it briefly.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from urllib.parse import urlsplit

import asyncpg
import httpx

from federation.leases import LEASE_S
from federation.store import LEASED
from tests.bench.servers import ScratchDatabases, free_port, wait_up
from tests.peers import FakePeer, start_peer, stop_peer

PUBLIC = "https://www.w3.org/ns/activitystreams#Public"


@dataclass
class Kill:
    at: float
    # (activity id, inbox path) of the deliveries leased when the processes died: in flight.
    deliveries: set[tuple[str, str]]
    # The leases the dead processes held, by table: {row id: leased until}.
    leases: dict[str, dict[int, datetime]]
    # Seconds from the kill until every row in flight was taken up again by a live worker (or
    # done), and until every one was done.
    resumed_after: float | None = None
    done_after: float | None = None

    @property
    def in_flight(self) -> str:
        return f"{len(self.leases['deliveries'])}+{len(self.leases['inbox_activities'])}"


@dataclass
class Load:
    """What the load sent and what the instance said yes to, with when."""

    accepted: list[tuple[str, float]] = field(default_factory=list)  # inbound note ids
    posts: list[tuple[str, float]] = field(default_factory=list)  # alice's post uris
    refused: int = 0
    stop: asyncio.Event = field(default_factory=asyncio.Event)


@dataclass
class Report:
    kills: list[Kill]
    load: Load
    lost_inbound: set[str]
    lost_deliveries: set[tuple[str, str]]
    duplicates: list[tuple[tuple[str, str], float]]  # (activity id, inbox path), when
    unexplained: set[tuple[str, str]]  # duplicated but not in flight at any kill
    followers: int

    def phase(self, when: float) -> int:
        """0 before the first kill, n after the n-th."""
        return sum(1 for kill in self.kills if kill.at <= when)

    def table(self) -> str:
        """A row per kill: what was accepted and what was due to be delivered since the previous
        kill, and how much of it was lost; then what was in flight at the kill, the duplicates
        after it, and how long after it those in flight were all taken up again, and done."""
        lines = [f"| {'kill':>4} | {'accepted':>8} | {'lost':>4} | {'deliveries':>10} | {'lost':>4} |"
                 f" {'in flight':>9} | {'duplicates':>10} | {'resumed after s':>15} | {'done after s':>12} |",
                 f"|{'-' * 6}|{'-' * 10}|{'-' * 6}|{'-' * 12}|{'-' * 6}|{'-' * 11}|{'-' * 12}|{'-' * 17}"
                 f"|{'-' * 14}|"]
        for n in range(len(self.kills) + 1):
            accepted = [uri for uri, t in self.load.accepted if self.phase(t) == n]
            posts = {uri for uri, t in self.load.posts if self.phase(t) == n}
            lost_in = len(set(accepted) & self.lost_inbound)
            lost_out = sum(1 for uri, _ in self.lost_deliveries if uri in posts)
            # A kill's duplicates are those received after it (and before the next one).
            dups = str(sum(1 for _, t in self.duplicates if self.phase(t) == n + 1))
            if n < len(self.kills):
                kill = self.kills[n]
                flight, label = kill.in_flight, str(n + 1)
                resumed, done = ("-" if seconds is None else f"{seconds:.1f}"
                                 for seconds in (kill.resumed_after, kill.done_after))
            else:
                flight, dups, resumed, done, label = "", "", "", "", "end"
            lines.append(f"| {label:>4} | {len(accepted):>8} | {lost_in:>4} |"
                         f" {len(posts) * self.followers:>10} | {lost_out:>4} | {flight:>9} |"
                         f" {dups:>10} | {resumed:>15} | {done:>12} |")
        lines.append(f"| {'all':>4} | {len(self.load.accepted):>8} | {len(self.lost_inbound):>4} |"
                     f" {len(self.load.posts) * self.followers:>10} | {len(self.lost_deliveries):>4} |"
                     f" {'':>9} | {len(self.duplicates):>10} | {'':>15} | {'':>12} |")
        return "\n".join(lines)


class Processes:
    """The web process and the workers of one instance, started and killed together."""

    def __init__(self, env: dict[str, str], port: int, workers: int, logs: Path) -> None:
        self.env, self.port, self.workers, self.logs = env, port, workers, logs
        self.running: list[subprocess.Popen[bytes]] = []

    def _spawn(self, name: str, *args: str) -> subprocess.Popen[bytes]:
        with open(self.logs / f"{name}.log", "ab") as log:
            return subprocess.Popen([sys.executable, "-m", "server.cli", *args], env=self.env,
                                    stdout=log, stderr=subprocess.STDOUT)

    async def start(self, *, first: bool = False) -> None:
        """All at once; the first time the web process alone until it is up, since processes
        racing to a new database's instance actor fail (`actors.ensure_instance_actor`)."""
        self.running = [self._spawn("web", "serve", "--port", str(self.port))]
        if first:
            await wait_up(f"http://127.0.0.1:{self.port}/.well-known/nodeinfo")
        self.running += [self._spawn(f"worker{n}", "worker") for n in range(self.workers)]
        await wait_up(f"http://127.0.0.1:{self.port}/.well-known/nodeinfo")

    def kill(self) -> None:
        for process in self.running:
            process.kill()
        for process in self.running:
            process.wait()

    def stop(self) -> None:
        for process in self.running:
            process.terminate()
        for process in self.running:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


async def _post_loop(base: str, token: str, load: Load, every_s: float) -> None:
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=10) as client:
        for n in itertools.count():
            if load.stop.is_set():
                return
            started = time.monotonic()
            with contextlib.suppress(httpx.HTTPError):
                response = await client.post("/api/v1/statuses", json={"status": f"post {n}"})
                if response.status_code == 200:
                    load.posts.append((response.json()["uri"], time.monotonic()))
            await asyncio.sleep(max(0.0, every_s - (time.monotonic() - started)))


async def _inbound_loop(peer: FakePeer, name: str, inbox: str, alice: str, load: Load,
                        every_s: float) -> None:
    author = peer.actor_id(name)
    for n in itertools.count():
        if load.stop.is_set():
            return
        started = time.monotonic()
        note = f"{peer.base}/notes/{name}/{n}"
        activity = {"@context": "https://www.w3.org/ns/activitystreams",
                    "id": f"{note}/activity", "type": "Create", "actor": author,
                    "object": {"id": note, "type": "Note", "attributedTo": author,
                               "content": f"<p>@alice note {n}</p>", "to": [PUBLIC], "cc": [alice],
                               "tag": [{"type": "Mention", "href": alice}]}}
        try:
            response = await peer.post(name, inbox, activity)
            if 200 <= response.status_code < 300:
                load.accepted.append((note, time.monotonic()))
            else:
                load.refused += 1
        except httpx.HTTPError:
            load.refused += 1
        await asyncio.sleep(max(0.0, every_s - (time.monotonic() - started)))


async def _some_in_flight(database_url: str, timeout: float = 60.0) -> None:
    """Wait for a moment when deliveries are in flight: that is when to kill. On a loaded machine
    the posts' deliveries may take a while to be leased; a kill before that would prove nothing
    about them, so none is made (RuntimeError after `timeout`)."""
    conn = await asyncpg.connect(database_url)
    try:
        deadline = time.monotonic() + timeout
        while not await conn.fetchval(
                "SELECT count(*) >= 2 FROM deliveries WHERE state = 'queued' AND leased_until > now()"):
            if time.monotonic() > deadline:
                raise RuntimeError(f"no deliveries were in flight within {timeout:.0f} s")
            await asyncio.sleep(0.05)
    finally:
        await conn.close()


async def _killed(database_url: str, at: float) -> Kill:
    """What the dead processes held leases on: the work they had in flight."""
    conn = await asyncpg.connect(database_url)
    try:
        rows = await conn.fetch(
            "SELECT d.id, d.inbox, d.leased_until, o.uri FROM deliveries d"
            " JOIN outbox_activities o ON o.id = d.activity_id"
            " WHERE d.state = 'queued' AND d.leased_until IS NOT NULL")
        inbox = await conn.fetch("SELECT id, leased_until FROM inbox_activities WHERE state = 'pending'"
                                 " AND leased_until IS NOT NULL")
    finally:
        await conn.close()
    return Kill(at, {(r["uri"], urlsplit(r["inbox"]).path) for r in rows},
                {"deliveries": {r["id"]: r["leased_until"] for r in rows},
                 "inbox_activities": {r["id"]: r["leased_until"] for r in inbox}})


async def _watch_resume(database_url: str, kill: Kill, timeout: float) -> None:
    """Times from the kill until every row in flight is taken up again (re-leased by a live
    worker, or done) and until every one is done."""
    if not any(kill.leases.values()):
        return
    conn = await asyncpg.connect(database_url)
    try:
        while time.monotonic() - kill.at < timeout and kill.done_after is None:
            held = waiting = 0
            for table, leases in kill.leases.items():
                row = await conn.fetchrow(
                    f"SELECT count(*) FILTER (WHERE t.leased_until IS NOT DISTINCT FROM k.lease) AS held,"
                    f" count(*) AS waiting FROM {table} t"
                    f" JOIN unnest($1::bigint[], $2::timestamptz[]) AS k (id, lease) ON k.id = t.id"
                    f" WHERE t.state = '{LEASED[table]}'", list(leases), list(leases.values()))
                held, waiting = held + row["held"], waiting + row["waiting"]
            if held == 0 and kill.resumed_after is None:
                kill.resumed_after = time.monotonic() - kill.at
            if waiting == 0:
                kill.done_after = time.monotonic() - kill.at
            await asyncio.sleep(0.2)
    finally:
        await conn.close()


def _receipts(peer: FakePeer) -> list[tuple[tuple[str, str], str | None, float]]:
    """((activity id, inbox path), the id of a Create's object, when) of every POST received."""
    found = []
    for body, (path, when) in zip(peer.received, peer.received_at, strict=True):
        obj = body.get("object")
        created = obj.get("id") if body.get("type") == "Create" and isinstance(obj, dict) else None
        found.append(((body.get("id"), path), created, when))
    return found


async def _lost(database_url: str, load: Load, peer: FakePeer, inboxes: list[str]
                ) -> tuple[set[str], set[tuple[str, str]]]:
    conn = await asyncpg.connect(database_url)
    try:
        stored = {r["uri"] for r in await conn.fetch("SELECT uri FROM posts WHERE NOT local")}
    finally:
        await conn.close()
    received = {(created, key[1]) for key, created, _ in _receipts(peer) if created}
    expected = {(uri, inbox) for uri, _ in load.posts for inbox in inboxes}
    return {uri for uri, _ in load.accepted} - stored, expected - received


async def run(database_url: str, redis_url: str, *, kills: int = 3, followers: int = 20,
              workers: int = 2, lease_s: float | None = None, phase_s: float = 8.0,
              post_every_s: float = 1.0, inbound_every_s: float = 0.1, inbox_delay_s: float = 0.3,
              drain_s: float = 180.0, workdir: Path | None = None) -> Report:
    """Start the instance, load it, kill everything `kills` times, and count what got lost. The
    processes' data and logs go to `workdir` (a new temporary directory by default)."""
    workdir = workdir or Path(tempfile.mkdtemp(prefix="likeness-crash-"))
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("LIKENESS_")}
    env.update(DATABASE_URL=database_url, REDIS_URL=redis_url, LIKENESS_DOMAIN=f"127.0.0.1:{port}",
               LIKENESS_HTTPS="0", LIKENESS_ALLOW_PRIVATE_FETCH="1", LIKENESS_RUN_WORKERS="0",
               LIKENESS_DATA_DIR=str(workdir / "data"),
               LIKENESS_RATE_LIMIT_STATUSES_ACCOUNT="100000/1h", LIKENESS_RATE_LIMIT_STATUSES_IP="100000/1h")
    if lease_s is not None:
        env["LIKENESS_FEDERATION_LEASE_S"] = str(lease_s)
    lease = lease_s or LEASE_S
    base = f"http://127.0.0.1:{port}"
    alice = f"{base}/users/alice"
    processes = Processes(env, port, workers, workdir)
    peer = await start_peer()
    load = Load()
    kills_made: list[Kill] = []
    try:
        await processes.start(first=True)
        async with httpx.AsyncClient(base_url=base, timeout=30) as client:
            response = await client.post("/api/v1/accounts", json={
                "username": "alice", "email": "alice@example.com", "password": "crash test password"})
            response.raise_for_status()
            token = response.json()["access_token"]
        # Followers with inboxes of their own (no shared inbox), so that a post is F deliveries.
        names = [f"follower{n}" for n in range(followers)]
        for n, name in enumerate(names):
            peer.add_actor(name)
            peer.actor_extras[name] = {"endpoints": {}}
            (await peer.post(name, f"{alice}/inbox", {
                "id": f"{peer.base}/follows/{n}", "type": "Follow", "actor": peer.actor_id(name),
                "object": alice})).raise_for_status()
        deadline = time.monotonic() + 120
        while sum(1 for x in peer.received if x.get("type") == "Accept") < followers:
            if time.monotonic() > deadline:
                raise RuntimeError("the followers' Follows were not all accepted")
            await asyncio.sleep(0.2)
        peer.add_actor("author")
        inboxes = [urlsplit(f"{peer.actor_id(name)}/inbox").path for name in names]
        peer.inbox_delay = inbox_delay_s
        loops = [asyncio.create_task(_post_loop(base, token, load, post_every_s)),
                 asyncio.create_task(_inbound_loop(peer, "author", f"{base}/inbox", alice, load,
                                                   inbound_every_s))]
        for _ in range(kills):
            await asyncio.sleep(phase_s)
            await _some_in_flight(database_url)
            processes.kill()
            at = time.monotonic()
            kill = await _killed(database_url, at)
            kills_made.append(kill)
            print(f"killed: {kill.in_flight} deliveries+inbox activities in flight", file=sys.stderr)
            await processes.start()
            print(f"restarted in {time.monotonic() - at:.1f} s", file=sys.stderr)
            # The load goes on meanwhile. Waiting until the dead workers' work is done before the
            # next kill keeps each kill's duplicates its own.
            await _watch_resume(database_url, kill, lease + drain_s)
        await asyncio.sleep(phase_s)
        load.stop.set()
        await asyncio.gather(*loops)
        deadline = time.monotonic() + drain_s
        while time.monotonic() < deadline:
            lost_inbound, lost_deliveries = await _lost(database_url, load, peer, inboxes)
            if not lost_inbound and not lost_deliveries:
                break
            await asyncio.sleep(0.5)
    finally:
        load.stop.set()
        processes.stop()
        await stop_peer(peer)
    seen: Counter[tuple[str, str]] = Counter()
    duplicates = []
    for key, _, when in sorted(_receipts(peer), key=lambda r: r[2]):
        seen[key] += 1
        if seen[key] > 1:
            duplicates.append((key, when))
    in_flight = set().union(*(kill.deliveries for kill in kills_made)) if kills_made else set()
    unexplained = {key for key, _ in duplicates if key not in in_flight}
    return Report(kills_made, load, lost_inbound, lost_deliveries, duplicates, unexplained, followers)


async def main(args: argparse.Namespace) -> None:
    redis_url = os.environ.get("REDIS_URL")
    async with ScratchDatabases() as databases:
        database_url = await databases.new()
        if not database_url or not redis_url:
            raise SystemExit("the crash test needs DATABASE_URL and REDIS_URL: the web process and"
                             " the workers share them, and an embedded one would die with the web process")
        report = await run(database_url, redis_url, kills=args.kills, followers=args.followers,
                           workers=args.workers, lease_s=args.lease, phase_s=args.phase)
    lease = f"{args.lease:g} s" if args.lease else f"the default ({LEASE_S:g} s)"
    print(f"\n{args.kills} kills (web process and {args.workers} workers, SIGKILL), lease {lease},"
          f" {args.followers} follower inboxes answering in 0.3 s, {os.cpu_count()} cores\n")
    print(report.table())
    print(f"\nin flight: deliveries+inbox activities leased at the kill; resumed after: from the kill"
          f" until a live worker had taken each of them up again; done after: until all were done."
          f" Inbound refused while down: {report.load.refused}; duplicates of deliveries not in flight"
          f" at a kill: {len(report.unexplained)}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--kills", type=int, default=3)
    parser.add_argument("--followers", type=int, default=20)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--lease", type=float, default=None, help="LIKENESS_FEDERATION_LEASE_S")
    parser.add_argument("--phase", type=float, default=8.0, help="seconds of load before each kill")
    asyncio.run(main(parser.parse_args()))
