"""SQL of posts as clients see them: timelines, threads, counts, relationships and notifications."""

from __future__ import annotations

from federation.visibility import in_view, may_see

from .common import Conn, Record

# A limited (silenced) server's posts stay out of public timelines.
NOT_LIMITED = """NOT EXISTS (SELECT 1 FROM actors la WHERE la.id = p.actor_id AND la.domain_limited)"""

# Moderation (migrations/0012_moderation.sql): a post a moderator hid, or whose author is
# suspended, or a boost of such a post, is out of every timeline, even its author's, and its
# files are not served; its author and staff still find it by id (`may_see`).
SHOWN = f"""({in_view('p')}
    AND (p.reblog_of_id IS NULL OR EXISTS (SELECT 1 FROM posts mo WHERE mo.id = p.reblog_of_id
         AND {in_view('mo')})))"""
# The public timelines (public, tag, For You) also leave out silenced authors' posts; their
# followers still see them at home.
SHOWN_PUBLICLY = f"""({SHOWN}
    AND NOT EXISTS (SELECT 1 FROM actors ms WHERE ms.id = p.actor_id AND ms.silenced))"""
# What the public and tag timelines list for the viewer `$1`: public posts it may see, in public
# view, from a server that is not limited.
LISTED_PUBLICLY = (f"{may_see('$1::bigint')} AND {SHOWN_PUBLICLY} AND p.visibility = 'public'"
                   f" AND {NOT_LIMITED}")


async def visible_post(conn: Conn, post_id: int, viewer: int | None, *, staff: bool = False
                       ) -> Record | None:
    """The post if `viewer` may see it (federation/visibility.py); `staff` for a signed-in
    moderator or admin, who also see what moderation took out of view."""
    return await conn.fetchrow(
        f"SELECT p.* FROM posts p WHERE p.id = $2 AND {may_see('$1::bigint', staff='$3::boolean')}",
        viewer, post_id, staff)


def _page(max_id: int | None, since_id: int | None, min_id: int | None) -> tuple[str, str]:
    """Mastodon's paging: `max_id` and `since_id` page backwards from the newest, `min_id`
    forwards from the oldest newer than it. Parameters $3 and $4 are the two bounds."""
    where = " AND ($3::bigint IS NULL OR p.id < $3) AND ($4::bigint IS NULL OR p.id > $4)"
    order = "ASC" if min_id and not max_id else "DESC"
    return where, order


async def home_timeline(conn: Conn, actor_id: int, *, limit: int, max_id: int | None = None,
                        since_id: int | None = None, min_id: int | None = None) -> list[Record]:
    where, order = _page(max_id, since_id, min_id)
    # Each followed account's newest page, off its own index, then the newest of those: the cost
    # follows the number of accounts followed, not the size of the table.
    rows = await conn.fetch(
        f"SELECT p.* FROM (SELECT followed_id AS id FROM follows WHERE follower_id = $1 AND accepted"
        f"                 UNION SELECT $1) author,"
        f" LATERAL (SELECT p.* FROM posts p WHERE p.actor_id = author.id AND p.deleted_at IS NULL"
        f"   AND p.in_reply_to_id IS NULL AND p.visibility <> 'direct' AND {may_see('$1')} AND {SHOWN}{where}"
        f"   ORDER BY p.id {order} LIMIT $2) p"
        f" WHERE NOT EXISTS (SELECT 1 FROM blocks b WHERE b.actor_id = $1 AND b.target_id = p.actor_id)"
        f" ORDER BY p.id {order} LIMIT $2",
        actor_id, limit, max_id, since_id or min_id)
    return _newest_first(rows)


async def public_timeline(conn: Conn, viewer: int | None, *, local_only: bool, limit: int,
                          max_id: int | None = None, since_id: int | None = None,
                          min_id: int | None = None, tag: str | None = None) -> list[Record]:
    """The public timeline, or with `tag` the public posts with that hashtag (replies too)."""
    where, order = _page(max_id, since_id, min_id)
    rows = await conn.fetch(
        f"SELECT p.* FROM posts p WHERE {LISTED_PUBLICLY}"
        f" AND p.reblog_of_id IS NULL AND ($6::text IS NOT NULL OR p.in_reply_to_id IS NULL)"
        f" AND ($6::text IS NULL OR p.id IN (SELECT post_id FROM tags WHERE name = $6))"
        f" AND ($5 = false OR p.local)"
        f" AND ($1::bigint IS NULL OR NOT EXISTS (SELECT 1 FROM blocks b"
        f"      WHERE b.actor_id = $1 AND b.target_id = p.actor_id))"
        f"{where} ORDER BY p.id {order} LIMIT $2",
        viewer, limit, max_id, since_id or min_id, local_only, tag)
    return _newest_first(rows)


