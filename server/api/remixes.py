"""Remix consent over HTTP: the requester's remixes, the owner's requests, and the signed
authorizations served at their ids."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import urlencode, urlsplit

import asyncpg
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from federation import inbox, remix
from federation import store as fstore
from federation.cameos import cameo_document, only_me
from federation.objects import iso
from federation.succession import TAKEN_OVER_TYPE
from federation.vocab import AS_CONTEXT, OBJECT_CONTEXT
from generation import jobs
from generation import store as gstore

from .. import store
from ..http import ActivityResponse, bool_param, current_user, error, fed, parse_id, pool, read_params
from ..rate_limits import rate_limited
from ..safety import publish_refusal
from . import entities
from .generations import job_json, job_refusal, refused_prompt
from .statuses import parse_visibility

MAX_CAPTION_CHARS = 2000


async def _remix_json(request: Request, row: asyncpg.Record) -> dict[str, Any]:
    cameos = await fstore.remix_cameos(pool(request), row["id"])
    job = await gstore.latest_remix_job(pool(request), row["id"])
    return {
        "id": str(row["id"]), "state": row["state"], "post_uri": row["post_uri"],
        "prompt": row["prompt"], "created_at": iso(row["created_at"]),
        "cameos": [{"cameo": c["cameo_uri"], "owner": c["owner_uri"], "state": c["state"],
                    "authorization": c["authorization_uri"], "reason": c["reason"]}
                   for c in cameos],
        "generation": await job_json(request, job) if job else None,
    }


async def _own_remix(request: Request) -> asyncpg.Record | None:
    """The signed-in person's remix named in the path, or None."""
    user = await current_user(request)
    remix_id = parse_id(request.path_params["remix_id"])
    row = await fstore.remix(pool(request), remix_id) if remix_id is not None else None
    return row if row is not None and row["actor_id"] == user["actor_id"] else None


async def _queue_render(request: Request, row: asyncpg.Record, duration_s: Any) -> None:
    """Queue the remix's render (it waits for every owner's consent); JobError if refused.
    Asking again while a render is on the way returns that one."""
    cameos = await fstore.remix_cameos(pool(request), row["id"])
    await jobs.create_job(request.app.state.instance.jobs, actor_id=row["actor_id"],
                          prompt=row["prompt"], cameo_uris=[c["cameo_uri"] for c in cameos],
                          duration_s=duration_s, remix_id=row["id"])


@rate_limited("remix_requests")
async def create_remix(request: Request) -> Response:
    """Ask every cameo owner for consent and queue the render, which waits for all of them.

    A render refused by a quota leaves the remix waiting for consent; `POST .../generation`
    asks again."""
    user = await current_user(request)
    params = await read_params(request)
    try:
        prompt, _ = jobs.check_request(request.app.state.instance.jobs.config, params.get("prompt"),
                                       params.get("duration_s"))
    except jobs.JobError as exc:
        return error(422, str(exc))
    requester = await fstore.actor_by_id(pool(request), user["actor_id"])
    try:
        cameos = await remix.resolve_cameos(fed(request), params.get("cameos"), requester)
    except remix.RemixError as exc:
        return error(422, str(exc))
    refused = await refused_prompt(request, requester, prompt, [c.use for c in cameos], "remix")
    if refused is not None:
        return refused
    try:
        remix_id = await remix.request_remix(fed(request), requester, params.get("prompt"), cameos)
    except remix.RemixError as exc:
        return error(422, str(exc))
    row = await fstore.remix(pool(request), remix_id)
    not_queued = None
    try:
        await _queue_render(request, row, params.get("duration_s"))
    except jobs.JobError as exc:
        not_queued = str(exc)
    return JSONResponse({**await _remix_json(request, row), "generation_error": not_queued},
                        status_code=201)


@rate_limited("generations")
async def start_generation(request: Request) -> Response:
    """Queue (again) the render of one's remix: after a quota refusal, or a failed render."""
    row = await _own_remix(request)
    if row is None:
        return error(404, "no such remix")
    params = await read_params(request)
    try:
        await _queue_render(request, row, params.get("duration_s"))
    except jobs.JobError as exc:
        return job_refusal(exc)
    return JSONResponse(await _remix_json(request, row), status_code=202)


async def get_remix(request: Request) -> Response:
    row = await _own_remix(request)
    if row is None:
        return error(404, "no such remix")
    return JSONResponse(await _remix_json(request, row))


