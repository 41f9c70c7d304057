"""Mastodon's accounts API: sign-up, profiles, relationships and follow requests."""

from __future__ import annotations

from typing import Any

import asyncpg
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from federation import actors, backfill, outbox
from federation import store as fstore
from federation.html import text_to_html
from federation.objects import iso

from .. import accounts, store
from ..http import (
    bool_param,
    current_user,
    error,
    fed,
    paged,
    parse_id,
    pool,
    read_params,
    read_pool,
)
from ..media import MediaError, checked_image, format_bytes
from ..media_store import new_key
from ..rate_limits import rate_limited
from ..safety import refuse_unsafe_images
from . import entities
from .statuses import render_statuses
from .timelines import paging


async def account_json(request: Request, actor: asyncpg.Record, *,
                       read_pool: asyncpg.Pool | None = None) -> dict[str, Any]:
    """`read_pool` is the replica for a profile (server/http.py read_pool); else the primary."""
    reads = read_pool or pool(request)
    counts = await store.account_counts(reads, actor["id"])
    moved = await entities.moved_accounts(fed(request), reads, [actor])
    return entities.account(fed(request), actor, counts, moved.get(actor["moved_to_uri"] or ""))



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
    body = await account_json(request, actor)
    body["source"] = {"note": actor["summary"], "privacy": "public", "sensitive": False,
                      "fields": [], "language": None}
    body["role"] = {"name": user["role"]}
    return JSONResponse(body)


# Mastodon's limits for a profile (Account model validations, Account::Avatar and ::Header).
MAX_DISPLAY_NAME = 30
MAX_NOTE = 500
MAX_PROFILE_IMAGE_BYTES = 8 * 1024 * 1024
AVATAR_SIZE = (400, 400)
HEADER_SIZE = (1500, 500)


def _profile_text(params: dict[str, Any], name: str, limit: int) -> str | None:
    """A text field of update_credentials: None when not sent (kept as it is)."""
    if name not in params:
        return None
    value = params[name]
    if not isinstance(value, str):
        raise HTTPException(422, f"{name} must be text")
    if len(value) > limit:
        raise HTTPException(422, f"{name} is longer than {limit} characters")
    return value


async def _profile_images(request: Request, params: dict[str, Any]
                          ) -> dict[str, tuple[bytes, str] | None]:
    """The avatar and header sent, checked, cropped and safety-checked (data, new storage key);
    None for one not sent. Raises 422 for any bad one, before anything is stored."""
    tmp_dir = request.app.state.instance.settings.tmp_dir
    images: dict[str, tuple[bytes, str] | None] = {}
    for name, size in (("avatar", AVATAR_SIZE), ("header", HEADER_SIZE)):
        if params.get(name) in (None, ""):
            images[name] = None
            continue
        try:
            data, extension, _, _ = await checked_image(params[name], name, tmp_dir,
                                                        max_bytes=MAX_PROFILE_IMAGE_BYTES, fit=size)
        except MediaError as exc:
            raise HTTPException(422, str(exc)) from None
        images[name] = (data, new_key("profiles", extension))
    sent = [(name, image[0]) for name, image in images.items() if image is not None]
    if sent:
        await refuse_unsafe_images(request, sent)
    return images


async def update_credentials(request: Request) -> Response:
    """Mastodon's `PATCH /api/v1/accounts/update_credentials`: display_name, note, avatar and
    header (multipart), each kept as it is when not sent. Any bad field refuses the whole
    request (422) with nothing changed; a change goes to followers' servers as an `Update`."""
    user = await current_user(request)
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > 2 * MAX_PROFILE_IMAGE_BYTES + 64 * 1024:
        return error(413, f"send images of at most {format_bytes(MAX_PROFILE_IMAGE_BYTES)}")
    params = await read_params(request)
    actor = await fstore.actor_by_id(pool(request), user["actor_id"])
    name = _profile_text(params, "display_name", MAX_DISPLAY_NAME)
    note = _profile_text(params, "note", MAX_NOTE)
    images = await _profile_images(request, params)
    summary = actor["summary"] if note is None else text_to_html(
        note, mentions={}, hashtag_url=lambda t: f"{fed(request).base_url}/tags/{t}")
    media = request.app.state.instance.media
    stored = [image[1] for image in images.values() if image is not None]
    try:
        for image in images.values():
            if image is not None:
                await media.put_bytes(image[1], image[0])
        addresses = {part: (image[1], fed(request).media_address(image[1]))
                     for part, image in images.items() if image is not None}
        async with pool(request).acquire() as conn, conn.transaction():
            replaced = await fstore.update_local_profile(
                conn, actor["id"], actor["display_name"] if name is None else name, summary,
                avatar=addresses.get("avatar"), header=addresses.get("header"))
    except BaseException:
        for key in stored:
            await media.delete(key)
        raise
    for key in replaced:
        await media.delete(key)
    actor = await fstore.actor_by_id(pool(request), actor["id"])
    await outbox.update_profile(fed(request), actor, await actors.actor_document(fed(request), actor))
    return JSONResponse(await account_json(request, actor))


