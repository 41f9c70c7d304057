"""The client API, shaped as Mastodon's so that existing apps and mastodon-py work.

Routes validate input and hand the action to `federation.outbox`; every refusal is a 4xx with a
JSON `{"error": ...}` body.
"""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from federation import actors, outbox, post_consent, posts
from federation import store as fstore
from federation.errors import Ignore
from federation.fetch import FetchError
from federation.html import normalised_hashtag, parse_hashtags, parse_mentions, text_to_html
from federation.visibility import visible_post_ids
from generation.config import is_tiny_model

from . import accounts, client_store, entities, filters, store, upload_checks
from .generations import draft_post_terms
from .http import (
    bool_param,
    current_user,
    error,
    fed,
    int_param,
    paged,
    parse_id,
    pool,
    read_form,
    read_params,
)
from .media import MediaError, format_bytes, inspect_upload, new_key, spool_upload
from .rate_limits import rate_limited
from .runtime import VERSION
from .safety import is_staff, publish_refusal, refuse_unsafe_images

VISIBILITIES = ("public", "unlisted", "private", "direct")
MAX_STATUS_CHARS = 5000
MAX_MEDIA = 4


def parse_visibility(value: str) -> str:
    """Mastodon calls followers-only `private`; we store `followers`."""
    if value not in VISIBILITIES:
        raise HTTPException(422, f"visibility must be one of {', '.join(VISIBILITIES)}")
    return "followers" if value == "private" else value


def _client_visibility(value: str) -> str:
    return "private" if value == "followers" else value


async def render_statuses(request: Request, posts_: list[asyncpg.Record], viewer: int | None, *,
                          staff_review: bool = False) -> list[dict[str, Any]]:
    """Posts as Mastodon `Status` entities for `viewer`, in the order given, leaving out every
    post the viewer may not see (federation/visibility.py), whatever query found it.
    `staff_review` is for the admin API's report views only, which show staff what was reported."""
    if not staff_review:
        staff = viewer is not None and await is_staff(request)
        shown = await visible_post_ids(pool(request), [p["id"] for p in posts_], viewer, staff=staff)
        posts_ = [p for p in posts_ if p["id"] in shown]
    # Posts whose cameo consent was verified over a TTL ago are checked again in the background:
    # a revoke that never reached us hides them by the next view.
    for post_id in await post_consent.recheck_due(fed(request), [p["id"] for p in posts_]):
        await fed(request).enqueue("recheck_consent", post_id, job_id=f"consent:{post_id}")
    async with pool(request).acquire() as conn:
        rendered = await entities.statuses(fed(request), conn, posts_, viewer)
    for status in rendered:
        status["visibility"] = _client_visibility(status["visibility"])
        if status["reblog"]:
            status["reblog"]["visibility"] = _client_visibility(status["reblog"]["visibility"])
    return rendered


async def _account_json(request: Request, actor: asyncpg.Record) -> dict[str, Any]:
    counts = await store.account_counts(pool(request), actor["id"])
    return entities.account(fed(request), actor, counts)


# --- accounts --------------------------------------------------------------------------------

@rate_limited("sign_up")
async def register(request: Request) -> Response:
    instance = request.app.state.instance
    if not await accounts.registrations_open(pool(request), instance.settings.registrations_open):
        return error(403, "sign-up is closed on this server")
    params = await read_params(request)
    try:
        user_id = await accounts.create_user(fed(request), params.get("username", ""),
                                             params.get("email", ""), params.get("password", ""))
    except accounts.AccountError as exc:
        return error(exc.status, str(exc))
    token = await accounts.issue_token(pool(request), user_id)
    return JSONResponse({"access_token": token, "token_type": "Bearer",
                         "scope": "read write follow push", "created_at": 0})


async def verify_credentials(request: Request) -> Response:
    user = await current_user(request)
    actor = await fstore.actor_by_id(pool(request), user["actor_id"])
    body = await _account_json(request, actor)
    body["source"] = {"note": actor["summary"], "privacy": "public", "sensitive": False,
                      "fields": [], "language": None}
    body["role"] = {"name": user["role"]}
    return JSONResponse(body)


