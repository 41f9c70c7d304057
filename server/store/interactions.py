"""SQL of the client API's lists of accounts and posts: followers and following, who liked or
boosted a post, bookmarks, favourites and pins.

Each list pages by the id of the row that put an item on it (the follow, the like, the bookmark),
newest first, as Mastodon pages them: `page_id` on every row found.
"""

from __future__ import annotations

from .common import Conn, Record

# Mastodon's limit on the posts one account may pin.
MAX_PINS = 5

# An account that may be listed: not suspended, not deleted.
LISTABLE = "NOT a.suspended AND a.deleted_at IS NULL"


def page_bounds(column: str, max_id: int | None, min_id: int | None) -> tuple[str, str]:
    """Mastodon's paging on `column`, with $3 the upper bound (`max_id`) and $4 the lower
    (`since_id` or `min_id`): `min_id` alone pages forwards from the oldest newer than it."""
    where = f" AND ($3::bigint IS NULL OR {column} < $3) AND ($4::bigint IS NULL OR {column} > $4)"
    return where, "ASC" if min_id and not max_id else "DESC"


def newest_first(rows: list[Record]) -> list[Record]:
    """Rows found in either order (page_bounds), newest `page_id` first."""
    return sorted(rows, key=lambda r: r["page_id"], reverse=True)


async def follow_accounts(conn: Conn, actor_id: int, *, followers: bool, limit: int,
                          max_id: int | None = None, since_id: int | None = None,
                          min_id: int | None = None) -> list[Record]:
    """The accounts that follow `actor_id` (or that it follows), by follow, newest first."""
    mine, theirs = ("followed_id", "follower_id") if followers else ("follower_id", "followed_id")
    where, order = page_bounds("f.id", max_id, min_id)
    return newest_first(await conn.fetch(
        f"SELECT f.id AS page_id, a.* FROM follows f JOIN actors a ON a.id = f.{theirs}"
        f" WHERE f.{mine} = $1 AND f.accepted AND {LISTABLE}{where} ORDER BY f.id {order} LIMIT $2",
        actor_id, limit, max_id, since_id or min_id))


async def likers(conn: Conn, post_id: int, *, limit: int, max_id: int | None = None,
                 since_id: int | None = None, min_id: int | None = None) -> list[Record]:
    """The accounts that liked a post, by like, newest first."""
    where, order = page_bounds("l.id", max_id, min_id)
    return newest_first(await conn.fetch(
        f"SELECT l.id AS page_id, a.* FROM likes l JOIN actors a ON a.id = l.actor_id"
        f" WHERE l.post_id = $1 AND {LISTABLE}{where} ORDER BY l.id {order} LIMIT $2",
        post_id, limit, max_id, since_id or min_id))


async def boosters(conn: Conn, post_id: int, *, limit: int, max_id: int | None = None,
                   since_id: int | None = None, min_id: int | None = None) -> list[Record]:
    """The accounts that boosted a post, by boost, newest first."""
    where, order = page_bounds("b.id", max_id, min_id)
    return newest_first(await conn.fetch(
        f"SELECT b.id AS page_id, a.* FROM posts b JOIN actors a ON a.id = b.actor_id"
        f" WHERE b.reblog_of_id = $1 AND b.deleted_at IS NULL AND {LISTABLE}{where}"
        f" ORDER BY b.id {order} LIMIT $2",
        post_id, limit, max_id, since_id or min_id))


async def accounts_counts(conn: Conn, actor_ids: list[int]) -> dict[int, Record]:
    """Followers, following and posts of each account, as server.store.account_counts counts
    them for one, in one query."""
    rows = await conn.fetch(
        "SELECT a.id,"
        " (SELECT count(*) FROM follows WHERE followed_id = a.id AND accepted) AS followers,"
        " (SELECT count(*) FROM follows WHERE follower_id = a.id AND accepted) AS following,"
        " (SELECT count(*) FROM posts WHERE actor_id = a.id AND deleted_at IS NULL) AS posts"
        " FROM unnest($1::bigint[]) AS a(id)", actor_ids)
    return {row["id"]: row for row in rows}


# --- bookmarks and favourites ----------------------------------------------------------------

async def bookmark(conn: Conn, actor_id: int, post_id: int) -> None:
    await conn.execute("INSERT INTO bookmarks (actor_id, post_id) VALUES ($1, $2)"
                       " ON CONFLICT (actor_id, post_id) DO NOTHING", actor_id, post_id)


async def unbookmark(conn: Conn, actor_id: int, post_id: int) -> None:
    await conn.execute("DELETE FROM bookmarks WHERE actor_id = $1 AND post_id = $2", actor_id, post_id)


async def bookmarked_posts(conn: Conn, actor_id: int, *, limit: int, max_id: int | None = None,
                           since_id: int | None = None, min_id: int | None = None) -> list[Record]:
    """The posts `actor_id` bookmarked and that are not deleted, by bookmark, newest first."""
    where, order = page_bounds("bm.id", max_id, min_id)
    return newest_first(await conn.fetch(
        f"SELECT bm.id AS page_id, p.* FROM bookmarks bm JOIN posts p ON p.id = bm.post_id"
        f" WHERE bm.actor_id = $1 AND p.deleted_at IS NULL{where} ORDER BY bm.id {order} LIMIT $2",
        actor_id, limit, max_id, since_id or min_id))


async def liked_posts(conn: Conn, actor_id: int, *, limit: int, max_id: int | None = None,
                      since_id: int | None = None, min_id: int | None = None) -> list[Record]:
    """The posts `actor_id` liked and that are not deleted, by like, newest first."""
    where, order = page_bounds("l.id", max_id, min_id)
    return newest_first(await conn.fetch(
        f"SELECT l.id AS page_id, p.* FROM likes l JOIN posts p ON p.id = l.post_id"
        f" WHERE l.actor_id = $1 AND p.deleted_at IS NULL{where} ORDER BY l.id {order} LIMIT $2",
        actor_id, limit, max_id, since_id or min_id))


# --- pins ------------------------------------------------------------------------------------

async def pin(conn: Conn, actor_id: int, post_id: int) -> bool | None:
    """Pin a post to its author's profile: True if it was not pinned yet, False if it was
    (nothing changes), None when they already pinned MAX_PINS others."""
    row = await conn.fetchrow(
        "WITH added AS (INSERT INTO pins (actor_id, post_id)"
        "  SELECT $1, $2 WHERE (SELECT count(*) FROM pins WHERE actor_id = $1) < $3"
        "  ON CONFLICT (actor_id, post_id) DO NOTHING RETURNING 1)"
        " SELECT EXISTS (SELECT FROM added) AS added,"
        " EXISTS (SELECT FROM pins WHERE actor_id = $1 AND post_id = $2) AS was_pinned",
        actor_id, post_id, MAX_PINS)
    if row["added"]:
        return True
    return False if row["was_pinned"] else None


async def unpin(conn: Conn, actor_id: int, post_id: int) -> bool:
    """Unpin a post; whether it was pinned."""
    status = await conn.execute("DELETE FROM pins WHERE actor_id = $1 AND post_id = $2", actor_id, post_id)
    return status.endswith(" 1")


async def pinned_posts(conn: Conn, actor_id: int) -> list[Record]:
    """The posts `actor_id` pinned and that are not deleted, the latest pinned first."""
    return await conn.fetch(
        "SELECT pn.id AS page_id, p.* FROM pins pn JOIN posts p ON p.id = pn.post_id"
        " WHERE pn.actor_id = $1 AND p.deleted_at IS NULL ORDER BY pn.id DESC", actor_id)
