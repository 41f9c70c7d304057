"""Mastodon's notifications API: the list, one notification, dismissing one or all, and the
unread count against the notifications marker (Mastodon 4.3).

Apps are shown Mastodon's types only, so that none meets a type it does not know: a reply is a
`mention`, as Mastodon tells it, and Likeness's own types (consent to remixes, cameo uses,
quotes, resolved reports) only reach a client that names them in `types[]` or `include_types[]`.
"""

from __future__ import annotations

from typing import Any

import asyncpg
from starlette.requests import HTTPConnection, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .. import store
from ..http import current_user, error, fed, int_param, paged, paging, pool
from . import entities, reports
from .statuses import render_statuses

MASTODON_TYPES = frozenset({
    "mention", "status", "reblog", "follow", "follow_request", "favourite", "poll", "update",
    "admin.sign_up", "admin.report", "severed_relationships", "moderation_warning", "move",
})
LIKENESS_TYPES = frozenset({
    "quote", "remix_request", "remix_use", "cameo_used", "remix_authorized", "remix_rejected",
    "remix_revoked", "report_resolved", "shutdown_notice",
})
# Stored types that clients are told as another: Mastodon has no `reply`, it mentions.
TOLD_AS = {"reply": "mention"}
# The types whose notification carries its post under `status` (Mastodon's
# REST::NotificationSerializer leaves the key out of every other type).
WITH_STATUS = frozenset({"favourite", "reblog", "status", "mention", "poll", "update", "quote"})

# Mastodon's DEFAULT_NOTIFICATIONS_LIMIT, and twice it at most.
PER_PAGE, MOST_PER_PAGE = 40, 80
# Mastodon's unread count: how far it counts unless asked for more, and how far at most.
COUNT_UP_TO, MOST_COUNTED = 100, 1000


def stored_types(request: HTTPConnection) -> list[str]:
    """The stored types a request (or a stream, by the query it was opened with) asks for: those
    named in `types[]` (Mastodon's or ours), else Mastodon's and ours named in `include_types[]`,
    less `exclude_types[]`. Unknown names are ignored, as Mastodon ignores them."""
    query = request.query_params
    named = query.getlist("types[]") or query.getlist("types")
    if named:
        asked = {kind for kind in named if kind in MASTODON_TYPES | LIKENESS_TYPES}
    else:
        included = query.getlist("include_types[]") or query.getlist("include_types")
        asked = MASTODON_TYPES | {kind for kind in included if kind in LIKENESS_TYPES}
    asked -= set(query.getlist("exclude_types[]") or query.getlist("exclude_types"))
    asked |= {stored for stored, told in TOLD_AS.items() if told in asked}
    return sorted(asked)


async def render_notifications(request: HTTPConnection, rows: list[asyncpg.Record], viewer: int, *,
                               staff: bool | None = None) -> list[dict[str, Any]]:
    """Notification rows as Mastodon `Notification` entities for `viewer`, leaving out those
    whose post the viewer may no longer see (`staff` as `render_statuses` takes it)."""
    senders = await store.actors_by_ids(pool(request), [r["from_actor_id"] for r in rows
                                                        if r["from_actor_id"]])
    posts_ = await store.posts_by_ids(pool(request), [r["post_id"] for r in rows if r["post_id"]])
    rendered_posts = {p["id"]: p for p in await render_statuses(request, list(posts_.values()),
                                                                viewer, staff=staff)}
    async with pool(request).acquire() as conn:
        moderation = await reports.notification_fields(fed(request), conn, rows)
        moved = await entities.moved_accounts(fed(request), conn, list(senders.values()))
    items = []
    for row in rows:
        if row["post_id"] and str(row["post_id"]) not in rendered_posts:
            continue  # its post was deleted, hidden, or is no longer the user's to see
        sender = senders.get(row["from_actor_id"])
        kind = TOLD_AS.get(row["type"], row["type"])
        account = entities.account(fed(request), sender, moved=moved.get(sender["moved_to_uri"] or "")) \
            if sender else None
        item = {"id": str(row["id"]), "type": kind, "created_at": entities.iso(row["created_at"]),
                "account": account}
        if kind in WITH_STATUS:
            item["status"] = rendered_posts[str(row["post_id"])] if row["post_id"] else None
        items.append({**item, **moderation.get(row["id"], {})})
    return items


async def notifications(request: Request) -> Response:
    user = await current_user(request)
    page = paging(dict(request.query_params), default=PER_PAGE, most=MOST_PER_PAGE)
    rows = await store.notifications(pool(request), user["id"], types=stored_types(request), **page)
    items = await render_notifications(request, rows, user["actor_id"])
    return paged(request, items, cursors=[row["id"] for row in rows], limit=page["limit"])


async def notification(request: Request) -> Response:
    user = await current_user(request)
    row = await store.notification(pool(request), user["id"], request.path_params["notification_id"])
    found = await render_notifications(request, [row], user["actor_id"]) if row else []
    if not found:
        return error(404, "no such notification")
    return JSONResponse(found[0])


async def dismiss(request: Request) -> Response:
    user = await current_user(request)
    notification_id = request.path_params["notification_id"]
    if not await store.dismiss_notification(pool(request), user["id"], notification_id):
        return error(404, "no such notification")
    return JSONResponse({})


async def clear(request: Request) -> Response:
    user = await current_user(request)
    await store.clear_notifications(pool(request), user["id"])
    return JSONResponse({})


async def unread_count(request: Request) -> Response:
    """The notifications after the notifications marker (all, without one), of the types asked
    for, counted up to `limit`."""
    user = await current_user(request)
    limit = int_param(dict(request.query_params), "limit", default=COUNT_UP_TO, low=1)
    count = await store.unread_notifications(pool(request), user["id"], types=stored_types(request),
                                             up_to=min(limit or COUNT_UP_TO, MOST_COUNTED))
    return JSONResponse({"count": count})


routes = [
    Route("/api/v1/notifications", notifications),
    Route("/api/v1/notifications/unread_count", unread_count),
    Route("/api/v1/notifications/clear", clear, methods=["POST"]),
    Route("/api/v1/notifications/{notification_id:id}", notification),
    Route("/api/v1/notifications/{notification_id:id}/dismiss", dismiss, methods=["POST"]),
]