async def hashtags_starting(conn: Conn, prefix: str, viewer: int | None, *, limit: int) -> list[str]:
    """Names of hashtags that begin with `prefix`, on posts the public tag timeline would show
    `viewer`, the most used first: a tag found only on private posts stays unknown."""
    rows = await conn.fetch(
        f"SELECT t.name FROM tags t JOIN posts p ON p.id = t.post_id"
        f" WHERE starts_with(t.name, $2) AND {LISTED_PUBLICLY}"
        f" GROUP BY t.name ORDER BY count(*) DESC, t.name LIMIT $3",
        viewer, prefix, limit)
    return [row["name"] for row in rows]


async def account_posts(conn: Conn, actor_id: int, viewer: int | None, *, limit: int,
                        max_id: int | None = None, since_id: int | None = None,
                        min_id: int | None = None) -> list[Record]:
    where, order = _page(max_id, since_id, min_id)
    rows = await conn.fetch(
        f"SELECT p.* FROM posts p WHERE p.actor_id = $5 AND {may_see('$1::bigint')} AND {SHOWN}"
        f"{where} ORDER BY p.id {order} LIMIT $2",
        viewer, limit, max_id, since_id or min_id, actor_id)
    return _newest_first(rows)


def _newest_first(rows: list[Record]) -> list[Record]:
    return sorted(rows, key=lambda r: r["id"], reverse=True)


async def replies(conn: Conn, post_id: int, viewer: int | None) -> list[Record]:
    return await conn.fetch(
        f"WITH RECURSIVE thread AS ("
        f" SELECT p.* FROM posts p WHERE p.in_reply_to_id = $2 AND p.deleted_at IS NULL"
        f" UNION SELECT p.* FROM posts p JOIN thread t ON p.in_reply_to_id = t.id"
        f" WHERE p.deleted_at IS NULL)"
        f" SELECT p.* FROM thread p WHERE {may_see('$1::bigint')} AND {SHOWN} ORDER BY p.id LIMIT 1000",
        viewer, post_id)


async def ancestors(conn: Conn, post_id: int, viewer: int | None) -> list[Record]:
    return await conn.fetch(
        f"WITH RECURSIVE chain AS ("
        f" SELECT parent.*, 1 AS depth FROM posts child JOIN posts parent"
        f"  ON parent.id = child.in_reply_to_id WHERE child.id = $2"
        f" UNION SELECT parent.*, c.depth + 1 FROM chain c JOIN posts parent"
        f"  ON parent.id = c.in_reply_to_id WHERE c.depth < 100)"
        f" SELECT p.* FROM chain p WHERE {may_see('$1::bigint')} AND {SHOWN}"
        f" ORDER BY p.depth DESC",
        viewer, post_id)


async def post_counts(conn: Conn, post_ids: list[int], viewer: int | None) -> dict[int, Record]:
    rows = await conn.fetch(
        # The counters the triggers keep (migrations/0010_for_you.sql): no counting per view.
        "SELECT p.id, p.like_count AS likes, p.boost_count AS boosts, p.reply_count AS replies,"
        " EXISTS (SELECT 1 FROM likes l WHERE l.post_id = p.id AND l.actor_id = $2) AS liked,"
        " EXISTS (SELECT 1 FROM posts b WHERE b.reblog_of_id = p.id AND b.actor_id = $2"
        "         AND b.deleted_at IS NULL) AS boosted"
        " FROM posts p WHERE p.id = ANY($1::bigint[])", post_ids, viewer)
    return {r["id"]: r for r in rows}


async def media_of_posts(conn: Conn, post_ids: list[int]) -> dict[int, list[Record]]:
    rows = await conn.fetch("SELECT * FROM media WHERE post_id = ANY($1::bigint[])"
                            " ORDER BY position, id", post_ids)
    found: dict[int, list[Record]] = {}
    for row in rows:
        found.setdefault(row["post_id"], []).append(row)
    return found


async def mentions_of_posts(conn: Conn, post_ids: list[int]) -> dict[int, list[Record]]:
    rows = await conn.fetch(
        "SELECT m.post_id, m.silent AS silent_mention, a.* FROM mentions m JOIN actors a ON a.id = m.actor_id"
        " WHERE m.post_id = ANY($1::bigint[]) ORDER BY a.id", post_ids)
    found: dict[int, list[Record]] = {}
    for row in rows:
        found.setdefault(row["post_id"], []).append(row)
    return found


async def tags_of_posts(conn: Conn, post_ids: list[int]) -> dict[int, list[str]]:
    rows = await conn.fetch("SELECT post_id, name FROM tags WHERE post_id = ANY($1::bigint[])"
                            " ORDER BY name", post_ids)
    found: dict[int, list[str]] = {}
    for row in rows:
        found.setdefault(row["post_id"], []).append(row["name"])
    return found


async def cameos_of_posts(conn: Conn, post_ids: list[int]) -> dict[int, list[Record]]:
    rows = await conn.fetch("SELECT post_id, cameo_uri, owner_uri FROM post_cameos"
                            " WHERE post_id = ANY($1::bigint[]) ORDER BY post_id, position", post_ids)
    found: dict[int, list[Record]] = {}
    for row in rows:
        found.setdefault(row["post_id"], []).append(row)
    return found


