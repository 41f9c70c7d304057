"""Mastodon's bookmarks: posts a person keeps for later, seen by no one else
(`POST /api/v1/statuses/:id/bookmark` and `/unbookmark`, `GET /api/v1/bookmarks`)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from federation import store as fstore

from .. import store
from ..http import current_user, pool
from .interactions import own_posts_page
from .statuses import render_statuses, visible_or_404


async def bookmark(request: Request) -> Response:
    """Bookmark a post the person may see (a boost's original, as Mastodon keeps it), or take
    the bookmark off; the post as it now is."""
    user = await current_user(request)
    post = await visible_or_404(request, user)
    if post["reblog_of_id"]:
        post = await fstore.post_by_id(pool(request), post["reblog_of_id"])
    if request.url.path.endswith("/unbookmark"):
        await store.unbookmark(pool(request), user["actor_id"], post["id"])
    else:
        await store.bookmark(pool(request), user["actor_id"], post["id"])
    return JSONResponse((await render_statuses(request, [post], user["actor_id"]))[0])


async def bookmarks(request: Request) -> Response:
    """The person's bookmarked posts, paged by bookmark."""
    return await own_posts_page(request, store.bookmarked_posts)


routes = [
    Route("/api/v1/statuses/{status_id:id}/bookmark", bookmark, methods=["POST"]),
    Route("/api/v1/statuses/{status_id:id}/unbookmark", bookmark, methods=["POST"]),
    Route("/api/v1/bookmarks", bookmarks),
]
