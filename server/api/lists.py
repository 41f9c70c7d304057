"""Mastodon's lists: CRUD (`/api/v1/lists`), their accounts (`/api/v1/lists/:id/accounts`),
the lists that hold an account (`/api/v1/accounts/:id/lists`) and each list's timeline
(`/api/v1/timelines/list/:id`). An exclusive list's members leave the home timeline."""

from __future__ import annotations

from typing import Any

import asyncpg
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .. import store
from ..http import (
    bool_param,
    current_user,
    error,
    fed,
    int_param,
    paged,
    paging,
    parse_id,
    pool,
    read_params,
    read_pool,
)
from . import entities, filters
from .accounts import target_account
from .follows import ACCOUNTS_PER_PAGE, MOST_ACCOUNTS_PER_PAGE
from .interactions import MOST_STATUSES_PER_PAGE, STATUSES_PER_PAGE
from .statuses import render_statuses

REPLIES_POLICIES = ("followed", "list", "none")
MAX_TITLE = 256
# The most accounts one request adds or removes.
MAX_ACCOUNT_IDS = 100


def list_json(row: asyncpg.Record) -> dict[str, Any]:
    return {"id": str(row["id"]), "title": row["title"], "replies_policy": row["replies_policy"],
            "exclusive": row["exclusive"]}


async def _own_list(request: Request, user: asyncpg.Record) -> asyncpg.Record:
    row = await store.list_by_id(pool(request), user["actor_id"], request.path_params["list_id"])
    if row is None:
        raise HTTPException(404, "no such list")
    return row


def _fields(params: dict[str, Any], current: asyncpg.Record | None) -> dict[str, Any]:
    title = params.get("title", current["title"] if current else None)
    if not isinstance(title, str) or not title.strip():
        raise HTTPException(422, "title can't be blank")
    if len(title) > MAX_TITLE:
        raise HTTPException(422, f"title is longer than {MAX_TITLE} characters")
    policy = params.get("replies_policy") or (current["replies_policy"] if current else "list")
    if policy not in REPLIES_POLICIES:
        raise HTTPException(422, f"replies_policy must be one of {', '.join(REPLIES_POLICIES)}")
    return {"title": title, "replies_policy": policy,
            "exclusive": bool_param(params, "exclusive", current["exclusive"] if current else False)}


async def all_lists(request: Request) -> Response:
    user = await current_user(request)
    rows = await store.lists_of(pool(request), user["actor_id"])
    return JSONResponse([list_json(row) for row in rows])


async def get_list(request: Request) -> Response:
    user = await current_user(request)
    return JSONResponse(list_json(await _own_list(request, user)))


async def create_list(request: Request) -> Response:
    user = await current_user(request)
    fields = _fields(await read_params(request), None)
    row = await store.insert_list(pool(request), user["actor_id"], **fields)
    if row is None:
        return error(422, f"you have the most lists one may, {store.MAX_LISTS}")
    return JSONResponse(list_json(row))


async def update_list(request: Request) -> Response:
    user = await current_user(request)
    row = await _own_list(request, user)
    fields = _fields(await read_params(request), row)
    return JSONResponse(list_json(await store.update_list(pool(request), row["id"], **fields)))


async def delete_list(request: Request) -> Response:
    user = await current_user(request)
    if not await store.delete_list(pool(request), user["actor_id"], request.path_params["list_id"]):
        return error(404, "no such list")
    return JSONResponse({})


async def list_accounts(request: Request) -> Response:
    """Paged by when each was added; `limit=0` gives them all, as Mastodon's does."""
    user = await current_user(request)
    row = await _own_list(request, user)
    params = dict(request.query_params)
    page = paging(params, default=ACCOUNTS_PER_PAGE, most=MOST_ACCOUNTS_PER_PAGE)
    if int_param(params, "limit") == 0:
        page["limit"] = None
    rows = await store.list_members(pool(request), user["actor_id"], row["id"], **page)
    async with pool(request).acquire() as conn:
        found = await entities.accounts(fed(request), conn, rows)
    return paged(request, found, cursors=[r["page_id"] for r in rows], limit=page["limit"])


async def _account_ids(request: Request) -> list[int]:
    params = await read_params(request)
    raw = params.get("account_ids")
    raw = [raw] if isinstance(raw, str | int) else raw
    if not isinstance(raw, list) or not raw:
        raise HTTPException(422, "account_ids must name one or more accounts")
    if len(raw) > MAX_ACCOUNT_IDS:
        raise HTTPException(422, f"at most {MAX_ACCOUNT_IDS} account_ids at once")
    ids = [parse_id(value) for value in raw]
    if None in ids:
        raise HTTPException(422, "account_ids must be account ids")
    return list(dict.fromkeys(ids))


async def add_accounts(request: Request) -> Response:
    """Only accounts the person follows, as Mastodon's lists hold; none is added if one is not."""
    user = await current_user(request)
    row = await _own_list(request, user)
    ids = await _account_ids(request)
    followed = await store.followed_among(pool(request), user["actor_id"], ids)
    if missing := [i for i in ids if i not in followed]:
        return error(422, f"you can only list accounts you follow: you do not follow {missing[0]}")
    await store.add_list_members(pool(request), row["id"], ids)
    return JSONResponse({})


async def remove_accounts(request: Request) -> Response:
    user = await current_user(request)
    row = await _own_list(request, user)
    await store.remove_list_members(pool(request), row["id"], await _account_ids(request))
    return JSONResponse({})


async def account_lists(request: Request) -> Response:
    user = await current_user(request)
    target = await target_account(request)
    return JSONResponse([list_json(r) for r in await store.lists_with(pool(request), user["actor_id"],
                                                                            target["id"])])


async def list_timeline(request: Request) -> Response:
    user = await current_user(request)
    row = await _own_list(request, user)
    page = paging(dict(request.query_params), default=STATUSES_PER_PAGE, most=MOST_STATUSES_PER_PAGE)
    # The list itself from the primary (one just made is found), its posts from the replica.
    rows = await store.list_timeline(read_pool(request), user["actor_id"], row, **page)
    rendered = await render_statuses(request, rows, user["actor_id"], read_pool=read_pool(request))
    # Mastodon applies the home context's filters to lists.
    await filters.annotate(request, rendered, user, "home")
    return paged(request, rendered, cursors=[r["id"] for r in rows], limit=page["limit"])


routes = [
    Route("/api/v1/lists", all_lists),
    Route("/api/v1/lists", create_list, methods=["POST"]),
    Route("/api/v1/lists/{list_id:id}", get_list),
    Route("/api/v1/lists/{list_id:id}", update_list, methods=["PUT"]),
    Route("/api/v1/lists/{list_id:id}", delete_list, methods=["DELETE"]),
    Route("/api/v1/lists/{list_id:id}/accounts", list_accounts),
    Route("/api/v1/lists/{list_id:id}/accounts", add_accounts, methods=["POST"]),
    Route("/api/v1/lists/{list_id:id}/accounts", remove_accounts, methods=["DELETE"]),
    Route("/api/v1/accounts/{account_id:id}/lists", account_lists),
    Route("/api/v1/timelines/list/{list_id:id}", list_timeline),
]
