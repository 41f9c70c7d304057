"""SQL of the federation layer: actors, keys, follows, posts, interactions, inbox and delivery.

Every function takes a connection (or pool) and plain values; nothing here decides policy.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import asyncpg

from .visibility import may_see

Conn = asyncpg.Connection | asyncpg.Pool
Record = asyncpg.Record

ACTOR_FIELDS = (
    "uri", "type", "username", "domain", "display_name", "summary", "url", "icon_url", "inbox",
    "shared_inbox", "outbox", "followers_url", "following_url", "manually_approves_followers",
    "document",
)


# --- actors -------------------------------------------------------------------------------

async def actor_by_uri(conn: Conn, uri: str) -> Record | None:
    return await conn.fetchrow("SELECT * FROM actors WHERE uri = $1", uri)


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
    return await conn.fetchrow(
        f"INSERT INTO actors ({columns}, local, fetched_at) VALUES ({params}, false, now())"
        f" ON CONFLICT (uri) DO UPDATE SET {updates}, fetched_at = now() RETURNING *",
        *values)


async def set_origin_suspension(conn: Conn, actor_id: int, suspended: bool) -> Record:
    """Apply what a remote actor's own server says of its suspension (migration 0015): it
    suspends an account no one suspended here, and lifts only a suspension that was its own."""
    return await conn.fetchrow(
        "UPDATE actors SET suspended = CASE WHEN $2 THEN true WHEN suspended_by_origin THEN false"
        " ELSE suspended END, suspended_by_origin = $2 AND (suspended_by_origin OR NOT suspended)"
        " WHERE id = $1 AND NOT local RETURNING *", actor_id, suspended)


async def update_local_profile(conn: Conn, actor_id: int, display_name: str, summary: str) -> None:
    await conn.execute("UPDATE actors SET display_name = $2, summary = $3 WHERE id = $1",
                       actor_id, display_name, summary)


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


# --- follows and blocks ---------------------------------------------------------------------

async def follow(conn: Conn, follower_id: int, followed_id: int) -> Record | None:
    return await conn.fetchrow(
        "SELECT * FROM follows WHERE follower_id = $1 AND followed_id = $2",
        follower_id, followed_id)


async def follow_by_uri(conn: Conn, uri: str) -> Record | None:
    return await conn.fetchrow("SELECT * FROM follows WHERE uri = $1", uri)


async def upsert_follow(conn: Conn, uri: str, follower_id: int, followed_id: int,
                        accepted: bool) -> Record:
    """Record a follow; a repeated Follow for the same pair keeps the newest activity id."""
    return await conn.fetchrow(
        "INSERT INTO follows (uri, follower_id, followed_id, accepted) VALUES ($1, $2, $3, $4)"
        " ON CONFLICT (follower_id, followed_id) DO UPDATE SET uri = EXCLUDED.uri,"
        " accepted = follows.accepted OR EXCLUDED.accepted RETURNING *",
        uri, follower_id, followed_id, accepted)


async def accept_follow(conn: Conn, follow_id: int) -> None:
    await conn.execute("UPDATE follows SET accepted = true WHERE id = $1", follow_id)


async def delete_follow(conn: Conn, follow_id: int) -> None:
    await conn.execute("DELETE FROM follows WHERE id = $1", follow_id)


async def follower_inboxes(conn: Conn, actor_id: int) -> list[str]:
    """The distinct inboxes of remote followers, shared inboxes collapsed."""
    rows = await conn.fetch(
        "SELECT DISTINCT coalesce(a.shared_inbox, a.inbox) AS inbox FROM follows f"
        " JOIN actors a ON a.id = f.follower_id"
        " WHERE f.followed_id = $1 AND f.accepted AND NOT a.local"
        " AND coalesce(a.shared_inbox, a.inbox) IS NOT NULL", actor_id)
    return [r["inbox"] for r in rows]


async def delivered_inboxes(conn: Conn, actor_id: int) -> list[str]:
    """The distinct inboxes that anything from this actor was sent to: the servers that may
    hold a copy of it beyond its followers' (people it mentioned, replied to, liked)."""
    rows = await conn.fetch(
        "SELECT DISTINCT d.inbox FROM outbox_activities o JOIN deliveries d ON d.activity_id = o.id"
        " WHERE o.actor_id = $1", actor_id)
    return [r["inbox"] for r in rows]


async def has_local_follower(conn: Conn, actor_uri: str) -> bool:
    return await conn.fetchval(
        "SELECT EXISTS (SELECT 1 FROM follows f JOIN actors a ON a.id = f.followed_id"
        " JOIN actors l ON l.id = f.follower_id WHERE a.uri = $1 AND f.accepted AND l.local)",
        actor_uri)


async def count_follows(conn: Conn, actor_id: int, *, followers: bool) -> int:
    column = "followed_id" if followers else "follower_id"
    return await conn.fetchval(
        f"SELECT count(*) FROM follows WHERE {column} = $1 AND accepted", actor_id)


async def follow_page(conn: Conn, actor_id: int, *, followers: bool, limit: int,
                      offset: int) -> list[str]:
    """One page of a followers/following collection, newest first, as actor uris."""
    mine, theirs = ("followed_id", "follower_id") if followers else ("follower_id", "followed_id")
    rows = await conn.fetch(
        f"SELECT a.uri FROM follows f JOIN actors a ON a.id = f.{theirs}"
        f" WHERE f.{mine} = $1 AND f.accepted ORDER BY f.id DESC LIMIT $2 OFFSET $3",
        actor_id, limit, offset)
    return [r["uri"] for r in rows]


