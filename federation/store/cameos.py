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
