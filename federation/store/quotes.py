"""SQL of FEP-044f quote stamps."""

from __future__ import annotations

from .common import Conn, Record


async def insert_quote_authorization(conn: Conn, post_id: int, request_uri: str, quoting_uri: str,
                                     requester_id: int, state: str) -> int | None:
    """A new answer to a QuoteRequest; None when this request was answered already."""
    return await conn.fetchval(
        "INSERT INTO quote_authorizations (post_id, request_uri, quoting_uri, requester_id, state)"
        " VALUES ($1, $2, $3, $4, $5) ON CONFLICT (request_uri) DO NOTHING RETURNING id",
        post_id, request_uri, quoting_uri, requester_id, state)


async def quote_authorization(conn: Conn, stamp_id: int) -> Record | None:
    return await conn.fetchrow(
        "SELECT q.*, p.uri AS post_uri, p.actor_id AS author_id, p.deleted_at AS post_deleted_at,"
        " p.visibility FROM quote_authorizations q JOIN posts p ON p.id = q.post_id WHERE q.id = $1",
        stamp_id)


async def approved_quote_authorization(conn: Conn, post_id: int, quoting_uri: str) -> Record | None:
    """Our standing approval of `quoting_uri` quoting the local post `post_id`, if any."""
    return await conn.fetchrow(
        "SELECT * FROM quote_authorizations WHERE post_id = $1 AND quoting_uri = $2"
        " AND state = 'approved' ORDER BY id LIMIT 1", post_id, quoting_uri)
