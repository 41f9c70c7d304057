"""Whether the database answers (/readyz)."""

from __future__ import annotations

from .common import Conn


async def database_answers(conn: Conn) -> bool:
    return await conn.fetchval("SELECT true") is True
