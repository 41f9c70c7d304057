"""Mastodon's media upload API: the file is checked before a post may use it."""

from __future__ import annotations

import asyncio

import asyncpg
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from federation import store as fstore

from .. import store, upload_checks
from ..http import (
    current_user,
    error,
    fed,
    int_param,
    pool,
    read_form,
)
from ..media import MediaError, format_bytes, inspect_upload, spool_upload
from ..media_store import new_key
from ..rate_limits import rate_limited
from ..safety import refuse_unsafe_images
from . import entities


@rate_limited("media")
async def upload_media(request: Request) -> Response:
    user = await current_user(request)
    instance = request.app.state.instance
    limit = instance.settings.max_upload_bytes
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit + 64 * 1024:
        return error(413, f"file is larger than {format_bytes(limit)}")
    form = await read_form(request, max_files=1, max_fields=10)
    upload = form.get("file")
    if upload is None or isinstance(upload, str):
        return error(422, "send the file as the multipart field 'file'")
    description = str(form.get("description") or "")[:1500]
    focus = parse_focus(str(form.get("focus") or ""))
    tmp_dir = instance.settings.tmp_dir
    tmp = await asyncio.to_thread(spool_upload, upload.file, tmp_dir)
    try:
        try:
            info = await inspect_upload(tmp, max_bytes=limit)
        except MediaError as exc:
            return error(422, str(exc))
        if info.kind == "image":
            await refuse_unsafe_images(request, [("the image", tmp)])
        key = new_key(info.kind + "s", info.extension)
        poster_key = new_key("posters", "jpg") if info.poster_jpeg else None
        await instance.media.put_file(key, tmp)
        if poster_key:
            await instance.media.put_bytes(poster_key, info.poster_jpeg)
    finally:
        await asyncio.to_thread(tmp.unlink, missing_ok=True)
    media_id = await fstore.insert_media(pool(request), {
        "actor_id": user["actor_id"], "kind": info.kind, "media_type": info.media_type,
        "storage_key": key, "poster_key": poster_key, "byte_size": info.byte_size,
        "width": info.width, "height": info.height, "duration": info.duration,
        "frame_rate": info.frame_rate, "blurhash": info.blurhash, "description": description,
        "focal_x": focus[0], "focal_y": focus[1],
        "check_state": "pending" if info.kind == "video" else "ready",
    })
    if info.kind == "video":
        await upload_checks.queue_check(fed(request), media_id)
        if request.url.path == "/api/v1/media":
            # Mastodon's v1 upload answers once the file is processed; old clients post right after.
            await _until_checked(request, media_id, V1_UPLOAD_WAIT_S)
    media = await fstore.media_by_id(pool(request), media_id)
    return _media_response(request, media)


# How long POST /api/v1/media waits for a video's check before it answers 202 as v2 does.
V1_UPLOAD_WAIT_S = 60.0


async def _until_checked(request: Request, media_id: int, timeout: float) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while asyncio.get_running_loop().time() < deadline:
        media = await fstore.media_by_id(pool(request), media_id)
        if media is None or media["check_state"] != "pending":
            return
        await asyncio.sleep(0.1)


def _media_response(request: Request, media: asyncpg.Record) -> Response:
    """Mastodon's answers for an upload: 202 on upload and 206 on GET while a video is being
    checked (its `url` null), 200 once it is ready, and 422 with the reason once refused."""
    if media["check_state"] == "refused":
        return error(422, media["check_reason"])
    status = 200 if media["check_state"] == "ready" else 202 if request.method == "POST" else 206
    return JSONResponse(entities.media_attachment(fed(request), media, request.app.state.instance.links),
                        status_code=status)


def parse_focus(raw: str) -> tuple[float, float]:
    if not raw:
        return 0.0, 0.0
    try:
        x, y = (float(v) for v in raw.split(","))
    except ValueError:
        raise HTTPException(422, "focus must be two numbers, x,y, between -1 and 1") from None
    if not (-1 <= x <= 1 and -1 <= y <= 1):
        raise HTTPException(422, "focus must be two numbers, x,y, between -1 and 1")
    return x, y


async def get_media(request: Request) -> Response:
    user = await current_user(request)
    media_id = int_param(dict(request.path_params), "media_id")
    media = await store.unattached_media(pool(request), media_id, user["actor_id"])
    if media is None:
        return error(404, "no such media")
    return _media_response(request, media)


routes = [
    Route("/api/v2/media", upload_media, methods=["POST"]),
    Route("/api/v1/media", upload_media, methods=["POST"]),
    Route("/api/v1/media/{media_id:id}", get_media),
]
