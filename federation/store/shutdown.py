"""SQL of a server that closes down: its notice (when, and what it says) and the peers to tell."""

from __future__ import annotations

from typing import Any

from .common import Conn

SHUTDOWN_KEY = "shutdown"


async def shutdown_notice(conn: Conn) -> dict[str, Any] | None:
    """The notice `likeness admin shutdown-notice` gave: {"until", "message", "announced"}."""
    return await conn.fetchval("SELECT value FROM instance_settings WHERE key = $1", SHUTDOWN_KEY)


async def set_shutdown_notice(conn: Conn, notice: dict[str, Any]) -> None:
    await conn.execute(
        "INSERT INTO instance_settings (key, value) VALUES ($1, $2)"
        " ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value", SHUTDOWN_KEY, notice)


async def peer_inboxes(conn: Conn) -> list[str]:
    """One inbox on each server this one knows an actor of (its shared inbox where it has one),
    leaving out the servers it suspended."""
    rows = await conn.fetch(
        "SELECT DISTINCT ON (lower(domain)) coalesce(shared_inbox, inbox) AS inbox FROM actors"
        " WHERE NOT local AND inbox IS NOT NULL AND deleted_at IS NULL AND NOT domain_suspended(domain)"
        " ORDER BY lower(domain), shared_inbox IS NULL, id")
    return [r["inbox"] for r in rows]
