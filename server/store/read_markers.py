"""SQL of Mastodon's markers: where a user stopped reading a timeline."""

from __future__ import annotations

from .common import Conn, Record


async def markers(conn: Conn, user_id: int, timelines: list[str]) -> list[Record]:
    return await conn.fetch("SELECT * FROM markers WHERE user_id = $1 AND timeline = ANY($2::text[])",
                            user_id, timelines)


async def save_marker(conn: Conn, user_id: int, timeline: str, last_read_id: int) -> Record:
    """Each save is a new version, as Mastodon counts them."""
    return await conn.fetchrow(
        "INSERT INTO markers (user_id, timeline, last_read_id) VALUES ($1, $2, $3)"
        " ON CONFLICT (user_id, timeline) DO UPDATE SET last_read_id = $3,"
        " version = markers.version + 1, updated_at = now() RETURNING *",
        user_id, timeline, last_read_id)
