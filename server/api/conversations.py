"""Mastodon's conversations (`/api/v1/conversations`): the threads of direct posts one is in,
with the others in each, its last post and whether it is unread; marking one read, and taking
one out of the list (until a newer post comes)."""

from __future__ import annotations

from typing import Any

import asyncpg
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .. import store
from ..http import current_user, fed, paged, paging, pool
from . import entities
from .interactions import MOST_STATUSES_PER_PAGE, STATUSES_PER_PAGE
from .statuses import render_statuses


async def _render(request: Request, rows: list[asyncpg.Record], viewer: int) -> list[dict[str, Any]]:
    """Conversation entities: `accounts` are the others in it; unread while its last post is
    someone else's and newer than where the person read it."""
    post_ids = [post_id for row in rows for post_id in row["post_ids"]]
    people: dict[int, set[int]] = {}
    for found in await store.conversation_participants(pool(request), post_ids):
        people.setdefault(found["post_id"], set()).add(found["actor_id"])
    actors = await store.actors_by_ids(pool(request), list({a for ids in people.values() for a in ids}))
    lasts = await store.posts_by_ids(pool(request), [row["last_id"] for row in rows])
    rendered = {s["id"]: s for s in await render_statuses(request, list(lasts.values()), viewer)}
    items = []
    for row in rows:
        others = sorted({a for post_id in row["post_ids"] for a in people.get(post_id, ())} - {viewer})
        items.append({
            "id": str(row["root_id"]),
            "unread": row["last_actor_id"] != viewer and row["last_id"] > (row["last_read_id"] or 0),
            "accounts": [entities.account(fed(request), actors[a]) for a in others if a in actors],
            "last_status": rendered.get(str(row["last_id"])),
        })
    return items


async def conversations(request: Request) -> Response:
    user = await current_user(request)
    page = paging(dict(request.query_params), default=STATUSES_PER_PAGE, most=MOST_STATUSES_PER_PAGE)
    rows = await store.conversations_of(pool(request), user["actor_id"], **page)
    items = await _render(request, rows, user["actor_id"])
    return paged(request, items, cursors=[row["last_id"] for row in rows], limit=page["limit"])


async def _conversation(request: Request, user: asyncpg.Record) -> asyncpg.Record:
    rows = await store.conversations_of(pool(request), user["actor_id"], limit=1,
                                                   root_id=request.path_params["conversation_id"])
    if not rows:
        raise HTTPException(404, "no such conversation")
    return rows[0]


async def read(request: Request) -> Response:
    user = await current_user(request)
    row = await _conversation(request, user)
    await store.mark_conversation_read(pool(request), user["actor_id"], row["root_id"],
                                                     row["last_id"])
    row = await _conversation(request, user)
    return JSONResponse((await _render(request, [row], user["actor_id"]))[0])


async def remove(request: Request) -> Response:
    user = await current_user(request)
    row = await _conversation(request, user)
    await store.remove_conversation(pool(request), user["actor_id"], row["root_id"],
                                                  row["last_id"])
    return JSONResponse({})


routes = [
    Route("/api/v1/conversations", conversations),
    Route("/api/v1/conversations/{conversation_id:id}", remove, methods=["DELETE"]),
    Route("/api/v1/conversations/{conversation_id:id}/read", read, methods=["POST"]),
]
