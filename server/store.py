"""SQL of the server layer: users, tokens, instance settings, timelines and notifications."""

from __future__ import annotations

from typing import Any

import asyncpg

from federation.visibility import in_view, may_see

Conn = asyncpg.Connection | asyncpg.Pool
Record = asyncpg.Record


async def insert_user(conn: Conn, username: str, email: str, password_hash: str, role: str) -> int:
    return await conn.fetchval(
        "INSERT INTO users (username, email, password_hash, role) VALUES ($1, $2, $3, $4)"
        " RETURNING id", username, email, password_hash, role)


async def user_by_login(conn: Conn, login: str) -> Record | None:
    """A user by username or email, as typed at a login prompt, and whether their account is
    suspended."""
    return await conn.fetchrow(
        "SELECT u.*, a.suspended FROM users u JOIN actors a ON a.user_id = u.id"
        " WHERE lower(u.username) = lower($1) OR lower(u.email) = lower($1)"
        " ORDER BY lower(u.username) = lower($1) DESC LIMIT 1", login)


async def user_by_id(conn: Conn, user_id: int) -> Record | None:
    return await conn.fetchrow("SELECT * FROM users WHERE id = $1", user_id)


async def username_taken(conn: Conn, username: str) -> bool:
    return await conn.fetchval(
        "SELECT EXISTS (SELECT 1 FROM users WHERE lower(username) = lower($1))"
        " OR EXISTS (SELECT 1 FROM actors WHERE local AND lower(username) = lower($1))", username)


async def email_taken(conn: Conn, email: str) -> bool:
    return await conn.fetchval("SELECT EXISTS (SELECT 1 FROM users WHERE lower(email) = lower($1))",
                               email)


async def set_role(conn: Conn, username: str, role: str) -> bool:
    status = await conn.execute("UPDATE users SET role = $2 WHERE lower(username) = lower($1)",
                                username, role)
    return status.endswith(" 1")


# The filters of Mastodon's admin account list, each a condition on `a` (actors) and `u` (users).
ACCOUNT_FILTERS = {
    "local": "a.local", "remote": "NOT a.local",
    "active": "NOT a.suspended", "suspended": "a.suspended", "silenced": "a.silenced",
    "sensitized": "a.sensitized", "disabled": "coalesce(u.disabled, false)",
    "staff": "u.role IN ('admin', 'moderator')",
}


async def admin_accounts(conn: Conn, *, filters: frozenset[str] = frozenset(), username: str | None = None,
                         domain: str | None = None, limit: int, max_id: int | None = None,
                         min_id: int | None = None) -> list[Record]:
    """Accounts (actors, local and remote; not this server's own actor) for staff, newest first:
    `filters` names ACCOUNT_FILTERS that must all hold, `username` is a prefix of the user name
    (any case), `domain` a remote server's. `max_id` pages back, `min_id` forward."""
    flags = [name in filters for name in ACCOUNT_FILTERS]
    conditions = "".join(f" AND (NOT ${i} OR {cond})" for i, cond in enumerate(ACCOUNT_FILTERS.values(), 6))
    prefix = None
    if username:
        prefix = username.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    order = "ASC" if min_id and not max_id else "DESC"
    rows = await conn.fetch(
        "SELECT a.* FROM actors a LEFT JOIN users u ON u.id = a.user_id"
        " WHERE NOT (a.local AND a.type = 'Application')"
        " AND ($1::text IS NULL OR lower(a.username) LIKE $1 ESCAPE '\\')"
        " AND ($2::text IS NULL OR NOT a.local AND lower(a.domain) = lower($2))"
        " AND ($3::bigint IS NULL OR a.id < $3) AND ($4::bigint IS NULL OR a.id > $4)"
        f"{conditions} ORDER BY a.id {order} LIMIT $5",
        prefix, domain, max_id, min_id, limit, *flags)
    return sorted(rows, key=lambda r: r["id"], reverse=True)


async def update_password(conn: Conn, user_id: int, password_hash: str) -> None:
    await conn.execute("UPDATE users SET password_hash = $2 WHERE id = $1", user_id, password_hash)


