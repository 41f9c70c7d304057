"""What the benchmark scripts share: free ports, waiting for a server, scratch databases."""

from __future__ import annotations

import asyncio
import os
import socket
import time
import uuid
from types import TracebackType
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import httpx


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def wait_up(url: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    async with httpx.AsyncClient() as client:
        while time.monotonic() < deadline:
            try:
                if (await client.get(url)).status_code < 500:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.2)
    raise RuntimeError(f"{url} did not come up")


class ScratchDatabases:
    """Fresh databases on DATABASE_URL's server, dropped on exit. Without DATABASE_URL `new()`
    gives None, and a `likeness serve` started without one uses its embedded PostgreSQL."""

    def __init__(self) -> None:
        self.server = os.environ.get("DATABASE_URL")
        self.names: list[str] = []

    async def new(self) -> str | None:
        if not self.server:
            return None
        name = f"likeness_bench_{uuid.uuid4().hex[:8]}"
        admin = await asyncpg.connect(self.server)
        try:
            await admin.execute(f'CREATE DATABASE "{name}"')
        finally:
            await admin.close()
        self.names.append(name)
        parts = urlsplit(self.server)
        return urlunsplit((parts.scheme, parts.netloc, f"/{name}", "", ""))

    async def __aenter__(self) -> ScratchDatabases:
        return self

    async def __aexit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        if not self.names:
            return
        admin = await asyncpg.connect(self.server)
        try:
            for name in self.names:
                await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()
