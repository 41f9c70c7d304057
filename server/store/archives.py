"""SQL of archives: the rows of archives asked for and built, and what an archive reads of its owner
(posts, likes, bookmarks, follows, blocks, mutes)."""

from __future__ import annotations

from datetime import datetime

from .common import Conn, Record
from .mutes import MUTE_LIVE


async def insert_archive(conn: Conn, user_id: int, cooldown_s: float) -> int | None:
    """A new archive for `user_id`, or None when one was asked for within `cooldown_s` (Mastodon
    allows one per 7 days). The user's row is locked so that two requests at once make one."""
    await conn.execute("SELECT 1 FROM users WHERE id = $1 FOR UPDATE", user_id)
    return await conn.fetchval(
        "INSERT INTO archives (user_id) SELECT $1 WHERE NOT EXISTS (SELECT 1 FROM archives"
        " WHERE user_id = $1 AND state <> 'failed'"
        " AND created_at > now() - make_interval(secs => $2)) RETURNING id", user_id, cooldown_s)


async def archive(conn: Conn, archive_id: int) -> Record | None:
    return await conn.fetchrow("SELECT * FROM archives WHERE id = $1", archive_id)


async def archives_of(conn: Conn, user_id: int) -> list[Record]:
    return await conn.fetch("SELECT * FROM archives WHERE user_id = $1 ORDER BY id DESC LIMIT 20",
                            user_id)


async def claim_archive(conn: Conn, archive_id: int, stale_s: float) -> bool:
    """Start building a queued archive, or one whose builder stopped moving for `stale_s`."""
    status = await conn.execute(
        "UPDATE archives SET state = 'building', progress = 0, updated_at = now() WHERE id = $1"
        " AND (state = 'queued' OR state = 'building'"
        " AND updated_at < now() - make_interval(secs => $2))", archive_id, stale_s)
    return status.endswith(" 1")


async def archive_progress(conn: Conn, archive_id: int, progress: int) -> None:
    await conn.execute("UPDATE archives SET progress = $2, updated_at = now()"
                       " WHERE id = $1 AND state = 'building'", archive_id, progress)


async def finish_archive(conn: Conn, archive_id: int, storage_key: str, byte_size: int,
                         expires_at: datetime) -> bool:
    status = await conn.execute(
        "UPDATE archives SET state = 'ready', progress = 100, storage_key = $2, byte_size = $3,"
        " expires_at = $4, finished_at = now(), updated_at = now()"
        " WHERE id = $1 AND state = 'building'", archive_id, storage_key, byte_size, expires_at)
    return status.endswith(" 1")


async def fail_archive(conn: Conn, archive_id: int, reason: str) -> None:
    await conn.execute("UPDATE archives SET state = 'failed', error = $2, finished_at = now(),"
                       " updated_at = now() WHERE id = $1 AND state = 'building'", archive_id, reason)


async def unfinished_archives(conn: Conn, stale_s: float) -> list[int]:
    """Archives whose job Redis may have lost: queued a while ago, or abandoned mid-way."""
    rows = await conn.fetch(
        "SELECT id FROM archives WHERE state IN ('queued', 'building')"
        " AND updated_at < now() - make_interval(secs => $1) ORDER BY id", stale_s)
    return [r["id"] for r in rows]


async def expire_archives(conn: Conn) -> list[str]:
    """Mark the archives past their time expired; the storage keys of their files, to delete."""
    rows = await conn.fetch(
        "WITH due AS (SELECT id, storage_key FROM archives WHERE state = 'ready'"
        " AND expires_at <= now() FOR UPDATE)"
        " UPDATE archives a SET state = 'expired', storage_key = NULL, updated_at = now()"
        " FROM due WHERE a.id = due.id RETURNING due.storage_key")
    return [r["storage_key"] for r in rows if r["storage_key"]]


async def users_without_recent_archive(conn: Conn, cooldown_s: float) -> list[int]:
    """Local accounts in use with no archive asked for within `cooldown_s` (a shutdown builds
    one for each of them)."""
    rows = await conn.fetch(
        "SELECT u.id FROM users u JOIN actors a ON a.user_id = u.id WHERE NOT u.disabled"
        " AND a.deleted_at IS NULL AND NOT EXISTS (SELECT 1 FROM archives r WHERE r.user_id = u.id"
        " AND r.state <> 'failed' AND r.created_at > now() - make_interval(secs => $1)) ORDER BY u.id",
        cooldown_s)
    return [r["id"] for r in rows]


# --- what an archive holds ----------------------------------------------------------------------

async def archive_posts(conn: Conn, actor_id: int) -> list[Record]:
    """The actor's posts and boosts not deleted, oldest first, as Mastodon's outbox.json."""
    return await conn.fetch(
        "SELECT p.*, b.uri AS reblog_of_uri FROM posts p LEFT JOIN posts b ON b.id = p.reblog_of_id"
        " WHERE p.actor_id = $1 AND p.deleted_at IS NULL ORDER BY p.id", actor_id)


async def archive_media(conn: Conn, post_ids: list[int]) -> list[Record]:
    return await conn.fetch(
        "SELECT * FROM media WHERE post_id = ANY($1::bigint[]) AND storage_key IS NOT NULL"
        " ORDER BY post_id, position", post_ids)


async def liked_post_uris(conn: Conn, actor_id: int) -> list[str]:
    rows = await conn.fetch("SELECT p.uri FROM likes l JOIN posts p ON p.id = l.post_id"
                            " WHERE l.actor_id = $1 ORDER BY l.id", actor_id)
    return [r["uri"] for r in rows]


async def bookmarked_post_uris(conn: Conn, actor_id: int) -> list[str]:
    rows = await conn.fetch("SELECT p.uri FROM bookmarks b JOIN posts p ON p.id = b.post_id"
                            " WHERE b.actor_id = $1 ORDER BY b.id", actor_id)
    return [r["uri"] for r in rows]


async def followed_accounts(conn: Conn, actor_id: int) -> list[Record]:
    """Accounts the actor follows or asked to follow, for following_accounts.csv."""
    return await conn.fetch("SELECT a.username, a.domain FROM follows f JOIN actors a"
                            " ON a.id = f.followed_id WHERE f.follower_id = $1 ORDER BY f.id", actor_id)


async def blocked_accounts(conn: Conn, actor_id: int) -> list[Record]:
    return await conn.fetch("SELECT a.username, a.domain FROM blocks b JOIN actors a"
                            " ON a.id = b.target_id WHERE b.actor_id = $1 ORDER BY b.id", actor_id)


async def muted_accounts(conn: Conn, actor_id: int) -> list[Record]:
    """The mutes that have not expired, for muted_accounts.csv."""
    return await conn.fetch(f"SELECT a.username, a.domain, mu.hide_notifications FROM mutes mu"
                            f" JOIN actors a ON a.id = mu.target_id WHERE mu.actor_id = $1 AND {MUTE_LIVE}"
                            f" ORDER BY mu.id", actor_id)