async def insert_token(conn: Conn, token_hash: bytes, user_id: int | None, scopes: str,
                       app_id: int | None = None) -> None:
    await conn.execute(
        "INSERT INTO access_tokens (token_hash, user_id, scopes, app_id) VALUES ($1, $2, $3, $4)",
        token_hash, user_id, scopes, app_id)


async def user_by_token(conn: Conn, token_hash: bytes) -> Record | None:
    return await conn.fetchrow(
        "SELECT u.*, t.scopes, t.app_id, a.id AS actor_id FROM access_tokens t"
        " JOIN users u ON u.id = t.user_id JOIN actors a ON a.user_id = u.id"
        " WHERE t.token_hash = $1 AND NOT u.disabled AND NOT a.suspended", token_hash)


async def delete_token(conn: Conn, token_hash: bytes, app_id: int | None) -> bool:
    """Delete a token issued to no app or to `app_id`; False when it was issued to another app
    (and stays). A token that does not exist counts as deleted."""
    return await conn.fetchval(
        "WITH gone AS (DELETE FROM access_tokens WHERE token_hash = $1"
        " AND (app_id IS NULL OR app_id = $2) RETURNING 1)"
        " SELECT EXISTS (SELECT FROM gone)"
        " OR NOT EXISTS (SELECT FROM access_tokens WHERE token_hash = $1)", token_hash, app_id)


async def setting(conn: Conn, key: str) -> Any:
    return await conn.fetchval("SELECT value FROM instance_settings WHERE key = $1", key)


async def first_setting(conn: Conn, key: str, value: Any) -> Any:
    """The setting `key`, stored as `value` if it has none yet: the first start to ask wins."""
    await conn.execute("INSERT INTO instance_settings (key, value) VALUES ($1, $2)"
                       " ON CONFLICT (key) DO NOTHING", key, value)
    return await setting(conn, key)


async def set_setting(conn: Conn, key: str, value: Any) -> None:
    await conn.execute(
        "INSERT INTO instance_settings (key, value) VALUES ($1, $2)"
        " ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value", key, value)


async def usage(conn: Conn) -> Record:
    return await conn.fetchrow(
        "SELECT (SELECT count(*) FROM users WHERE NOT disabled) AS users,"
        " (SELECT count(*) FROM posts WHERE local AND deleted_at IS NULL"
        "  AND reblog_of_id IS NULL AND in_reply_to_id IS NULL) AS posts,"
        " (SELECT count(*) FROM posts WHERE local AND deleted_at IS NULL"
        "  AND in_reply_to_id IS NOT NULL) AS comments")


