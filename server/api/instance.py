"""Mastodon's instance entity, v1 and v2."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from generation.config import is_tiny_model

from .. import accounts, store
from ..http import (
    fed,
    pool,
)
from ..runtime import VERSION
from .statuses import MAX_MEDIA, MAX_STATUS_CHARS

MASTODON_VERSION = f"4.3.0 (compatible; Likeness {VERSION})"
MEDIA_TYPES = ["video/mp4", "image/jpeg", "image/png", "image/webp"]


async def instance_v1(request: Request) -> Response:
    instance = request.app.state.instance
    counts = await store.usage(pool(request))
    return JSONResponse({
        "uri": fed(request).domain, "title": instance.settings.instance_name,
        "short_description": "Short AI videos, with consent.", "description": "",
        "email": "", "version": MASTODON_VERSION,
        "urls": {}, "stats": {"user_count": counts["users"], "status_count": counts["posts"],
                              "domain_count": 0},
        "languages": ["en"],
        "registrations": await accounts.registrations_open(pool(request),
                                                           instance.settings.registrations_open),
        "approval_required": False,
        "configuration": {"statuses": {"max_characters": MAX_STATUS_CHARS,
                                       "max_media_attachments": MAX_MEDIA},
                          "media_attachments": {
                              "supported_mime_types": MEDIA_TYPES,
                              "video_size_limit": instance.settings.max_upload_bytes,
                              "image_size_limit": instance.settings.max_upload_bytes}},
    })


async def instance_v2(request: Request) -> Response:
    """Mastodon 4's instance entity; `api_versions` tells clients to use the current endpoints."""
    instance = request.app.state.instance
    settings = instance.settings
    counts = await store.usage(pool(request))
    base = fed(request).base_url
    return JSONResponse({
        "domain": fed(request).domain, "title": settings.instance_name, "version": MASTODON_VERSION,
        "source_url": settings.source_url, "description": "Short AI videos, with consent.",
        "usage": {"users": {"active_month": counts["users"]}},
        "thumbnail": {"url": f"{base}/static/thumbnail.png"}, "icon": [], "languages": ["en"],
        "api_versions": {"mastodon": 2},
        "configuration": {
            "urls": {"streaming": None, "status": None},
            "vapid": {"public_key": ""},
            "accounts": {"max_featured_tags": 0, "max_pinned_statuses": 0},
            "statuses": {"max_characters": MAX_STATUS_CHARS, "max_media_attachments": MAX_MEDIA,
                         "characters_reserved_per_url": 23},
            "media_attachments": {"supported_mime_types": MEDIA_TYPES,
                                  "image_size_limit": settings.max_upload_bytes,
                                  "video_size_limit": settings.max_upload_bytes,
                                  "description_limit": 1500},
            "polls": {"max_options": 0, "max_characters_per_option": 0, "min_expiration": 0,
                      "max_expiration": 0},
            "translation": {"enabled": False},
            # Likeness's own: whether renders come from the demo model (random weights: noise),
            # so that the app can say so and point to a real one.
            "generation": {"demo_model": is_tiny_model(settings.generation.model_dir)},
        },
        "registrations": {"enabled": await accounts.registrations_open(pool(request),
                                                                       settings.registrations_open),
                          "approval_required": False, "message": None},
        "contact": {"email": "", "account": None},
        "rules": [],
    })


routes = [
    Route("/api/v1/instance", instance_v1),
    # Some clients ask with a trailing slash and give up on a 404.
    Route("/api/v1/instance/", instance_v1),
    Route("/api/v2/instance", instance_v2),
]
