"""Mastodon's trends (`GET /api/v1/trends/tags`, `/statuses`, `/links`): what public posts of
the last week (client_store.TREND_DAYS) used and liked most, counted as they are asked for.
Paged by `offset`, as Mastodon pages them."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from . import client_store
from .api import render_statuses
from .http import current_user, int_param, pool
from .tags import tag_entities

# Mastodon's defaults for each list, and twice them at most.
TAGS_PER_PAGE, STATUSES_PER_PAGE = 10, 20


def _offset_page(request: Request, default: int) -> tuple[int, int]:
    params = dict(request.query_params)
    limit = min(int_param(params, "limit", default=default, low=1) or default, default * 2)
    return limit, int_param(params, "offset", default=0, low=0) or 0


def _offset_paged(request: Request, items: list[dict[str, Any]], *, full: bool, limit: int,
                  offset: int) -> Response:
    """Mastodon's Link header for lists paged by offset: `next` after a `full` page (of rows
    found, shown or not), `prev` past the first."""
    links = []
    if full:
        links.append(f'<{request.url.include_query_params(offset=offset + limit)}>; rel="next"')
    if offset > 0:
        links.append(f'<{request.url.include_query_params(offset=max(offset - limit, 0))}>; rel="prev"')
    return JSONResponse(items, headers={"Link": ", ".join(links)} if links else {})


async def tags(request: Request) -> Response:
    user = await current_user(request, required=False)
    limit, offset = _offset_page(request, TAGS_PER_PAGE)
    names = await client_store.trending_tags(pool(request), limit=limit, offset=offset)
    found = await tag_entities(request, names, user["actor_id"] if user else None)
    return _offset_paged(request, found, full=len(found) >= limit, limit=limit, offset=offset)


async def statuses(request: Request) -> Response:
    user = await current_user(request, required=False)
    viewer = user["actor_id"] if user else None
    limit, offset = _offset_page(request, STATUSES_PER_PAGE)
    rows = await client_store.trending_posts(pool(request), viewer, limit=limit, offset=offset)
    return _offset_paged(request, await render_statuses(request, rows, viewer), full=len(rows) >= limit,
                         limit=limit, offset=offset)


routes = [
    Route("/api/v1/trends", tags),
    Route("/api/v1/trends/tags", tags),
    Route("/api/v1/trends/statuses", statuses),
]
