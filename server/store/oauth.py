"""SQL of OAuth apps and authorization codes."""

from __future__ import annotations

from .common import Conn, Record


async def insert_app(conn: Conn, *, name: str, website: str | None, redirect_uris: list[str], scopes: str,
                     client_id: str, client_secret_hash: bytes) -> Record:
    return await conn.fetchrow(
        "INSERT INTO oauth_apps (name, website, redirect_uris, scopes, client_id, client_secret_hash)"
        " VALUES ($1, $2, $3, $4, $5, $6) RETURNING *",
        name, website, redirect_uris, scopes, client_id, client_secret_hash)


async def app_by_client_id(conn: Conn, client_id: str) -> Record | None:
    return await conn.fetchrow("SELECT * FROM oauth_apps WHERE client_id = $1", client_id)


async def app_by_token(conn: Conn, token_hash: bytes) -> Record | None:
    return await conn.fetchrow(
        "SELECT o.* FROM access_tokens t JOIN oauth_apps o ON o.id = t.app_id WHERE t.token_hash = $1",
        token_hash)


async def insert_code(conn: Conn, code_hash: bytes, *, app_id: int, user_id: int, redirect_uri: str,
                      scopes: str, code_challenge: str | None, lifetime_s: int) -> None:
    await conn.execute(
        "INSERT INTO oauth_codes (code_hash, app_id, user_id, redirect_uri, scopes, code_challenge,"
        " expires_at) VALUES ($1, $2, $3, $4, $5, $6, now() + make_interval(secs => $7))",
        code_hash, app_id, user_id, redirect_uri, scopes, code_challenge, lifetime_s)


async def take_code(conn: Conn, code_hash: bytes) -> Record | None:
    """The code, once: taking it deletes it, and an expired one is gone too."""
    row = await conn.fetchrow(
        "DELETE FROM oauth_codes WHERE code_hash = $1 RETURNING *, expires_at > now() AS live", code_hash)
    return row if row is not None and row["live"] else None