@rate_limited("statuses")
async def publish_remix(request: Request) -> Response:
    """Publish an authorized remix with its video: the post carries every cameo owner's signed
    authorization and is sent to the author's audience and to each owner."""
    row = await _own_remix(request)
    if row is None:
        return error(404, "no such remix")
    params = await read_params(request)
    caption = params.get("status") or ""
    if not isinstance(caption, str) or len(caption) > MAX_CAPTION_CHARS:
        return error(422, f"status must be text of at most {MAX_CAPTION_CHARS} characters")
    media_id = params.get("media_id")
    if media_id is None:
        # By default, the draft the remix's own render made.
        job = await gstore.latest_remix_job(pool(request), row["id"])
        media_id = job["result_media_id"] if job else None
        if media_id is None:
            return error(409, "the remix has no rendered draft yet: it renders once every cameo"
                              " owner has authorized it")
    media_id = parse_id(media_id)
    if media_id is None:
        return error(422, "media_id must name the remix's video")
    media = await store.unattached_media(pool(request), media_id, row["actor_id"])
    if media is None or media["post_id"] is not None or media["kind"] != "video":
        return error(422, f"media {media_id} is not an unused video of yours")
    # The owners consented to what this instance renders from the prompt they saw, not to any
    # video: only a draft of this remix's own generation may carry their authorizations.
    made_by = await gstore.job_by_result(pool(request), media_id)
    if made_by is None or made_by["remix_id"] != row["id"]:
        return error(422, f"media {media_id} was not rendered for this remix")
    refusal = await publish_refusal(request, media)
    if refusal is not None:
        return refusal
    visibility = parse_visibility(str(params.get("visibility") or "public"))
    author = await fstore.actor_by_id(pool(request), row["actor_id"])
    try:
        post_id = await remix.publish(
            fed(request), row["id"], author, text=caption, media_ids=[media_id],
            visibility=visibility, sensitive=bool_param(params, "sensitive"),
            generator=made_by["generator"])
    except remix.RemixError as exc:
        return error(409, str(exc))
    return JSONResponse({**await _remix_json(request, await fstore.remix(pool(request), row["id"])),
                         "status_id": str(post_id)}, status_code=201)


async def list_requests(request: Request) -> Response:
    """Every request for every cameo of the signed-in owner, answered or not."""
    user = await current_user(request)
    rows = await fstore.remix_requests_of_owner(pool(request), user["actor_id"])
    requesters = {r["requester_id"]: await fstore.actor_by_id(pool(request), r["requester_id"])
                  for r in rows}
    return JSONResponse([{
        "id": str(r["id"]), "state": r["state"], "reason": r["reason"],
        "cameo": {"id": str(r["cameo_id"]), "uri": r["cameo_uri"], "name": r["cameo_name"]},
        "account": entities.account(fed(request), requesters[r["requester_id"]]),
        "post_uri": r["post_uri"], "instance": urlsplit(r["post_uri"]).netloc,
        "published": r["published"], "prompt": r["prompt"],
        "authorization": r["authorization_uri"],
        "created_at": iso(r["created_at"]),
        "decided_at": iso(r["decided_at"]) if r["decided_at"] else None,
    } for r in rows])


async def decide_request(request: Request) -> Response:
    user = await current_user(request)
    action = request.path_params["action"]
    if action not in ("approve", "reject", "revoke"):
        return error(404, "unknown action")
    request_id = parse_id(request.path_params["request_id"])
    row = await fstore.remix_request(pool(request), request_id) if request_id is not None else None
    cameo = await fstore.cameo_by_id(pool(request), row["cameo_id"]) if row else None
    if cameo is None or cameo["actor_id"] != user["actor_id"]:
        return error(404, "no such request")
    if action == "revoke":
        try:
            await remix.revoke(fed(request), row["id"])
        except remix.RemixError as exc:
            return error(409, str(exc))
        return JSONResponse({"id": str(row["id"]), "state": "revoked"})
    if row["state"] != "pending":
        return error(409, f"this request was {row['state']} already")
    try:
        await remix.answer(fed(request), row["id"], approve=action == "approve",
                           reason="approved by the owner" if action == "approve"
                           else "declined by the owner")
    except remix.RemixError as exc:
        return error(409, str(exc))
    return JSONResponse({"id": str(row["id"]),
                         "state": "approved" if action == "approve" else "rejected"})


def _imported_json(row: asyncpg.Record) -> dict[str, Any]:
    return {"id": str(row["id"]), "uri": row["uri"], "state": row["state"], "cameo": row["cameo_uri"],
            "grantee": row["grantee_uri"], "post_uri": row["post_uri"],
            "instance": urlsplit(row["post_uri"]).netloc, "published": iso(row["published"]),
            "end_time": iso(row["end_time"]),
            "revoked_at": iso(row["revoked_at"]) if row["revoked_at"] else None}


async def list_imported(request: Request) -> Response:
    """The authorizations the signed-in owner gave on a former server and brought here."""
    user = await current_user(request)
    return JSONResponse([_imported_json(r) for r in
                         await fstore.imported_authorizations_of(pool(request), user["actor_id"])])


async def revoke_imported(request: Request) -> Response:
    """Revoke, from here, an authorization given on a former server: every holder hears of it."""
    user = await current_user(request)
    authorization_id = parse_id(request.path_params["authorization_id"])
    rows = await fstore.imported_authorizations_of(pool(request), user["actor_id"])
    row = next((r for r in rows if r["id"] == authorization_id), None)
    if row is None:
        return error(404, "no such authorization")
    owner = await fstore.actor_by_id(pool(request), user["actor_id"])
    try:
        await remix.revoke_imported(fed(request), owner, row)
    except remix.RemixError as exc:
        return error(409, str(exc))
    return JSONResponse({**_imported_json(row), "state": "revoked"})


