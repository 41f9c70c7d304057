"""SQL of posts as clients see them: timelines, threads, counts and relationships."""

from __future__ import annotations

from federation.visibility import in_view, may_see

from .common import Conn, Record
from .mutes import MUTE_LIVE, not_muted

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
                        since_id: int | None = None, min_id: int | None = None, staff: bool = False
                        ) -> list[Record]:
    """The person's home page, each post with its `page_columns` for them (`staff` or not)."""
    where, order = _page(max_id, since_id, min_id)
    # Each followed account's newest page, off its own index, then the newest of those: the cost
    # follows the number of accounts followed, not the size of the table (less the members of
    # the person's exclusive lists and the accounts it mutes, whose boosts the page leaves out as
    # each account's page is read, so that a page never skips an older post of one account for a
    # newer one of another). Then the newest page of public posts with a hashtag the person
    # follows, by others (followed_tags).
    rows = await conn.fetch(
        f"SELECT p.*, {page_columns('$1::bigint', '$5::boolean')} FROM ("
        f"SELECT p.* FROM (SELECT followed_id AS id FROM follows WHERE follower_id = $1 AND accepted"
        f"                 AND followed_id NOT IN (SELECT la.actor_id FROM list_accounts la"
        f"                   JOIN lists l ON l.id = la.list_id WHERE l.actor_id = $1 AND l.exclusive)"
        f"                 AND followed_id NOT IN (SELECT mu.target_id FROM mutes mu WHERE mu.actor_id = $1"
        f"                   AND {MUTE_LIVE})"
        f"                 UNION SELECT $1) author,"
        f" LATERAL (SELECT p.* FROM posts p WHERE p.actor_id = author.id AND p.deleted_at IS NULL"
        f"   AND p.in_reply_to_id IS NULL AND p.visibility <> 'direct' AND {may_see('$1')} AND {SHOWN}{where}"
        f"   AND {not_muted('$1')} ORDER BY p.id {order} LIMIT $2) p"
        f" WHERE NOT EXISTS (SELECT 1 FROM blocks b WHERE b.actor_id = $1 AND b.target_id = p.actor_id)"
        f" UNION ALL (SELECT p.* FROM posts p WHERE p.id IN (SELECT t.post_id FROM tags t"
        f"   JOIN followed_tags ft ON ft.name = t.name WHERE ft.actor_id = $1)"
        f"   AND p.in_reply_to_id IS NULL AND {LISTED_PUBLICLY}{where}"
        f"   AND p.actor_id <> $1 AND NOT EXISTS (SELECT 1 FROM follows f WHERE f.follower_id = $1"
        f"     AND f.followed_id = p.actor_id AND f.accepted)"
        f"   AND NOT EXISTS (SELECT 1 FROM blocks b WHERE b.actor_id = $1 AND b.target_id = p.actor_id)"
        f"   AND {not_muted('$1')}"
        f"   ORDER BY p.id {order} LIMIT $2)"
        f" ORDER BY id {order} LIMIT $2) p",
        actor_id, limit, max_id, since_id or min_id, staff)
    return _newest_first(rows)


def _in_public_timeline(local_only: str, tag: str) -> str:
    """What the public timeline lists for the viewer `$1` (with the tag `tag`: the tag timeline,
    replies too), its posts `p`; `local_only` and `tag` name the query's parameters."""
    return (f"{LISTED_PUBLICLY}"
            f" AND p.reblog_of_id IS NULL AND ({tag}::text IS NOT NULL OR p.in_reply_to_id IS NULL)"
            f" AND ({tag}::text IS NULL OR p.id IN (SELECT post_id FROM tags WHERE name = {tag}))"
            f" AND ({local_only} = false OR p.local)"
            f" AND ($1::bigint IS NULL OR NOT EXISTS (SELECT 1 FROM blocks b"
            f"      WHERE b.actor_id = $1 AND b.target_id = p.actor_id))"
            f" AND {not_muted('$1::bigint')}")


async def public_timeline(conn: Conn, viewer: int | None, *, local_only: bool, limit: int,
                          max_id: int | None = None, since_id: int | None = None,
                          min_id: int | None = None, tag: str | None = None) -> list[Record]:
    """The public timeline, or with `tag` the public posts with that hashtag (replies too)."""
    where, order = _page(max_id, since_id, min_id)
    rows = await conn.fetch(
        f"SELECT p.* FROM posts p WHERE {_in_public_timeline('$5', '$6')}"
        f"{where} ORDER BY p.id {order} LIMIT $2",
        viewer, limit, max_id, since_id or min_id, local_only, tag)
    return _newest_first(rows)


async def in_public_timeline(conn: Conn, post_id: int, viewer: int | None, *, local_only: bool,
                             tag: str | None = None) -> Record | None:
    """The post if `public_timeline` would list it to `viewer` (for the public streams)."""
    return await conn.fetchrow(
        f"SELECT p.* FROM posts p WHERE p.id = $2 AND {_in_public_timeline('$3', '$4')}",
        viewer, post_id, local_only, tag)


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