_MUTUALS = (" FROM follows f JOIN follows back ON back.follower_id = f.followed_id"
            " AND back.followed_id = f.follower_id AND back.accepted"
            " WHERE f.follower_id = $1 AND f.accepted")


async def count_mutuals(conn: Conn, actor_id: int) -> int:
    return await conn.fetchval("SELECT count(*)" + _MUTUALS, actor_id)


async def mutuals_page(conn: Conn, actor_id: int, *, limit: int, offset: int) -> list[str]:
    """One page of the actors who follow `actor_id` and whom it follows back, newest first."""
    rows = await conn.fetch(
        "SELECT a.uri" + _MUTUALS.replace(" WHERE", " JOIN actors a ON a.id = f.followed_id WHERE")
        + " ORDER BY f.id DESC LIMIT $2 OFFSET $3", actor_id, limit, offset)
    return [r["uri"] for r in rows]


async def delete_follows_between(conn: Conn, a: int, b: int) -> None:
    await conn.execute(
        "DELETE FROM follows WHERE (follower_id = $1 AND followed_id = $2)"
        " OR (follower_id = $2 AND followed_id = $1)", a, b)


async def block(conn: Conn, actor_id: int, target_id: int) -> Record | None:
    return await conn.fetchrow("SELECT * FROM blocks WHERE actor_id = $1 AND target_id = $2",
                               actor_id, target_id)


async def insert_block(conn: Conn, uri: str, actor_id: int, target_id: int) -> None:
    await conn.execute(
        "INSERT INTO blocks (uri, actor_id, target_id) VALUES ($1, $2, $3)"
        " ON CONFLICT (actor_id, target_id) DO NOTHING", uri, actor_id, target_id)


async def delete_block(conn: Conn, actor_id: int, target_id: int) -> str | None:
    return await conn.fetchval(
        "DELETE FROM blocks WHERE actor_id = $1 AND target_id = $2 RETURNING uri",
        actor_id, target_id)


async def delete_block_by_uri(conn: Conn, uri: str, actor_id: int) -> None:
    await conn.execute("DELETE FROM blocks WHERE uri = $1 AND actor_id = $2", uri, actor_id)


async def is_blocked_either_way(conn: Conn, a: int, b: int) -> bool:
    return await conn.fetchval(
        "SELECT EXISTS (SELECT 1 FROM blocks WHERE (actor_id = $1 AND target_id = $2)"
        " OR (actor_id = $2 AND target_id = $1))", a, b)


# --- posts ---------------------------------------------------------------------------------

async def next_post_id(conn: Conn) -> int:
    return await conn.fetchval("SELECT nextval('posts_id_seq')")


async def _insert(conn: Conn, table: str, fields: dict[str, Any], tail: str = "RETURNING id") -> Any:
    """INSERT one row of `fields` into `table` (names from this module's callers, never from a
    request; the values are parameters)."""
    params = ", ".join(f"${i}" for i in range(1, len(fields) + 1))
    return await conn.fetchval(f"INSERT INTO {table} ({', '.join(fields)}) VALUES ({params}) {tail}",
                               *fields.values())


async def insert_post(conn: Conn, fields: dict[str, Any]) -> int:
    return await _insert(conn, "posts", fields)


async def insert_boost(conn: Conn, fields: dict[str, Any]) -> int | None:
    """A remote boost; None when it is kept already (by its uri, or as the actor's one boost of
    that post): two deliveries of it may be handled at once."""
    return await _insert(conn, "posts", fields, "ON CONFLICT DO NOTHING RETURNING id")


async def update_post(conn: Conn, post_id: int, fields: dict[str, Any]) -> None:
    sets = ", ".join(f"{name} = ${i}" for i, name in enumerate(fields, start=2))
    await conn.execute(f"UPDATE posts SET {sets} WHERE id = $1", post_id, *fields.values())


async def post_by_uri(conn: Conn, uri: str) -> Record | None:
    return await conn.fetchrow("SELECT * FROM posts WHERE uri = $1", uri)


async def post_by_id(conn: Conn, post_id: int) -> Record | None:
    return await conn.fetchrow("SELECT * FROM posts WHERE id = $1", post_id)


async def home_audience(conn: Conn, post: Record) -> list[int]:
    """The local users whose home timeline lists `post` (server/store.py `home_timeline`): its
    author's and their followers', unless it is a reply or a direct message, leaving out those
    who block the author."""
    if post["in_reply_to_id"] is not None or post["visibility"] == "direct":
        return []
    rows = await conn.fetch(
        "SELECT a.user_id FROM actors a WHERE a.id = $1 AND a.user_id IS NOT NULL"
        " UNION SELECT a.user_id FROM follows f JOIN actors a ON a.id = f.follower_id"
        " WHERE f.followed_id = $1 AND f.accepted AND a.user_id IS NOT NULL"
        " AND NOT EXISTS (SELECT 1 FROM blocks b WHERE b.actor_id = a.id AND b.target_id = $1)",
        post["actor_id"])
    return [row["user_id"] for row in rows]


async def soft_delete_post(conn: Conn, post_id: int) -> None:
    """Hide a post and the boosts of it; the row stays so that its id answers 410."""
    await conn.execute(
        "UPDATE posts SET deleted_at = now() WHERE (id = $1 OR reblog_of_id = $1)"
        " AND deleted_at IS NULL", post_id)


async def boost(conn: Conn, actor_id: int, post_id: int) -> Record | None:
    return await conn.fetchrow(
        "SELECT * FROM posts WHERE actor_id = $1 AND reblog_of_id = $2 AND deleted_at IS NULL",
        actor_id, post_id)


