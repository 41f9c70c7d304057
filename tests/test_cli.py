"""The operator's commands, run as a newcomer would: `likeness serve` on the embedded default
(no DATABASE_URL, no REDIS_URL), `likeness admin create-user` with the password on stdin, and
`--help` on each subcommand."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
import pytest

LIKENESS = [sys.executable, "-m", "server.cli"]


def _clean_env(data_dir: Path, port: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("LIKENESS_") and k not in ("DATABASE_URL", "REDIS_URL")}
    env.update(LIKENESS_DATA_DIR=str(data_dir), LIKENESS_HTTPS="0",
               LIKENESS_DOMAIN=f"localhost:{port}")
    return env


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def until_serving(client: httpx.AsyncClient, server: subprocess.Popen[str],
                        path: str = "/nodeinfo/2.1") -> None:
    """Wait, up to two minutes, until the `likeness` process answers `path` on the client's
    address."""
    deadline = time.monotonic() + 120
    while True:
        try:
            if (await client.get(path)).status_code == 200:
                return
        except httpx.TransportError:
            pass
        assert time.monotonic() < deadline and server.poll() is None
        await asyncio.sleep(0.3)


@pytest.mark.parametrize("command", [[], ["serve"], ["worker"], ["migrate"], ["admin"],
                                     ["admin", "create-user"], ["admin", "prompt-terms", "add"],
                                     ["admin", "prompt-refusals"], ["admin", "public-figure"],
                                     ["admin", "reports"], ["admin", "report"], ["admin", "suspend"],
                                     ["admin", "delete-account"]])
def test_help(command):
    result = subprocess.run([*LIKENESS, *command, "--help"], capture_output=True, text=True)
    assert result.returncode == 0
    assert "usage: likeness" in result.stdout


def test_bad_configuration_is_a_clear_error(tmp_path):
    env = _clean_env(tmp_path, 1)
    env["LIKENESS_HTTPS"] = "maybe"
    result = subprocess.run([*LIKENESS, "migrate"], capture_output=True, text=True, env=env)
    assert result.returncode == 2 and "LIKENESS_HTTPS" in result.stderr


def test_embedded_default_serves_a_whole_instance(tmp_path):
    port = _free_port()
    env = _clean_env(tmp_path / "data", port)
    created = subprocess.run([*LIKENESS, "admin", "create-user", "ada", "--email",
                              "ada@example.org", "--role", "admin"],
                             input="a long enough password\n", capture_output=True, text=True,
                             env=env, timeout=180)
    assert created.returncode == 0, created.stderr
    again = subprocess.run([*LIKENESS, "admin", "create-user", "ada", "--email",
                            "ada2@example.org"], input="a long enough password\n",
                           capture_output=True, text=True, env=env, timeout=180)
    assert again.returncode == 1 and "taken" in again.stderr

    server = subprocess.Popen([*LIKENESS, "serve", "--port", str(port)], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        first_line = server.stdout.readline()
        assert f"http://localhost:{port}/" in first_line
        deadline = time.monotonic() + 120
        while True:
            try:
                info = httpx.get(f"http://127.0.0.1:{port}/nodeinfo/2.1")
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline and server.poll() is None
                time.sleep(0.3)
        assert info.json()["usage"]["users"]["total"] == 1
        token = httpx.post(f"http://127.0.0.1:{port}/oauth/token", data={
            "grant_type": "password", "username": "ada",
            "password": "a long enough password"}).json()["access_token"]
        me = httpx.get(f"http://127.0.0.1:{port}/api/v1/accounts/verify_credentials",
                       headers={"Authorization": f"Bearer {token}"})
        assert me.json()["role"]["name"] == "admin"
        posted = httpx.post(f"http://127.0.0.1:{port}/api/v1/statuses",
                            headers={"Authorization": f"Bearer {token}"},
                            json={"status": "hello from the embedded default"})
        assert posted.status_code == 200, posted.text
    finally:
        server.terminate()
        server.wait(timeout=60)
    assert (tmp_path / "data" / "postgres").is_dir()
    # The embedded PostgreSQL stops with the server (uvicorn skips atexit hooks on SIGTERM).
    assert not (tmp_path / "data" / "postgres" / "postmaster.pid").exists()


async def test_serve_in_several_processes(postgres_url, redis_url, tmp_path):
    """`serve --processes 2` on PostgreSQL and Redis: two web server processes share the port,
    after one first start has migrated the database, and either answers for the instance."""
    import asyncpg
    import psutil

    from tests.conftest import _with_database

    name = f"likeness_test_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(postgres_url)
    await admin.execute(f'CREATE DATABASE "{name}"')
    port = _free_port()
    env = _clean_env(tmp_path / "data", port)
    alone = await asyncio.to_thread(subprocess.run, [*LIKENESS, "serve", "--port", str(port),
                                                     "--processes", "2"],
                                    env=env, capture_output=True, text=True, timeout=60)
    assert alone.returncode == 2 and "needs DATABASE_URL and REDIS_URL" in alone.stderr
    env.update(DATABASE_URL=_with_database(postgres_url, name), REDIS_URL=redis_url)
    server = subprocess.Popen([*LIKENESS, "serve", "--port", str(port), "--processes", "2"], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        assert "2 processes" in await asyncio.to_thread(server.stdout.readline)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
            await until_serving(client, server)
            serving = [p for p in psutil.Process(server.pid).children(recursive=True)
                       if "multiprocessing" in " ".join(p.cmdline()) and "resource_tracker" not in
                       " ".join(p.cmdline())]
            assert len(serving) == 2, [p.cmdline() for p in serving]
            signed_up = await client.post("/api/v1/accounts", json={
                "username": "ada", "email": "ada@example.org", "password": "a long enough password",
                "agreement": True})
            assert signed_up.status_code == 200, signed_up.text
            auth = {"Authorization": f"Bearer {signed_up.json()['access_token']}"}
            posted = await client.post("/api/v1/statuses", headers=auth, json={"status": "from one of two"})
            assert posted.status_code == 200, posted.text
            # Many requests at once land on both processes; each answers as the same instance.
            seen = await asyncio.gather(*(client.get(f"/api/v1/statuses/{posted.json()['id']}")
                                          for _ in range(40)))
            assert {r.status_code for r in seen} == {200}
            assert {r.json()["uri"] for r in seen} == {posted.json()["uri"]}
    finally:
        server.terminate()
        server.wait(timeout=60)
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


async def test_serve_at_another_origin_says_so_last(postgres_url, redis_url, tmp_path):
    """A `serve` whose origin is not the one the instance was first started at stops before
    uvicorn starts: its last line names both origins, and the exit status is not 0."""
    import asyncpg

    from tests.conftest import _with_database

    name = f"likeness_test_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(postgres_url)
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        first, second = _free_port(), _free_port()
        env = _clean_env(tmp_path / "data", first)
        env.update(DATABASE_URL=_with_database(postgres_url, name), REDIS_URL=redis_url)
        fixed = await asyncio.to_thread(subprocess.run, [*LIKENESS, "migrate"], env=env,
                                        capture_output=True, text=True, timeout=120)
        assert fixed.returncode == 0, fixed.stderr
        del env["LIKENESS_DOMAIN"]  # the domain follows --port
        moved = await asyncio.to_thread(subprocess.run, [*LIKENESS, "serve", "--port", str(second)],
                                        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                        text=True, timeout=120)
        lines = [line for line in moved.stdout.splitlines() if line.strip()]
        assert moved.returncode == 2, moved.stdout
        assert lines[-1] == (
            f"configuration error: this instance is http://localhost:{first}, fixed at its first start;"
            f" this start asks for http://localhost:{second} (LIKENESS_DOMAIN, LIKENESS_HTTPS, serve"
            " --port): an instance's origin cannot change"), moved.stdout
        assert "Application startup" not in moved.stdout and "Uvicorn running" not in moved.stdout
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()