# What a Status entity shows beside a post row `p` that is the same for every viewer, by column:
# its `author` (an actors row), `media` (media rows in order), `tags`, `cameo_uris` and
# `cameo_owners`, the accounts it `mentioned` (actors rows) with `mentioned_silently` beside them,
# and `parent_actor_id`.
_SHOWN_BESIDE = (
    ("author", "(SELECT a FROM actors a WHERE a.id = p.actor_id)"),
    ("media", "ARRAY(SELECT m FROM media m WHERE m.post_id = p.id ORDER BY m.position, m.id)"),
    ("tags", "ARRAY(SELECT t.name FROM tags t WHERE t.post_id = p.id ORDER BY t.name)"),
    ("cameo_uris", "ARRAY(SELECT c.cameo_uri FROM post_cameos c WHERE c.post_id = p.id ORDER BY c.position)"),
    ("cameo_owners", "ARRAY(SELECT c.owner_uri FROM post_cameos c WHERE c.post_id = p.id"
                     " ORDER BY c.position)"),
    ("mentioned", "ARRAY(SELECT a FROM mentions m JOIN actors a ON a.id = m.actor_id WHERE m.post_id = p.id"
                  " ORDER BY a.id)"),
    ("mentioned_silently", "ARRAY(SELECT m.silent FROM mentions m JOIN actors a ON a.id = m.actor_id"
                           " WHERE m.post_id = p.id ORDER BY a.id)"),
    ("parent_actor_id", "(SELECT pp.actor_id FROM posts pp WHERE pp.id = p.in_reply_to_id)"),
)
# A 64-bit hash of the post row and of everything in _SHOWN_BESIDE, as text: it changes with any
# of them (an edit, a delete, a count, the author's name), so that an entity rendered from them
# and kept under it (server/api/entities.py) is never shown after a change.
STAMP = ("hashtextextended(ROW(p, " + ", ".join(sql for _, sql in _SHOWN_BESIDE) + ")::text, 0) AS stamp")


def viewer_columns(viewer: str, staff: str) -> str:
    """SQL, the columns of a post row `p` that depend on the viewer and staff flag `viewer` and
    `staff` (parameters such as `$1::bigint`, never text from a request): whether the viewer may
    see it (`visible`, federation/visibility.py) and the viewer's `liked`, `boosted`, `bookmarked`
    and `pinned`."""
    return (
        f"coalesce({may_see(viewer, staff=staff)}, false) AS visible,"
        f" EXISTS (SELECT 1 FROM likes l WHERE l.post_id = p.id AND l.actor_id = {viewer}) AS liked,"
        f" EXISTS (SELECT 1 FROM posts b WHERE b.reblog_of_id = p.id AND b.actor_id = {viewer}"
        "         AND b.deleted_at IS NULL) AS boosted,"
        f" EXISTS (SELECT 1 FROM bookmarks bm WHERE bm.post_id = p.id AND bm.actor_id = {viewer})"
        "  AS bookmarked,"
        f" EXISTS (SELECT 1 FROM pins pn WHERE pn.post_id = p.id AND pn.actor_id = {viewer}) AS pinned")


def page_columns(viewer: str, staff: str) -> str:
    """SQL, what a timeline query selects beside each post row `p`: its `viewer_columns` and its
    `stamp`. Where the entity rendered under that stamp is at hand, nothing more is read; else
    `post_details` reads the rest. The stamp is a hash, computed by PostgreSQL: decoding the
    author's and the media's rows was most of a page's time in the client."""
    return f"{viewer_columns(viewer, staff)}, {STAMP}"


def detail_columns(viewer: str, staff: str) -> str:
    """SQL, the columns of what a Status entity shows beside a post row `p`, for the viewer and
    staff flag `viewer` and `staff`: its `page_columns` and the columns of _SHOWN_BESIDE, and
    the counters the triggers keep (migrations/0010_for_you.sql) as `likes`, `boosts` and
    `replies`."""
    return (f"{page_columns(viewer, staff)}, "
            + ", ".join(f"{sql} AS {name}" for name, sql in _SHOWN_BESIDE)
            + ", p.like_count AS likes, p.boost_count AS boosts, p.reply_count AS replies")


async def post_details(conn: Conn, post_ids: list[int], viewer: int | None, *, staff: bool = False
                       ) -> dict[int, Record]:
    """`detail_columns` of the posts `post_ids`, by id, for rows found some other way."""
    if not post_ids:
        return {}
    rows = await conn.fetch(
        f"SELECT p.id, {detail_columns('$2::bigint', '$3::boolean')} FROM posts p"
        f" WHERE p.id = ANY($1::bigint[])", post_ids, viewer, staff)
    return {r["id"]: r for r in rows}


async def media_of_posts(conn: Conn, post_ids: list[int]) -> dict[int, list[Record]]:
    rows = await conn.fetch("SELECT * FROM media WHERE post_id = ANY($1::bigint[])"
                            " ORDER BY position, id", post_ids)
    found: dict[int, list[Record]] = {}
    for row in rows:
        found.setdefault(row["post_id"], []).append(row)
    return found


async def actors_by_ids(conn: Conn, ids: list[int]) -> dict[int, Record]:
    rows = await conn.fetch("SELECT * FROM actors WHERE id = ANY($1::bigint[])", ids)
    return {r["id"]: r for r in rows}


async def posts_by_ids(conn: Conn, ids: list[int]) -> dict[int, Record]:
    if not ids:
        return {}
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


async def follow_requests(conn: Conn, actor_id: int) -> list[Record]:
    return await conn.fetch(
        "SELECT a.*, f.uri AS follow_uri FROM follows f JOIN actors a ON a.id = f.follower_id"
        " WHERE f.followed_id = $1 AND NOT f.accepted ORDER BY f.id", actor_id)
