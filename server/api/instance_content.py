"""What a Mastodon server publishes to every app besides its instance description: custom emojis
(`GET /api/v1/custom_emojis`) and announcements (`GET /api/v1/announcements`). This server has
no emojis, and one announcement only while it closes down; it answers as a Mastodon server
without them does otherwise, since apps ask at start-up."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from federation import store as fstore
from federation.actors import closing_summary

from ..http import current_user, pool


async def custom_emojis(request: Request) -> Response:
    return JSONResponse([])


async def announcements(request: Request) -> Response:
    """Only for the signed in, as Mastodon's. A server closing down announces it here
    (server/shutdown.py), as a Mastodon Announcement that ends when the server does."""
    await current_user(request)
    notice = await fstore.shutdown_notice(pool(request))
    if notice is None:
        return JSONResponse([])
    return JSONResponse([{
        "id": "1", "content": closing_summary(notice), "starts_at": None, "ends_at": notice["until"],
        "all_day": False, "published_at": notice["announced"], "updated_at": notice["announced"],
        "read": False, "mentions": [], "statuses": [], "tags": [], "emojis": [], "reactions": []}])


routes = [
    Route("/api/v1/custom_emojis", custom_emojis),
    Route("/api/v1/announcements", announcements),
]
