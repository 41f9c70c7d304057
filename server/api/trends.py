"""Mastodon's trends (`GET /api/v1/trends/tags`, `/statuses`, `/links`): what public posts of
the last week (store.TREND_DAYS) used, linked to and liked most, counted as they are
asked for. Paged by `offset`, as Mastodon pages them."""

from __future__ import annotations

import html
import re
from collections import defaultdict
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .. import store
from ..http import current_user, int_param, pool
from .statuses import render_statuses
from .tags import history, tag_entities

# Mastodon's defaults for each list, and twice them at most.
TAGS_PER_PAGE, STATUSES_PER_PAGE, LINKS_PER_PAGE = 10, 20, 10
# How many recent posts with links are read to count links.
LINKING_POSTS_READ = 2000
# A link in a post's HTML: its address and its other attributes. Mentions and hashtags are
# links too, marked by their class (or rel="tag"); they are not what trends count.
_LINK = re.compile(r"<a\s([^>]*)>")
_HREF = re.compile(r'\bhref="([^"]+)"')
_NOT_A_LINK = re.compile(r'\bclass="[^"]*\b(?:mention|hashtag)\b|\brel="tag"')


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
    names = await store.trending_tags(pool(request), limit=limit, offset=offset)
    found = await tag_entities(request, names, user["actor_id"] if user else None)
    return _offset_paged(request, found, full=len(found) >= limit, limit=limit, offset=offset)


async def statuses(request: Request) -> Response:
    user = await current_user(request, required=False)
    viewer = user["actor_id"] if user else None
    limit, offset = _offset_page(request, STATUSES_PER_PAGE)
    rows = await store.trending_posts(pool(request), viewer, limit=limit, offset=offset)
    return _offset_paged(request, await render_statuses(request, rows, viewer), full=len(rows) >= limit,
                         limit=limit, offset=offset)


def links_in(content: str) -> set[str]:
    """The http(s) links a post's HTML holds, besides its mentions and hashtags."""
    found = set()
    for attributes in _LINK.findall(content):
        href = _HREF.search(attributes)
        url = html.unescape(href[1]) if href else ""
        if url.startswith(("https://", "http://")) and not _NOT_A_LINK.search(attributes):
            found.add(url)
    return found


def preview_card(url: str, days: list[dict[str, int]]) -> dict[str, Any]:
    """Mastodon's Trends::Link: a PreviewCard with its `history`. This server fetches no page
    to preview, so the card names the address alone."""
    host = url.split("/")[2]
    return {"url": url, "title": url, "description": "", "language": None, "type": "link",
            "author_name": "", "author_url": "", "provider_name": host, "provider_url": "",
            "html": "", "width": 0, "height": 0, "image": None, "image_description": "",
            "embed_url": "", "blurhash": None, "published_at": None, "authors": [],
            "history": history(days)}


async def links(request: Request) -> Response:
    """The links the most accounts put in their recent public posts (then the most used)."""
    limit, offset = _offset_page(request, LINKS_PER_PAGE)
    posts = await store.recent_linking_posts(pool(request), most=LINKING_POSTS_READ)
    uses: dict[str, dict[int, list[int]]] = defaultdict(lambda: defaultdict(list))
    for post in posts:
        for url in links_in(post["content"]):
            uses[url][post["age"]].append(post["actor_id"])
    ranked = sorted(uses, key=lambda url: (-len({a for ids in uses[url].values() for a in ids}),
                                           -sum(len(ids) for ids in uses[url].values()), url))
    found = [preview_card(url, [{"age": age, "uses": len(ids), "accounts": len(set(ids))}
                                for age, ids in uses[url].items()])
             for url in ranked[offset:offset + limit]]
    return _offset_paged(request, found, full=len(ranked) > offset + limit, limit=limit, offset=offset)


routes = [
    Route("/api/v1/trends", tags),
    Route("/api/v1/trends/tags", tags),
    Route("/api/v1/trends/statuses", statuses),
    Route("/api/v1/trends/links", links),
]
