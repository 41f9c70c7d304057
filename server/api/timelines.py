"""Mastodon's timelines: home, public and hashtag."""

from __future__ import annotations

from typing import Any

import asyncpg
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from federation.html import normalised_hashtag

from .. import store
from ..http import (
    bool_param,
    current_user,
    int_param,
    paged,
    read_pool,
)
from ..safety import is_staff
from . import filters
from .statuses import render_statuses


def paging(params: dict[str, Any]) -> dict[str, Any]:
    return {
        "limit": int_param(params, "limit", default=20, low=1, high=40),
        "max_id": int_param(params, "max_id", low=0),
        "since_id": int_param(params, "since_id", low=0),
        "min_id": int_param(params, "min_id", low=0),
    }


async def home(request: Request) -> Response:
    user = await current_user(request)
    staff = await is_staff(request)
    rows = await store.home_timeline(read_pool(request), user["actor_id"], staff=staff,
                                     **paging(dict(request.query_params)))
    rendered = await render_statuses(request, rows, user["actor_id"], staff=staff, detailed=True,
                                     read_pool=read_pool(request))
    await filters.annotate(request, rendered, user, "home")
    return paged(request, rendered)


async def public(request: Request) -> Response:
    user = await current_user(request, required=False)
    params = dict(request.query_params)
    viewer = user["actor_id"] if user else None
    rows = await store.public_timeline(read_pool(request), viewer,
                                       local_only=bool_param(params, "local"), **paging(params))
    return await _public_page(request, rows, user)


async def tag_timeline(request: Request) -> Response:
    """`GET /api/v1/timelines/tag/:hashtag`: public posts with the tag, newest first."""
    user = await current_user(request, required=False)
    params = dict(request.query_params)
    viewer = user["actor_id"] if user else None
    tag = normalised_hashtag(request.path_params["hashtag"].removeprefix("#"))
    rows = await store.public_timeline(read_pool(request), viewer, local_only=bool_param(params, "local"),
                                       tag=tag, **paging(params))
    return await _public_page(request, rows, user)


async def _public_page(request: Request, rows: list[asyncpg.Record], user: asyncpg.Record | None) -> Response:
    """A page of a public timeline, each post with the filters of a signed-in viewer it matches."""
    rendered = await render_statuses(request, rows, user["actor_id"] if user else None,
                                     read_pool=read_pool(request))
    if user is not None:
        await filters.annotate(request, rendered, user, "public")
    return paged(request, rendered)


routes = [
    Route("/api/v1/timelines/home", home),
    Route("/api/v1/timelines/public", public),
    Route("/api/v1/timelines/tag/{hashtag}", tag_timeline),
]
