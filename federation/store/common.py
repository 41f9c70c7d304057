"""What the federation store's modules share: the connection type and the row-writing helpers."""

from __future__ import annotations

from typing import Any

import asyncpg

Conn = asyncpg.Connection | asyncpg.Pool
Record = asyncpg.Record


async def insert_row(conn: Conn, table: str, fields: dict[str, Any], tail: str = "RETURNING id") -> Any:
    """INSERT one row of `fields` into `table` (names from this package's callers, never from a
    request; the values are parameters)."""
    params = ", ".join(f"${i}" for i in range(1, len(fields) + 1))
    return await conn.fetchval(f"INSERT INTO {table} ({', '.join(fields)}) VALUES ({params}) {tail}",
                               *fields.values())


# Tables that tie a set of actors to a row, and the column naming the row; only these names
# reach the SQL of the two functions below.
ACTOR_SETS = {"mentions": "post_id", "cameo_approved_actors": "cameo_id"}


async def replace_actor_set(conn: Conn, table: str, owner_id: int, actor_ids: list[int]) -> None:
    column = ACTOR_SETS[table]
    await conn.execute(f"DELETE FROM {table} WHERE {column} = $1", owner_id)
    await conn.executemany(f"INSERT INTO {table} ({column}, actor_id) VALUES ($1, $2)"
                           " ON CONFLICT DO NOTHING", [(owner_id, a) for a in actor_ids])


async def actor_set(conn: Conn, table: str, owner_id: int) -> list[Record]:
    return await conn.fetch(
        f"SELECT a.* FROM {table} s JOIN actors a ON a.id = s.actor_id WHERE s.{ACTOR_SETS[table]} = $1"
        " ORDER BY a.id", owner_id)
