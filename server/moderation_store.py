"""SQL of moderation: the report queue, the audit log, and the flags actions set on accounts,
posts and cameos (migrations/0012_moderation.sql). Reports are opened in federation/store/reports.py
(`open_report`), which the Flag handler shares."""

from __future__ import annotations

import asyncpg

Conn = asyncpg.Connection | asyncpg.Pool
Record = asyncpg.Record

# The actors column each account action sets; only these names reach the SQL.
ACCOUNT_FLAGS = {"suspend": "suspended", "silence": "silenced", "sensitive": "sensitized"}


# --- reports ---------------------------------------------------------------------------------------

async def report(conn: Conn, report_id: int) -> Record | None:
    return await conn.fetchrow("SELECT * FROM reports WHERE id = $1", report_id)


async def lock_report(conn: asyncpg.Connection, report_id: int) -> Record | None:
    return await conn.fetchrow("SELECT * FROM reports WHERE id = $1 FOR UPDATE", report_id)


async def reports(conn: Conn, *, resolved: bool | None, account_id: int | None, limit: int,
                  max_id: int | None) -> list[Record]:
    """Reports newest first: open or resolved (None: both), optionally on one account."""
    return await conn.fetch(
        "SELECT * FROM reports WHERE ($1::boolean IS NULL OR (resolved_at IS NOT NULL) = $1)"
        " AND ($2::bigint IS NULL OR target_id = $2) AND ($3::bigint IS NULL OR id < $3)"
        " ORDER BY id DESC LIMIT $4", resolved, account_id, max_id, limit)


async def reports_by_ids(conn: Conn, report_ids: list[int]) -> dict[int, Record]:
    rows = await conn.fetch("SELECT * FROM reports WHERE id = ANY($1::bigint[])", report_ids)
    return {r["id"]: r for r in rows}


async def report_posts(conn: Conn, report_ids: list[int]) -> dict[int, list[int]]:
    rows = await conn.fetch("SELECT report_id, post_id FROM report_posts"
                            " WHERE report_id = ANY($1::bigint[]) ORDER BY post_id", report_ids)
    found: dict[int, list[int]] = {}
    for row in rows:
        found.setdefault(row["report_id"], []).append(row["post_id"])
    return found


async def report_cameos(conn: Conn, report_ids: list[int]) -> dict[int, list[Record]]:
    rows = await conn.fetch("SELECT rc.report_id, c.* FROM report_cameos rc"
                            " JOIN cameos c ON c.id = rc.cameo_id WHERE rc.report_id = ANY($1::bigint[])"
                            " ORDER BY c.id", report_ids)
    found: dict[int, list[Record]] = {}
    for row in rows:
        found.setdefault(row["report_id"], []).append(row)
    return found


async def assign_report(conn: Conn, report_id: int, user_id: int | None) -> None:
    await conn.execute("UPDATE reports SET assigned_to = $2, updated_at = now() WHERE id = $1",
                       report_id, user_id)


async def resolve_report(conn: Conn, report_id: int, user_id: int | None, resolved: bool) -> None:
    await conn.execute(
        "UPDATE reports SET resolved_at = CASE WHEN $3 THEN now() END,"
        " resolved_by = CASE WHEN $3 THEN $2::bigint END, updated_at = now() WHERE id = $1",
        report_id, user_id, resolved)


# --- the audit log -----------------------------------------------------------------------------------

async def insert_action(conn: Conn, *, moderator_id: int | None, action: str, target_kind: str,
                        account_id: int | None, post_id: int | None = None, cameo_id: int | None = None,
                        report_id: int | None = None, text: str = "", old_role: str | None = None,
                        new_role: str | None = None) -> int:
    """An audit entry; `old_role` and `new_role` only for `change_role` (migration 0015)."""
    return await conn.fetchval(
        "INSERT INTO moderation_actions (moderator_id, action, target_kind, account_id, post_id,"
        " cameo_id, report_id, text, old_role, new_role)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id",
        moderator_id, action, target_kind, account_id, post_id, cameo_id, report_id, text, old_role,
        new_role)


