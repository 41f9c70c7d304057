"""SQL of successions (an account's signed move to another server), and of the servers that hold
consent an account gave, which its Move must reach."""

from __future__ import annotations

from typing import Any

from .common import Conn, Record


async def record_succession(conn: Conn, old_actor_uri: str, new_actor_uri: str, key_id: str,
                            public_key_multibase: str, move: dict[str, Any]) -> None:
    """Keep a verified succession; a later one for the same old actor replaces it (a second move)."""
    await conn.execute(
        "INSERT INTO successions (old_actor_uri, new_actor_uri, key_id, public_key_multibase, move)"
        " VALUES ($1, $2, $3, $4, $5) ON CONFLICT (old_actor_uri) DO UPDATE SET"
        " new_actor_uri = EXCLUDED.new_actor_uri, key_id = EXCLUDED.key_id,"
        " public_key_multibase = EXCLUDED.public_key_multibase, move = EXCLUDED.move,"
        " verified_at = now()", old_actor_uri, new_actor_uri, key_id, public_key_multibase, move)


async def succession_of(conn: Conn, old_actor_uri: str) -> Record | None:
    return await conn.fetchrow("SELECT * FROM successions WHERE old_actor_uri = $1", old_actor_uri)


async def successions_to(conn: Conn, new_actor_uri: str) -> list[Record]:
    """The verified successions into an actor: what its document publishes when it is ours."""
    return await conn.fetch("SELECT * FROM successions WHERE new_actor_uri = $1"
                            " ORDER BY old_actor_uri", new_actor_uri)


async def succession_of_object(conn: Conn, object_uri: str) -> Record | None:
    """The succession of the actor under whose address an object (a cameo) lives, if any."""
    return await conn.fetchrow(
        "SELECT * FROM successions WHERE starts_with($1, old_actor_uri || '/')"
        " ORDER BY length(old_actor_uri) DESC LIMIT 1", object_uri)


async def authorization_holders(conn: Conn, actor_id: int) -> list[str]:
    """The inboxes of every server that holds consent this actor gave: each requester it granted
    and each server that fetched one of its authorizations."""
    rows = await conn.fetch(
        "SELECT coalesce(a.shared_inbox, a.inbox) AS inbox FROM remix_requests r"
        " JOIN cameos c ON c.id = r.cameo_id JOIN actors a ON a.id = r.requester_id"
        " WHERE c.actor_id = $1 AND r.authorization_uri IS NOT NULL AND NOT a.local"
        " UNION SELECT f.inbox FROM authorization_fetches f"
        " JOIN remix_requests r ON r.id = f.request_id JOIN cameos c ON c.id = r.cameo_id"
        " WHERE c.actor_id = $1", actor_id)
    return sorted(r["inbox"] for r in rows)
