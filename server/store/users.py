"""SQL of users: accounts and roles, tokens, instance settings and usage."""

from __future__ import annotations

from typing import Any

from .common import Conn, Record


async def insert_user(conn: Conn, username: str, email: str, password_hash: str, role: str) -> int:
    return await conn.fetchval(
        "INSERT INTO users (username, email, password_hash, role) VALUES ($1, $2, $3, $4)"
        " RETURNING id", username, email, password_hash, role)


async def user_by_login(conn: Conn, login: str) -> Record | None:
    """A user by username or email, as typed at a login prompt, and whether their account is
    suspended."""
    return await conn.fetchrow(
        "SELECT u.*, a.suspended FROM users u JOIN actors a ON a.user_id = u.id"
        " WHERE lower(u.username) = lower($1) OR lower(u.email) = lower($1)"
        " ORDER BY lower(u.username) = lower($1) DESC LIMIT 1", login)


async def user_by_id(conn: Conn, user_id: int) -> Record | None:
    return await conn.fetchrow("SELECT * FROM users WHERE id = $1", user_id)


async def username_taken(conn: Conn, username: str) -> bool:
    return await conn.fetchval(
        "SELECT EXISTS (SELECT 1 FROM users WHERE lower(username) = lower($1))"
        " OR EXISTS (SELECT 1 FROM actors WHERE local AND lower(username) = lower($1))", username)


async def email_taken(conn: Conn, email: str) -> bool:
    return await conn.fetchval("SELECT EXISTS (SELECT 1 FROM users WHERE lower(email) = lower($1))",
                               email)


async def set_role(conn: Conn, username: str, role: str) -> bool:
    status = await conn.execute("UPDATE users SET role = $2 WHERE lower(username) = lower($1)",
                                username, role)
    return status.endswith(" 1")


# The filters of Mastodon's admin account list, each a condition on `a` (actors) and `u` (users).
ACCOUNT_FILTERS = {
    "local": "a.local", "remote": "NOT a.local",
    "active": "NOT a.suspended", "suspended": "a.suspended", "silenced": "a.silenced",
    "sensitized": "a.sensitized", "disabled": "coalesce(u.disabled, false)",
    "staff": "u.role IN ('admin', 'moderator')",
}


async def admin_accounts(conn: Conn, *, filters: frozenset[str] = frozenset(), username: str | None = None,
                         domain: str | None = None, limit: int, max_id: int | None = None,
                         min_id: int | None = None) -> list[Record]:
    """Accounts (actors, local and remote; not this server's own actor) for staff, newest first:
    `filters` names ACCOUNT_FILTERS that must all hold, `username` is a prefix of the user name
    (any case), `domain` a remote server's. `max_id` pages back, `min_id` forward."""
    flags = [name in filters for name in ACCOUNT_FILTERS]
    conditions = "".join(f" AND (NOT ${i} OR {cond})" for i, cond in enumerate(ACCOUNT_FILTERS.values(), 6))
    prefix = None
    if username:
        prefix = username.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    order = "ASC" if min_id and not max_id else "DESC"
    rows = await conn.fetch(
        "SELECT a.* FROM actors a LEFT JOIN users u ON u.id = a.user_id"
        " WHERE NOT (a.local AND a.type = 'Application')"
        " AND ($1::text IS NULL OR lower(a.username) LIKE $1 ESCAPE '\\')"
        " AND ($2::text IS NULL OR NOT a.local AND lower(a.domain) = lower($2))"
        " AND ($3::bigint IS NULL OR a.id < $3) AND ($4::bigint IS NULL OR a.id > $4)"
        f"{conditions} ORDER BY a.id {order} LIMIT $5",
        prefix, domain, max_id, min_id, limit, *flags)
    return sorted(rows, key=lambda r: r["id"], reverse=True)


async def update_password(conn: Conn, user_id: int, password_hash: str) -> None:
    await conn.execute("UPDATE users SET password_hash = $2 WHERE id = $1", user_id, password_hash)


async def insert_token(conn: Conn, token_hash: bytes, user_id: int | None, scopes: str,
                       app_id: int | None = None) -> None:
    await conn.execute(
        "INSERT INTO access_tokens (token_hash, user_id, scopes, app_id) VALUES ($1, $2, $3, $4)",
        token_hash, user_id, scopes, app_id)


async def user_by_token(conn: Conn, token_hash: bytes) -> Record | None:
    """The token's user, with `actor_id`, the token's `scopes` and `app_id`, and `has_filters`:
    whether the person has any filter, so that a timeline with none skips their look-up (a
    round trip per page for the most people)."""
    return await conn.fetchrow(
        "SELECT u.*, t.token_hash, t.scopes, t.app_id, a.id AS actor_id,"
        " EXISTS (SELECT FROM filters f WHERE f.actor_id = a.id) AS has_filters FROM access_tokens t"
        " JOIN users u ON u.id = t.user_id JOIN actors a ON a.user_id = u.id"
        " WHERE t.token_hash = $1 AND NOT u.disabled AND NOT a.suspended", token_hash)


async def delete_token(conn: Conn, token_hash: bytes, app_id: int | None) -> bool:
    """Delete a token issued to no app or to `app_id`; False when it was issued to another app
    (and stays). A token that does not exist counts as deleted."""
    return await conn.fetchval(
        "WITH gone AS (DELETE FROM access_tokens WHERE token_hash = $1"
        " AND (app_id IS NULL OR app_id = $2) RETURNING 1)"
        " SELECT EXISTS (SELECT FROM gone)"
        " OR NOT EXISTS (SELECT FROM access_tokens WHERE token_hash = $1)", token_hash, app_id)


async def setting(conn: Conn, key: str) -> Any:
    return await conn.fetchval("SELECT value FROM instance_settings WHERE key = $1", key)


async def first_setting(conn: Conn, key: str, value: Any) -> Any:
    """The setting `key`, stored as `value` if it has none yet: the first start to ask wins."""
    await conn.execute("INSERT INTO instance_settings (key, value) VALUES ($1, $2)"
                       " ON CONFLICT (key) DO NOTHING", key, value)
    return await setting(conn, key)


async def set_setting(conn: Conn, key: str, value: Any) -> None:
    await conn.execute(
        "INSERT INTO instance_settings (key, value) VALUES ($1, $2)"
        " ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value", key, value)


async def usage(conn: Conn) -> Record:
    return await conn.fetchrow(
        "SELECT (SELECT count(*) FROM users WHERE NOT disabled) AS users,"
        " (SELECT count(*) FROM posts WHERE local AND deleted_at IS NULL"
        "  AND reblog_of_id IS NULL AND in_reply_to_id IS NULL) AS posts,"
        " (SELECT count(*) FROM posts WHERE local AND deleted_at IS NULL"
        "  AND in_reply_to_id IS NOT NULL) AS comments")
