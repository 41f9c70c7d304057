"""SQL of posts: their mentions, tags and media, likes, and the notifications they cause."""

from __future__ import annotations

from typing import Any

from .common import Conn, Record, actor_set, insert_row, replace_actor_set


async def next_post_id(conn: Conn) -> int:
    return await conn.fetchval("SELECT nextval('posts_id_seq')")


async def insert_post(conn: Conn, fields: dict[str, Any]) -> int:
    return await insert_row(conn, "posts", fields)


async def insert_boost(conn: Conn, fields: dict[str, Any]) -> int | None:
    """A remote boost; None when it is kept already (by its uri, or as the actor's one boost of
    that post): two deliveries of it may be handled at once."""
    return await insert_row(conn, "posts", fields, "ON CONFLICT DO NOTHING RETURNING id")


async def update_post(conn: Conn, post_id: int, fields: dict[str, Any]) -> None:
    sets = ", ".join(f"{name} = ${i}" for i, name in enumerate(fields, start=2))
    await conn.execute(f"UPDATE posts SET {sets} WHERE id = $1", post_id, *fields.values())


async def post_by_uri(conn: Conn, uri: str) -> Record | None:
    return await conn.fetchrow("SELECT * FROM posts WHERE uri = $1", uri)


async def post_by_id(conn: Conn, post_id: int) -> Record | None:
    return await conn.fetchrow("SELECT * FROM posts WHERE id = $1", post_id)


async def soft_delete_post(conn: Conn, post_id: int) -> None:
    """Hide a post and the boosts of it; the row stays so that its id answers 410."""
    await conn.execute(
        "UPDATE posts SET deleted_at = now() WHERE (id = $1 OR reblog_of_id = $1)"
        " AND deleted_at IS NULL", post_id)


async def boost(conn: Conn, actor_id: int, post_id: int) -> Record | None:
    return await conn.fetchrow(
        "SELECT * FROM posts WHERE actor_id = $1 AND reblog_of_id = $2 AND deleted_at IS NULL",
        actor_id, post_id)


async def local_boosters(conn: Conn, post_id: int) -> list[Record]:
    """The local accounts whose boost of the post stands, oldest boost first."""
    return await conn.fetch(
        "SELECT a.* FROM posts p JOIN actors a ON a.id = p.actor_id"
        " WHERE p.reblog_of_id = $1 AND p.deleted_at IS NULL AND a.local ORDER BY p.id", post_id)


async def link_replies(conn: Conn, post_id: int, uri: str) -> None:
    """Attach replies that arrived before the post they answer."""
    await conn.execute(
        "UPDATE posts SET in_reply_to_id = $1 WHERE in_reply_to_uri = $2 AND in_reply_to_id IS NULL",
        post_id, uri)


async def replace_mentions(conn: Conn, post_id: int, actor_ids: list[int],
                           silent_ids: list[int] | None = None) -> None:
    """The accounts a post mentions; `silent_ids` among them it only addresses (see 0023)."""
    await replace_actor_set(conn, "mentions", post_id, actor_ids)
    if silent_ids:
        await conn.execute("UPDATE mentions SET silent = true WHERE post_id = $1"
                           " AND actor_id = ANY($2::bigint[])", post_id, silent_ids)


async def mentioned_actors(conn: Conn, post_id: int) -> list[Record]:
    return await actor_set(conn, "mentions", post_id)


async def replace_tags(conn: Conn, post_id: int, names: list[str]) -> None:
    await conn.execute("DELETE FROM tags WHERE post_id = $1", post_id)
    await conn.executemany("INSERT INTO tags (post_id, name) VALUES ($1, $2)"
                           " ON CONFLICT DO NOTHING", [(post_id, n) for n in names])


async def post_tags(conn: Conn, post_id: int) -> list[str]:
    rows = await conn.fetch("SELECT name FROM tags WHERE post_id = $1 ORDER BY name", post_id)
    return [r["name"] for r in rows]


async def insert_media(conn: Conn, fields: dict[str, Any]) -> int:
    return await insert_row(conn, "media", fields)


async def replace_remote_media(conn: Conn, post_id: int, actor_id: int,
                               items: list[dict[str, Any]]) -> None:
    await conn.execute("DELETE FROM media WHERE post_id = $1", post_id)
    for position, item in enumerate(items):
        await insert_media(conn, {**item, "post_id": post_id, "actor_id": actor_id,
                                  "position": position})


async def post_media(conn: Conn, post_id: int) -> list[Record]:
    return await conn.fetch("SELECT * FROM media WHERE post_id = $1 ORDER BY position, id",
                            post_id)


async def set_post_media(conn: Conn, post_id: int, actor_id: int, media_ids: list[int]) -> int:
    """Make `media_ids` a local post's attachments, in that order: those it had and keeps (an
    edit), and uploads of `actor_id` in no post yet whose safety check is done (it settles in a
    worker, maybe while the post is made); those it no longer has are detached. Returns how
    many of `media_ids` it now has."""
    await conn.execute("UPDATE media SET post_id = NULL WHERE post_id = $1 AND NOT (id = ANY($2))",
                       post_id, media_ids)
    attached = 0
    for position, media_id in enumerate(media_ids):
        status = await conn.execute(
            "UPDATE media SET post_id = $1, position = $2 WHERE id = $3 AND actor_id = $4"
            " AND (post_id = $1 OR post_id IS NULL AND check_state = 'ready')",
            post_id, position, media_id, actor_id)
        attached += int(status.split()[-1])
    return attached


async def media_by_id(conn: Conn, media_id: int) -> Record | None:
    return await conn.fetchrow("SELECT * FROM media WHERE id = $1", media_id)


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
                              post_id: int | None = None) -> None:
    await conn.execute(
        "INSERT INTO notifications (user_id, type, from_actor_id, post_id) VALUES ($1, $2, $3, $4)",
        user_id, type, from_actor_id, post_id)
