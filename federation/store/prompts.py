"""SQL of the prompt policy: admin terms, public figures and refusals."""

from __future__ import annotations

from typing import Any

from .common import Conn, Record, insert_row


async def prompt_terms(conn: Conn) -> list[Record]:
    return await conn.fetch("SELECT * FROM prompt_terms ORDER BY category, term")


async def insert_prompt_term(conn: Conn, category: str, term: str, user_id: int | None) -> Record | None:
    """The new term; None if the category has it already."""
    return await conn.fetchrow(
        "INSERT INTO prompt_terms (category, term, created_by) VALUES ($1, $2, $3)"
        " ON CONFLICT (category, term) DO NOTHING RETURNING *", category, term, user_id)


async def delete_prompt_term(conn: Conn, term_id: int) -> Record | None:
    return await conn.fetchrow("DELETE FROM prompt_terms WHERE id = $1 RETURNING *", term_id)


async def delete_prompt_term_by_text(conn: Conn, category: str, term: str) -> Record | None:
    return await conn.fetchrow("DELETE FROM prompt_terms WHERE category = $1 AND term = $2"
                               " RETURNING *", category, term)


async def public_figures(conn: Conn) -> list[Record]:
    return await conn.fetch("SELECT * FROM actors WHERE public_figure ORDER BY id")


async def set_public_figure(conn: Conn, actor_id: int, flag: bool) -> Record | None:
    return await conn.fetchrow("UPDATE actors SET public_figure = $2 WHERE id = $1 RETURNING *",
                               actor_id, flag)


async def set_verified_identity(conn: Conn, actor_id: int, identity: str | None) -> Record | None:
    """Record (or clear, with None) who a local account is, as staff verified it; None if no
    local account has that id."""
    return await conn.fetchrow("UPDATE actors SET verified_identity = $2 WHERE id = $1 AND local"
                               " RETURNING *", actor_id, identity)


async def insert_prompt_refusal(conn: Conn, fields: dict[str, Any]) -> int:
    return await insert_row(conn, "prompt_refusals", fields)


async def prompt_refusals(conn: Conn, *, limit: int, max_id: int | None = None,
                          category: str | None = None, actor_id: int | None = None) -> list[Record]:
    return await conn.fetch(
        "SELECT * FROM prompt_refusals WHERE ($2::bigint IS NULL OR id < $2)"
        " AND ($3::text IS NULL OR category = $3) AND ($4::bigint IS NULL OR actor_id = $4)"
        " ORDER BY id DESC LIMIT $1", limit, max_id, category, actor_id)
