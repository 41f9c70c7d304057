"""Mastodon's notifications API."""

from __future__ import annotations

from typing import Any

import asyncpg
from starlette.requests import HTTPConnection, Request
from starlette.responses import Response
from starlette.routing import Route

from .. import store
from ..http import (
    current_user,
    fed,
    int_param,
    paged,
    pool,
)
from . import entities, reports
from .statuses import render_statuses


async def notifications(request: Request) -> Response:
    user = await current_user(request)
    params = dict(request.query_params)
    types, excluded = request.query_params.getlist("types[]"), request.query_params.getlist("exclude_types[]")
    rows = await store.notifications(pool(request), user["id"],
                                     limit=int_param(params, "limit", default=20, low=1, high=80),
                                     max_id=int_param(params, "max_id", low=0),
                                     since_id=int_param(params, "since_id", low=0),
                                     min_id=int_param(params, "min_id", low=0),
                                     types=types or None, exclude_types=excluded)
    return paged(request, await render_notifications(request, rows, user["actor_id"]))


async def render_notifications(request: HTTPConnection, rows: list[asyncpg.Record], viewer: int, *,
                               staff: bool | None = None) -> list[dict[str, Any]]:
    """Notification rows as Mastodon `Notification` entities for `viewer`, leaving out those
    whose post the viewer may no longer see (`staff` as `render_statuses` takes it)."""
    actors_ = await store.actors_by_ids(pool(request), [r["from_actor_id"] for r in rows
                                                        if r["from_actor_id"]])
    posts_ = await store.posts_by_ids(pool(request), [r["post_id"] for r in rows if r["post_id"]])
    rendered_posts = {p["id"]: p for p in await render_statuses(request, list(posts_.values()),
                                                                viewer, staff=staff)}
    async with pool(request).acquire() as conn:
        moderation = await reports.notification_fields(fed(request), conn, rows)
    items = []
    for row in rows:
        if row["post_id"] and str(row["post_id"]) not in rendered_posts:
            continue  # its post was deleted, hidden, or is no longer the user's to see
        sender = actors_.get(row["from_actor_id"])
        items.append({
            "id": str(row["id"]), "type": row["type"],
            "created_at": entities.iso(row["created_at"]),
            "account": entities.account(fed(request), sender) if sender else None,
            "status": rendered_posts[str(row["post_id"])] if row["post_id"] else None,
            **moderation.get(row["id"], {}),
        })
    return items


routes = [
    Route("/api/v1/notifications", notifications),
]
