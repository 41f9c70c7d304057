"""Mastodon's `GET /api/v1/preferences`: the defaults an app applies to what the person posts
and reads. This server keeps none per person, so they are Mastodon's own defaults."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ..http import current_user


async def preferences(request: Request) -> Response:
    await current_user(request)
    return JSONResponse({
        "posting:default:visibility": "public",
        "posting:default:sensitive": False,
        "posting:default:language": None,
        "reading:expand:media": "default",
        "reading:expand:spoilers": False,
    })


routes = [
    Route("/api/v1/preferences", preferences),
]
