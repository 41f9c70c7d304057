"""SQL of the inbox: activities received, then processed under a lease."""

from __future__ import annotations

from typing import Any

from .common import Conn, Record


async def insert_inbox_activity(conn: Conn, activity_uri: str, type: str, signer_uri: str,
                                body: dict[str, Any], lease_s: float | None = None) -> Record | None:
    """Keep an incoming activity; None when its id was seen before (a redelivery). With
    `lease_s`, it is kept claimed for one attempt by the caller, as `claim_inbox_activity` would
    claim it, in the same statement (federation/leases.py)."""
    return await conn.fetchrow(
        "INSERT INTO inbox_activities (activity_uri, type, signer_uri, body, attempts, leased_until)"
        " VALUES ($1, $2, $3, $4, CASE WHEN $5::float8 IS NULL THEN 0 ELSE 1 END,"
        " now() + make_interval(secs => $5::float8))"
        " ON CONFLICT (activity_uri) DO NOTHING RETURNING *",
        activity_uri, type, signer_uri, body, lease_s)


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