async def _fetcher_inbox(request: Request) -> str | None:
    """The inbox of the server that fetched an authorization with a signed GET: a revoke goes there."""
    fetcher = await inbox.signed_fetcher(fed(request), "GET", str(request.url), request.headers)
    if fetcher is None or fed(request).is_local(fetcher):
        return None
    actor = await fstore.actor_by_uri(pool(request), fetcher)
    return actor["shared_inbox"] or actor["inbox"] if actor is not None else None


async def authorization_object(request: Request) -> Response:
    """A signed RemixAuthorization at its id: 200 while granted, 410 once revoked.

    A signed fetch is logged, so that a revoke reaches every instance that holds a copy."""
    owner = await fstore.local_actor(pool(request), request.path_params["username"])
    uri = f"{fed(request).base_url}{request.url.path}"
    row = await fstore.authorization_by_uri(pool(request), uri) if owner else None
    if row is None or row["owner_id"] != owner["id"] or row["state"] not in ("approved", "revoked"):
        raise HTTPException(404, "no such authorization")
    if row["state"] == "revoked":
        return _revoked_authorization(uri, row["revoked_at"])
    fetcher = await _fetcher_inbox(request)
    if fetcher is not None:
        await fstore.record_authorization_fetch(pool(request), row["id"], fetcher)
    return ActivityResponse(row["authorization_document"],
                            headers={"Cache-Control": "public, max-age=30", "Vary": "Signature"})


def _revoked_authorization(url: str, revoked_at: datetime) -> Response:
    """The 410 Tombstone a revoked authorization leaves at its address (PROTOCOL.md step 6)."""
    return ActivityResponse({"@context": AS_CONTEXT, "id": url, "type": "Tombstone",
                             "formerType": "RemixAuthorization", "deleted": iso(revoked_at)},
                            status_code=410)


async def taken_over_object(request: Request) -> Response:
    """What this account answers for since it brought it over from its former server in its
    archive (PROTOCOL.md "Succession"), asked for by its old id: an authorization, unchanged while
    it stands and 410 once revoked; a cameo, as re-made here. 404 for anything else."""
    owner = await fstore.local_actor(pool(request), request.path_params["username"])
    old_id = request.query_params.get("id", "")
    if owner is None:
        return error(404, "no such account")
    if not old_id.startswith(("https://", "http://")) or fed(request).is_local(old_id):
        return error(400, "id must be the http(s) id of an object on a former server")
    url = f"{fed(request).base_url}{request.url.path}?{urlencode({'id': old_id})}"
    row = await fstore.imported_authorization(pool(request), old_id)
    if row is not None and row["actor_id"] == owner["id"]:
        if row["state"] == "revoked":
            return _revoked_authorization(url, row["revoked_at"])
        fetcher = await _fetcher_inbox(request)
        if fetcher is not None:
            await fstore.add_imported_authorization_holder(pool(request), row["id"], fetcher)
        return ActivityResponse(_taken_over(url, owner, old_id, row["document"]),
                                headers={"Cache-Control": "public, max-age=30", "Vary": "Signature"})
    cameo = await fstore.cameo_imported_from(pool(request), owner["id"], old_id)
    if cameo is None or only_me(cameo):
        return error(404, "nothing taken over under that id")
    if cameo["deleted_at"] is not None:
        return ActivityResponse({"@context": AS_CONTEXT, "id": url, "type": "Tombstone",
                                 "formerType": "Cameo"}, status_code=410)
    approved = [a["uri"] for a in await fstore.cameo_approved(pool(request), cameo["id"])]
    references = await fstore.cameo_references(pool(request), cameo["id"])
    document = cameo_document(fed(request), cameo, owner, approved, len(references))
    return ActivityResponse(_taken_over(url, owner, old_id, document))


def _taken_over(url: str, owner: asyncpg.Record, old_id: str, result: dict[str, Any]) -> dict[str, Any]:
    return {"@context": OBJECT_CONTEXT, "id": url, "type": TAKEN_OVER_TYPE, "attributedTo": owner["uri"],
            "object": old_id, "result": result}


routes = [
    Route("/api/v1/remixes", create_remix, methods=["POST"]),
    Route("/api/v1/remixes/{remix_id}", get_remix),
    Route("/api/v1/remixes/{remix_id}/publish", publish_remix, methods=["POST"]),
    Route("/api/v1/remixes/{remix_id}/generation", start_generation, methods=["POST"]),
    Route("/api/v1/remix_requests", list_requests),
    Route("/api/v1/remix_requests/{request_id}/{action}", decide_request, methods=["POST"]),
    Route("/api/v1/imported_authorizations", list_imported),
    Route("/api/v1/imported_authorizations/{authorization_id}/revoke", revoke_imported, methods=["POST"]),
    Route("/users/{username}/remix_authorizations/{request_id:id}", authorization_object),
    Route("/users/{username}/taken_over", taken_over_object),
]
