"""The output safety check at the HTTP edge: uploaded images the NSFW classifier flags are
refused, and a held draft or an unchecked upload is shown to staff only and cannot be published.

The verdicts are `policy.output_safety`'s; generated and uploaded videos are checked by the worker
(generation/safety.py, server/upload_checks.py).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path

import asyncpg
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from generation import store as gstore
from policy.output_safety import HELD_FOR_REVIEW

from .http import current_staff, error, pool
from .media import decoding


async def refuse_unsafe_images(request: Request, images: Sequence[tuple[str, bytes | Path]]) -> None:
    """Raise 422 naming the first image (what, data) the classifier flags, before anything is
    stored; 503 when the check cannot judge (it fails closed: nothing unchecked gets in)."""
    threshold = request.app.state.instance.settings.generation.nsfw_threshold
    verdict = await asyncio.to_thread(decoding().images_verdict, [data for _, data in images], threshold)
    if verdict.allowed:
        return
    if verdict.frame is None:
        raise HTTPException(503, "the image safety check is not working right now: try again later")
    raise HTTPException(422, f"{images[verdict.frame][0]} was refused by the safety check: it looks"
                             " like sexual content")


async def is_staff(request: Request) -> bool:
    """Whether a moderator or admin is signed in; never raises, for routes open to everyone."""
    try:
        await current_staff(request)
    except HTTPException:
        return False
    return True


async def publish_refusal(request: Request, media: asyncpg.Record) -> Response | None:
    """Why this upload or draft cannot be published yet, as a 422 or 409; None when it can. An
    uploaded video is published once its safety check is done (server/upload_checks.py), and the
    draft of a held generation once a moderator releases it."""
    media_id = media["id"]
    if media["check_state"] == "pending":
        return error(422, f"video {media_id} is still being checked for safety: try again in a moment")
    if media["check_state"] == "refused":
        return error(422, f"media {media_id} cannot be published: {media['check_reason']}")
    if not await gstore.is_held_draft(pool(request), media_id):
        return None
    return error(409, f"video {media_id} is {HELD_FOR_REVIEW}: it can be published once a moderator"
                      " releases it")
