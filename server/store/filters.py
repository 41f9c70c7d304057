"""SQL of Mastodon's filters (v2): a person's filters, their keywords and the posts they name.

Every read and change is of the filters of one actor: a keyword or a post entry is found
through the filter it belongs to, so that no one reaches another's.
"""

from __future__ import annotations

from datetime import datetime

import asyncpg

from .common import Conn, Record


async def filters_of(conn: Conn, actor_id: int, *, context: str | None = None) -> list[Record]:
    """The actor's filters, oldest first; with `context`, only those in force there (not
    expired)."""
    return await conn.fetch(
        "SELECT * FROM filters WHERE actor_id = $1 AND ($2::text IS NULL OR $2 = ANY(context)"
        " AND (expires_at IS NULL OR expires_at > now())) ORDER BY id", actor_id, context)


async def filter_by_id(conn: Conn, actor_id: int, filter_id: int) -> Record | None:
    return await conn.fetchrow("SELECT * FROM filters WHERE id = $2 AND actor_id = $1", actor_id, filter_id)


async def count_filters(conn: Conn, actor_id: int) -> int:
    return await conn.fetchval("SELECT count(*) FROM filters WHERE actor_id = $1", actor_id)


async def filter_keywords_of(conn: Conn, filter_ids: list[int]) -> dict[int, list[Record]]:
    rows = await conn.fetch("SELECT * FROM filter_keywords WHERE filter_id = ANY($1::bigint[]) ORDER BY id",
                            filter_ids)
    found: dict[int, list[Record]] = {filter_id: [] for filter_id in filter_ids}
    for row in rows:
        found[row["filter_id"]].append(row)
    return found


async def filter_statuses_of(conn: Conn, filter_ids: list[int]) -> dict[int, list[Record]]:
    rows = await conn.fetch("SELECT * FROM filter_statuses WHERE filter_id = ANY($1::bigint[]) ORDER BY id",
                            filter_ids)
    found: dict[int, list[Record]] = {filter_id: [] for filter_id in filter_ids}
    for row in rows:
        found[row["filter_id"]].append(row)
    return found


async def insert_filter(conn: asyncpg.Connection, actor_id: int, *, title: str, context: list[str],
                        action: str, expires_at: datetime | None) -> int:
    return await conn.fetchval(
        "INSERT INTO filters (actor_id, title, context, filter_action, expires_at)"
        " VALUES ($1, $2, $3, $4, $5) RETURNING id", actor_id, title, context, action, expires_at)


async def update_filter(conn: asyncpg.Connection, filter_id: int, *, title: str, context: list[str],
                        action: str, expires_at: datetime | None) -> None:
    await conn.execute(
        "UPDATE filters SET title = $2, context = $3, filter_action = $4, expires_at = $5 WHERE id = $1",
        filter_id, title, context, action, expires_at)


async def delete_filter(conn: Conn, actor_id: int, filter_id: int) -> bool:
    status = await conn.execute("DELETE FROM filters WHERE id = $2 AND actor_id = $1", actor_id, filter_id)
    return status.endswith(" 1")


# --- keywords --------------------------------------------------------------------------------

async def filter_keyword_by_id(conn: Conn, actor_id: int, keyword_id: int) -> Record | None:
    return await conn.fetchrow(
        "SELECT k.* FROM filter_keywords k JOIN filters f ON f.id = k.filter_id"
        " WHERE k.id = $2 AND f.actor_id = $1", actor_id, keyword_id)


async def count_filter_keywords(conn: Conn, filter_id: int) -> int:
    return await conn.fetchval("SELECT count(*) FROM filter_keywords WHERE filter_id = $1", filter_id)


async def insert_filter_keyword(conn: Conn, filter_id: int, keyword: str, whole_word: bool) -> Record:
    return await conn.fetchrow(
        "INSERT INTO filter_keywords (filter_id, keyword, whole_word) VALUES ($1, $2, $3) RETURNING *",
        filter_id, keyword, whole_word)


async def update_filter_keyword(conn: Conn, keyword_id: int, keyword: str, whole_word: bool) -> Record:
    return await conn.fetchrow(
        "UPDATE filter_keywords SET keyword = $2, whole_word = $3 WHERE id = $1 RETURNING *",
        keyword_id, keyword, whole_word)


async def delete_filter_keyword(conn: Conn, keyword_id: int) -> None:
    await conn.execute("DELETE FROM filter_keywords WHERE id = $1", keyword_id)


# --- posts -----------------------------------------------------------------------------------

async def filter_status_by_id(conn: Conn, actor_id: int, entry_id: int) -> Record | None:
    return await conn.fetchrow(
        "SELECT s.* FROM filter_statuses s JOIN filters f ON f.id = s.filter_id"
        " WHERE s.id = $2 AND f.actor_id = $1", actor_id, entry_id)


async def insert_filter_status(conn: Conn, filter_id: int, post_id: int) -> Record | None:
    """The new entry; None when the filter names the post already."""
    return await conn.fetchrow(
        "INSERT INTO filter_statuses (filter_id, post_id) VALUES ($1, $2)"
        " ON CONFLICT (filter_id, post_id) DO NOTHING RETURNING *", filter_id, post_id)


async def delete_filter_status(conn: Conn, entry_id: int) -> None:
    await conn.execute("DELETE FROM filter_statuses WHERE id = $1", entry_id)
