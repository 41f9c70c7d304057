"""Mastodon's search: accounts, statuses and hashtags."""

from __future__ import annotations

from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from federation import actors, posts
from federation import store as fstore
from federation.errors import Ignore
from federation.fetch import FetchError
from federation.html import normalised_hashtag, parse_hashtags

from .. import store
from ..http import (
    bool_param,
    current_user,
    fed,
    pool,
)
from .accounts import account_json
from .statuses import render_statuses


async def _search(request: Request) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Accounts and statuses for `q`: a handle (`resolve=true` looks a remote one up through
    WebFinger), a local username, or the URL of an actor or a post."""
    user = await current_user(request, required=False)
    query = request.query_params.get("q", "").strip()
    if not query:
        raise HTTPException(400, "q is required")
    found: list[dict[str, Any]] = []
    statuses: list[dict[str, Any]] = []
    if query.startswith(("https://", "http://")):
        try:
            actor = await actors.actor(fed(request), query) if user else None
            if actor:
                found.append(await account_json(request, actor))
        except (actors.ActorError, FetchError, ValueError):
            try:
                post = await posts.post(fed(request), query) if user else None
                if post is not None:
                    statuses = await render_statuses(request, [post], user["actor_id"])
            except (Ignore, FetchError, ValueError, actors.ActorError):
                pass
    elif "@" in query.lstrip("@"):
        handle = query.lstrip("@")
        resolve = bool_param(dict(request.query_params), "resolve") and user is not None
        name, _, host = handle.partition("@")
        try:
            if host.lower() == fed(request).domain:
                actor = await fstore.local_actor(pool(request), name)
            elif resolve:
                actor = await actors.resolve_handle(fed(request), handle)
            else:
                actor = await fstore.actor_by_handle(pool(request), name, host)
        except (actors.ActorError, FetchError, OSError):
            actor = None
        if actor is not None:
            found.append(await account_json(request, actor))
    else:
        actor = await fstore.local_actor(pool(request), query.lstrip("@"))
        if actor is not None:
            found.append(await account_json(request, actor))
    return found, statuses


async def _hashtags(request: Request) -> list[dict[str, Any]]:
    """Mastodon's Tag entities for a `q` that is one word or `#word`: the tags it begins."""
    raw = request.query_params.get("q", "").strip().removeprefix("#")
    if not raw or parse_hashtags(f"#{raw}") != [normalised_hashtag(raw)]:
        return []
    user = await current_user(request, required=False)
    names = await store.hashtags_starting(pool(request), normalised_hashtag(raw),
                                          user["actor_id"] if user else None, limit=20)
    return [{"name": name, "url": f"{fed(request).base_url}/tags/{name}", "history": []} for name in names]


async def search(request: Request) -> Response:
    found, statuses = await _search(request)
    return JSONResponse({"accounts": found, "statuses": statuses, "hashtags": await _hashtags(request)})


async def search_accounts(request: Request) -> Response:
    """`GET /api/v1/accounts/search`, which mastodon-py's `account_search` calls."""
    found, _ = await _search(request)
    return JSONResponse(found)


routes = [
    Route("/api/v1/accounts/search", search_accounts),
    Route("/api/v2/search", search),
]