async def link_replies(conn: Conn, post_id: int, uri: str) -> None:
    """Attach replies that arrived before the post they answer."""
    await conn.execute(
        "UPDATE posts SET in_reply_to_id = $1 WHERE in_reply_to_uri = $2 AND in_reply_to_id IS NULL",
        post_id, uri)


# Tables that tie a set of actors to a row, and the column naming the row; only these names
# reach the SQL of the two functions below.
ACTOR_SETS = {"mentions": "post_id", "cameo_approved_actors": "cameo_id"}


async def _replace_actor_set(conn: Conn, table: str, owner_id: int, actor_ids: list[int]) -> None:
    column = ACTOR_SETS[table]
    await conn.execute(f"DELETE FROM {table} WHERE {column} = $1", owner_id)
    await conn.executemany(f"INSERT INTO {table} ({column}, actor_id) VALUES ($1, $2)"
                           " ON CONFLICT DO NOTHING", [(owner_id, a) for a in actor_ids])


async def _actor_set(conn: Conn, table: str, owner_id: int) -> list[Record]:
    return await conn.fetch(
        f"SELECT a.* FROM {table} s JOIN actors a ON a.id = s.actor_id WHERE s.{ACTOR_SETS[table]} = $1"
        " ORDER BY a.id", owner_id)


async def replace_mentions(conn: Conn, post_id: int, actor_ids: list[int]) -> None:
    await _replace_actor_set(conn, "mentions", post_id, actor_ids)


async def mentioned_actors(conn: Conn, post_id: int) -> list[Record]:
    return await _actor_set(conn, "mentions", post_id)


async def replace_tags(conn: Conn, post_id: int, names: list[str]) -> None:
    await conn.execute("DELETE FROM tags WHERE post_id = $1", post_id)
    await conn.executemany("INSERT INTO tags (post_id, name) VALUES ($1, $2)"
                           " ON CONFLICT DO NOTHING", [(post_id, n) for n in names])


async def post_tags(conn: Conn, post_id: int) -> list[str]:
    rows = await conn.fetch("SELECT name FROM tags WHERE post_id = $1 ORDER BY name", post_id)
    return [r["name"] for r in rows]


async def insert_media(conn: Conn, fields: dict[str, Any]) -> int:
    return await _insert(conn, "media", fields)


async def replace_remote_media(conn: Conn, post_id: int, actor_id: int,
                               items: list[dict[str, Any]]) -> None:
    await conn.execute("DELETE FROM media WHERE post_id = $1", post_id)
    for position, item in enumerate(items):
        await insert_media(conn, {**item, "post_id": post_id, "actor_id": actor_id,
                                  "position": position})


async def post_media(conn: Conn, post_id: int) -> list[Record]:
    return await conn.fetch("SELECT * FROM media WHERE post_id = $1 ORDER BY position, id",
                            post_id)


async def media_by_id(conn: Conn, media_id: int) -> Record | None:
    return await conn.fetchrow("SELECT * FROM media WHERE id = $1", media_id)


async def attach_media(conn: Conn, post_id: int, actor_id: int, media_ids: list[int]) -> int:
    """Attach unattached uploads of `actor_id` to a post, in the given order; only those whose
    safety check is done (an upload's check settles in a worker, maybe while the post is made)."""
    attached = 0
    for position, media_id in enumerate(media_ids):
        status = await conn.execute(
            "UPDATE media SET post_id = $1, position = $2"
            " WHERE id = $3 AND actor_id = $4 AND post_id IS NULL AND check_state = 'ready'",
            post_id, position, media_id, actor_id)
        attached += int(status.split()[-1])
    return attached


async def update_media_description(conn: Conn, media_id: int, actor_id: int,
                                   description: str, focus: tuple[float, float] | None) -> bool:
    fx, fy = focus if focus else (None, None)
    status = await conn.execute(
        "UPDATE media SET description = $3, focal_x = coalesce($4, focal_x),"
        " focal_y = coalesce($5, focal_y) WHERE id = $1 AND actor_id = $2",
        media_id, actor_id, description, fx, fy)
    return status.endswith(" 1")


async def insert_like(conn: Conn, uri: str, actor_id: int, post_id: int) -> bool:
    status = await conn.execute(
        "INSERT INTO likes (uri, actor_id, post_id) VALUES ($1, $2, $3)"
        " ON CONFLICT DO NOTHING", uri, actor_id, post_id)
    return status.endswith(" 1")


async def like(conn: Conn, actor_id: int, post_id: int) -> Record | None:
    return await conn.fetchrow("SELECT * FROM likes WHERE actor_id = $1 AND post_id = $2",
                               actor_id, post_id)


async def delete_like(conn: Conn, like_id: int) -> None:
    await conn.execute("DELETE FROM likes WHERE id = $1", like_id)


async def like_by_uri(conn: Conn, uri: str) -> Record | None:
    return await conn.fetchrow("SELECT * FROM likes WHERE uri = $1", uri)


async def insert_notification(conn: Conn, user_id: int, type: str, from_actor_id: int | None,
                              post_id: int | None = None) -> int:
    """Insert a notification; returns its id, for the streams (federation/streams.py)."""
    return await conn.fetchval(
        "INSERT INTO notifications (user_id, type, from_actor_id, post_id) VALUES ($1, $2, $3, $4)"
        " RETURNING id", user_id, type, from_actor_id, post_id)


# --- inbox ---------------------------------------------------------------------------------

async def insert_inbox_activity(conn: Conn, activity_uri: str, type: str, signer_uri: str,
                                body: dict[str, Any]) -> int | None:
    """Keep an incoming activity; None when its id was seen before (a redelivery)."""
    return await conn.fetchval(
        "INSERT INTO inbox_activities (activity_uri, type, signer_uri, body)"
        " VALUES ($1, $2, $3, $4) ON CONFLICT (activity_uri) DO NOTHING RETURNING id",
        activity_uri, type, signer_uri, body)


