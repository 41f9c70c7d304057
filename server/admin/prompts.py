"""The admin API of the prompt policy: the terms admins add to its lists, the refusal log, and
the accounts flagged as public figures. Admins only; `likeness admin prompt-terms`,
`prompt-refusals` and `public-figure` do the same from the command line."""

from __future__ import annotations

from typing import Any

import asyncpg
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from federation import prompts
from federation import store as fstore
from federation.context import Federation
from federation.objects import iso
from policy.prompts import TERM_CATEGORIES, PromptError, check_identity, check_term

from ..api import entities
from ..http import current_staff, error, fed, int_param, parse_id, pool, read_params


def term_json(row: asyncpg.Record) -> dict[str, Any]:
    return {"id": str(row["id"]), "category": row["category"], "term": row["term"],
            "created_at": iso(row["created_at"])}


def refusal_json(row: asyncpg.Record) -> dict[str, Any]:
    return {"id": str(row["id"]), "account_uri": row["actor_uri"],
            "account_id": str(row["actor_id"]) if row["actor_id"] is not None else None,
            "source": row["source"], "category": row["category"], "rule": row["rule"],
            "term": row["term"], "prompt_digest": row["prompt_digest"],
            "prompt_chars": row["prompt_chars"], "cameos": list(row["cameo_uris"]),
            "created_at": iso(row["created_at"])}


def figure_json(federation: Federation, actor: asyncpg.Record) -> dict[str, Any]:
    return {**entities.account(federation, actor), "public_figure": actor["public_figure"],
            "verified_identity": actor["verified_identity"]}


async def add_term(federation: Federation, category: Any, term: Any, user_id: int | None
                   ) -> asyncpg.Record | None:
    """Add a term (PromptError if malformed); None if its category has it already."""
    category, term = check_term(category, term)
    row = await fstore.insert_prompt_term(federation.pool, category, term, user_id)
    await prompts.rules_changed(federation)
    return row


async def remove_term(federation: Federation, category: Any, term: Any) -> asyncpg.Record | None:
    category, term = check_term(category, term)
    row = await fstore.delete_prompt_term_by_text(federation.pool, category, term)
    await prompts.rules_changed(federation)
    return row


async def set_public_figure(federation: Federation, actor_id: int, flag: bool) -> asyncpg.Record | None:
    row = await fstore.set_public_figure(federation.pool, actor_id, flag)
    await prompts.rules_changed(federation)
    return row


async def set_verified_identity(federation: Federation, actor_id: int, identity: Any
                                ) -> asyncpg.Record | None:
    """Record who a local account is (PromptError if malformed), or clear it with None; None
    if no local account has that id."""
    checked = None if identity is None else check_identity(identity)
    row = await fstore.set_verified_identity(federation.pool, actor_id, checked)
    await prompts.rules_changed(federation)
    return row


async def list_terms(request: Request) -> Response:
    await current_staff(request, admin_only=True)
    category = request.query_params.get("category")
    if category is not None and category not in TERM_CATEGORIES:
        return error(400, f"category must be one of {', '.join(TERM_CATEGORIES)}")
    rows = await fstore.prompt_terms(pool(request))
    return JSONResponse([term_json(r) for r in rows if category in (None, r["category"])])


async def create_term(request: Request) -> Response:
    user = await current_staff(request, admin_only=True)
    params = await read_params(request, limit=10_000)
    try:
        row = await add_term(fed(request), params.get("category"), params.get("term"), user["id"])
    except PromptError as exc:
        return error(422, str(exc))
    if row is None:
        return error(409, "that term is in this category already")
    return JSONResponse(term_json(row), status_code=201)


async def delete_term(request: Request) -> Response:
    await current_staff(request, admin_only=True)
    term_id = parse_id(request.path_params["term_id"])
    row = await fstore.delete_prompt_term(pool(request), term_id) if term_id is not None else None
    if row is None:
        return error(404, "no such term")
    await prompts.rules_changed(fed(request))
    return JSONResponse(term_json(row))


async def list_refusals(request: Request) -> Response:
    """The refusal log, newest first (`max_id` pages back)."""
    await current_staff(request, admin_only=True)
    params = dict(request.query_params)
    category = params.get("category")
    if category is not None and category not in (*TERM_CATEGORIES, "instructions"):
        return error(400, "category must be a prompt policy category")
    rows = await fstore.prompt_refusals(
        pool(request), limit=int_param(params, "limit", default=40, low=1, high=200),
        max_id=int_param(params, "max_id", low=0), category=category,
        actor_id=int_param(params, "account_id", low=0))
    return JSONResponse([refusal_json(r) for r in rows])


async def list_public_figures(request: Request) -> Response:
    await current_staff(request, admin_only=True)
    rows = await fstore.public_figures(pool(request))
    return JSONResponse([figure_json(fed(request), r) for r in rows])


async def flag_public_figure(request: Request) -> Response:
    """POST flags the account (local or remote) as a public figure, DELETE unflags it."""
    await current_staff(request, admin_only=True)
    account_id = parse_id(request.path_params["account_id"])
    actor = await fstore.actor_by_id(pool(request), account_id) if account_id is not None else None
    if actor is None or actor["type"] == "Application":
        return error(404, "no such account")
    row = await set_public_figure(fed(request), actor["id"], request.method == "POST")
    assert row is not None
    return JSONResponse(figure_json(fed(request), row))


async def verify_identity(request: Request) -> Response:
    """POST records who a local account is in the world (`identity`: "Taylor Swift"), as staff
    verified it; DELETE clears it. Only this lets the account's cameos carry a public figure's
    name; a remote account cannot be verified here."""
    await current_staff(request, admin_only=True)
    account_id = parse_id(request.path_params["account_id"])
    actor = await fstore.actor_by_id(pool(request), account_id) if account_id is not None else None
    if actor is None or actor["type"] == "Application":
        return error(404, "no such account")
    if not actor["local"]:
        return error(422, "only a local account's identity can be verified here")
    identity = None
    if request.method == "POST":
        given = (await read_params(request)).get("identity")
        identity = "" if given is None else given  # a POST without one is malformed, not a clear
    try:
        row = await set_verified_identity(fed(request), actor["id"], identity)
    except PromptError as exc:
        return error(422, str(exc))
    assert row is not None
    return JSONResponse(figure_json(fed(request), row))


routes = [
    Route("/api/v1/admin/prompt_terms", list_terms),
    Route("/api/v1/admin/prompt_terms", create_term, methods=["POST"]),
    Route("/api/v1/admin/prompt_terms/{term_id}", delete_term, methods=["DELETE"]),
    Route("/api/v1/admin/prompt_refusals", list_refusals),
    Route("/api/v1/admin/public_figures", list_public_figures),
    Route("/api/v1/admin/accounts/{account_id}/public_figure", flag_public_figure,
          methods=["POST", "DELETE"]),
    Route("/api/v1/admin/accounts/{account_id}/verified_identity", verify_identity,
          methods=["POST", "DELETE"]),
]
