"""What a Mastodon server publishes to every app besides its instance description: custom emojis
(`GET /api/v1/custom_emojis`) and announcements (`GET /api/v1/announcements`). This server has
neither, and answers as a Mastodon server without them does, since apps ask at start-up."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ..http import current_user


async def custom_emojis(request: Request) -> Response:
    return JSONResponse([])


async def announcements(request: Request) -> Response:
    """Only for the signed in, as Mastodon's."""
    await current_user(request)
    return JSONResponse([])


routes = [
    Route("/api/v1/custom_emojis", custom_emojis),
    Route("/api/v1/announcements", announcements),
]