async def target_account(request: Request, *, read_pool: asyncpg.Pool | None = None) -> asyncpg.Record:
    """The account of the path's `account_id`, else 404 (a deleted one, this server's own).
    `read_pool` as for `account_json`."""
    actor = await fstore.actor_by_id(read_pool or pool(request), request.path_params["account_id"])
    if actor is None or actor["type"] == "Application" and actor["local"] or actor["deleted_at"] is not None:
        raise HTTPException(404, "no such account")
    return actor


async def get_account(request: Request) -> Response:
    target = await target_account(request, read_pool=read_pool(request))
    # Another server's account shows what it posted before anyone here followed it.
    await backfill.request(fed(request), target)
    return JSONResponse(await account_json(request, target, read_pool=read_pool(request)))


async def lookup(request: Request) -> Response:
    handle = request.query_params.get("acct", "").lstrip("@")
    if not handle:
        return error(400, "acct is required")
    name, _, host = handle.partition("@")
    if not host or host.lower() == fed(request).domain:
        actor = await fstore.local_actor(read_pool(request), name)
    else:
        actor = await fstore.actor_by_handle(read_pool(request), name, host)
    if actor is None:
        return error(404, "no such account")
    return JSONResponse(await account_json(request, actor, read_pool=read_pool(request)))


async def account_statuses(request: Request) -> Response:
    user = await current_user(request, required=False)
    viewer = user["actor_id"] if user else None
    # Someone else's profile from the replica; one's own from the primary, so that it shows what
    # its owner has just posted.
    reads = pool(request) if viewer == request.path_params["account_id"] else read_pool(request)
    target = await target_account(request, read_pool=reads)
    await backfill.request(fed(request), target)
    params = dict(request.query_params)
    if bool_param(params, "pinned"):
        # Five at most (store.MAX_PINS): one page, the latest pinned first.
        pinned = await store.pinned_posts(reads, target["id"])
        return JSONResponse(await render_statuses(request, pinned, viewer, read_pool=reads))
    rows = await store.account_posts(reads, target["id"], viewer, **paging(params))
    return paged(request, await render_statuses(request, rows, viewer, read_pool=reads))


async def relationship_json(request: Request, actor_id: int, target_id: int) -> dict[str, Any]:
    rel = await store.relationship(pool(request), actor_id, target_id)
    mute = await store.muting(pool(request), actor_id, target_id)
    return {"id": str(target_id), "following": rel["following"], "requested": rel["requested"],
            "followed_by": rel["followed_by"], "blocking": rel["blocking"],
            "blocked_by": rel["blocked_by"], "muting": mute is not None,
            "muting_notifications": bool(mute and mute["hide_notifications"]),
            "muting_expires_at": iso(mute["expires_at"]) if mute and mute["expires_at"] else None,
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
            await backfill.request(fed(request), target)
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


routes = [
    Route("/api/v1/accounts", register, methods=["POST"]),
    Route("/api/v1/accounts/verify_credentials", verify_credentials),
    Route("/api/v1/accounts/update_credentials", update_credentials, methods=["PATCH"]),
    Route("/api/v1/accounts/lookup", lookup),
    Route("/api/v1/accounts/relationships", relationships),
    Route("/api/v1/accounts/{account_id:id}", get_account),
    Route("/api/v1/accounts/{account_id:id}/statuses", account_statuses),
    Route("/api/v1/accounts/{account_id:id}/{action}", account_action, methods=["POST"]),
    Route("/api/v1/follow_requests", follow_requests),
    Route("/api/v1/follow_requests/{account_id:id}/{action}", answer_follow_request,
          methods=["POST"]),
]
