"""SQL of actors, local and remote, and their keys."""

from __future__ import annotations

from typing import Any

from .common import Conn, Record

ACTOR_FIELDS = (
    "uri", "type", "username", "domain", "display_name", "summary", "url", "icon_url", "header_url",
    "inbox", "shared_inbox", "outbox", "followers_url", "following_url", "manually_approves_followers",
    "document", "also_known_as", "moved_to_uri",
)


# --- actors -------------------------------------------------------------------------------

async def actor_by_uri(conn: Conn, uri: str) -> Record | None:
    return await conn.fetchrow("SELECT * FROM actors WHERE uri = $1", uri)


async def actors_by_uris(conn: Conn, uris: list[str]) -> list[Record]:
    """The known actors among `uris`."""
    return await conn.fetch("SELECT * FROM actors WHERE uri = ANY($1::text[])", uris)


async def actor_by_id(conn: Conn, actor_id: int) -> Record | None:
    return await conn.fetchrow("SELECT * FROM actors WHERE id = $1", actor_id)


async def actor_by_handle(conn: Conn, username: str, domain: str) -> Record | None:
    return await conn.fetchrow(
        "SELECT * FROM actors WHERE lower(username) = lower($1) AND lower(domain) = lower($2)",
        username, domain)


async def local_actor(conn: Conn, username: str) -> Record | None:
    return await conn.fetchrow(
        "SELECT a.* FROM actors a JOIN users u ON u.id = a.user_id"
        " WHERE a.local AND lower(a.username) = lower($1) AND NOT u.disabled", username)


async def local_actor_deleted(conn: Conn, username: str) -> bool:
    """Whether this username was an account here that was deleted (its actor answers 410)."""
    return await conn.fetchval(
        "SELECT EXISTS (SELECT 1 FROM actors WHERE local AND lower(username) = lower($1)"
        " AND deleted_at IS NOT NULL)", username)


async def actor_of_user(conn: Conn, user_id: int) -> Record | None:
    return await conn.fetchrow("SELECT * FROM actors WHERE user_id = $1", user_id)


async def insert_local_actor(conn: Conn, *, user_id: int | None, type: str, uri: str,
                             username: str, domain: str, display_name: str = "") -> int:
    base = uri
    return await conn.fetchval(
        "INSERT INTO actors (uri, user_id, local, type, username, domain, display_name, url,"
        " inbox, shared_inbox, outbox, followers_url, following_url)"
        " VALUES ($1, $2, true, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING id",
        uri, user_id, type, username, domain, display_name, base, f"{base}/inbox",
        None, f"{base}/outbox", f"{base}/followers", f"{base}/following")


async def upsert_remote_actor(conn: Conn, fields: dict[str, Any]) -> Record:
    """Insert or refresh a remote actor from its fetched document."""
    values = [fields.get(name) for name in ACTOR_FIELDS]
    columns = ", ".join(ACTOR_FIELDS)
    params = ", ".join(f"${i}" for i in range(1, len(ACTOR_FIELDS) + 1))
    updates = ", ".join(f"{name} = EXCLUDED.{name}" for name in ACTOR_FIELDS if name != "uri")
    moved_to = ACTOR_FIELDS.index("moved_to_uri") + 1
    # `moved_at`: when its document first named the account it moved to (kept while it names the same).
    return await conn.fetchrow(
        f"INSERT INTO actors ({columns}, local, fetched_at, moved_at)"
        f" VALUES ({params}, false, now(), CASE WHEN ${moved_to}::text IS NULL THEN NULL ELSE now() END)"
        f" ON CONFLICT (uri) DO UPDATE SET {updates}, fetched_at = now(),"
        " moved_at = CASE WHEN EXCLUDED.moved_to_uri IS NULL THEN NULL"
        " WHEN EXCLUDED.moved_to_uri IS NOT DISTINCT FROM actors.moved_to_uri THEN actors.moved_at"
        " ELSE now() END RETURNING *",
        *values)


async def set_origin_suspension(conn: Conn, actor_id: int, suspended: bool) -> Record:
    """Apply what a remote actor's own server says of its suspension (migration 0015): it
    suspends an account no one suspended here, and lifts only a suspension that was its own."""
    return await conn.fetchrow(
        "UPDATE actors SET suspended = CASE WHEN $2 THEN true WHEN suspended_by_origin THEN false"
        " ELSE suspended END, suspended_by_origin = $2 AND (suspended_by_origin OR NOT suspended)"
        " WHERE id = $1 AND NOT local RETURNING *", actor_id, suspended)


