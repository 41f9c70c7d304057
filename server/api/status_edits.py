"""Editing posts, as Mastodon does: PUT /api/v1/statuses/:id, and each post's history and
source. The edit itself, its versions and its `Update` to every server that holds the post are
`federation.outbox.edit_post`."""

from __future__ import annotations

import re
from typing import Any

import asyncpg
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from federation import edits, outbox
from federation import store as fstore

from ..http import bool_param, current_user, error, fed, parse_id, pool, read_params
from ..rate_limits import rate_limited
from . import entities
from .generations import draft_post_terms
from .media import parse_focus
from .statuses import (
    media_ids_param,
    render_statuses,
    resolve_mentions,
    status_text,
    unpublishable,
    visible_or_404,
)

MAX_SPOILER_CHARS = 500
MAX_DESCRIPTION_CHARS = 1500
LANGUAGE = re.compile(r"[a-z]{2,3}(-[A-Za-z0-9]{1,8})?")


async def _own_post(request: Request) -> tuple[asyncpg.Record, asyncpg.Record]:
    """The signed-in person's actor and the post in the path, theirs (404 for anyone else's, as
    Mastodon finds it among the person's own statuses)."""
    user = await current_user(request)
    post = await visible_or_404(request, user)
    if post["actor_id"] != user["actor_id"] or not post["local"]:
        raise HTTPException(404, "no such post of yours")
    return await fstore.actor_by_id(pool(request), user["actor_id"]), post


def _media_descriptions(raw: Any) -> dict[int, tuple[str, tuple[float, float] | None]]:
    """`media_attributes`: `[{id, description, focus}]`, the new description and focal point of
    media the post keeps."""
    if raw is None:
        return {}
    if not isinstance(raw, list) or len(raw) > 4 or not all(isinstance(a, dict) for a in raw):
        raise HTTPException(422, "media_attributes must be a list of at most 4 objects with an id")
    found: dict[int, tuple[str, tuple[float, float] | None]] = {}
    for attributes in raw:
        media_id = parse_id(attributes.get("id"))
        description = attributes.get("description") or ""
        if media_id is None or not isinstance(description, str):
            raise HTTPException(422, "each of media_attributes needs a media id and a text description")
        if len(description) > MAX_DESCRIPTION_CHARS:
            raise HTTPException(422, f"a description is longer than {MAX_DESCRIPTION_CHARS} characters")
        focus = attributes.get("focus")
        found[media_id] = (description, parse_focus(str(focus)) if focus not in (None, "") else None)
    return found


async def _consent_bound(request: Request, post: asyncpg.Record, params: dict[str, Any],
                         media_ids: list[int] | None, current: list[int]) -> Response | None:
    """A remix's video and prompt are what its cameo owners consented to (and a post of one's
    own cameo is bound to its render): only its caption and flags may change."""
    remix = await fstore.remix_by_post(pool(request), post["id"])
    cameos = await fstore.post_cameos(pool(request), post["id"])
    if remix is None and not cameos:
        return None
    if media_ids is not None and media_ids != current:
        return error(422, "the video of a post with cameos is bound to its owners' consent: it cannot"
                          " be changed, only the caption and flags")
    if "prompt" in params and (remix is None or params["prompt"] != remix["prompt"]):
        return error(422, "the prompt of a remix is bound to its cameo owners' consent: it cannot be"
                          " changed")
    return None


@rate_limited("statuses")
async def update_status(request: Request) -> Response:
    """`PUT /api/v1/statuses/:id`. What a request leaves out stays as it is (a client that sends
    no `media_ids` keeps the media); a refused edit changes nothing."""
    me, post = await _own_post(request)
    if post["reblog_of_id"]:
        return error(422, "a boost cannot be edited")
    params = await read_params(request)
    text = status_text(params, default=post["source"] or "")
    current = [m["id"] for m in await fstore.post_media(pool(request), post["id"])]
    media_ids = media_ids_param(params["media_ids"]) if params.get("media_ids") is not None else None
    if not text.strip() and not (current if media_ids is None else media_ids):
        return error(422, "a post needs text or media")
    summary = params.get("spoiler_text", post["summary"])
    if summary is not None and not isinstance(summary, str):
        return error(422, "spoiler_text must be text")
    language = params.get("language") or post["language"]
    if language is not None and (not isinstance(language, str) or not LANGUAGE.fullmatch(language)):
        return error(422, "language must be an ISO 639 code")
    descriptions = _media_descriptions(params.get("media_attributes"))
    refusal = await _consent_bound(request, post, params, media_ids, current)
    if refusal is None and media_ids is not None:
        added = [m for m in media_ids if m not in current]
        refusal = await unpublishable(request, me, added)
        if refusal is None and added and any(await draft_post_terms(request, me, added)):
            refusal = error(422, "a rendered video is published as a post of its own, not added by an edit")
    if refusal is not None:
        return refusal
    try:
        await outbox.edit_post(
            fed(request), me, post, text=text, summary=(summary or "")[:MAX_SPOILER_CHARS] or None,
            sensitive=bool_param(params, "sensitive", post["sensitive"]), language=language,
            media_ids=media_ids, media_descriptions=descriptions,
            mentioned=await resolve_mentions(request, text))
    except outbox.ActionError as exc:
        return error(422, str(exc))
    post = await fstore.post_by_id(pool(request), post["id"])
    return JSONResponse((await render_statuses(request, [post], me["id"]))[0])


async def status_history(request: Request) -> Response:
    """`GET /api/v1/statuses/:id/history`: the versions, oldest (the original) first; a post
    never edited has the one."""
    user = await current_user(request, required=False)
    post = await visible_or_404(request, user)
    author = await fstore.actor_by_id(pool(request), post["actor_id"])
    versions: list[Any] = list(await fstore.post_edits(pool(request), post["id"]))
    if not versions:
        media = await fstore.post_media(pool(request), post["id"])
        versions = [{"content": post["content"], "summary": post["summary"], "sensitive": post["sensitive"],
                     "created_at": post["published_at"], "media": edits.media_snapshot(media)}]
    return JSONResponse([entities.status_edit(fed(request), v, author) for v in versions])


async def status_source(request: Request) -> Response:
    """`GET /api/v1/statuses/:id/source`: the text one's own post was written as, to edit it."""
    _, post = await _own_post(request)
    return JSONResponse({"id": str(post["id"]), "text": post["source"] or "",
                         "spoiler_text": post["summary"] or ""})


routes = [
    Route("/api/v1/statuses/{status_id:id}", update_status, methods=["PUT"]),
    Route("/api/v1/statuses/{status_id:id}/history", status_history),
    Route("/api/v1/statuses/{status_id:id}/source", status_source),
]