async def update_credentials(request: Request) -> Response:
    user = await current_user(request)
    params = await read_params(request)
    actor = await fstore.actor_by_id(pool(request), user["actor_id"])
    name = str(params.get("display_name", actor["display_name"]))[:100]
    note = str(params.get("note", actor["summary"]))
    if len(note) > 500:
        return error(422, "note is longer than 500 characters")
    summary = text_to_html(note, mentions={}, hashtag_url=lambda t: f"{fed(request).base_url}/tags/{t}")
    await fstore.update_local_profile(pool(request), actor["id"], name, summary)
    actor = await fstore.actor_by_id(pool(request), actor["id"])
    await outbox.update_profile(fed(request), actor, await actors.actor_document(fed(request), actor))
    return JSONResponse(await _account_json(request, actor))


async def target_account(request: Request) -> asyncpg.Record:
    """The account of the path's `account_id`, else 404 (a deleted one, this server's own)."""
    actor = await fstore.actor_by_id(pool(request), request.path_params["account_id"])
    if actor is None or actor["type"] == "Application" and actor["local"] or actor["deleted_at"] is not None:
        raise HTTPException(404, "no such account")
    return actor


async def get_account(request: Request) -> Response:
    return JSONResponse(await _account_json(request, await target_account(request)))


async def lookup(request: Request) -> Response:
    handle = request.query_params.get("acct", "").lstrip("@")
    if not handle:
        return error(400, "acct is required")
    name, _, host = handle.partition("@")
    if not host or host.lower() == fed(request).domain:
        actor = await fstore.local_actor(pool(request), name)
    else:
        actor = await fstore.actor_by_handle(pool(request), name, host)
    if actor is None:
        return error(404, "no such account")
    return JSONResponse(await _account_json(request, actor))


async def account_statuses(request: Request) -> Response:
    user = await current_user(request, required=False)
    target = await target_account(request)
    params = dict(request.query_params)
    viewer = user["actor_id"] if user else None
    if bool_param(params, "pinned"):
        # Five at most (client_store.MAX_PINS): one page, the latest pinned first.
        pinned = await client_store.pinned_posts(pool(request), target["id"])
        return JSONResponse(await render_statuses(request, pinned, viewer))
    rows = await store.account_posts(pool(request), target["id"], viewer, **_paging(params))
    return paged(request, await render_statuses(request, rows, viewer))


async def relationship_json(request: Request, actor_id: int, target_id: int) -> dict[str, Any]:
    rel = await store.relationship(pool(request), actor_id, target_id)
    return {"id": str(target_id), "following": rel["following"], "requested": rel["requested"],
            "followed_by": rel["followed_by"], "blocking": rel["blocking"],
            "blocked_by": rel["blocked_by"], "muting": False, "muting_notifications": False,
            "showing_reblogs": True, "notifying": False, "domain_blocking": False,
            "endorsed": False, "note": ""}


async def account_action(request: Request) -> Response:
    user = await current_user(request)
    target = await target_account(request)
    me = await fstore.actor_by_id(pool(request), user["actor_id"])
    action = request.path_params["action"]
    try:
        if action == "follow":
            await outbox.follow(fed(request), me, target)
        elif action == "unfollow":
            await outbox.unfollow(fed(request), me, target)
        elif action == "block":
            await outbox.block(fed(request), me, target)
        elif action == "unblock":
            await outbox.unblock(fed(request), me, target)
        else:
            return error(404, "unknown action")
    except outbox.ActionError as exc:
        return error(422, str(exc))
    return JSONResponse(await relationship_json(request, me["id"], target["id"]))


async def relationships(request: Request) -> Response:
    user = await current_user(request)
    ids = request.query_params.getlist("id[]") or request.query_params.getlist("id")
    found = []
    for target_id in map(parse_id, ids[:40]):
        if target_id is not None:
            found.append(await relationship_json(request, user["actor_id"], target_id))
    return JSONResponse(found)


async def follow_requests(request: Request) -> Response:
    user = await current_user(request)
    rows = await store.follow_requests(pool(request), user["actor_id"])
    return JSONResponse([entities.account(fed(request), r) for r in rows])


