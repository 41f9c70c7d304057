"""Mastodon's statuses API. The client API (server/api/) is shaped as Mastodon's so that existing
apps and mastodon-py work.

Routes validate input and hand the action to `federation.outbox`; every refusal is a 4xx with a
JSON `{"error": ...}` body.
"""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg
from starlette.exceptions import HTTPException
from starlette.requests import HTTPConnection, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from federation import actors, outbox, post_consent
from federation import store as fstore
from federation.fetch import FetchError
from federation.html import parse_mentions

from .. import store
from ..http import (
    bool_param,
    current_user,
    error,
    fed,
    int_param,
    parse_id,
    pool,
    read_params,
)
from ..rate_limits import rate_limited
from ..safety import is_staff, publish_refusal
from . import entities
from .generations import draft_post_terms

VISIBILITIES = ("public", "unlisted", "private", "direct")
MAX_STATUS_CHARS = 5000
MAX_MEDIA = 4


def parse_visibility(value: str) -> str:
    """Mastodon calls followers-only `private`; we store `followers`."""
    if value not in VISIBILITIES:
        raise HTTPException(422, f"visibility must be one of {', '.join(VISIBILITIES)}")
    return "followers" if value == "private" else value


async def render_statuses(request: HTTPConnection, posts_: list[asyncpg.Record], viewer: int | None, *,
                          staff_review: bool = False, staff: bool | None = None, detailed: bool = False,
                          read_pool: asyncpg.Pool | None = None) -> list[dict[str, Any]]:
    """Posts as Mastodon `Status` entities for `viewer`, in the order given, leaving out every
    post the viewer may not see (federation/visibility.py), whatever query found it.
    `staff_review` is for the admin API's report views only, which show staff what was reported.
    `staff` says whether the viewer is staff where the caller knows (the streaming API, whose
    WebSocket is no request); else the request's token tells. `detailed` rows carry
    `store.page_columns` already, selected by the timeline query for this viewer and `staff`.
    `read_pool` is the replica where the posts came from it (server/http.py read_pool), so that
    the page reads one snapshot; else the primary."""
    if not staff_review and staff is None:
        staff = viewer is not None and await is_staff(request)
    # One connection and, for a page without boosts or quotes, one query at most: the visibility
    # check and everything shown beside the posts (server/store/posts.py detail_columns), or for
    # a timeline's rows, what is shown beside those whose entity is not kept (page_columns).
    async with (read_pool or pool(request)).acquire() as conn:
        details = {p["id"]: p for p in posts_} if detailed else \
            await store.post_details(conn, [p["id"] for p in posts_], viewer, staff=bool(staff))
        posts_ = [p for p in posts_ if p["id"] in details and (staff_review or details[p["id"]]["visible"])]
        # Posts whose cameo consent was verified over a TTL ago are checked again in the background:
        # a revoke that never reached us hides them by the next view.
        for post_id in post_consent.recheck_due(fed(request), posts_):
            await fed(request).enqueue("recheck_consent", post_id, job_id=f"consent:{post_id}")
        return await entities.statuses(fed(request), conn, posts_, viewer, details=details)


async def resolve_mentions(request: Request, text: str) -> list[asyncpg.Record]:
    """The accounts a text mentions, looked up all at once: each remote lookup may take up to
    the outbound deadline, and a post's twenty must not take twenty times that."""
    async def lookup(username: str, host: str | None) -> asyncpg.Record | None:
        try:
            if host is None or host.lower() == fed(request).domain:
                return await fstore.local_actor(pool(request), username)
            return await actors.resolve_handle(fed(request), f"{username}@{host}")
        except (actors.ActorError, FetchError, OSError):
            return None

    found = await asyncio.gather(*(lookup(username, host) for username, host in parse_mentions(text)[:20]))
    return list({actor["id"]: actor for actor in found if actor is not None}.values())


def status_text(params: dict[str, Any], default: str = "") -> str:
    """The `status` text of a post being written, checked (422 when it is not text or too long)."""
    text = params.get("status", default)
    text = default if text is None else text
    if not isinstance(text, str):
        raise HTTPException(422, "status must be text")
    if len(text) > MAX_STATUS_CHARS:
        raise HTTPException(422, f"status is longer than {MAX_STATUS_CHARS} characters")
    return text


def media_ids_param(raw: Any) -> list[int]:
    """A post's `media_ids`, as numbers (422 for more than four or one that is not an id)."""
    raw = [raw] if isinstance(raw, str) else raw
    if not isinstance(raw, list) or len(raw) > MAX_MEDIA:
        raise HTTPException(422, f"at most {MAX_MEDIA} media ids")
    media_ids = [parse_id(m) for m in raw]
    if None in media_ids:
        raise HTTPException(422, "media ids must be numbers")
    return media_ids


async def unpublishable(request: Request, me: asyncpg.Record, media_ids: list[int]) -> Response | None:
    """Why uploads cannot go into a post (a 4xx), or None: each must be the author's, in no post
    yet, and checked."""
    for media_id in media_ids:
        media = await store.unattached_media(pool(request), media_id, me["id"])
        if media is None or media["post_id"] is not None:
            return error(422, f"media {media_id} is unknown, not yours, or already used")
        refusal = await publish_refusal(request, media)
        if refusal is not None:
            return refusal
    return None


