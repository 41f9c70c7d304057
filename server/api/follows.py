"""Mastodon's lists of an account's followers and of the accounts it follows
(`GET /api/v1/accounts/:id/followers` and `/following`)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from .. import store
from ..http import current_user, fed, paged, paging, pool, read_pool
from . import entities
from .accounts import target_account

# Mastodon's DEFAULT_ACCOUNTS_LIMIT, and twice it at most.
ACCOUNTS_PER_PAGE, MOST_ACCOUNTS_PER_PAGE = 40, 80


async def follow_accounts(request: Request) -> Response:
    """Paged by follow, newest first. Empty to someone the account blocks, as Mastodon hides
    them (this server has no setting to hide the lists themselves)."""
    user = await current_user(request, required=False)
    target = await target_account(request, read_pool=read_pool(request))
    page = paging(dict(request.query_params), default=ACCOUNTS_PER_PAGE, most=MOST_ACCOUNTS_PER_PAGE)
    if user is not None:
        # From the primary: a block takes effect at once.
        relationship = await store.relationship(pool(request), user["actor_id"], target["id"])
        if relationship["blocked_by"]:
            return paged(request, [])
    rows = await store.follow_accounts(read_pool(request), target["id"],
                                       followers=request.url.path.endswith("/followers"), **page)
    async with read_pool(request).acquire() as conn:
        found = await entities.accounts(fed(request), conn, rows)
    return paged(request, found, cursors=[row["page_id"] for row in rows], limit=page["limit"])


routes = [
    Route("/api/v1/accounts/{account_id:id}/followers", follow_accounts),
    Route("/api/v1/accounts/{account_id:id}/following", follow_accounts),
]