async def answer_follow_request(request: Request) -> Response:
    user = await current_user(request)
    if request.path_params["action"] not in ("authorize", "reject"):
        return error(404, "unknown action")
    follower = await target_account(request)
    me = await fstore.actor_by_id(pool(request), user["actor_id"])
    row = await fstore.follow(pool(request), follower["id"], me["id"])
    if row is None or row["accepted"]:
        return error(404, "no pending follow request from this account")
    accept = request.path_params["action"] == "authorize"
    if follower["local"]:
        if accept:
            await fstore.accept_follow(pool(request), row["id"])
        else:
            await fstore.delete_follow(pool(request), row["id"])
    else:
        await outbox.answer_follow(fed(request), me, follower, None, accept=accept,
                                   follow_uri=row["uri"])
    return JSONResponse(await relationship_json(request, me["id"], follower["id"]))


# --- statuses ---------------------------------------------------------------------------------

async def _resolve_mentions(request: Request, text: str) -> list[asyncpg.Record]:
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


@rate_limited("statuses")
async def create_status(request: Request) -> Response:
    user = await current_user(request)
    params = await read_params(request)
    text = params.get("status") or ""
    if not isinstance(text, str):
        return error(422, "status must be text")
    if len(text) > MAX_STATUS_CHARS:
        return error(422, f"status is longer than {MAX_STATUS_CHARS} characters")
    media_ids = params.get("media_ids") or []
    if isinstance(media_ids, str):
        media_ids = [media_ids]
    if not isinstance(media_ids, list) or len(media_ids) > MAX_MEDIA:
        return error(422, f"at most {MAX_MEDIA} media ids")
    media_ids = [parse_id(m) for m in media_ids]
    if None in media_ids:
        return error(422, "media ids must be numbers")
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
    mentioned = await _resolve_mentions(request, text)
    for media_id in media_ids:
        media = await store.unattached_media(pool(request), media_id, me["id"])
        if media is None or media["post_id"] is not None:
            return error(422, f"media {media_id} is unknown, not yours, or already used")
        refusal = await publish_refusal(request, media)
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
    """The post of the path's `status_id` if the user (or a visitor) may see it, else 404."""
    post_id = request.path_params["status_id"]
    post = await store.visible_post(pool(request), post_id, user["actor_id"] if user else None,
                                    staff=await is_staff(request))
    if post is None or await post_consent.recheck_due(fed(request), [post_id]) \
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


# --- timelines ------------------------------------------------------------------------------

def _paging(params: dict[str, Any]) -> dict[str, Any]:
    return {
        "limit": int_param(params, "limit", default=20, low=1, high=40),
        "max_id": int_param(params, "max_id", low=0),
        "since_id": int_param(params, "since_id", low=0),
        "min_id": int_param(params, "min_id", low=0),
    }


async def home(request: Request) -> Response:
    user = await current_user(request)
    rows = await store.home_timeline(pool(request), user["actor_id"],
                                     **_paging(dict(request.query_params)))
    rendered = await render_statuses(request, rows, user["actor_id"])
    await filters.annotate(request, rendered, user["actor_id"], "home")
    return paged(request, rendered)


async def public(request: Request) -> Response:
    user = await current_user(request, required=False)
    params = dict(request.query_params)
    viewer = user["actor_id"] if user else None
    rows = await store.public_timeline(pool(request), viewer,
                                       local_only=bool_param(params, "local"), **_paging(params))
    return await _public_page(request, rows, viewer)


async def tag_timeline(request: Request) -> Response:
    """`GET /api/v1/timelines/tag/:hashtag`: public posts with the tag, newest first."""
    user = await current_user(request, required=False)
    params = dict(request.query_params)
    viewer = user["actor_id"] if user else None
    tag = normalised_hashtag(request.path_params["hashtag"].removeprefix("#"))
    rows = await store.public_timeline(pool(request), viewer, local_only=bool_param(params, "local"),
                                       tag=tag, **_paging(params))
    return await _public_page(request, rows, viewer)


async def _public_page(request: Request, rows: list[asyncpg.Record], viewer: int | None) -> Response:
    """A page of a public timeline, each post with the filters of a signed-in viewer it matches."""
    rendered = await render_statuses(request, rows, viewer)
    if viewer is not None:
        await filters.annotate(request, rendered, viewer, "public")
    return paged(request, rendered)


