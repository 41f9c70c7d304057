"""Fuzz a running server: hostile requests (tests/hostile.py, the generator tests/test_fuzz.py uses)
at the inbox, signed and unsigned, and at the client API, signed in as a user and as an admin.

    python -m tests.bench.fuzz [--requests N] [--concurrency C] [--seed S]

Runs `likeness serve` in a subprocess (workers on, so that what the inbox accepts is handled too)
and a scripted peer whose actor signs the inbox requests. Prints, per endpoint family, the
requests sent and the 5xx seen, and the tracebacks in the server's log. Uses DATABASE_URL and
REDIS_URL when set, the embedded servers otherwise. Aim: no 5xx and no traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from tests.bench.servers import ScratchDatabases, free_port, wait_up
from tests.conftest import PASSWORD
from tests.hostile import Tally, hostile_requests, send_all
from tests.peers import start_peer, stop_peer

TRACEBACK = "Traceback (most recent call last)"


async def _signup(base: str, username: str) -> str:
    async with httpx.AsyncClient(base_url=base, timeout=60) as client:
        response = await client.post("/api/v1/accounts", json={
            "username": username, "email": f"{username}@example.com", "password": PASSWORD})
        response.raise_for_status()
        return response.json()["access_token"]


def _print(tally: Tally, elapsed: float, tracebacks: int, concurrency: int) -> None:
    sent = sum(tally.sent.values())
    print(f"\n{sent} hostile requests sent ({tally.raw} of them over a bare socket, their headers being"
          f" more than an HTTP client sends) in {elapsed:.0f} s, {concurrency} concurrent,"
          f" {os.cpu_count()} cores\n")
    print(f"| {'family':<18} | {'sent':>6} | {'5xx':>5} |")
    print(f"|{'-' * 20}|{'-' * 8}|{'-' * 7}|")
    for family in sorted(tally.sent):
        print(f"| {family:<18} | {tally.sent[family]:>6} | {tally.server_errors[family]:>5} |")
    print(f"| {'all':<18} | {sent:>6} | {sum(tally.server_errors.values()):>5} |")
    print("\nanswers: " + ", ".join(f"{n} x {status}" for status, n in sorted(tally.statuses.items())))
    print(f"tracebacks in the server's log: {tracebacks}")
    for example in tally.examples:
        print(f"  {example}")


async def main(count: int, concurrency: int, seed: int) -> int:
    workdir = Path(tempfile.mkdtemp(prefix="likeness-fuzz-"))
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log_path = workdir / "server.log"
    async with ScratchDatabases() as databases:
        env = {k: v for k, v in os.environ.items() if not k.startswith("LIKENESS_")}
        database_url = await databases.new()
        if database_url:
            env["DATABASE_URL"] = database_url
        env.update(LIKENESS_DOMAIN=f"127.0.0.1:{port}", LIKENESS_HTTPS="0",
                   LIKENESS_ALLOW_PRIVATE_FETCH="1", LIKENESS_DATA_DIR=str(workdir / "data"),
                   LIKENESS_RUN_WORKERS="1")
        with log_path.open("wb") as log:
            server = subprocess.Popen([sys.executable, "-m", "server.cli", "serve", "--port", str(port)],
                                      env=env, stdout=log, stderr=subprocess.STDOUT)
        peer = await start_peer()
        try:
            await wait_up(f"{base}/.well-known/nodeinfo")
            tokens = {"user": await _signup(base, "alice"), "admin": await _signup(base, "staff")}
            await asyncio.to_thread(
                subprocess.run, [sys.executable, "-m", "server.cli", "admin", "set-role", "staff", "admin"],
                env=env, check=True, stdout=subprocess.DEVNULL)
            async with httpx.AsyncClient(base_url=base, timeout=60) as client:
                (await client.post("/api/v1/statuses", json={"status": "hi #cats"},
                                   headers={"Authorization": f"Bearer {tokens['user']}"})).raise_for_status()
            peer.add_actor("mallory")
            requests = hostile_requests(random.Random(seed), count, tokens, peer.base, "mallory",
                                        f"{base}/users/alice")
            started = time.perf_counter()
            tally = await send_all(base, requests, peer.signed_headers, concurrency=concurrency)
            elapsed = time.perf_counter() - started
            await asyncio.sleep(5)  # the workers handle what the inbox accepted
        finally:
            server.terminate()
            server.wait()
            await stop_peer(peer)
    tracebacks = log_path.read_text(errors="replace").count(TRACEBACK)
    _print(tally, elapsed, tracebacks, concurrency)
    if tracebacks:
        print(f"\nthe server's log: {log_path}")
    return 1 if tracebacks or sum(tally.server_errors.values()) else 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=20_000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    sys.exit(asyncio.run(main(args.requests, args.concurrency, args.seed)))
