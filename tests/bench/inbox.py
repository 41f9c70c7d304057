"""Inbox throughput: signed Create activities POSTed over real HTTP by concurrent clients.

    python -m tests.bench.inbox [--requests N] [--concurrency C]

Runs `likeness serve` in a subprocess (workers off, so the figure is the inbox's own path:
verify the signature, store the activity, queue its job) and, as the ceiling, a bare Starlette
endpoint that only parses JSON, served by the same uvicorn. Uses DATABASE_URL and REDIS_URL
when set, the embedded servers otherwise. Prints a table.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
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
from tests.peers import AP, start_peer, stop_peer


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


async def main(count: int, concurrency: int) -> None:
    async with ScratchDatabases() as databases:
        await _run(count, concurrency, await databases.new())


async def _run(count: int, concurrency: int, database_url: str | None) -> None:
    workdir = Path(tempfile.mkdtemp(prefix="likeness-bench-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("LIKENESS_")}
    if database_url:
        env["DATABASE_URL"] = database_url
    port, ceiling_port = free_port(), free_port()
    env.update(LIKENESS_DOMAIN=f"127.0.0.1:{port}", LIKENESS_HTTPS="0",
               LIKENESS_ALLOW_PRIVATE_FETCH="1", LIKENESS_DATA_DIR=str(workdir / "data"),
               LIKENESS_RUN_WORKERS="0")
    server = subprocess.Popen([sys.executable, "-m", "server.cli", "serve", "--port", str(port)],
                              env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    ceiling = subprocess.Popen([sys.executable, "-m", "uvicorn", "tests.bench.inbox:ceiling_app",
                                "--port", str(ceiling_port), "--log-level", "warning",
                                "--no-access-log"])
    peer = await start_peer()
    try:
        base = f"http://127.0.0.1:{port}"
        await wait_up(f"{base}/.well-known/nodeinfo")
        await wait_up(f"http://127.0.0.1:{ceiling_port}/inbox")
        async with httpx.AsyncClient(base_url=base) as client:
            response = await client.post("/api/v1/accounts", json={
                "username": "alice", "email": "alice@example.com", "password": "bench password"})
            response.raise_for_status()
        author = peer.add_actor("mallory")
        inbox = f"{base}/inbox"
        print(f"signing {count + 1} requests ...", file=sys.stderr)
        requests = []
        for n in range(count + 1):
            activity = {
                "@context": "https://www.w3.org/ns/activitystreams",
                "id": f"{peer.base}/creates/{n}", "type": "Create", "actor": author,
                "object": {"id": f"{peer.base}/notes/{n}", "type": "Note", "attributedTo": author,
                           "content": f"<p>note {n}</p>",
                           "to": ["https://www.w3.org/ns/activitystreams#Public"],
                           "cc": [f"{author}/followers"]},
            }
            body = json.dumps(activity).encode()
            requests.append((body, peer.signed_headers("mallory", inbox, body)))
        warm_up, requests = requests[0], requests[1:]
        async with httpx.AsyncClient() as client:
            (await client.post(inbox, content=warm_up[0], headers=warm_up[1])).raise_for_status()
        rows = [
            _row("likeness inbox", *await _fire(inbox, requests, concurrency)),
            _row("bare Starlette (ceiling)",
                 *await _fire(f"http://127.0.0.1:{ceiling_port}/inbox",
                              [(b, {"Content-Type": AP}) for b, _ in requests], concurrency)),
        ]
    finally:
        server.terminate()
        ceiling.terminate()
        server.wait()
        ceiling.wait()
        await stop_peer(peer)
    print(f"\n{count} signed Create activities, {concurrency} concurrent clients, "
          f"{os.cpu_count()} cores\n")
    print(f"| {'endpoint':<26} | {'accepted/s':>10} | {'p50 ms':>7} | {'p99 ms':>7} | {'errors':>6} |")
    print(f"|{'-' * 28}|{'-' * 12}|{'-' * 9}|{'-' * 9}|{'-' * 8}|")
    for name, rate, p50, p99, errors in rows:
        print(f"| {name:<26} | {rate:>10.0f} | {p50:>7.1f} | {p99:>7.1f} | {errors:>6} |")
    print(f"\nratio: {rows[0][1] / rows[1][1]:.2f} of the ceiling")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=16)
    args = parser.parse_args()
    asyncio.run(main(args.requests, args.concurrency))