# An audit entry with the moderator's user name (NULL: the command line).
ACTION = ("SELECT m.*, u.username AS moderator FROM moderation_actions m"
          " LEFT JOIN users u ON u.id = m.moderator_id")


async def report_actions(conn: Conn, report_ids: list[int]) -> dict[int, list[Record]]:
    rows = await conn.fetch(f"{ACTION} WHERE m.report_id = ANY($1::bigint[]) ORDER BY m.id", report_ids)
    found: dict[int, list[Record]] = {}
    for row in rows:
        found.setdefault(row["report_id"], []).append(row)
    return found


async def actions_by_ids(conn: Conn, action_ids: list[int]) -> dict[int, Record]:
    rows = await conn.fetch(f"{ACTION} WHERE m.id = ANY($1::bigint[])", action_ids)
    return {r["id"]: r for r in rows}


async def account_actions(conn: Conn, account_id: int, limit: int) -> list[Record]:
    """The newest audit entries on one account: actions, role changes and moves of reports on it."""
    return await conn.fetch(f"{ACTION} WHERE m.account_id = $1 ORDER BY m.id DESC LIMIT $2",
                            account_id, limit)


# --- notifications -------------------------------------------------------------------------------------

async def notify(conn: Conn, user_id: int, type: str, *, report_id: int | None = None,
                 action_id: int | None = None, post_id: int | None = None) -> None:
    """A moderation notification: no `from_actor_id`, so that no moderator is named."""
    await conn.execute(
        "INSERT INTO notifications (user_id, type, report_id, moderation_action_id, post_id)"
        " VALUES ($1, $2, $3, $4, $5)", user_id, type, report_id, action_id, post_id)


# --- effects on accounts, posts and cameos ---------------------------------------------------------------

async def set_account_flag(conn: Conn, actor_id: int, action: str, value: bool) -> None:
    """Set or clear what `action` (suspend, silence, sensitive) marks on an account. A
    moderator's suspension or unsuspension takes the place of the account's own server's
    (migration 0015), so that no Update from that server lifts it."""
    origin = ", suspended_by_origin = false" if action == "suspend" else ""
    await conn.execute(f"UPDATE actors SET {ACCOUNT_FLAGS[action]} = $2{origin} WHERE id = $1",
                       actor_id, value)


async def set_user_disabled(conn: Conn, user_id: int, disabled: bool) -> None:
    await conn.execute("UPDATE users SET disabled = $2 WHERE id = $1", user_id, disabled)


async def sever_follows(conn: Conn, actor_id: int) -> list[Record]:
    """End every follow to and from an account, accepted or asked for; the follows ended."""
    return await conn.fetch("DELETE FROM follows WHERE follower_id = $1 OR followed_id = $1 RETURNING *",
                            actor_id)


async def set_post_hidden(conn: Conn, post_id: int, hidden: bool) -> None:
    await conn.execute("UPDATE posts SET hidden_at = CASE WHEN $2 THEN coalesce(hidden_at, now()) END"
                       " WHERE id = $1", post_id, hidden)


async def mark_post_sensitive(conn: Conn, post_id: int) -> None:
    await conn.execute("UPDATE posts SET sensitive = true WHERE id = $1", post_id)


async def pause_cameo(conn: Conn, cameo_id: int) -> None:
    await conn.execute("UPDATE cameos SET paused = true, updated_at = now() WHERE id = $1", cameo_id)


async def lock_user(conn: asyncpg.Connection, username: str) -> Record | None:
    """A local user by name, locked for a change of role, with their actor's id."""
    return await conn.fetchrow(
        "SELECT u.*, a.id AS actor_id FROM users u JOIN actors a ON a.user_id = u.id"
        " WHERE lower(u.username) = lower($1) FOR UPDATE OF u", username)


async def user_of_actor(conn: Conn, actor_id: int | None) -> int | None:
    """The local user behind an actor, if any."""
    if actor_id is None:
        return None
    return await conn.fetchval("SELECT user_id FROM actors WHERE id = $1", actor_id)
