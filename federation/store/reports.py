"""SQL of reports, a local user's or another server's Flag (migrations/0012_moderation.sql)."""

from __future__ import annotations

import asyncpg


async def open_report(conn: asyncpg.Connection, *, reporter_id: int, target_id: int, category: str,
                      comment: str, post_ids: list[int], cameo_ids: list[int],
                      origin_domain: str | None = None, forwarded: bool = False) -> tuple[int, bool]:
    """Open a report, or merge it into the reporter's open one on the same account: its comment
    added, its posts and cameos joined, the newest category kept. Staff are told of a new report
    (`admin.report`). Returns the report's id and whether it is new; in the caller's transaction."""
    row = await conn.fetchrow(
        "INSERT INTO reports (reporter_id, target_id, origin_domain, category, comment, forwarded)"
        " VALUES ($1, $2, $3, $4, $5, $6)"
        " ON CONFLICT (reporter_id, target_id) WHERE resolved_at IS NULL AND reporter_id IS NOT NULL"
        " DO UPDATE SET category = EXCLUDED.category, updated_at = now(),"
        "  forwarded = reports.forwarded OR EXCLUDED.forwarded,"
        "  comment = CASE WHEN EXCLUDED.comment IN ('', reports.comment) THEN reports.comment"
        "   WHEN reports.comment = '' THEN EXCLUDED.comment"
        "   ELSE reports.comment || E'\\n\\n' || EXCLUDED.comment END"
        " RETURNING id, xmax = 0 AS created",
        reporter_id, target_id, origin_domain, category, comment, forwarded)
    await conn.execute(
        "INSERT INTO report_posts (report_id, post_id) SELECT $1, unnest($2::bigint[])"
        " ON CONFLICT DO NOTHING", row["id"], post_ids)
    await conn.execute(
        "INSERT INTO report_cameos (report_id, cameo_id) SELECT $1, unnest($2::bigint[])"
        " ON CONFLICT DO NOTHING", row["id"], cameo_ids)
    if row["created"]:
        await conn.execute(
            "INSERT INTO notifications (user_id, type, from_actor_id, report_id)"
            " SELECT id, 'admin.report', $2, $1 FROM users"
            " WHERE role IN ('admin', 'moderator') AND NOT disabled", row["id"], reporter_id)
    return row["id"], row["created"]