async def inbox_activity_body(conn: Conn, activity_uri: str) -> dict[str, Any] | None:
    """An activity's JSON as it was received, for checks that must read the signed bytes."""
    return await conn.fetchval("SELECT body FROM inbox_activities WHERE activity_uri = $1",
                               activity_uri)


async def claim_inbox_activity(conn: Conn, row_id: int, lease_s: float) -> Record | None:
    """Take a pending activity, leased for `lease_s` (federation/leases.py): a second job for
    the same row finds the lease and does nothing, so one activity is handled once at a time."""
    return await conn.fetchrow(
        "UPDATE inbox_activities SET attempts = attempts + 1,"
        " leased_until = now() + make_interval(secs => $2)"
        " WHERE id = $1 AND state = 'pending' AND (leased_until IS NULL OR leased_until < now())"
        " RETURNING *", row_id, lease_s)


async def finish_inbox_activity(conn: Conn, row_id: int, state: str,
                                error: str | None = None) -> None:
    await conn.execute(
        "UPDATE inbox_activities SET state = $2, error = $3, processed_at = now(), leased_until = NULL"
        " WHERE id = $1", row_id, state, error)


async def release_inbox_activity(conn: Conn, row_id: int, error: str) -> None:
    """Leave an activity pending for another try, keeping why this one failed."""
    await conn.execute("UPDATE inbox_activities SET error = $2, leased_until = NULL WHERE id = $1",
                       row_id, error)


async def pending_inbox_activities(conn: Conn, older_than_seconds: float
                                   ) -> list[tuple[int, int]]:
    rows = await conn.fetch(
        "SELECT id, attempts FROM inbox_activities WHERE state = 'pending' AND leased_until IS NULL"
        " AND received_at < now() - make_interval(secs => $1) ORDER BY id LIMIT 1000",
        older_than_seconds)
    return [(r["id"], r["attempts"]) for r in rows]


# --- outbox and delivery -------------------------------------------------------------------

async def insert_outbox_activity(conn: Conn, uri: str, actor_id: int, type: str,
                                 body: dict[str, Any], public: bool) -> int:
    return await conn.fetchval(
        "INSERT INTO outbox_activities (uri, actor_id, type, body, public)"
        " VALUES ($1, $2, $3, $4, $5) RETURNING id", uri, actor_id, type, body, public)


async def outbox_activity_id(conn: Conn, uri: str) -> int | None:
    return await conn.fetchval("SELECT id FROM outbox_activities WHERE uri = $1", uri)


# An outbox entry is served while anyone may see the post it creates or boosts (a post deleted,
# hidden by a moderator or boosted from one is not): a local Create's id is its post's plus
# `/activity`, and a boost's post row has the Announce's id.
OUTBOX_SHOWN = f"""NOT EXISTS (SELECT 1 FROM posts p WHERE p.uri IN (o.uri, left(o.uri, -length('/activity')))
    AND p.local AND NOT coalesce({may_see('NULL')}, false))"""


async def lock_instance_actor(conn: asyncpg.Connection) -> None:
    """Hold, until the caller's transaction ends, the lock under which the instance actor is made."""
    await conn.execute("SELECT pg_advisory_xact_lock(hashtext('likeness:instance-actor'))")


async def outbox_count(conn: Conn, actor_id: int) -> int:
    return await conn.fetchval(
        f"SELECT count(*) FROM outbox_activities o WHERE o.actor_id = $1 AND o.public AND {OUTBOX_SHOWN}",
        actor_id)


async def outbox_page(conn: Conn, actor_id: int, limit: int, offset: int) -> list[Record]:
    return await conn.fetch(
        f"SELECT o.body FROM outbox_activities o WHERE o.actor_id = $1 AND o.public AND {OUTBOX_SHOWN}"
        f" ORDER BY o.id DESC LIMIT $2 OFFSET $3", actor_id, limit, offset)


async def insert_deliveries(conn: Conn, activity_id: int, inboxes: list[str]) -> list[int]:
    rows = await conn.fetch(
        "INSERT INTO deliveries (activity_id, inbox) SELECT $1, unnest($2::text[])"
        " ON CONFLICT DO NOTHING RETURNING id", activity_id, inboxes)
    return [r["id"] for r in rows]


async def claim_delivery(conn: Conn, delivery_id: int, lease_s: float) -> Record | None:
    """Take a due delivery for one attempt, leased for `lease_s` (federation/leases.py).

    A second job for the same row (a sweep racing the original) finds the lease and does
    nothing, so no inbox gets the same activity twice; a worker that dies mid-attempt stops
    renewing the lease, and the sweeper queues the row again once it has run out.
    """
    return await conn.fetchrow(
        "WITH claimed AS (UPDATE deliveries SET leased_until = now() + make_interval(secs => $2)"
        " WHERE id = $1 AND state = 'queued' AND next_attempt_at <= now() + interval '60 seconds'"
        " AND (leased_until IS NULL OR leased_until < now()) RETURNING *)"
        " SELECT c.*, o.body, o.actor_id FROM claimed c"
        " JOIN outbox_activities o ON o.id = c.activity_id", delivery_id, lease_s)


async def finish_delivery(conn: Conn, delivery_id: int, state: str,
                          error: str | None = None) -> None:
    await conn.execute(
        "UPDATE deliveries SET state = $2, last_error = $3, finished_at = now(),"
        " attempts = attempts + 1, leased_until = NULL WHERE id = $1", delivery_id, state, error)


