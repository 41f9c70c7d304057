"""The README's first hour on the embedded default: `likeness serve` as a real process, then every
admin command that opens the databases run beside it, and the instance still federates and
renders (a command attaches to the running embedded PostgreSQL and Redis; it never stops them)."""

from __future__ import annotations

import asyncio
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx

from tests.conftest import eventually
from tests.test_cli import LIKENESS, _clean_env, _free_port

PASSWORD = "a long enough password"
# A render of the tiny model small enough for a test on two cores.
TINY_RENDER = dict(LIKENESS_GENERATION_WIDTH="16", LIKENESS_GENERATION_HEIGHT="32",
                   LIKENESS_GENERATION_STEPS="2", LIKENESS_GENERATION_DURATION_S="0.5",
                   LIKENESS_GENERATION_FPS="8")

ADMIN_COMMANDS = [
    ["migrate"],
    ["admin", "set-role", "bob", "moderator"],
    ["admin", "registrations", "open"],
    ["admin", "prompt-terms", "list"],
    ["admin", "prompt-refusals"],
    ["admin", "public-figure", "bob", "off"],
    ["admin", "domain-block", "list"],
    ["admin", "domain-allow", "list"],
    ["admin", "held", "list"],
    ["admin", "reports"],
]


def _embedded_env(data_dir: Path, port: int) -> dict[str, str]:
    env = _clean_env(data_dir, port)
    del env["LIKENESS_DOMAIN"]  # as the README runs it: the domain follows --port
    env.update(LIKENESS_ALLOW_PRIVATE_FETCH="1", **TINY_RENDER)
    return env


def _likeness(env: dict[str, str], *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run([*LIKENESS, *args], input=stdin, capture_output=True, text=True, env=env,
                          timeout=120)


def _wait_for_line(log: Path, text: str, server: subprocess.Popen[Any], timeout: float = 120) -> list[str]:
    deadline = time.monotonic() + timeout
    while True:
        lines = log.read_text().splitlines()
        if any(text in line for line in lines):
            return lines
        assert server.poll() is None, log.read_text()
        assert time.monotonic() < deadline, log.read_text()
        time.sleep(0.2)


async def test_commands_beside_a_running_embedded_instance(tmp_path, peer):
    port = _free_port()
    data = tmp_path / "data"
    env = _embedded_env(data, port)
    log = tmp_path / "serve.log"
    with log.open("w") as out:
        server = subprocess.Popen([*LIKENESS, "serve", "--port", str(port)], env=env,
                                  stdout=out, stderr=subprocess.STDOUT, text=True)
    try:
        lines = await asyncio.to_thread(_wait_for_line, log, "admin create-user", server)
        # The console ends with the URL and the exact command for the first account; the
        # embedded servers' logs are in the data directory.
        base = f"http://localhost:{port}"
        assert lines[-3].startswith(f"Likeness is running at {base}/")
        assert "(the password is read from standard input)" in lines[-2]
        hint = lines[-1].strip()
        assert hint == ("echo 'a long password' | likeness admin create-user alice"
                        " --email alice@example.org --role admin")
        assert not any("pgserver" in line or "Warning" in line for line in lines), lines
        assert (data / "logs" / "postgres.log").stat().st_size > 0
        assert (data / "logs" / "redis.log").stat().st_size > 0

        # The printed command, as a newcomer pastes it (with `likeness` run from this checkout).
        created = await asyncio.to_thread(
            subprocess.run, hint.replace("likeness admin", " ".join(LIKENESS) + " admin"),
            shell=True, capture_output=True, text=True, env=env, timeout=120)
        assert created.returncode == 0, created.stderr
        assert created.stdout.strip() == f"created admin @alice@localhost:{port}"
        bob = await asyncio.to_thread(_likeness, env, "admin", "create-user", "bob", "--email",
                                      "bob@example.org", stdin=PASSWORD + "\n")
        assert bob.returncode == 0, bob.stderr
        for command in ADMIN_COMMANDS:
            result = await asyncio.to_thread(_likeness, env, *command)
            assert result.returncode == 0, (command, result.stderr)
        # A command that asks for another origin than the instance's is refused, naming both.
        for variable, value, asked in (("LIKENESS_HTTPS", "1", f"https://localhost:{port}"),
                                       ("LIKENESS_DOMAIN", "example.org", "http://example.org")):
            refused = await asyncio.to_thread(_likeness, {**env, variable: value}, "migrate")
            assert refused.returncode == 2, refused.stderr
            assert f"this instance is {base}," in refused.stderr and f"asks for {asked} " in refused.stderr
        assert server.poll() is None

        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
            # The command made alice at the origin the server runs at, which it read from the
            # database (it was given no port, and https is the default).
            actor = await client.get("/users/alice", headers={"Accept": "application/activity+json"})
            assert actor.json()["id"] == f"{base}/users/alice"
            # A follow from another server: taken in by the inbox, handled by the worker, and
            # its Accept delivered, all through the embedded Redis.
            inbox = f"{base}/users/alice/inbox"
            follower = peer.add_actor("mallory")
            follow = {"@context": "https://www.w3.org/ns/activitystreams",
                      "id": f"{follower}/follows/1", "type": "Follow", "actor": follower,
                      "object": f"{base}/users/alice"}
            sent = await peer.post("mallory", inbox, follow)
            assert sent.status_code in (200, 202), sent.text

            async def delivered() -> Any:
                return [a for a in peer.received if a.get("type") == "Accept"]

            await eventually(delivered, timeout=30)

            # A render of the tiny model, queued and rendered by the in-process worker.
            token = (await client.post("/oauth/token", data={
                "grant_type": "password", "username": "alice", "password": "a long password"}
            )).json()["access_token"]
            auth = {"Authorization": f"Bearer {token}"}
            job = await client.post("/api/v1/generations", headers=auth, json={"prompt": "a cat surfing"})
            assert job.status_code == 201, job.text

            async def rendered() -> Any:
                body = (await client.get(f"/api/v1/generations/{job.json()['id']}", headers=auth)).json()
                assert body["state"] not in ("failed", "cancelled"), body
                return body["state"] == "succeeded"

            await eventually(rendered, timeout=240, interval=0.5)
    finally:
        server.terminate()
        server.wait(timeout=60)
    # The server stopped what it started; the commands had stopped nothing.
    assert not (data / "postgres" / "postmaster.pid").exists()
    assert "Application shutdown complete" in log.read_text()

    # The instance's origin is fixed: a start on another port stops, naming both, and leaves
    # no embedded server running.
    moved = await asyncio.to_thread(subprocess.run, [*LIKENESS, "serve", "--port", str(_free_port())],
                                    capture_output=True, text=True, env=env, timeout=120)
    assert moved.returncode != 0
    assert f"this instance is {base}, fixed at its first start; this start asks for http://localhost:" \
        in moved.stdout + moved.stderr
    assert not (data / "postgres" / "postmaster.pid").exists()