async def update_local_profile(conn: Conn, actor_id: int, display_name: str, summary: str, *,
                               avatar: tuple[str, str] | None = None,
                               header: tuple[str, str] | None = None) -> list[str]:
    """Set a local actor's name and bio, and its avatar and header when given (storage key,
    address); returns the storage keys they replaced, whose files the caller deletes."""
    avatar_key, avatar_url = avatar or (None, None)
    header_key, header_url = header or (None, None)
    row = await conn.fetchrow(
        "UPDATE actors a SET display_name = $2, summary = $3,"
        " avatar_key = COALESCE($4, a.avatar_key), icon_url = COALESCE($5, a.icon_url),"
        " header_key = COALESCE($6, a.header_key), header_url = COALESCE($7, a.header_url)"
        " FROM (SELECT avatar_key, header_key FROM actors WHERE id = $1 FOR UPDATE) old"
        " WHERE a.id = $1 RETURNING old.avatar_key, old.header_key",
        actor_id, display_name, summary, avatar_key, avatar_url, header_key, header_url)
    return [old for old, new in ((row["avatar_key"], avatar_key), (row["header_key"], header_key))
            if old and new]


async def delete_actor(conn: Conn, actor_id: int) -> None:
    await conn.execute("DELETE FROM actors WHERE id = $1 AND NOT local", actor_id)


async def delete_actors_with_inbox(conn: Conn, inbox: str) -> None:
    """An inbox that answered 410: its actor is gone for good."""
    await conn.execute("DELETE FROM actors WHERE inbox = $1 AND NOT local", inbox)


async def store_actor_keys(conn: Conn, actor_id: int, rsa_private_pem: str,
                           ed25519_private: bytes) -> None:
    await conn.execute(
        "INSERT INTO actor_keys (actor_id, rsa_private_pem, ed25519_private) VALUES ($1, $2, $3)",
        actor_id, rsa_private_pem, ed25519_private)


async def actor_keys(conn: Conn, actor_id: int) -> Record | None:
    return await conn.fetchrow("SELECT * FROM actor_keys WHERE actor_id = $1", actor_id)


async def store_public_key(conn: Conn, key_id: str, owner_uri: str, kind: str, pem: str) -> None:
    await conn.execute(
        "INSERT INTO public_keys (key_id, owner_uri, kind, public_pem) VALUES ($1, $2, $3, $4)"
        " ON CONFLICT (key_id) DO UPDATE SET owner_uri = EXCLUDED.owner_uri,"
        " kind = EXCLUDED.kind, public_pem = EXCLUDED.public_pem, fetched_at = now()",
        key_id, owner_uri, kind, pem)


async def public_key(conn: Conn, key_id: str) -> Record | None:
    return await conn.fetchrow("SELECT * FROM public_keys WHERE key_id = $1", key_id)


async def public_keys_of(conn: Conn, owner_uri: str) -> list[Record]:
    return await conn.fetch("SELECT * FROM public_keys WHERE owner_uri = $1 ORDER BY key_id",
                            owner_uri)


async def forget_public_keys(conn: Conn, owner_uri: str) -> None:
    await conn.execute("DELETE FROM public_keys WHERE owner_uri = $1", owner_uri)


# --- backfill of remote accounts -------------------------------------------------------------

async def claim_backfill(conn: Conn, actor_id: int, every_s: float, lease_s: float) -> Record | None:
    """The remote actor, now held for `lease_s`, if its backfill is due (never done, or more than
    `every_s` ago) and no worker holds it; else None."""
    return await conn.fetchrow(
        "UPDATE actors SET backfilled_at = now(), backfilling_until = now() + make_interval(secs => $3)"
        " WHERE id = $1 AND NOT local"
        " AND (backfilling_until IS NULL OR backfilling_until < now())"
        " AND (backfilled_at IS NULL OR backfilled_at < now() - make_interval(secs => $2))"
        " RETURNING *", actor_id, every_s, lease_s)


async def release_backfill(conn: Conn, actor_id: int) -> None:
    await conn.execute("UPDATE actors SET backfilling_until = NULL WHERE id = $1", actor_id)


async def backfill_again(conn: Conn, actor_id: int) -> None:
    """Make the next backfill of the actor due at once (its audience here just changed)."""
    await conn.execute("UPDATE actors SET backfilled_at = NULL WHERE id = $1 AND NOT local", actor_id)