async def reschedule_delivery(conn: Conn, delivery_id: int, next_attempt_at: datetime,
                              error: str) -> None:
    await conn.execute(
        "UPDATE deliveries SET attempts = attempts + 1, next_attempt_at = $2, last_error = $3,"
        " leased_until = NULL WHERE id = $1", delivery_id, next_attempt_at, error)


async def due_deliveries(conn: Conn, limit: int = 1000) -> list[tuple[int, int]]:
    """(id, attempts) of queued deliveries overdue by a minute and held by no worker: Redis
    lost their job (expired leases are `release_expired_leases`')."""
    rows = await conn.fetch(
        "SELECT id, attempts FROM deliveries WHERE state = 'queued' AND leased_until IS NULL"
        " AND next_attempt_at < now() - interval '60 seconds' ORDER BY next_attempt_at LIMIT $1",
        limit)
    return [(r["id"], r["attempts"]) for r in rows]


# --- leases on deliveries and inbox activities (federation/leases.py) ----------------------

# The tables whose rows a worker leases, and the state a row is in while it waits for one.
LEASED = {"deliveries": "queued", "inbox_activities": "pending"}


async def renew_leases(conn: Conn, table: str, row_ids: list[int], lease_s: float) -> None:
    """Lease again, for `lease_s` from now, rows this process is still working on."""
    await conn.execute(
        f"UPDATE {table} SET leased_until = now() + make_interval(secs => $2)"
        f" WHERE id = ANY($1::bigint[]) AND state = '{LEASED[table]}'", row_ids, lease_s)


async def release_expired_leases(conn: Conn, table: str, limit: int = 1000
                                 ) -> list[tuple[int, int, datetime]]:
    """Take back the rows whose lease ran out (their worker died or hung), so that they can be
    queued again: (id, attempts, when the lease ran out)."""
    rows = await conn.fetch(
        f"UPDATE {table} t SET leased_until = NULL FROM ("
        f" SELECT id, leased_until FROM {table} WHERE leased_until < now()"
        f" AND state = '{LEASED[table]}' ORDER BY leased_until LIMIT $1 FOR UPDATE SKIP LOCKED) e"
        " WHERE t.id = e.id RETURNING t.id, t.attempts, e.leased_until AS expired", limit)
    return [(r["id"], r["attempts"], r["expired"]) for r in rows]


async def peer(conn: Conn, host: str) -> Record | None:
    return await conn.fetchrow("SELECT * FROM peers WHERE host = $1", host)


async def peer_answered(conn: Conn, host: str, scheme: str) -> None:
    await conn.execute(
        "INSERT INTO peers (host, signature_scheme, last_success_at) VALUES ($1, $2, now())"
        " ON CONFLICT (host) DO UPDATE SET signature_scheme = EXCLUDED.signature_scheme,"
        " last_success_at = now(), unreachable_since = NULL", host, scheme)


async def peer_seen(conn: Conn, host: str) -> None:
    """A peer that talks to us is reachable again."""
    await conn.execute("UPDATE peers SET unreachable_since = NULL WHERE host = $1"
                       " AND unreachable_since IS NOT NULL", host)


async def peer_unreachable(conn: Conn, host: str) -> None:
    await conn.execute(
        "INSERT INTO peers (host, unreachable_since) VALUES ($1, now())"
        " ON CONFLICT (host) DO UPDATE SET unreachable_since ="
        " coalesce(peers.unreachable_since, now())", host)


async def remember_signature_scheme(conn: Conn, host: str, scheme: str) -> None:
    await conn.execute(
        "INSERT INTO peers (host, signature_scheme) VALUES ($1, $2)"
        " ON CONFLICT (host) DO UPDATE SET signature_scheme = EXCLUDED.signature_scheme",
        host, scheme)


# --- cameos --------------------------------------------------------------------------------

async def insert_cameo(conn: Conn, fields: dict[str, Any]) -> int:
    return await _insert(conn, "cameos", fields)


async def next_cameo_id(conn: Conn) -> int:
    return await conn.fetchval("SELECT nextval('cameos_id_seq')")


async def update_cameo(conn: Conn, cameo_id: int, fields: dict[str, Any]) -> None:
    sets = ", ".join(f"{name} = ${i}" for i, name in enumerate(fields, start=2))
    await conn.execute(f"UPDATE cameos SET {sets}, updated_at = now() WHERE id = $1",
                       cameo_id, *fields.values())


async def cameo_by_id(conn: Conn, cameo_id: int) -> Record | None:
    return await conn.fetchrow("SELECT * FROM cameos WHERE id = $1", cameo_id)


async def cameo_by_uri(conn: Conn, uri: str) -> Record | None:
    return await conn.fetchrow("SELECT * FROM cameos WHERE uri = $1", uri)


async def cameo_in_own_post(conn: Conn, cameo_uri: str, owner_id: int) -> bool:
    """Whether a post of the cameo's owner, not deleted, stars it."""
    return await conn.fetchval(
        "SELECT EXISTS (SELECT 1 FROM posts p JOIN post_cameos c ON c.post_id = p.id"
        " WHERE p.actor_id = $2 AND p.deleted_at IS NULL AND c.cameo_uri = $1)", cameo_uri, owner_id)


async def cameos_of(conn: Conn, actor_id: int) -> list[Record]:
    return await conn.fetch("SELECT * FROM cameos WHERE actor_id = $1 AND deleted_at IS NULL"
                            " ORDER BY id", actor_id)


