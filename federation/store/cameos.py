"""SQL of cameos: their references and approved actors."""

from __future__ import annotations

from typing import Any

from .common import Conn, Record, actor_set, insert_row, replace_actor_set


async def insert_cameo(conn: Conn, fields: dict[str, Any]) -> int:
    return await insert_row(conn, "cameos", fields)


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
    await replace_actor_set(conn, "cameo_approved_actors", cameo_id, actor_ids)


async def cameo_approved(conn: Conn, cameo_id: int) -> list[Record]:
    return await actor_set(conn, "cameo_approved_actors", cameo_id)


async def store_remote_cameo(conn: Conn, actor_id: int, fields: dict[str, Any]) -> int | None:
    """Insert or refresh another server's cameo by its uri; None if that uri is another actor's
    (or one of ours)."""
    names = ", ".join(fields)
    params = ", ".join(f"${i}" for i in range(3, len(fields) + 3))
    updates = ", ".join(f"{name} = EXCLUDED.{name}" for name in fields if name != "uri")
    return await conn.fetchval(
        f"INSERT INTO cameos (actor_id, local, {names}) VALUES ($1, $2, {params})"
        f" ON CONFLICT (uri) DO UPDATE SET {updates}, updated_at = now(), deleted_at = NULL"
        " WHERE cameos.actor_id = EXCLUDED.actor_id AND NOT cameos.local RETURNING id",
        actor_id, False, *fields.values())


async def retire_remote_cameos(conn: Conn, actor_id: int, kept_ids: list[int]) -> None:
    """Mark deleted the cameos of a remote actor that its server no longer lists to us."""
    await conn.execute(
        "UPDATE cameos SET deleted_at = now() WHERE actor_id = $1 AND NOT local AND deleted_at IS NULL"
        " AND NOT id = ANY($2::bigint[])", actor_id, kept_ids)


async def audience_on_domain(conn: Conn, actor_id: int, domain: str) -> Record:
    """Whether a local actor has accepted followers on `domain`, and mutuals (followers it
    follows back); and the ids of its cameos that list an actor of `domain` as approved."""
    return await conn.fetchrow(
        "SELECT EXISTS (SELECT 1 FROM follows f JOIN actors a ON a.id = f.follower_id"
        "   WHERE f.followed_id = $1 AND f.accepted AND a.domain = $2) AS followers,"
        " EXISTS (SELECT 1 FROM follows f JOIN actors a ON a.id = f.follower_id"
        "   JOIN follows back ON back.follower_id = $1 AND back.followed_id = a.id AND back.accepted"
        "   WHERE f.followed_id = $1 AND f.accepted AND a.domain = $2) AS mutuals,"
        " ARRAY(SELECT DISTINCT c.cameo_id FROM cameo_approved_actors c JOIN actors a ON a.id = c.actor_id"
        "   JOIN cameos k ON k.id = c.cameo_id WHERE k.actor_id = $1 AND a.domain = $2) AS approved",
        actor_id, domain)
