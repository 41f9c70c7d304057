"""Mastodon's mutes: `POST /api/v1/accounts/:id/mute` and `/unmute`, and `GET /api/v1/mutes`.

A muted account's posts and boosts, and boosts of its posts, stay out of the muter's home, list,
public, hashtag and For You timelines and streams, and with `notifications` (the default) its
notifications too; its profile still shows what it posts, as Mastodon's does. A mute for a
`duration` ends by itself: the queries compare its end with the time (server/store/mutes.py)."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from federation.objects import iso

from .. import store
from ..http import bool_param, current_user, error, fed, paged, paging, pool, read_params
from . import entities
from .accounts import relationship_json, target_account
from .follows import ACCOUNTS_PER_PAGE, MOST_ACCOUNTS_PER_PAGE

# The longest mute for a time, in seconds (68 years): longer is forever, which `duration` 0 says.
MOST_DURATION_S = 2**31 - 1


def _duration(params: dict[str, Any]) -> int | None:
    """The `duration` sent, in seconds; None for none or 0 (until unmuted). Raises ValueError
    for anything but a whole number of seconds from 0 to MOST_DURATION_S."""
    raw = params.get("duration")
    if raw is None or raw == "":
        return None
    if isinstance(raw, bool) or not isinstance(raw, int | str) or not str(raw).strip().isdigit():
        raise ValueError("duration must be a whole number of seconds (0: until unmuted)")
    seconds = int(str(raw).strip())
    if seconds > MOST_DURATION_S:
        raise ValueError(f"duration must be at most {MOST_DURATION_S} seconds (0: until unmuted)")
    return seconds or None


async def mute(request: Request) -> Response:
    """Mute an account, or change a mute (its `notifications`, its `duration`); the Relationship."""
    user = await current_user(request)
    target = await target_account(request)
    if target["id"] == user["actor_id"]:
        return error(422, "you cannot mute yourself")
    params = await read_params(request)
    try:
        duration_s = _duration(params)
    except ValueError as exc:
        return error(422, str(exc))
    hide_notifications = bool_param(params, "notifications", default=True)
    await store.mute(pool(request), user["actor_id"], target["id"], hide_notifications, duration_s)
    return JSONResponse(await relationship_json(request, user["actor_id"], target["id"]))


async def unmute(request: Request) -> Response:
    user = await current_user(request)
    target = await target_account(request)
    await store.unmute(pool(request), user["actor_id"], target["id"])
    return JSONResponse(await relationship_json(request, user["actor_id"], target["id"]))


async def mutes(request: Request) -> Response:
    """The accounts the person mutes, paged by mute, newest first, each with `mute_expires_at`."""
    user = await current_user(request)
    page = paging(dict(request.query_params), default=ACCOUNTS_PER_PAGE, most=MOST_ACCOUNTS_PER_PAGE)
    # From the primary: a mute shows at once.
    rows = await store.muted_account_page(pool(request), user["actor_id"], **page)
    async with pool(request).acquire() as conn:
        found = await entities.accounts(fed(request), conn, rows)
    for account, row in zip(found, rows, strict=True):
        account["mute_expires_at"] = iso(row["mute_expires_at"]) if row["mute_expires_at"] else None
    return paged(request, found, cursors=[row["page_id"] for row in rows], limit=page["limit"])


routes = [
    Route("/api/v1/accounts/{account_id:id}/mute", mute, methods=["POST"]),
    Route("/api/v1/accounts/{account_id:id}/unmute", unmute, methods=["POST"]),
    Route("/api/v1/mutes", mutes),
]
