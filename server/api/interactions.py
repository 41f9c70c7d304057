"""Who liked or boosted a post (`GET /api/v1/statuses/:id/favourited_by` and `/reblogged_by`),
and the posts the signed-in person liked (`GET /api/v1/favourites`), as Mastodon lists them."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from asyncpg import Record
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from .. import store
from ..http import current_user, fed, paged, paging, pool
from . import entities
from .follows import ACCOUNTS_PER_PAGE, MOST_ACCOUNTS_PER_PAGE
from .statuses import render_statuses, visible_or_404

# Mastodon's DEFAULT_STATUSES_LIMIT, and twice it at most.
STATUSES_PER_PAGE, MOST_STATUSES_PER_PAGE = 20, 40


async def post_accounts(request: Request) -> Response:
    """Only for a post the viewer may see; paged by like (or boost), newest first."""
    user = await current_user(request, required=False)
    post = await visible_or_404(request, user)
    page = paging(dict(request.query_params), default=ACCOUNTS_PER_PAGE, most=MOST_ACCOUNTS_PER_PAGE)
    listed = store.likers if request.url.path.endswith("/favourited_by") else store.boosters
    rows = await listed(pool(request), post["id"], **page)
    async with pool(request).acquire() as conn:
        found = await entities.accounts(fed(request), conn, rows)
    return paged(request, found, cursors=[row["page_id"] for row in rows], limit=page["limit"])


async def own_posts_page(request: Request, listed: Callable[..., Awaitable[list[Record]]]) -> Response:
    """A page of a list of posts that the signed-in person keeps (`listed` finds them, each
    with its `page_id`), leaving out those they may no longer see."""
    user = await current_user(request)
    page = paging(dict(request.query_params), default=STATUSES_PER_PAGE, most=MOST_STATUSES_PER_PAGE)
    rows = await listed(pool(request), user["actor_id"], **page)
    rendered = await render_statuses(request, rows, user["actor_id"])
    return paged(request, rendered, cursors=[row["page_id"] for row in rows], limit=page["limit"])


async def favourites(request: Request) -> Response:
    """The signed-in person's liked posts, paged by like."""
    return await own_posts_page(request, store.liked_posts)


routes = [
    Route("/api/v1/statuses/{status_id:id}/favourited_by", post_accounts),
    Route("/api/v1/statuses/{status_id:id}/reblogged_by", post_accounts),
    Route("/api/v1/favourites", favourites),
]