async def delete_cameo(conn: Conn, cameo_id: int) -> list[str]:
    """Mark a cameo deleted and forget its references; returns the storage keys of their files and
    of its preview's (the key stays, so that the preview's address answers 410)."""
    preview = await conn.fetchval(
        "UPDATE cameos SET deleted_at = now(), paused = true WHERE id = $1 RETURNING preview_key", cameo_id)
    rows = await conn.fetch("DELETE FROM cameo_references WHERE cameo_id = $1 RETURNING storage_key",
                            cameo_id)
    await conn.execute("DELETE FROM cameo_approved_actors WHERE cameo_id = $1", cameo_id)
    return [r["storage_key"] for r in rows] + ([preview] if preview else [])


async def insert_cameo_reference(conn: Conn, cameo_id: int, position: int, storage_key: str,
                                 media_type: str, width: int, height: int) -> None:
    await conn.execute(
        "INSERT INTO cameo_references (cameo_id, position, storage_key, media_type, width, height)"
        " VALUES ($1, $2, $3, $4, $5, $6)", cameo_id, position, storage_key, media_type, width, height)


async def cameo_references(conn: Conn, cameo_id: int) -> list[Record]:
    return await conn.fetch("SELECT * FROM cameo_references WHERE cameo_id = $1 ORDER BY position",
                            cameo_id)


async def replace_cameo_approved(conn: Conn, cameo_id: int, actor_ids: list[int]) -> None:
    await _replace_actor_set(conn, "cameo_approved_actors", cameo_id, actor_ids)


async def cameo_approved(conn: Conn, cameo_id: int) -> list[Record]:
    return await _actor_set(conn, "cameo_approved_actors", cameo_id)


# --- the prompt policy: admin terms, public figures, refusals ---------------------------------

async def prompt_terms(conn: Conn) -> list[Record]:
    return await conn.fetch("SELECT * FROM prompt_terms ORDER BY category, term")


async def insert_prompt_term(conn: Conn, category: str, term: str, user_id: int | None) -> Record | None:
    """The new term; None if the category has it already."""
    return await conn.fetchrow(
        "INSERT INTO prompt_terms (category, term, created_by) VALUES ($1, $2, $3)"
        " ON CONFLICT (category, term) DO NOTHING RETURNING *", category, term, user_id)


async def delete_prompt_term(conn: Conn, term_id: int) -> Record | None:
    return await conn.fetchrow("DELETE FROM prompt_terms WHERE id = $1 RETURNING *", term_id)


async def delete_prompt_term_by_text(conn: Conn, category: str, term: str) -> Record | None:
    return await conn.fetchrow("DELETE FROM prompt_terms WHERE category = $1 AND term = $2"
                               " RETURNING *", category, term)


async def public_figures(conn: Conn) -> list[Record]:
    return await conn.fetch("SELECT * FROM actors WHERE public_figure ORDER BY id")


async def set_public_figure(conn: Conn, actor_id: int, flag: bool) -> Record | None:
    return await conn.fetchrow("UPDATE actors SET public_figure = $2 WHERE id = $1 RETURNING *",
                               actor_id, flag)


async def insert_prompt_refusal(conn: Conn, fields: dict[str, Any]) -> int:
    return await _insert(conn, "prompt_refusals", fields)


async def prompt_refusals(conn: Conn, *, limit: int, max_id: int | None = None,
                          category: str | None = None, actor_id: int | None = None) -> list[Record]:
    return await conn.fetch(
        "SELECT * FROM prompt_refusals WHERE ($2::bigint IS NULL OR id < $2)"
        " AND ($3::text IS NULL OR category = $3) AND ($4::bigint IS NULL OR actor_id = $4)"
        " ORDER BY id DESC LIMIT $1", limit, max_id, category, actor_id)


# --- remix consent: the requester's side -----------------------------------------------------

async def insert_remix(conn: Conn, post_id: int, post_uri: str, actor_id: int, prompt: str,
                       digest: str) -> int:
    return await conn.fetchval(
        "INSERT INTO remixes (post_id, post_uri, actor_id, prompt, prompt_digest)"
        " VALUES ($1, $2, $3, $4, $5) RETURNING id", post_id, post_uri, actor_id, prompt, digest)


async def insert_remix_cameo(conn: Conn, remix_id: int, cameo_uri: str, owner_uri: str,
                             request_uri: str | None, state: str, instructions: str = "") -> None:
    await conn.execute(
        "INSERT INTO remix_cameos (remix_id, cameo_uri, owner_uri, request_uri, state, instructions)"
        " VALUES ($1, $2, $3, $4, $5, $6)", remix_id, cameo_uri, owner_uri, request_uri, state,
        instructions)


async def remix(conn: Conn, remix_id: int) -> Record | None:
    return await conn.fetchrow("SELECT * FROM remixes WHERE id = $1", remix_id)


async def remix_cameos(conn: Conn, remix_id: int) -> list[Record]:
    return await conn.fetch("SELECT * FROM remix_cameos WHERE remix_id = $1 ORDER BY cameo_uri",
                            remix_id)


async def remix_cameo_by_request(conn: Conn, request_uri: str) -> Record | None:
    return await conn.fetchrow(
        "SELECT c.*, r.post_uri, r.actor_id, r.prompt_digest FROM remix_cameos c"
        " JOIN remixes r ON r.id = c.remix_id WHERE c.request_uri = $1", request_uri)


async def answer_remix_cameo(conn: Conn, remix_id: int, cameo_uri: str, state: str,
                             authorization_uri: str | None = None,
                             authorization_document: dict[str, Any] | None = None,
                             reason: str | None = None) -> None:
    await conn.execute(
        "UPDATE remix_cameos SET state = $3, authorization_uri = $4, authorization_document = $5,"
        " reason = coalesce($6, reason), answered_at = now() WHERE remix_id = $1 AND cameo_uri = $2",
        remix_id, cameo_uri, state, authorization_uri, authorization_document, reason)


