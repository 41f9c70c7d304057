"""SQL of the inbox: activities received, then processed under a lease."""

from __future__ import annotations

from typing import Any

from .common import Conn, Record


async def insert_inbox_activities(conn: Conn, activities: list[tuple[str, str, str, str, float | None]]
                                  ) -> list[Record | None]:
    """Keep incoming activities, each (activity uri, type, signer uri, JSON text, lease), in one
    statement; for each, its row, or None when its id was seen before (a redelivery, or an
    earlier one of the same list). The JSON text goes to jsonb as it came: PostgreSQL parses it.
    A row with a lease (seconds) is kept claimed for one attempt by the caller, as
    `claim_inbox_activity` would claim it, in the same statement (federation/leases.py)."""
    inserted = {row["activity_uri"]: row for row in await conn.fetch(
        "INSERT INTO inbox_activities (activity_uri, type, signer_uri, body, attempts, leased_until)"
        " SELECT uri, type, signer, body::jsonb, CASE WHEN lease IS NULL THEN 0 ELSE 1 END,"
        " now() + make_interval(secs => lease)"
        " FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::float8[])"
        " WITH ORDINALITY AS given (uri, type, signer, body, lease, n) ORDER BY n"
        " ON CONFLICT (activity_uri) DO NOTHING RETURNING *",
        *(list(column) for column in zip(*activities, strict=True)))}
    return [inserted.pop(uri, None) for uri, *_ in activities]


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
