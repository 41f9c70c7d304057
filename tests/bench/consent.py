"""Consent speed: proofs signed and verified per second on one core, and the time from a
RemixRequest to a verified Accept across two instances (until the requester's notification
stream says so).

    python -m tests.bench.consent [--proofs N] [--requests N] [--baseline DIR]

Starts two `likeness serve` processes (workers in-process) on loopback, using DATABASE_URL and
REDIS_URL when set and the embedded servers otherwise. `--baseline DIR` starts two more from
another checkout of the code (say `git worktree add DIR main`) and times their round trips in
turn with this checkout's, so that a change is compared on the same loaded machine. Prints a
table.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

import httpx
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from PIL import Image

from federation import consent, objects
from tests.bench.servers import ScratchDatabases, free_port, wait_up


def proofs_per_second(count: int) -> tuple[float, float]:
    key = Ed25519PrivateKey.generate()
    use = consent.RemixUse(post="https://b.example/users/bob/statuses/1",
                           author="https://b.example/users/bob",
                           cameo="https://a.example/users/alice/cameos/1",
                           owner="https://a.example/users/alice", digest=consent.prompt_digest("x"))
    published = objects.now()
    start = time.perf_counter()
    documents = [consent.authorization(
        id=f"https://a.example/users/alice/remix_authorizations/{n}", owner=use.owner,
        post=use.post, cameo=use.cameo, grantee=use.author, digest=use.digest,
        published=published, end_time=published + timedelta(days=1), private_key=key,
        key_id=f"{use.owner}#ed25519-key") for n in range(count)]
    signed = count / (time.perf_counter() - start)
    keys = {f"{use.owner}#ed25519-key": key.public_key()}
    start = time.perf_counter()
    for document in documents:
        consent.check_authorization(document, use, keys)
    return signed, count / (time.perf_counter() - start)


def _jpeg() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 64), (120, 90, 60)).save(buffer, "JPEG")
    return buffer.getvalue()


async def _instance(workdir: Path, name: str, databases: ScratchDatabases, code: Path | None
                    ) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("LIKENESS_")}
    database_url = await databases.new()
    if database_url:
        env["DATABASE_URL"] = database_url
    env.update(LIKENESS_DOMAIN=f"127.0.0.1:{port}", LIKENESS_HTTPS="0",
               LIKENESS_ALLOW_PRIVATE_FETCH="1", LIKENESS_DATA_DIR=str(workdir / name),
               LIKENESS_RUN_WORKERS="1",
               # The consent round trip alone: a remix queues its render, which would compete
               # for the CPU with the requests being timed, so the daily quota refuses them all.
               LIKENESS_GENERATION_MAX_JOBS_PER_DAY="0",
               # One requester asks hundreds of times in a minute, far past a person's limit.
               LIKENESS_RATE_LIMIT_REMIX_REQUESTS_ACCOUNT="1000000/1h",
               LIKENESS_RATE_LIMIT_REMIX_REQUESTS_IP="1000000/1h")
    process = subprocess.Popen([sys.executable, "-m", "server.cli", "serve", "--port", str(port)],
                               env=env, cwd=code, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    await wait_up(f"{base}/.well-known/nodeinfo")
    return process, base


async def _signup(client: httpx.AsyncClient, base: str, name: str) -> dict[str, str]:
    response = await client.post(f"{base}/api/v1/accounts", json={
        "username": name, "email": f"{name}@example.com", "password": "bench password"})
    response.raise_for_status()
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


class _Pair:
    """Two instances of one checkout: alice's cameo on `a`, bob asking for it on `b`. Bob's
    notification stream says when his remix is authorized, as it tells his app: polling his remix
    every few milliseconds instead would load `b` with requests that no app makes, and time them."""

    def __init__(self, client: httpx.AsyncClient, b_base: str, bob: dict[str, str], cameo_uri: str) -> None:
        self.client, self.b_base, self.bob, self.cameo_uri = client, b_base, bob, cameo_uri
        self.timings: list[float] = []
        self.authorized: asyncio.Queue[float] = asyncio.Queue()
        self.listener: asyncio.Task[None] | None = None

    @classmethod
    async def start(cls, client: httpx.AsyncClient, workdir: Path, databases: ScratchDatabases,
                    code: Path | None, processes: list[subprocess.Popen]) -> _Pair:
        label = code.name if code else "this"
        a, a_base = await _instance(workdir, f"{label}-a", databases, code)
        processes.append(a)
        b, b_base = await _instance(workdir, f"{label}-b", databases, code)
        processes.append(b)
        alice = await _signup(client, a_base, "alice")
        bob = await _signup(client, b_base, "bob")
        cameo = await client.post(f"{a_base}/api/v1/cameos", headers=alice, data={
            "name": "Alice", "permission": "everyone", "approval": "automatic"},
            files=[("references", ("r.jpg", _jpeg(), "image/jpeg")),
                   ("preview", ("p.jpg", _jpeg(), "image/jpeg"))])
        cameo.raise_for_status()
        pair = cls(client, b_base, bob, cameo.json()["uri"])
        subscribed = asyncio.Event()
        pair.listener = asyncio.create_task(pair._listen(subscribed))
        await asyncio.wait_for(subscribed.wait(), 30)
        return pair

    async def _listen(self, subscribed: asyncio.Event) -> None:
        """Bob's notifications: the time each remix_authorized one arrives."""
        async with self.client.stream("GET", f"{self.b_base}/api/v1/streaming/user/notification",
                                      params={"include_types[]": "remix_authorized"},
                                      headers=self.bob, timeout=None) as response:
            response.raise_for_status()
            event = None
            async for line in response.aiter_lines():
                subscribed.set()  # the stream opens with a comment line
                if line.startswith("event: "):
                    event = line.removeprefix("event: ")
                elif (line.startswith("data: ") and event == "notification"
                      and json.loads(line.removeprefix("data: ")).get("type") == "remix_authorized"):
                    self.authorized.put_nowait(time.perf_counter())

    async def round_trip(self, n: int) -> float:
        """Seconds from bob's RemixRequest to his notification that the Accept verified."""
        start = time.perf_counter()
        remix = await self.client.post(f"{self.b_base}/api/v1/remixes", headers=self.bob, json={
            "prompt": f"take {n}", "cameos": [self.cameo_uri]})
        remix.raise_for_status()
        arrived = await asyncio.wait_for(self.authorized.get(), 60)
        state = await self.client.get(f"{self.b_base}/api/v1/remixes/{remix.json()['id']}",
                                      headers=self.bob)
        if state.json()["state"] != "authorized":
            raise RuntimeError(f"remix {n} notified as authorized but {state.json()['state']}")
        return arrived - start

    async def close(self) -> None:
        if self.listener is not None:
            self.listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.listener