async def settle_remix(conn: Conn, remix_id: int) -> str:
    """The remix's state from its cameos': revoked or rejected if any is, authorized once all
    are approved."""
    return await conn.fetchval(
        "UPDATE remixes r SET updated_at = now(), state = CASE"
        " WHEN EXISTS (SELECT 1 FROM remix_cameos c WHERE c.remix_id = r.id"
        "   AND c.state = 'revoked') THEN 'revoked'"
        " WHEN EXISTS (SELECT 1 FROM remix_cameos c WHERE c.remix_id = r.id"
        "   AND c.state = 'rejected') THEN 'rejected'"
        " WHEN NOT EXISTS (SELECT 1 FROM remix_cameos c WHERE c.remix_id = r.id"
        "   AND c.state <> 'approved') THEN"
        "   CASE WHEN r.state = 'published' THEN 'published' ELSE 'authorized' END"
        " ELSE 'pending' END"
        " WHERE r.id = $1 AND r.state IN ('pending', 'authorized', 'published') RETURNING state",
        remix_id)


# --- remix consent: the owner's side --------------------------------------------------------

async def insert_remix_request(conn: Conn, fields: dict[str, Any]) -> int | None:
    """Record a request; None when its id was seen before (a replay)."""
    return await _insert(conn, "remix_requests", fields, "ON CONFLICT (uri) DO NOTHING RETURNING id")


async def remix_request(conn: Conn, request_id: int) -> Record | None:
    return await conn.fetchrow("SELECT * FROM remix_requests WHERE id = $1", request_id)


async def decide_remix_request(conn: Conn, request_id: int, state: str, reason: str,
                               authorization_uri: str | None = None,
                               authorization_document: dict[str, Any] | None = None) -> bool:
    """Answer a pending request once; False if it was answered already."""
    status = await conn.execute(
        "UPDATE remix_requests SET state = $2, reason = $3, authorization_uri = $4,"
        " authorization_document = $5, decided_at = now() WHERE id = $1 AND state = 'pending'",
        request_id, state, reason, authorization_uri, authorization_document)
    return status.endswith(" 1")


async def remix_requests_of_owner(conn: Conn, actor_id: int) -> list[Record]:
    return await conn.fetch(
        "SELECT r.*, c.name AS cameo_name, c.uri AS cameo_uri,"
        " EXISTS (SELECT 1 FROM posts p WHERE p.uri = r.post_uri AND p.deleted_at IS NULL)"
        "   AS published"
        " FROM remix_requests r JOIN cameos c ON c.id = r.cameo_id WHERE c.actor_id = $1"
        " ORDER BY r.id DESC LIMIT 500",
        actor_id)


async def open_remix_requests_of_cameo(conn: Conn, cameo_id: int) -> list[Record]:
    """The requests for a cameo that still stand: waiting for an answer, or granted."""
    return await conn.fetch("SELECT * FROM remix_requests WHERE cameo_id = $1"
                            " AND state IN ('pending', 'approved') ORDER BY id", cameo_id)


async def authorization_by_uri(conn: Conn, uri: str) -> Record | None:
    return await conn.fetchrow(
        "SELECT r.*, c.actor_id AS owner_id FROM remix_requests r JOIN cameos c ON c.id = r.cameo_id"
        " WHERE r.authorization_uri = $1", uri)


async def remix_cameo_by_authorization(conn: Conn, authorization_uri: str) -> Record | None:
    return await conn.fetchrow(
        "SELECT c.*, r.actor_id, r.post_uri, r.post_id FROM remix_cameos c"
        " JOIN remixes r ON r.id = c.remix_id WHERE c.authorization_uri = $1", authorization_uri)


async def revoke_remix_request(conn: Conn, request_id: int, reason: str | None) -> bool:
    """`reason` replaces the approval's: the ledger says why the use was withdrawn, if not by hand."""
    status = await conn.execute(
        "UPDATE remix_requests SET state = 'revoked', revoked_at = now(), reason = $2"
        " WHERE id = $1 AND state = 'approved'", request_id, reason)
    return status.endswith(" 1")


async def record_authorization_fetch(conn: Conn, request_id: int, inbox: str) -> None:
    await conn.execute(
        "INSERT INTO authorization_fetches (request_id, inbox) VALUES ($1, $2)"
        " ON CONFLICT (request_id, inbox) DO UPDATE SET fetched_at = now()", request_id, inbox)


async def authorization_fetchers(conn: Conn, request_id: int) -> list[str]:
    rows = await conn.fetch("SELECT inbox FROM authorization_fetches WHERE request_id = $1",
                            request_id)
    return [r["inbox"] for r in rows]


async def holds_live_authorization(conn: Conn, cameo_id: int, actor_uri: str) -> bool:
    """Whether `actor_uri` was granted this cameo and the grant is neither revoked nor expired."""
    return await conn.fetchval(
        "SELECT EXISTS (SELECT 1 FROM remix_requests r JOIN actors a ON a.id = r.requester_id"
        " WHERE r.cameo_id = $1 AND a.uri = $2 AND r.state = 'approved'"
        " AND (r.authorization_document->>'endTime')::timestamptz > now())", cameo_id, actor_uri)


async def publish_remix(conn: Conn, remix_id: int) -> bool:
    status = await conn.execute(
        "UPDATE remixes SET state = 'published', updated_at = now()"
        " WHERE id = $1 AND state = 'authorized'", remix_id)
    return status.endswith(" 1")


async def remix_by_post(conn: Conn, post_id: int) -> Record | None:
    return await conn.fetchrow("SELECT * FROM remixes WHERE post_id = $1", post_id)