# --- posts as clients see them ---------------------------------------------------------------

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
    # follows the number of accounts followed, not the size of the table (less the members of
    # the person's exclusive lists). Then the newest page of public posts with a hashtag the
    # person follows, by others (followed_tags).
    rows = await conn.fetch(
        f"SELECT p.* FROM (SELECT followed_id AS id FROM follows WHERE follower_id = $1 AND accepted"
        f"                 AND followed_id NOT IN (SELECT la.actor_id FROM list_accounts la"
        f"                   JOIN lists l ON l.id = la.list_id WHERE l.actor_id = $1 AND l.exclusive)"
        f"                 UNION SELECT $1) author,"
        f" LATERAL (SELECT p.* FROM posts p WHERE p.actor_id = author.id AND p.deleted_at IS NULL"
        f"   AND p.in_reply_to_id IS NULL AND p.visibility <> 'direct' AND {may_see('$1')} AND {SHOWN}{where}"
        f"   ORDER BY p.id {order} LIMIT $2) p"
        f" WHERE NOT EXISTS (SELECT 1 FROM blocks b WHERE b.actor_id = $1 AND b.target_id = p.actor_id)"
        f" UNION ALL (SELECT p.* FROM posts p WHERE p.id IN (SELECT t.post_id FROM tags t"
        f"   JOIN followed_tags ft ON ft.name = t.name WHERE ft.actor_id = $1)"
        f"   AND p.in_reply_to_id IS NULL AND {LISTED_PUBLICLY}{where}"
        f"   AND p.actor_id <> $1 AND NOT EXISTS (SELECT 1 FROM follows f WHERE f.follower_id = $1"
        f"     AND f.followed_id = p.actor_id AND f.accepted)"
        f"   AND NOT EXISTS (SELECT 1 FROM blocks b WHERE b.actor_id = $1 AND b.target_id = p.actor_id)"
        f"   ORDER BY p.id {order} LIMIT $2)"
        f" ORDER BY id {order} LIMIT $2",
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
        "         AND b.deleted_at IS NULL) AS boosted,"
        " EXISTS (SELECT 1 FROM bookmarks bm WHERE bm.post_id = p.id AND bm.actor_id = $2) AS bookmarked,"
        " EXISTS (SELECT 1 FROM pins pn WHERE pn.post_id = p.id AND pn.actor_id = $2) AS pinned"
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
        "SELECT m.post_id, a.* FROM mentions m JOIN actors a ON a.id = m.actor_id"
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


# The notifications a user is shown: none from a suspended server; from a limited one, only what
# comes from accounts the user follows, and follow requests (the user must be able to decide them).
NOTIFICATION_SHOWN = """NOT EXISTS (SELECT 1 FROM actors na WHERE na.id = n.from_actor_id AND NOT na.local
    AND (domain_suspended(na.domain) OR n.type <> 'follow_request'
     AND domain_limited(na.domain) AND NOT EXISTS (SELECT 1 FROM follows f
      JOIN actors me ON me.id = f.follower_id
      WHERE me.user_id = n.user_id AND f.followed_id = na.id AND f.accepted)))"""


async def notifications(conn: Conn, user_id: int, *, limit: int, max_id: int | None = None,
                        since_id: int | None = None, min_id: int | None = None,
                        types: list[str] | None = None, exclude_types: list[str] | None = None
                        ) -> list[Record]:
    """Mastodon's paging and type filters (clients name the types they know how to show), of
    what the user is shown (NOTIFICATION_SHOWN)."""
    order = "ASC" if min_id and not max_id else "DESC"
    rows = await conn.fetch(
        f"SELECT n.* FROM notifications n WHERE n.user_id = $1 AND ($3::bigint IS NULL OR n.id < $3)"
        f" AND ($4::bigint IS NULL OR n.id > $4) AND ($5::text[] IS NULL OR n.type = ANY($5))"
        f" AND NOT n.type = ANY($6::text[]) AND {NOTIFICATION_SHOWN}"
        f" ORDER BY n.id {order} LIMIT $2",
        user_id, limit, max_id, since_id or min_id, types, exclude_types or [])
    return _newest_first(rows)


async def unread_notifications(conn: Conn, user_id: int, *, types: list[str], up_to: int) -> int:
    """How many notifications of `types` the user is shown after their notifications marker
    (all, without one), counted up to `up_to`."""
    return await conn.fetchval(
        f"SELECT count(*) FROM (SELECT 1 FROM notifications n WHERE n.user_id = $1"
        f" AND n.id > coalesce((SELECT last_read_id FROM markers WHERE user_id = $1"
        f"                      AND timeline = 'notifications'), 0)"
        f" AND n.type = ANY($2::text[]) AND {NOTIFICATION_SHOWN} LIMIT $3) unread",
        user_id, types, up_to)


async def notification(conn: Conn, user_id: int, notification_id: int) -> Record | None:
    return await conn.fetchrow(
        f"SELECT n.* FROM notifications n WHERE n.id = $2 AND n.user_id = $1 AND {NOTIFICATION_SHOWN}",
        user_id, notification_id)


async def dismiss_notification(conn: Conn, user_id: int, notification_id: int) -> bool:
    status = await conn.execute("DELETE FROM notifications WHERE id = $2 AND user_id = $1",
                                user_id, notification_id)
    return status.endswith(" 1")


async def clear_notifications(conn: Conn, user_id: int) -> None:
    await conn.execute("DELETE FROM notifications WHERE user_id = $1", user_id)


async def follow_requests(conn: Conn, actor_id: int) -> list[Record]:
    return await conn.fetch(
        "SELECT a.*, f.uri AS follow_uri FROM follows f JOIN actors a ON a.id = f.follower_id"
        " WHERE f.followed_id = $1 AND NOT f.accepted ORDER BY f.id", actor_id)


async def unattached_media(conn: Conn, media_id: int, actor_id: int) -> Record | None:
    return await conn.fetchrow("SELECT * FROM media WHERE id = $1 AND actor_id = $2",
                               media_id, actor_id)


async def settle_upload_check(conn: Conn, media_id: int, state: str, reason: str | None) -> Record | None:
    """Record a pending upload's check as `state` ('ready' or 'refused'); the row, when this call
    was the one that settled it."""
    return await conn.fetchrow(
        "UPDATE media SET check_state = $2, check_reason = $3 WHERE id = $1 AND check_state = 'pending'"
        " RETURNING *", media_id, state, reason)


async def pending_upload_checks(conn: Conn, older_than_seconds: float) -> list[int]:
    return [r["id"] for r in await conn.fetch(
        "SELECT id FROM media WHERE check_state = 'pending'"
        " AND created_at < now() - make_interval(secs => $1) ORDER BY created_at LIMIT 1000",
        older_than_seconds)]


async def delete_unposted_uploads(conn: Conn, older_than_s: float, limit: int = 500) -> list[Record]:
    """Delete uploads that were never posted, older than `older_than_s` seconds (generation drafts,
    which their requester may still publish, are kept); their file keys, to delete the files."""
    return await conn.fetch(
        "DELETE FROM media WHERE id IN (SELECT m.id FROM media m WHERE m.post_id IS NULL"
        "   AND m.remote_url IS NULL AND m.created_at < now() - make_interval(secs => $1)"
        "   AND NOT EXISTS (SELECT 1 FROM generation_jobs j WHERE j.result_media_id = m.id)"
        "   ORDER BY m.id LIMIT $2)"
        " AND post_id IS NULL RETURNING storage_key, poster_key", older_than_s, limit)


async def remove_deleted_posts_media(conn: asyncpg.Connection, limit: int = 100
                                     ) -> tuple[int, list[Record]]:
    """In the caller's transaction: the media rows of deleted local posts whose files may go
    (a remix whose consent was revoked at once; any other once no open report names it, so
    that moderators see what was reported), deleted, and those posts marked done. How many
    posts, and the deleted rows' file keys."""
    posts = await conn.fetch(
        "SELECT p.id FROM posts p WHERE p.deleted_at IS NOT NULL AND p.media_removed_at IS NULL"
        " AND p.local AND (EXISTS (SELECT 1 FROM remixes x WHERE x.post_id = p.id AND x.state = 'revoked')"
        "   OR NOT EXISTS (SELECT 1 FROM report_posts rp JOIN reports r ON r.id = rp.report_id"
        "                  WHERE rp.post_id = p.id AND r.resolved_at IS NULL))"
        " ORDER BY p.id LIMIT $1 FOR UPDATE OF p SKIP LOCKED", limit)
    ids = [row["id"] for row in posts]
    if not ids:
        return 0, []
    await conn.execute("UPDATE posts SET media_removed_at = now() WHERE id = ANY ($1::bigint[])", ids)
    return len(ids), await conn.fetch(
        "DELETE FROM media WHERE post_id = ANY ($1::bigint[]) RETURNING storage_key, poster_key", ids)


async def media_by_storage_key(conn: Conn, key: str) -> Record | None:
    """What a public /media/ key is: an upload, its poster, or a cameo's preview, with the type
    to serve, whether what it belongs to was deleted, whether moderation holds it back (a
    generation's held draft, an upload not yet checked or refused, a hidden post's media), and
    whether it is private to its owner (`owner_id`, an actor): an upload or draft in no post
    yet, or the preview of a cameo only its owner may use. Cameo references are never found
    here."""
    return await conn.fetchrow(
        "SELECT CASE WHEN m.storage_key = $1 THEN m.media_type ELSE 'image/jpeg' END AS media_type,"
        " p.deleted_at IS NOT NULL AS deleted,"
        " (EXISTS (SELECT 1 FROM generation_jobs j WHERE j.result_media_id = m.id"
        f"   AND j.state = 'held') OR m.check_state <> 'ready' OR (p.id IS NOT NULL AND NOT {SHOWN}))"
        " AS held, m.post_id IS NULL AS private, m.actor_id AS owner_id"
        " FROM media m LEFT JOIN posts p ON p.id = m.post_id"
        " WHERE m.storage_key = $1 OR m.poster_key = $1"
        " UNION ALL SELECT preview_media_type, deleted_at IS NOT NULL, false, permission = 'only_me',"
        " actor_id FROM cameos WHERE preview_key = $1 LIMIT 1", key)


# --- For You (policy/ranking.py) ---------------------------------------------------------------

# For You holds only public posts, no boosts, and a suspended server is limited too (migration
# 0006's domain_limited): this is `may_see` for them, less its per-candidate look-ups, which cost
# a third of the query's time. Blocks are left out after scoring, and what is rendered still goes
# through `may_see` (server/api.py render_statuses).
FOR_YOU = (f"p.deleted_at IS NULL AND {SHOWN_PUBLICLY} AND p.visibility = 'public'"
           f" AND p.reblog_of_id IS NULL AND p.in_reply_to_id IS NULL AND {NOT_LIMITED}")


async def for_you(conn: Conn, viewer: int | None, weights: Any, *, limit: int,
                  cursor: tuple[float, int] | None, candidates: int, followed_candidates: int
                  ) -> list[Record]:
    """Public videos by the viewer's score, below `cursor` (score, id), each with its `score`.

    Candidates are the hottest posts under the cursor's score plus the largest boost, and the
    hottest of the accounts the viewer follows or asked more of; both come off an index. Their
    counts are the ranking's constants, written into the statement (as integers, never from a
    request): with them as parameters PostgreSQL found no generic plan as good as a fresh one and
    planned every page anew, which took as long again as running it."""
    ceiling = float("inf") if cursor is None else cursor[0] + weights.most
    return await conn.fetch(
        f"WITH prefs AS ("
        f"  SELECT target_actor_id, tag,"
        f"   CASE direction WHEN 'more' THEN $3::float8 ELSE $4::float8 END AS weight"
        f"  FROM feed_preferences WHERE actor_id = $1),"
        f" boosted AS ("
        f"  SELECT followed_id AS actor_id FROM follows WHERE follower_id = $1 AND accepted"
        f"  UNION SELECT target_actor_id FROM prefs WHERE target_actor_id IS NOT NULL AND weight > 0),"
        f" candidates AS ("
        f"  (SELECT p.id, p.actor_id, p.hot FROM posts p WHERE {FOR_YOU} AND p.hot < $2::float8"
        f"   ORDER BY p.hot DESC, p.id DESC LIMIT {int(candidates)})"
        f"  UNION"
        f"  (SELECT p.id, p.actor_id, p.hot FROM posts p WHERE {FOR_YOU} AND p.hot < $2"
        f"   AND p.actor_id IN (SELECT actor_id FROM boosted) ORDER BY p.hot DESC, p.id DESC"
        f"   LIMIT {int(followed_candidates)})),"
        f" scored AS ("
        f"  SELECT c.id, c.hot"
        f"   + CASE WHEN c.actor_id IN (SELECT followed_id FROM follows"
        f"          WHERE follower_id = $1 AND accepted) THEN $5::float8 ELSE 0 END"
        f"   + COALESCE((SELECT weight FROM prefs WHERE prefs.target_actor_id = c.actor_id), 0)"
        f"   + LEAST($6::float8, COALESCE((SELECT sum(prefs.weight) FROM prefs"
        f"         JOIN tags t ON t.name = prefs.tag WHERE t.post_id = c.id), 0)) AS score"
        f"  FROM candidates c"
        f"  WHERE EXISTS (SELECT 1 FROM media m WHERE m.post_id = c.id AND m.kind = 'video')"
        f"  AND NOT EXISTS (SELECT 1 FROM blocks b WHERE b.actor_id = $1 AND b.target_id = c.actor_id)),"
        f" top AS (SELECT id, score FROM scored WHERE $7::float8 IS NULL OR (score, id) < ($7, $8)"
        f"  ORDER BY score DESC, id DESC LIMIT $9)"
        f" SELECT p.*, top.score FROM top JOIN posts p ON p.id = top.id ORDER BY top.score DESC, top.id DESC",
        viewer, ceiling, weights.more, weights.less, weights.followed, weights.more_topics_cap,
        cursor[0] if cursor else None, cursor[1] if cursor else None, limit)


async def feed_preferences(conn: Conn, actor_id: int) -> list[Record]:
    return await conn.fetch(
        "SELECT fp.*, a.uri AS target_uri FROM feed_preferences fp"
        " LEFT JOIN actors a ON a.id = fp.target_actor_id WHERE fp.actor_id = $1 ORDER BY fp.id",
        actor_id)


async def set_feed_preference(conn: Conn, actor_id: int, *, target_actor_id: int | None, tag: str | None,
                              direction: str, most: int) -> Record | None:
    """Add or change one choice; None when it is new and the person already has `most`.

    (Two requests at once may pass the count together: the cap bounds the feed query's cost, so
    one over is harmless.)"""
    conflict = ("(actor_id, target_actor_id) WHERE target_actor_id IS NOT NULL" if tag is None
                else "(actor_id, tag) WHERE tag IS NOT NULL")
    row_id = await conn.fetchval(
        f"INSERT INTO feed_preferences (actor_id, target_actor_id, tag, direction)"
        f" SELECT $1, $2, $3, $4 WHERE (SELECT count(*) FROM feed_preferences WHERE actor_id = $1) < $5"
        f"   OR EXISTS (SELECT 1 FROM feed_preferences WHERE actor_id = $1"
        f"              AND (target_actor_id = $2 OR tag = $3))"
        f" ON CONFLICT {conflict} DO UPDATE SET direction = EXCLUDED.direction RETURNING id",
        actor_id, target_actor_id, tag, direction, most)
    if row_id is None:
        return None
    return await conn.fetchrow(
        "SELECT fp.*, a.uri AS target_uri FROM feed_preferences fp"
        " LEFT JOIN actors a ON a.id = fp.target_actor_id WHERE fp.id = $1", row_id)


async def delete_feed_preference(conn: Conn, actor_id: int, preference_id: int) -> bool:
    status = await conn.execute("DELETE FROM feed_preferences WHERE id = $1 AND actor_id = $2",
                                preference_id, actor_id)
    return status.endswith(" 1")


# --- OAuth apps and codes -----------------------------------------------------------------------

async def insert_app(conn: Conn, *, name: str, website: str | None, redirect_uris: list[str], scopes: str,
                     client_id: str, client_secret_hash: bytes) -> Record:
    return await conn.fetchrow(
        "INSERT INTO oauth_apps (name, website, redirect_uris, scopes, client_id, client_secret_hash)"
        " VALUES ($1, $2, $3, $4, $5, $6) RETURNING *",
        name, website, redirect_uris, scopes, client_id, client_secret_hash)


async def app_by_client_id(conn: Conn, client_id: str) -> Record | None:
    return await conn.fetchrow("SELECT * FROM oauth_apps WHERE client_id = $1", client_id)


async def app_by_token(conn: Conn, token_hash: bytes) -> Record | None:
    return await conn.fetchrow(
        "SELECT o.* FROM access_tokens t JOIN oauth_apps o ON o.id = t.app_id WHERE t.token_hash = $1",
        token_hash)


async def insert_code(conn: Conn, code_hash: bytes, *, app_id: int, user_id: int, redirect_uri: str,
                      scopes: str, code_challenge: str | None, lifetime_s: int) -> None:
    await conn.execute(
        "INSERT INTO oauth_codes (code_hash, app_id, user_id, redirect_uri, scopes, code_challenge,"
        " expires_at) VALUES ($1, $2, $3, $4, $5, $6, now() + make_interval(secs => $7))",
        code_hash, app_id, user_id, redirect_uri, scopes, code_challenge, lifetime_s)


async def take_code(conn: Conn, code_hash: bytes) -> Record | None:
    """The code, once: taking it deletes it, and an expired one is gone too."""
    row = await conn.fetchrow(
        "DELETE FROM oauth_codes WHERE code_hash = $1 RETURNING *, expires_at > now() AS live", code_hash)
    return row if row is not None and row["live"] else None


# --- account deletion (server/account_deletion.py) -----------------------------------------------

async def erase_account(conn: Conn, user_id: int, actor_id: int) -> list[Record]:
    """Everything a local account made or held, in the caller's transaction: its posts (the rows
    stay, deleted, so that their ids answer 410), its media and drafts, its generations, likes,
    follows, blocks, feed steering, bookmarks, pins, followed tags, filters, lists, conversations,
    notifications and tokens; the login is disabled and its email and password forgotten; the
    actor keeps its keys and name and is marked deleted (and suspended, so that every query that
    hides a suspended account hides it). Returns the deleted media rows, whose files
    (server.media.file_keys) the caller deletes."""
    await conn.execute(
        "UPDATE posts SET deleted_at = now() WHERE (actor_id = $1 OR reblog_of_id IN"
        " (SELECT id FROM posts WHERE actor_id = $1)) AND deleted_at IS NULL", actor_id)
    await conn.execute(
        "UPDATE generation_jobs SET state = 'cancelled', finished_at = now(), claim_token = NULL,"
        " eta_s = NULL WHERE actor_id = $1 AND state IN ('waiting', 'queued', 'running', 'held')", actor_id)
    media = await conn.fetch("DELETE FROM media WHERE actor_id = $1 RETURNING storage_key, poster_key",
                             actor_id)
    await conn.execute("DELETE FROM likes WHERE actor_id = $1", actor_id)
    await conn.execute("DELETE FROM follows WHERE follower_id = $1 OR followed_id = $1", actor_id)
    await conn.execute("DELETE FROM blocks WHERE actor_id = $1 OR target_id = $1", actor_id)
    await conn.execute("DELETE FROM feed_preferences WHERE actor_id = $1", actor_id)
    await conn.execute("DELETE FROM bookmarks WHERE actor_id = $1", actor_id)
    await conn.execute("DELETE FROM pins WHERE actor_id = $1", actor_id)
    await conn.execute("DELETE FROM followed_tags WHERE actor_id = $1", actor_id)
    await conn.execute("DELETE FROM filters WHERE actor_id = $1", actor_id)
    await conn.execute("DELETE FROM lists WHERE actor_id = $1", actor_id)
    await conn.execute("DELETE FROM conversation_states WHERE actor_id = $1", actor_id)
    await conn.execute("DELETE FROM notifications WHERE user_id = $1 OR from_actor_id = $2",
                       user_id, actor_id)
    await conn.execute("DELETE FROM access_tokens WHERE user_id = $1", user_id)
    await conn.execute("DELETE FROM markers WHERE user_id = $1", user_id)
    await conn.execute("UPDATE users SET disabled = true, password_hash = '',"
                       " email = 'deleted-' || id || '@invalid' WHERE id = $1", user_id)
    await conn.execute("UPDATE actors SET deleted_at = now(), suspended = true, display_name = '',"
                       " summary = '', icon_url = NULL WHERE id = $1", actor_id)
    return media


async def markers(conn: Conn, user_id: int, timelines: list[str]) -> list[Record]:
    return await conn.fetch("SELECT * FROM markers WHERE user_id = $1 AND timeline = ANY($2::text[])",
                            user_id, timelines)


async def save_marker(conn: Conn, user_id: int, timeline: str, last_read_id: int) -> Record:
    """Each save is a new version, as Mastodon counts them."""
    return await conn.fetchrow(
        "INSERT INTO markers (user_id, timeline, last_read_id) VALUES ($1, $2, $3)"
        " ON CONFLICT (user_id, timeline) DO UPDATE SET last_read_id = $3,"
        " version = markers.version + 1, updated_at = now() RETURNING *",
        user_id, timeline, last_read_id)