async def request_to_accept(count: int, baseline: Path | None) -> list[list[float]]:
    """The round trips of this checkout and, when given, the baseline's, taken in turn."""
    workdir = Path(tempfile.mkdtemp(prefix="likeness-bench-"))
    processes: list[subprocess.Popen] = []
    async with ScratchDatabases() as databases:
        try:
            async with httpx.AsyncClient(timeout=60) as client:
                pairs = [await _Pair.start(client, workdir, databases, code, processes)
                         for code in ([None, baseline] if baseline else [None])]
                try:
                    for n in range(count + 1):
                        for pair in pairs:
                            took = await pair.round_trip(n)
                            if n:  # the first one warms the caches (actor fetches)
                                pair.timings.append(took)
                finally:
                    for pair in pairs:
                        await pair.close()
                return [sorted(pair.timings) for pair in pairs]
        finally:
            for process in processes:
                process.terminate()
                process.wait()


def _p99(timings: list[float]) -> float:
    return timings[min(len(timings) - 1, int(len(timings) * 0.99))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--proofs", type=int, default=2000)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--baseline", type=Path, help="another checkout, timed in turn with this one")
    args = parser.parse_args()
    signed, verified = proofs_per_second(args.proofs)
    timings, *baseline = asyncio.run(request_to_accept(args.requests, args.baseline))
    print(f"\nconsent benchmark, {os.cpu_count()} cores\n")
    print("| measure | value |")
    print("|---|---|")
    print(f"| authorizations signed per second (one core) | {signed:.0f} |")
    print(f"| authorizations checked per second (one core) | {verified:.0f} |")
    print(f"| RemixRequest to verified Accept (notified), p50 ({len(timings)} requests) | "
          f"{statistics.median(timings) * 1000:.1f} ms |")
    print(f"| RemixRequest to verified Accept, p99 | {_p99(timings) * 1000:.1f} ms |")
    for other in baseline:
        print(f"| the same on {args.baseline.name}, p50 | {statistics.median(other) * 1000:.1f} ms |")
        print(f"| the same on {args.baseline.name}, p99 | {_p99(other) * 1000:.1f} ms |")


if __name__ == "__main__":
    main()
