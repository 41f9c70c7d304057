"""Whether the database answers (/readyz), and how far its replica lags (/metrics)."""

from __future__ import annotations

from .common import Conn


async def database_answers(conn: Conn) -> bool:
    return await conn.fetchval("SELECT true") is True


async def wal_position(conn: Conn) -> str:
    """Where the primary's write-ahead log ends now, as PostgreSQL writes an LSN."""
    return await conn.fetchval("SELECT pg_current_wal_lsn()::text")


async def replay_behind(conn: Conn, position: str) -> int | None:
    """Bytes of the primary's log up to `position` that this replica has not applied yet; None
    when `conn` is no standby (a writable server given as the replica lags nothing)."""
    behind = await conn.fetchval("SELECT pg_wal_lsn_diff($1::text::pg_lsn, pg_last_wal_replay_lsn())",
                                 position)
    return None if behind is None else max(0, int(behind))