# --- published remixes: the cameos a post uses ---------------------------------------------------

async def replace_post_cameos(conn: Conn, post_id: int, entries: list[dict[str, Any]]) -> None:
    await conn.execute("DELETE FROM post_cameos WHERE post_id = $1", post_id)
    await conn.executemany(
        "INSERT INTO post_cameos (post_id, position, cameo_uri, owner_uri, authorization_uri,"
        " authorization_document) VALUES ($1, $2, $3, $4, $5, $6)",
        [(post_id, i, e["cameo_uri"], e["owner_uri"], e["authorization_uri"],
          e["authorization_document"]) for i, e in enumerate(entries)])


async def post_cameos(conn: Conn, post_id: int) -> list[Record]:
    return await conn.fetch("SELECT * FROM post_cameos WHERE post_id = $1 ORDER BY position",
                            post_id)


async def posts_citing_authorization(conn: Conn, authorization_uri: str) -> list[Record]:
    """Live posts whose consent rests on this authorization, with the owner who granted it."""
    return await conn.fetch(
        "SELECT p.*, c.owner_uri FROM post_cameos c JOIN posts p ON p.id = c.post_id"
        " WHERE c.authorization_uri = $1 AND p.deleted_at IS NULL", authorization_uri)


async def mark_consent_checked(conn: Conn, post_id: int) -> None:
    await conn.execute("UPDATE posts SET consent_checked_at = now() WHERE id = $1", post_id)


async def consent_posts_due(conn: Conn, post_ids: list[int], ttl_seconds: float) -> list[int]:
    """Of `post_ids`, the live remote posts with cameos whose last check is older than the TTL."""
    rows = await conn.fetch(
        "SELECT id FROM posts WHERE id = ANY($1::bigint[]) AND NOT local AND deleted_at IS NULL"
        " AND consent_checked_at < now() - make_interval(secs => $2)", post_ids, ttl_seconds)
    return [r["id"] for r in rows]


async def record_revoked_authorization(conn: Conn, uri: str, owner_uri: str) -> None:
    await conn.execute(
        "INSERT INTO revoked_authorizations (uri, owner_uri) VALUES ($1, $2)"
        " ON CONFLICT (uri) DO NOTHING", uri, owner_uri)


async def revoked_authorization(conn: Conn, uri: str) -> Record | None:
    return await conn.fetchrow("SELECT * FROM revoked_authorizations WHERE uri = $1", uri)


# --- FEP-044f quote stamps -------------------------------------------------------------------------

async def insert_quote_authorization(conn: Conn, post_id: int, request_uri: str, quoting_uri: str,
                                     requester_id: int, state: str) -> int | None:
    """A new answer to a QuoteRequest; None when this request was answered already."""
    return await conn.fetchval(
        "INSERT INTO quote_authorizations (post_id, request_uri, quoting_uri, requester_id, state)"
        " VALUES ($1, $2, $3, $4, $5) ON CONFLICT (request_uri) DO NOTHING RETURNING id",
        post_id, request_uri, quoting_uri, requester_id, state)


async def quote_authorization(conn: Conn, stamp_id: int) -> Record | None:
    return await conn.fetchrow(
        "SELECT q.*, p.uri AS post_uri, p.actor_id AS author_id, p.deleted_at AS post_deleted_at,"
        " p.visibility FROM quote_authorizations q JOIN posts p ON p.id = q.post_id WHERE q.id = $1",
        stamp_id)


# --- reports (migrations/0012_moderation.sql) ----------------------------------------------------

async def open_report(conn: asyncpg.Connection, *, reporter_id: int, target_id: int, category: str,
                      comment: str, post_ids: list[int], cameo_ids: list[int],
                      origin_domain: str | None = None, forwarded: bool = False) -> tuple[int, bool]:
    """Open a report, or merge it into the reporter's open one on the same account: its comment
    added, its posts and cameos joined, the newest category kept. Staff are told of a new report
    (`admin.report`). Returns the report's id and whether it is new; in the caller's transaction."""
    row = await conn.fetchrow(
        "INSERT INTO reports (reporter_id, target_id, origin_domain, category, comment, forwarded)"
        " VALUES ($1, $2, $3, $4, $5, $6)"
        " ON CONFLICT (reporter_id, target_id) WHERE resolved_at IS NULL AND reporter_id IS NOT NULL"
        " DO UPDATE SET category = EXCLUDED.category, updated_at = now(),"
        "  forwarded = reports.forwarded OR EXCLUDED.forwarded,"
        "  comment = CASE WHEN EXCLUDED.comment IN ('', reports.comment) THEN reports.comment"
        "   WHEN reports.comment = '' THEN EXCLUDED.comment"
        "   ELSE reports.comment || E'\\n\\n' || EXCLUDED.comment END"
        " RETURNING id, xmax = 0 AS created",
        reporter_id, target_id, origin_domain, category, comment, forwarded)
    await conn.execute(
        "INSERT INTO report_posts (report_id, post_id) SELECT $1, unnest($2::bigint[])"
        " ON CONFLICT DO NOTHING", row["id"], post_ids)
    await conn.execute(
        "INSERT INTO report_cameos (report_id, cameo_id) SELECT $1, unnest($2::bigint[])"
        " ON CONFLICT DO NOTHING", row["id"], cameo_ids)
    if row["created"]:
        await conn.execute(
            "INSERT INTO notifications (user_id, type, from_actor_id, report_id)"
            " SELECT id, 'admin.report', $2, $1 FROM users"
            " WHERE role IN ('admin', 'moderator') AND NOT disabled", row["id"], reporter_id)
    return row["id"], row["created"]
