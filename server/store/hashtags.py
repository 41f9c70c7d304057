"""SQL of hashtags and trends: the hashtags, posts and links of the last week's public posts
that are used and liked most, and the hashtags a person follows."""

from __future__ import annotations

from .common import Conn, Record
from .interactions import newest_first, page_bounds
from .posts import LISTED_PUBLICLY

# How far back trends look, in days: Mastodon's tag history is a week long.
TREND_DAYS = 7


# A public post of the last TREND_DAYS days, `p`, with its hashtags, `t`.
RECENT_TAGGED = (f"tags t JOIN posts p ON p.id = t.post_id"
                 f" WHERE p.published_at > now() - make_interval(days => {TREND_DAYS}) AND {LISTED_PUBLICLY}")


async def trending_tags(conn: Conn, *, limit: int, offset: int) -> list[str]:
    """The hashtags of the recent public posts, by how many accounts used them, then how often."""
    rows = await conn.fetch(
        f"SELECT t.name FROM {RECENT_TAGGED} GROUP BY t.name"
        f" ORDER BY count(DISTINCT p.actor_id) DESC, count(*) DESC, t.name LIMIT $2 OFFSET $3",
        None, limit, offset)
    return [row["name"] for row in rows]


async def tag_usage(conn: Conn, names: list[str]) -> dict[str, list[Record]]:
    """For each hashtag, how often and by how many accounts recent public posts used it, one row
    (`age` in days, `uses`, `accounts`) per day it was used."""
    rows = await conn.fetch(
        f"SELECT t.name, (now() AT TIME ZONE 'UTC')::date - (p.published_at AT TIME ZONE 'UTC')::date AS age,"
        f" count(*) AS uses, count(DISTINCT p.actor_id) AS accounts"
        f" FROM {RECENT_TAGGED} AND t.name = ANY($2::text[]) GROUP BY 1, 2",
        None, names)
    found: dict[str, list[Record]] = {name: [] for name in names}
    for row in rows:
        found[row["name"]].append(row)
    return found


async def trending_posts(conn: Conn, viewer: int | None, *, limit: int, offset: int) -> list[Record]:
    """Public posts of the last TREND_DAYS days that were liked or boosted, the hottest first
    (their `hot` score, which weighs interactions against age)."""
    return await conn.fetch(
        f"SELECT p.* FROM posts p WHERE p.published_at > now() - make_interval(days => $4)"
        f" AND p.like_count + p.boost_count > 0 AND p.reblog_of_id IS NULL AND {LISTED_PUBLICLY}"
        f" ORDER BY p.hot DESC, p.id DESC LIMIT $2 OFFSET $3",
        viewer, limit, offset, TREND_DAYS)


# --- followed hashtags -----------------------------------------------------------------------

async def follow_tag(conn: Conn, actor_id: int, name: str) -> None:
    await conn.execute("INSERT INTO followed_tags (actor_id, name) VALUES ($1, $2)"
                       " ON CONFLICT (actor_id, name) DO NOTHING", actor_id, name)


async def unfollow_tag(conn: Conn, actor_id: int, name: str) -> None:
    await conn.execute("DELETE FROM followed_tags WHERE actor_id = $1 AND name = $2", actor_id, name)


async def followed_tags(conn: Conn, actor_id: int, *, limit: int, max_id: int | None = None,
                        since_id: int | None = None, min_id: int | None = None) -> list[Record]:
    """The hashtags `actor_id` follows (`name`), by when it followed them, newest first."""
    where, order = page_bounds("id", max_id, min_id)
    return newest_first(await conn.fetch(
        f"SELECT id AS page_id, name FROM followed_tags WHERE actor_id = $1{where}"
        f" ORDER BY id {order} LIMIT $2",
        actor_id, limit, max_id, since_id or min_id))


async def following_tags(conn: Conn, actor_id: int, names: list[str]) -> set[str]:
    """Which of `names` `actor_id` follows."""
    rows = await conn.fetch("SELECT name FROM followed_tags WHERE actor_id = $1 AND name = ANY($2::text[])",
                            actor_id, names)
    return {row["name"] for row in rows}


async def recent_linking_posts(conn: Conn, *, most: int) -> list[Record]:
    """The newest `most` public posts of the last TREND_DAYS days that hold a link: `content`,
    `actor_id` and `age` in days."""
    return await conn.fetch(
        f"SELECT p.content, p.actor_id,"
        f" (now() AT TIME ZONE 'UTC')::date - (p.published_at AT TIME ZONE 'UTC')::date AS age"
        f" FROM posts p WHERE p.published_at > now() - make_interval(days => {TREND_DAYS})"
        f" AND p.reblog_of_id IS NULL AND p.content LIKE '%<a %' AND {LISTED_PUBLICLY}"
        f" ORDER BY p.id DESC LIMIT $2", None, most)