async def actors_by_ids(conn: Conn, ids: list[int]) -> dict[int, Record]:
    rows = await conn.fetch("SELECT * FROM actors WHERE id = ANY($1::bigint[])", ids)
    return {r["id"]: r for r in rows}


async def posts_by_ids(conn: Conn, ids: list[int]) -> dict[int, Record]:
    rows = await conn.fetch("SELECT * FROM posts WHERE id = ANY($1::bigint[])", ids)
    return {r["id"]: r for r in rows}


async def account_counts(conn: Conn, actor_id: int) -> Record:
    return await conn.fetchrow(
        "SELECT (SELECT count(*) FROM follows WHERE followed_id = $1 AND accepted) AS followers,"
        " (SELECT count(*) FROM follows WHERE follower_id = $1 AND accepted) AS following,"
        " (SELECT count(*) FROM posts WHERE actor_id = $1 AND deleted_at IS NULL) AS posts",
        actor_id)


async def relationship(conn: Conn, actor_id: int, target_id: int) -> Record:
    return await conn.fetchrow(
        "SELECT EXISTS (SELECT 1 FROM follows WHERE follower_id = $1 AND followed_id = $2"
        "   AND accepted) AS following,"
        " EXISTS (SELECT 1 FROM follows WHERE follower_id = $1 AND followed_id = $2"
        "   AND NOT accepted) AS requested,"
        " EXISTS (SELECT 1 FROM follows WHERE follower_id = $2 AND followed_id = $1"
        "   AND accepted) AS followed_by,"
        " EXISTS (SELECT 1 FROM blocks WHERE actor_id = $1 AND target_id = $2) AS blocking,"
        " EXISTS (SELECT 1 FROM blocks WHERE actor_id = $2 AND target_id = $1) AS blocked_by",
        actor_id, target_id)


async def notifications(conn: Conn, user_id: int, *, limit: int, max_id: int | None = None,
                        since_id: int | None = None, min_id: int | None = None,
                        types: list[str] | None = None, exclude_types: list[str] | None = None
                        ) -> list[Record]:
    """Mastodon's paging and type filters (clients name the types they know how to show). None
    from a suspended server; from a limited one, only what comes from accounts the user follows,
    and follow requests (the user must be able to decide them)."""
    order = "ASC" if min_id and not max_id else "DESC"
    rows = await conn.fetch(
        f"SELECT n.* FROM notifications n WHERE n.user_id = $1 AND ($3::bigint IS NULL OR n.id < $3)"
        f" AND ($4::bigint IS NULL OR n.id > $4) AND ($5::text[] IS NULL OR n.type = ANY($5))"
        f" AND NOT n.type = ANY($6::text[])"
        f" AND NOT EXISTS (SELECT 1 FROM actors na WHERE na.id = n.from_actor_id AND NOT na.local"
        f"  AND (domain_suspended(na.domain) OR n.type <> 'follow_request'"
        f"   AND domain_limited(na.domain) AND NOT EXISTS (SELECT 1 FROM follows f"
        f"    JOIN actors me ON me.id = f.follower_id"
        f"    WHERE me.user_id = n.user_id AND f.followed_id = na.id AND f.accepted)))"
        f" ORDER BY n.id {order} LIMIT $2",
        user_id, limit, max_id, since_id or min_id, types, exclude_types or [])
    return _newest_first(rows)


async def follow_accounts(conn: Conn, actor_id: int, *, followers: bool, limit: int,
                          max_id: int | None = None, since_id: int | None = None,
                          min_id: int | None = None) -> list[Record]:
    """The accounts that follow `actor_id` (or that it follows), newest follow first, each with
    `follow_id`, the follow's id, by which Mastodon pages these lists; deleted accounts left out."""
    mine, theirs = ("followed_id", "follower_id") if followers else ("follower_id", "followed_id")
    order = "ASC" if min_id is not None else "DESC"
    rows = await conn.fetch(
        f"SELECT a.*, f.id AS follow_id FROM follows f JOIN actors a ON a.id = f.{theirs}"
        f" WHERE f.{mine} = $1 AND f.accepted AND a.deleted_at IS NULL"
        f" AND ($3::bigint IS NULL OR f.id < $3) AND ($4::bigint IS NULL OR f.id > $4)"
        f" ORDER BY f.id {order} LIMIT $2",
        actor_id, limit, max_id, since_id if min_id is None else min_id)
    return sorted(rows, key=lambda row: row["follow_id"], reverse=True)


async def follow_requests(conn: Conn, actor_id: int) -> list[Record]:
    return await conn.fetch(
        "SELECT a.*, f.uri AS follow_uri FROM follows f JOIN actors a ON a.id = f.follower_id"
        " WHERE f.followed_id = $1 AND NOT f.accepted ORDER BY f.id", actor_id)
