"""SQL of account deletion (server/admin/account_deletion.py)."""

from __future__ import annotations

from .common import Conn, Record


async def erase_account(conn: Conn, user_id: int, actor_id: int) -> list[Record]:
    """Everything a local account made or held, in the caller's transaction: its posts (the rows
    stay, deleted, so that their ids answer 410), its media and drafts, its generations, likes,
    follows, blocks, mutes, feed steering, bookmarks, pins, followed tags, filters, lists,
    conversations, archives, notifications and tokens; the login is disabled and its email and
    password forgotten; the actor keeps its keys and name and is marked deleted (and suspended,
    so that every query that hides a suspended account hides it), its avatar and header
    forgotten. Returns the deleted media rows, its archives' and a row of the avatar's and
    header's keys, whose files (server.media.file_keys) the caller deletes."""
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
    await conn.execute("DELETE FROM mutes WHERE actor_id = $1 OR target_id = $1", actor_id)
    # Its archives go too: nobody may download them any more.
    archives = await conn.fetch("DELETE FROM archives WHERE user_id = $1 AND storage_key IS NOT NULL"
                                " RETURNING storage_key, NULL::text AS poster_key", user_id)
    await conn.execute("DELETE FROM archives WHERE user_id = $1", user_id)
    await conn.execute("DELETE FROM access_tokens WHERE user_id = $1", user_id)
    await conn.execute("DELETE FROM markers WHERE user_id = $1", user_id)
    await conn.execute("UPDATE users SET disabled = true, password_hash = '',"
                       " email = 'deleted-' || id || '@invalid' WHERE id = $1", user_id)
    pictures = await conn.fetch(
        "UPDATE actors a SET deleted_at = now(), suspended = true, display_name = '', summary = '',"
        " icon_url = NULL, header_url = NULL, avatar_key = NULL, header_key = NULL"
        " FROM (SELECT avatar_key, header_key FROM actors WHERE id = $1 FOR UPDATE) old"
        " WHERE a.id = $1 RETURNING old.avatar_key AS storage_key, old.header_key AS poster_key", actor_id)
    return [*media, *archives, *pictures]
