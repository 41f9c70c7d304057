"""SQL of follows and blocks."""

from __future__ import annotations

from .common import Conn, Record


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


# The distinct inboxes of the remote followers of actor $1, shared inboxes collapsed: read here,
# and inserted as deliveries by `expand_follower_deliveries`.
FOLLOWER_INBOXES = ("SELECT DISTINCT coalesce(a.shared_inbox, a.inbox) AS inbox FROM follows f"
                    " JOIN actors a ON a.id = f.follower_id"
                    " WHERE f.followed_id = $1 AND f.accepted AND NOT a.local"
                    " AND coalesce(a.shared_inbox, a.inbox) IS NOT NULL")


async def follower_inboxes(conn: Conn, actor_id: int) -> list[str]:
    """The distinct inboxes of remote followers, shared inboxes collapsed."""
    return [r["inbox"] for r in await conn.fetch(FOLLOWER_INBOXES, actor_id)]


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


async def home_audience(conn: Conn, post: Record) -> list[int]:
    """The local users whose home timeline lists `post` (server/store `home_timeline`): its
    author's and their followers', unless it is a reply or a direct message, leaving out those
    who block the author, and those who mute it or, for a boost, the boosted post's author (a
    mute that has not expired: server/store/mutes.py)."""
    if post["in_reply_to_id"] is not None or post["visibility"] == "direct":
        return []
    rows = await conn.fetch(
        "SELECT a.user_id FROM actors a WHERE a.id = $1 AND a.user_id IS NOT NULL"
        " UNION SELECT a.user_id FROM follows f JOIN actors a ON a.id = f.follower_id"
        " WHERE f.followed_id = $1 AND f.accepted AND a.user_id IS NOT NULL"
        " AND NOT EXISTS (SELECT 1 FROM blocks b WHERE b.actor_id = a.id AND b.target_id = $1)"
        " AND NOT EXISTS (SELECT 1 FROM mutes mu WHERE mu.actor_id = a.id"
        "  AND mu.target_id IN ($1, (SELECT mb.actor_id FROM posts mb WHERE mb.id = $2))"
        "  AND (mu.expires_at IS NULL OR mu.expires_at > now()))",
        post["actor_id"], post["reblog_of_id"])
    return [row["user_id"] for row in rows]
