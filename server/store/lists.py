"""SQL of Mastodon's lists: a person's lists, their members, and each list's timeline.

A list holds accounts its owner follows; one they stop following drops out of what the list
shows (its accounts and its timeline) until they follow it again.
"""

from __future__ import annotations

from federation.visibility import may_see

from .common import Conn, Record
from .interactions import LISTABLE, newest_first, page_bounds
from .mutes import not_muted
from .posts import SHOWN

# Mastodon's limit on the lists one account may have.
MAX_LISTS = 50

# The members of list $5 that its owner, $1, follows.
FOLLOWED_MEMBERS = ("SELECT la.actor_id FROM list_accounts la JOIN follows f ON f.followed_id = la.actor_id"
                    " AND f.follower_id = $1 AND f.accepted WHERE la.list_id = $5")


async def lists_of(conn: Conn, actor_id: int) -> list[Record]:
    return await conn.fetch("SELECT * FROM lists WHERE actor_id = $1 ORDER BY id", actor_id)


async def list_by_id(conn: Conn, actor_id: int, list_id: int) -> Record | None:
    return await conn.fetchrow("SELECT * FROM lists WHERE id = $2 AND actor_id = $1", actor_id, list_id)


async def insert_list(conn: Conn, actor_id: int, *, title: str, replies_policy: str, exclusive: bool
                      ) -> Record | None:
    """The new list; None when the person has MAX_LISTS already."""
    return await conn.fetchrow(
        "INSERT INTO lists (actor_id, title, replies_policy, exclusive) SELECT $1, $2, $3, $4"
        " WHERE (SELECT count(*) FROM lists WHERE actor_id = $1) < $5 RETURNING *",
        actor_id, title, replies_policy, exclusive, MAX_LISTS)


async def update_list(conn: Conn, list_id: int, *, title: str, replies_policy: str,
                      exclusive: bool) -> Record:
    return await conn.fetchrow(
        "UPDATE lists SET title = $2, replies_policy = $3, exclusive = $4 WHERE id = $1 RETURNING *",
        list_id, title, replies_policy, exclusive)


async def delete_list(conn: Conn, actor_id: int, list_id: int) -> bool:
    status = await conn.execute("DELETE FROM lists WHERE id = $2 AND actor_id = $1", actor_id, list_id)
    return status.endswith(" 1")


async def list_members(conn: Conn, owner_id: int, list_id: int, *, limit: int | None,
                       max_id: int | None = None, since_id: int | None = None,
                       min_id: int | None = None) -> list[Record]:
    """The followed members of a list, by when they were added, newest first (all of them when
    `limit` is None), each with its `page_id`."""
    where, order = page_bounds("la.id", max_id, min_id)
    return newest_first(await conn.fetch(
        f"SELECT la.id AS page_id, a.* FROM list_accounts la JOIN actors a ON a.id = la.actor_id"
        f" WHERE la.list_id = $5 AND la.actor_id IN ({FOLLOWED_MEMBERS}) AND {LISTABLE}{where}"
        f" ORDER BY la.id {order} LIMIT $2",
        owner_id, limit, max_id, since_id or min_id, list_id))


async def followed_among(conn: Conn, actor_id: int, candidates: list[int]) -> set[int]:
    """Which of `candidates` `actor_id` follows."""
    rows = await conn.fetch("SELECT followed_id FROM follows WHERE follower_id = $1 AND accepted"
                            " AND followed_id = ANY($2::bigint[])", actor_id, candidates)
    return {row["followed_id"] for row in rows}


async def add_list_members(conn: Conn, list_id: int, actor_ids: list[int]) -> None:
    await conn.execute("INSERT INTO list_accounts (list_id, actor_id) SELECT $1, unnest($2::bigint[])"
                       " ON CONFLICT (list_id, actor_id) DO NOTHING", list_id, actor_ids)


async def remove_list_members(conn: Conn, list_id: int, actor_ids: list[int]) -> None:
    await conn.execute("DELETE FROM list_accounts WHERE list_id = $1 AND actor_id = ANY($2::bigint[])",
                       list_id, actor_ids)


async def lists_with(conn: Conn, owner_id: int, member_id: int) -> list[Record]:
    """The owner's lists that hold `member_id`."""
    return await conn.fetch(
        "SELECT l.* FROM lists l JOIN list_accounts la ON la.list_id = l.id"
        " WHERE l.actor_id = $1 AND la.actor_id = $2 ORDER BY l.id", owner_id, member_id)


async def list_timeline(conn: Conn, owner_id: int, list_row: Record, *, limit: int,
                        max_id: int | None = None, since_id: int | None = None,
                        min_id: int | None = None) -> list[Record]:
    """The posts and boosts of the list's followed members that the owner may see, newest first;
    replies by its `replies_policy`: to anyone the owner follows, to the list's members, or none
    (a member's reply to themselves, a thread, always)."""
    where, order = page_bounds("p.id", max_id, min_id)
    rows = await conn.fetch(
        f"SELECT p.* FROM posts p WHERE p.actor_id IN ({FOLLOWED_MEMBERS}) AND p.deleted_at IS NULL"
        f" AND p.visibility <> 'direct' AND {may_see('$1')} AND {SHOWN}{where}"
        f" AND (p.in_reply_to_id IS NULL OR EXISTS (SELECT 1 FROM posts parent"
        f"   WHERE parent.id = p.in_reply_to_id AND (parent.actor_id = p.actor_id"
        f"    OR $6 = 'followed' AND (parent.actor_id = $1 OR EXISTS (SELECT 1 FROM follows pf"
        f"       WHERE pf.follower_id = $1 AND pf.followed_id = parent.actor_id AND pf.accepted))"
        f"    OR $6 = 'list' AND parent.actor_id IN ({FOLLOWED_MEMBERS}))))"
        f" AND NOT EXISTS (SELECT 1 FROM blocks b WHERE b.actor_id = $1 AND b.target_id = p.actor_id)"
        f" AND {not_muted('$1')}"
        f" ORDER BY p.id {order} LIMIT $2",
        owner_id, limit, max_id, since_id or min_id, list_row["id"], list_row["replies_policy"])
    return sorted(rows, key=lambda r: r["id"], reverse=True)