async def _search(request: Request) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Accounts and statuses for `q`: a handle (`resolve=true` looks a remote one up through
    WebFinger), a local username, or the URL of an actor or a post."""
    user = await current_user(request, required=False)
    query = request.query_params.get("q", "").strip()
    if not query:
        raise HTTPException(400, "q is required")
    found: list[dict[str, Any]] = []
    statuses: list[dict[str, Any]] = []
    if query.startswith(("https://", "http://")):
        try:
            actor = await actors.actor(fed(request), query) if user else None
            if actor:
                found.append(await _account_json(request, actor))
        except (actors.ActorError, FetchError, ValueError):
            try:
                post = await posts.post(fed(request), query) if user else None
                if post is not None:
                    statuses = await render_statuses(request, [post], user["actor_id"])
            except (Ignore, FetchError, ValueError, actors.ActorError):
                pass
    elif "@" in query.lstrip("@"):
        handle = query.lstrip("@")
        resolve = bool_param(dict(request.query_params), "resolve") and user is not None
        name, _, host = handle.partition("@")
        try:
            if host.lower() == fed(request).domain:
                actor = await fstore.local_actor(pool(request), name)
            elif resolve:
                actor = await actors.resolve_handle(fed(request), handle)
            else:
                actor = await fstore.actor_by_handle(pool(request), name, host)
        except (actors.ActorError, FetchError, OSError):
            actor = None
        if actor is not None:
            found.append(await _account_json(request, actor))
    else:
        actor = await fstore.local_actor(pool(request), query.lstrip("@"))
        if actor is not None:
            found.append(await _account_json(request, actor))
    return found, statuses


async def _hashtags(request: Request) -> list[dict[str, Any]]:
    """Mastodon's Tag entities for a `q` that is one word or `#word`: the tags it begins."""
    raw = request.query_params.get("q", "").strip().removeprefix("#")
    if not raw or parse_hashtags(f"#{raw}") != [normalised_hashtag(raw)]:
        return []
    user = await current_user(request, required=False)
    names = await store.hashtags_starting(pool(request), normalised_hashtag(raw),
                                          user["actor_id"] if user else None, limit=20)
    return [{"name": name, "url": f"{fed(request).base_url}/tags/{name}", "history": []} for name in names]


async def search(request: Request) -> Response:
    found, statuses = await _search(request)
    return JSONResponse({"accounts": found, "statuses": statuses, "hashtags": await _hashtags(request)})


async def search_accounts(request: Request) -> Response:
    """`GET /api/v1/accounts/search`, which mastodon-py's `account_search` calls."""
    found, _ = await _search(request)
    return JSONResponse(found)


# --- media ------------------------------------------------------------------------------------

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
    focus = _focus(str(form.get("focus") or ""))
    tmp_dir = instance.settings.data_dir / "tmp"
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


def _focus(raw: str) -> tuple[float, float]:
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
    Route("/api/v1/accounts", register, methods=["POST"]),
    Route("/api/v1/accounts/verify_credentials", verify_credentials),
    Route("/api/v1/accounts/update_credentials", update_credentials, methods=["PATCH"]),
    Route("/api/v1/accounts/lookup", lookup),
    Route("/api/v1/accounts/search", search_accounts),
    Route("/api/v1/accounts/relationships", relationships),
    Route("/api/v1/accounts/{account_id:id}", get_account),
    Route("/api/v1/accounts/{account_id:id}/statuses", account_statuses),
    Route("/api/v1/accounts/{account_id:id}/{action}", account_action, methods=["POST"]),
    Route("/api/v1/follow_requests", follow_requests),
    Route("/api/v1/follow_requests/{account_id:id}/{action}", answer_follow_request,
          methods=["POST"]),
    Route("/api/v1/statuses", create_status, methods=["POST"]),
    Route("/api/v1/statuses/{status_id:id}", get_status),
    Route("/api/v1/statuses/{status_id:id}", delete_status, methods=["DELETE"]),
    Route("/api/v1/statuses/{status_id:id}/context", status_context),
    Route("/api/v1/statuses/{status_id:id}/{action}", status_action, methods=["POST"]),
    Route("/api/v1/timelines/home", home),
    Route("/api/v1/timelines/public", public),
    Route("/api/v1/timelines/tag/{hashtag}", tag_timeline),
    Route("/api/v2/search", search),
    Route("/api/v2/media", upload_media, methods=["POST"]),
    Route("/api/v1/media", upload_media, methods=["POST"]),
    Route("/api/v1/media/{media_id:id}", get_media),
    Route("/api/v1/instance", instance_v1),
    # Some clients ask with a trailing slash and give up on a 404.
    Route("/api/v1/instance/", instance_v1),
    Route("/api/v2/instance", instance_v2),
]