@rate_limited("statuses")
async def create_status(request: Request) -> Response:
    user = await current_user(request)
    params = await read_params(request)
    text = status_text(params)
    media_ids = media_ids_param(params.get("media_ids") or [])
    if not text.strip() and not media_ids:
        return error(422, "a post needs text or media")
    visibility = parse_visibility(str(params.get("visibility") or "public"))
    declared_ai = bool_param(params, "ai_generated")
    in_reply_to = None
    if params.get("in_reply_to_id"):
        parent_id = int_param(params, "in_reply_to_id")
        in_reply_to = await store.visible_post(pool(request), parent_id, user["actor_id"])
        if in_reply_to is None:
            return error(404, "the post you reply to does not exist")
    me = await fstore.actor_by_id(pool(request), user["actor_id"])
    mentioned = await resolve_mentions(request, text)
    refusal = await unpublishable(request, me, media_ids)
    if refusal is not None:
        return refusal
    generator, cameos = await draft_post_terms(request, me, media_ids)
    # The label says what is known: a draft this server rendered (it names its model), or the
    # poster's own word. An uploaded video is a camera's until its poster says otherwise.
    ai_generated = generator is not None or declared_ai
    try:
        post_id = await outbox.publish_post(
            fed(request), me, text=text, visibility=visibility, media_ids=media_ids,
            sensitive=bool_param(params, "sensitive"),
            summary=str(params.get("spoiler_text") or "")[:500] or None,
            in_reply_to=in_reply_to, mentioned=mentioned, ai_generated=ai_generated,
            generator=generator, cameos=cameos)
    except outbox.ActionError as exc:
        return error(422, str(exc))
    post = await fstore.post_by_id(pool(request), post_id)
    return JSONResponse((await render_statuses(request, [post], me["id"]))[0])


async def visible_or_404(request: Request, user: asyncpg.Record | None) -> asyncpg.Record:
    post_id = request.path_params["status_id"]
    post = await store.visible_post(pool(request), post_id, user["actor_id"] if user else None,
                                    staff=await is_staff(request))
    if post is None or post_consent.recheck_due(fed(request), [post]) \
            and not await post_consent.recheck(fed(request), post_id):
        raise HTTPException(404, "no such post")
    return post


async def get_status(request: Request) -> Response:
    user = await current_user(request, required=False)
    post = await visible_or_404(request, user)
    return JSONResponse((await render_statuses(request, [post], user["actor_id"] if user else None))[0])


async def delete_status(request: Request) -> Response:
    user = await current_user(request)
    post = await visible_or_404(request, user)
    if post["actor_id"] != user["actor_id"]:
        return error(403, "you can only delete your own posts")
    rendered = (await render_statuses(request, [post], user["actor_id"]))[0]
    me = await fstore.actor_by_id(pool(request), user["actor_id"])
    await outbox.delete_post(fed(request), me, post)
    return JSONResponse(rendered)


async def status_context(request: Request) -> Response:
    user = await current_user(request, required=False)
    post = await visible_or_404(request, user)
    viewer = user["actor_id"] if user else None
    before = await store.ancestors(pool(request), post["id"], viewer)
    after = await store.replies(pool(request), post["id"], viewer)
    return JSONResponse({"ancestors": await render_statuses(request, before, viewer),
                         "descendants": await render_statuses(request, after, viewer)})


async def status_action(request: Request) -> Response:
    user = await current_user(request)
    post = await visible_or_404(request, user)
    me = await fstore.actor_by_id(pool(request), user["actor_id"])
    action = request.path_params["action"]
    try:
        if action == "favourite":
            await outbox.like(fed(request), me, post)
        elif action == "unfavourite":
            await outbox.unlike(fed(request), me, post)
        elif action == "reblog":
            boost_id = await outbox.boost(fed(request), me, post)
            boost = await fstore.post_by_id(pool(request), boost_id)
            return JSONResponse((await render_statuses(request, [boost], me["id"]))[0])
        elif action == "unreblog":
            boost = await fstore.boost(pool(request), me["id"], post["id"])
            if boost is not None:
                await outbox.delete_post(fed(request), me, boost)
        else:
            return error(404, "unknown action")
    except outbox.ActionError as exc:
        return error(422, str(exc))
    post = await fstore.post_by_id(pool(request), post["id"])
    return JSONResponse((await render_statuses(request, [post], me["id"]))[0])


routes = [
    Route("/api/v1/statuses", create_status, methods=["POST"]),
    Route("/api/v1/statuses/{status_id:id}", get_status),
    Route("/api/v1/statuses/{status_id:id}", delete_status, methods=["DELETE"]),
    Route("/api/v1/statuses/{status_id:id}/context", status_context),
    Route("/api/v1/statuses/{status_id:id}/{action}", status_action, methods=["POST"]),
]
