"""Inbox throughput: signed Create activities POSTed over real HTTP by concurrent clients.

    python -m tests.bench.inbox [--requests N] [--concurrency C] [--rounds R]
                                [--baseline DIR] [--profile FILE]

Runs `likeness serve` in a subprocess (workers off, so the figure is the inbox's own path:
verify the signature, store the activity, queue its job) and, as the ceiling, a bare Starlette
endpoint that only parses JSON and answers 202, served the same way (uvicorn with `serve`'s
options: its HTTP parser, access log and proxy headers). `--baseline DIR` serves a second
`likeness serve` from another checkout of the code (say `git worktree add DIR main`), measured
in the same run, so that a change is compared on the same loaded machine; `--rounds` measures
each endpoint in turn that many times and prints the medians. `--profile FILE` records the
server's first round with py-spy (raw format). Uses DATABASE_URL and REDIS_URL when set, the
embedded servers otherwise. Prints a table.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from tests.bench.servers import ScratchDatabases, free_port, wait_up
from tests.peers import AP, FakePeer, start_peer, stop_peer


async def _parse_only(request: Request) -> JSONResponse:
    json.loads(await request.body())
    return JSONResponse({"status": "accepted"}, status_code=202)


ceiling_app = Starlette(routes=[Route("/inbox", _parse_only, methods=["POST"])])


async def _fire(url: str, requests: list[tuple[bytes, dict[str, str]]], concurrency: int
                ) -> tuple[float, list[float], int]:
    latencies: list[float] = []
    failures = 0
    queue: asyncio.Queue[tuple[bytes, dict[str, str]]] = asyncio.Queue()
    for item in requests:
        queue.put_nowait(item)

    async def client_loop() -> None:
        nonlocal failures
        async with httpx.AsyncClient(timeout=60) as client:
            while not queue.empty():
                body, headers = queue.get_nowait()
                start = time.perf_counter()
                response = await client.post(url, content=body, headers=headers)
                latencies.append(time.perf_counter() - start)
                if response.status_code != 202:
                    failures += 1

    started = time.perf_counter()
    await asyncio.gather(*(client_loop() for _ in range(concurrency)))
    return time.perf_counter() - started, latencies, failures


def _row(name: str, elapsed: float, latencies: list[float], failures: int) -> tuple:
    ordered = sorted(latencies)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return (name, len(latencies) / elapsed, statistics.median(ordered) * 1000, p99 * 1000, failures)


def _likeness(port: int, workdir: Path, database_url: str | None, code: Path | None) -> subprocess.Popen:
    """`likeness serve` on `port`, run from the checkout at `code` (this one when None)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LIKENESS_")}
    if database_url:
        env["DATABASE_URL"] = database_url
    env.update(LIKENESS_DOMAIN=f"127.0.0.1:{port}", LIKENESS_HTTPS="0",
               LIKENESS_ALLOW_PRIVATE_FETCH="1", LIKENESS_DATA_DIR=str(workdir / f"data-{port}"),
               LIKENESS_RUN_WORKERS="0")
    return subprocess.Popen([sys.executable, "-m", "server.cli", "serve", "--port", str(port)],
                            env=env, cwd=code, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _ceiling(port: int) -> subprocess.Popen:
    """The bare endpoint, served with the options `likeness serve` gives uvicorn."""
    return subprocess.Popen([sys.executable, "-m", "uvicorn", "tests.bench.inbox:ceiling_app",
                             "--port", str(port), "--log-level", "info", "--proxy-headers"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


class _Target:
    """One endpoint under test: its inbox URL, its process, and a counter that keeps each
    round's activities new (a duplicate takes a shorter path)."""

    def __init__(self, name: str, port: int, process: subprocess.Popen, signed: bool) -> None:
        self.name, self.process, self.signed = name, process, signed
        self.base = f"http://127.0.0.1:{port}"
        self.inbox = f"{self.base}/inbox"
        self.sent = 0
        self.rows: list[tuple] = []

    def requests(self, peer: FakePeer, author: str, count: int) -> list[tuple[bytes, dict[str, str]]]:
        made = []
        for n in range(self.sent, self.sent + count):
            activity = {
                "@context": "https://www.w3.org/ns/activitystreams",
                "id": f"{peer.base}/creates/{n}", "type": "Create", "actor": author,
                "object": {"id": f"{peer.base}/notes/{n}", "type": "Note", "attributedTo": author,
                           "content": f"<p>note {n}</p>",
                           "to": ["https://www.w3.org/ns/activitystreams#Public"],
                           "cc": [f"{author}/followers"]},
            }
            body = json.dumps(activity).encode()
            made.append((body, peer.signed_headers("mallory", self.inbox, body) if self.signed
                         else {"Content-Type": AP}))
        self.sent += count
        return made


def _profiled(pid: int, out: Path) -> subprocess.Popen:
    py_spy = Path(sys.executable).with_name("py-spy")
    return subprocess.Popen([str(py_spy), "record", "-p", str(pid), "-r", "200", "-f", "raw",
                             "-o", str(out), "--nonblocking"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


async def main(count: int, concurrency: int, rounds: int, baseline: Path | None,
               profile: Path | None) -> None:
    workdir = Path(tempfile.mkdtemp(prefix="likeness-bench-"))
    targets = []
    peer = await start_peer()
    async with ScratchDatabases() as databases:
        try:
            port = free_port()
            server = _likeness(port, workdir, await databases.new(), None)
            targets.append(_Target("likeness inbox", port, server, signed=True))
            if baseline is not None:
                port = free_port()
                server = _likeness(port, workdir, await databases.new(), baseline)
                targets.append(_Target(f"likeness inbox ({baseline.name})", port, server, signed=True))
            port = free_port()
            targets.append(_Target("bare Starlette (ceiling)", port, _ceiling(port), signed=False))
            author = peer.add_actor("mallory")
            for target in targets:
                await wait_up(f"{target.base}/.well-known/nodeinfo" if target.signed else target.inbox)
                if target.signed:
                    async with httpx.AsyncClient(base_url=target.base) as client:
                        response = await client.post("/api/v1/accounts", json={
                            "username": "alice", "email": "alice@example.com", "password": "bench password"})
                        response.raise_for_status()
                # The first request fetches the peer's key: not timed.
                body, headers = target.requests(peer, author, 1)[0]
                async with httpx.AsyncClient() as client:
                    (await client.post(target.inbox, content=body, headers=headers)).raise_for_status()
            for round_number in range(rounds):
                for target in targets:
                    print(f"round {round_number + 1}: signing {count} requests for {target.name} ...",
                          file=sys.stderr)
                    requests = target.requests(peer, author, count)
                    recorder = (_profiled(target.process.pid, profile)
                                if profile and round_number == 0 and target is targets[0] else None)
                    target.rows.append(_row(target.name, *await _fire(target.inbox, requests, concurrency)))
                    if recorder is not None:
                        recorder.send_signal(signal.SIGINT)
                        recorder.wait()
        finally:
            for target in targets:
                target.process.terminate()
                target.process.wait()
            await stop_peer(peer)
    print(f"\n{count} signed Create activities, {concurrency} concurrent clients, {os.cpu_count()} cores, "
          f"median of {rounds} round(s)\n")
    print(f"| {'endpoint':<30} | {'accepted/s':>10} | {'p50 ms':>7} | {'p99 ms':>7} | {'errors':>6} |"
          f" {'of ceiling':>10} |")
    print(f"|{'-' * 32}|{'-' * 12}|{'-' * 9}|{'-' * 9}|{'-' * 8}|{'-' * 12}|")
    ceiling = statistics.median(row[1] for row in targets[-1].rows)
    for target in targets:
        rate, p50, p99 = (statistics.median(row[i] for row in target.rows) for i in (1, 2, 3))
        errors = sum(row[4] for row in target.rows)
        print(f"| {target.name:<30} | {rate:>10.0f} | {p50:>7.1f} | {p99:>7.1f} | {errors:>6} |"
              f" {rate / ceiling:>10.2f} |")
    print(f"\nratio: {statistics.median(r[1] for r in targets[0].rows) / ceiling:.2f} of the ceiling")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--baseline", type=Path, help="another checkout to serve beside this one")
    parser.add_argument("--profile", type=Path, help="py-spy raw output for this checkout's first round")
    args = parser.parse_args()
    asyncio.run(main(args.requests, args.concurrency, args.rounds, args.baseline, args.profile))
