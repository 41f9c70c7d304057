"""SQL of uploads: their checks, the unposted and deleted ones, and files by storage key."""

from __future__ import annotations

import asyncpg

from .common import Conn, Record
from .posts import SHOWN


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
    yet, or the preview of a cameo only its owner may use; or a local account's avatar or
    header (held while the account is suspended). Cameo references are never found here."""
    return await conn.fetchrow(
        "SELECT CASE WHEN m.storage_key = $1 THEN m.media_type ELSE 'image/jpeg' END AS media_type,"
        " p.deleted_at IS NOT NULL AS deleted,"
        " (EXISTS (SELECT 1 FROM generation_jobs j WHERE j.result_media_id = m.id"
        f"   AND j.state = 'held') OR m.check_state <> 'ready' OR (p.id IS NOT NULL AND NOT {SHOWN}))"
        " AS held, m.post_id IS NULL AS private, m.actor_id AS owner_id"
        " FROM media m LEFT JOIN posts p ON p.id = m.post_id"
        " WHERE m.storage_key = $1 OR m.poster_key = $1"
        " UNION ALL SELECT preview_media_type, deleted_at IS NOT NULL, false, permission = 'only_me',"
        " actor_id FROM cameos WHERE preview_key = $1"
        " UNION ALL SELECT 'image/webp', false, suspended, false, id FROM actors"
        " WHERE avatar_key = $1 OR header_key = $1 LIMIT 1", key)
