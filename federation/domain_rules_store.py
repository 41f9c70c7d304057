"""SQL of the instance rules: domain blocks, domain allows, the federation mode, and what
applying a rule changes in stored data."""

from __future__ import annotations

from typing import Any

import asyncpg

Conn = asyncpg.Connection | asyncpg.Pool
Record = asyncpg.Record

BLOCK_FIELDS = ("severity", "reject_media", "reject_reports", "reject_remix_requests",
                "public_comment", "private_comment", "obfuscate")
MODE_KEY = "federation_mode"
# Each remote domain once, so that a rule is evaluated per domain rather than per actor.
_REMOTE_DOMAINS_WHERE = "SELECT domain FROM (SELECT DISTINCT domain FROM actors WHERE NOT local) d WHERE"


async def blocks(conn: Conn, *, limit: int | None = None, max_id: int | None = None,
                 min_id: int | None = None) -> list[Record]:
    """Blocks newest first; `max_id`/`min_id` page as Mastodon's lists do."""
    return await conn.fetch(
        "SELECT * FROM domain_blocks WHERE ($2::bigint IS NULL OR id < $2)"
        " AND ($3::bigint IS NULL OR id > $3) ORDER BY id DESC LIMIT $1", limit, max_id, min_id)


async def block_by_id(conn: Conn, block_id: int) -> Record | None:
    return await conn.fetchrow("SELECT * FROM domain_blocks WHERE id = $1", block_id)


async def block_by_domain(conn: Conn, domain: str) -> Record | None:
    return await conn.fetchrow("SELECT * FROM domain_blocks WHERE domain = $1", domain)


async def covering_block(conn: Conn, authority: str) -> Record | None:
    """The most specific block covering `authority` (itself or a parent domain)."""
    return await conn.fetchrow(
        "SELECT * FROM domain_blocks WHERE domain = ANY(domain_candidates($1))"
        " ORDER BY length(domain) DESC LIMIT 1", authority)


async def upsert_block(conn: Conn, domain: str, fields: dict[str, Any]) -> tuple[Record, bool]:
    """Create the block for `domain`, or update it; (row, created)."""
    values = [fields[name] for name in BLOCK_FIELDS]
    columns = ", ".join(BLOCK_FIELDS)
    params = ", ".join(f"${i}" for i in range(2, len(BLOCK_FIELDS) + 2))
    updates = ", ".join(f"{name} = EXCLUDED.{name}" for name in BLOCK_FIELDS)
    row = await conn.fetchrow(
        f"INSERT INTO domain_blocks (domain, {columns}) VALUES ($1, {params})"
        f" ON CONFLICT (domain) DO UPDATE SET {updates}, updated_at = now()"
        f" RETURNING *, (xmax = 0) AS created", domain, *values)
    return row, row["created"]


async def delete_block(conn: Conn, block_id: int) -> Record | None:
    return await conn.fetchrow("DELETE FROM domain_blocks WHERE id = $1 RETURNING *", block_id)


async def allows(conn: Conn, *, limit: int | None = None, max_id: int | None = None,
                 min_id: int | None = None) -> list[Record]:
    return await conn.fetch(
        "SELECT * FROM domain_allows WHERE ($2::bigint IS NULL OR id < $2)"
        " AND ($3::bigint IS NULL OR id > $3) ORDER BY id DESC LIMIT $1", limit, max_id, min_id)


async def allow_by_id(conn: Conn, allow_id: int) -> Record | None:
    return await conn.fetchrow("SELECT * FROM domain_allows WHERE id = $1", allow_id)


async def allow_by_domain(conn: Conn, domain: str) -> Record | None:
    return await conn.fetchrow("SELECT * FROM domain_allows WHERE domain = $1", domain)


async def insert_allow(conn: Conn, domain: str) -> tuple[Record, bool]:
    """The allow for `domain`, created unless it exists; (row, created)."""
    row = await conn.fetchrow(
        "INSERT INTO domain_allows (domain) VALUES ($1) ON CONFLICT (domain) DO NOTHING"
        " RETURNING *", domain)
    if row is not None:
        return row, True
    return await allow_by_domain(conn, domain), False


async def delete_allow(conn: Conn, allow_id: int) -> Record | None:
    return await conn.fetchrow("DELETE FROM domain_allows WHERE id = $1 RETURNING *", allow_id)


async def allowlist_mode(conn: Conn) -> bool:
    return await conn.fetchval(
        "SELECT coalesce((SELECT value = '\"allowlist\"'::jsonb FROM instance_settings"
        " WHERE key = $1), false)", MODE_KEY)


async def set_allowlist_mode(conn: Conn, on: bool) -> None:
    await conn.execute(
        "INSERT INTO instance_settings (key, value) VALUES ($1, $2)"
        " ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value",
        MODE_KEY, "allowlist" if on else "open")


async def refresh_domain_states(conn: Conn) -> None:
    """Write the rules' answer for every remote actor (migration 0013), which timelines read."""
    await conn.execute("SELECT refresh_domain_states()")


async def sever_suspended(conn: Conn) -> int:
    """Remove every follow, either way and accepted or not, between a local actor and an actor
    of a domain that is now suspended (or, in allow-list mode, not allowed)."""
    status = await conn.execute(
        f"WITH cut AS (SELECT id FROM actors WHERE NOT local AND domain IN ({_REMOTE_DOMAINS_WHERE}"
        f" domain_suspended(domain)))"
        f" DELETE FROM follows WHERE follower_id IN (SELECT id FROM cut)"
        f" OR followed_id IN (SELECT id FROM cut)")
    return int(status.split()[-1])


async def purge_rejected_media(conn: Conn) -> int:
    """Forget the media (attachments and avatars) of domains whose media are now rejected."""
    domains = await conn.fetch(f"{_REMOTE_DOMAINS_WHERE} domain_rejects_media(domain)")
    if not domains:
        return 0
    names = [r["domain"] for r in domains]
    await conn.execute("UPDATE actors SET icon_url = NULL, header_url = NULL WHERE NOT local"
                       " AND domain = ANY($1::text[]) AND (icon_url IS NOT NULL OR header_url IS NOT NULL)",
                       names)
    status = await conn.execute(
        "DELETE FROM media m USING actors a WHERE m.actor_id = a.id AND NOT a.local"
        " AND a.domain = ANY($1::text[])", names)
    return int(status.split()[-1])
