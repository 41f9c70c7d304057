"""Generations over HTTP: ask for a video, follow its progress (polling or Server-Sent Events),
cancel it, and find the draft it made.

The job queue itself is `generation.jobs`; this module checks who may ask for what (only one's
own cameos here: others' go through a remix and its consent) and shapes the answers.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from federation import prompts
from federation import store as fstore
from federation.objects import iso
from generation import jobs
from generation import store as gstore
from generation.jobs import JobQueue
from policy.output_safety import HELD_FOR_REVIEW
from policy.prompts import HELD, CameoUse, Refusal

from ..http import current_user, error, fed, int_param, parse_id, pool, read_params
from ..rate_limits import rate_limited
from . import entities

# How often an event stream looks at Redis, and at the row (every this many looks).
EVENT_POLL_S = 0.25
ROW_EVERY = 4
KEEPALIVE_S = 15.0
# When to send a held prompt again (a prompt-policy layer could not answer).
HELD_RETRY_AFTER_S = 30


def _queue(request: Request) -> JobQueue:
    return request.app.state.instance.jobs


async def job_json(request: Request, row: asyncpg.Record, live: dict[str, Any] | None = None
                   ) -> dict[str, Any]:
    progress = jobs.job_progress(row, live)
    total = progress["total_steps"]
    result, status_id = None, None
    # A held draft is not its requester's to see until a moderator releases it.
    if row["result_media_id"] is not None and row["state"] != "held":
        media = await fstore.media_by_id(pool(request), row["result_media_id"])
        # Signed for the requester while a draft; the address of the post's video once published.
        result = entities.media_attachment(fed(request), media, request.app.state.instance.links) \
            if media else None
        # A draft until a post takes its video: then the post's id, for the app to go to it.
        status_id = str(media["post_id"]) if media is not None and media["post_id"] is not None else None
    published = status_id is not None
    expires = jobs.draft_expiry(_queue(request).config, row, published)
    return {
        "id": str(row["id"]), "state": row["state"], "prompt": row["prompt"],
        "cameos": list(row["cameo_uris"]), "duration_s": row["duration_s"],
        "remix_id": str(row["remix_id"]) if row["remix_id"] is not None else None,
        "attempts": row["attempts"],
        "progress": {"step": progress["step"], "total_steps": total,
                     "fraction": round(progress["step"] / total, 4) if total else 0.0},
        "eta_s": progress["eta_s"], "failure_reason": row["failure_reason"],
        "held_reason": HELD_FOR_REVIEW if row["state"] == "held" else None,
        "generator": row["generator"], "result": result, "published": published, "status_id": status_id,
        "expires_at": iso(expires) if expires else None,
        "created_at": iso(row["created_at"]),
        "started_at": iso(row["started_at"]) if row["started_at"] else None,
        "finished_at": iso(row["finished_at"]) if row["finished_at"] else None,
    }


async def _own_cameos(request: Request, actor_id: int, raw: Any) -> list[asyncpg.Record]:
    if raw is None:
        return []
    if isinstance(raw, str | int):
        raw = [raw]
    if not isinstance(raw, list) or not all(isinstance(c, str | int) for c in raw):
        raise HTTPException(422, "cameo_ids must be a list of cameo ids")
    if len(raw) > jobs.MAX_CAMEOS:
        raise HTTPException(422, f"name at most {jobs.MAX_CAMEOS} cameos")
    cameos = []
    for named in raw:
        cameo_id = parse_id(named)
        cameo = await fstore.cameo_by_id(pool(request), cameo_id) if cameo_id is not None else None
        if cameo is None or cameo["actor_id"] != actor_id or cameo["deleted_at"] is not None:
            raise HTTPException(422, f"cameo {named} is not one of your cameos: to star someone"
                                     " else's, ask for a remix")
        cameos.append(cameo)
    return cameos


def prompt_refusal(refusal: Refusal) -> Response:
    """A prompt the policy refused: 422 with the reason, the rule that fired and the prompt's
    words that fired it (said to the requester only, never stored)."""
    return JSONResponse({"error": refusal.explanation, "rule": refusal.rule,
                         "category": refusal.category, "words": list(refusal.words)},
                        status_code=422)


async def refused_prompt(request: Request, requester: asyncpg.Record, prompt: str,
                         cameos: list[CameoUse], source: str) -> Response | None:
    """The 422 for a prompt the policy refuses (the refusal logged), the 503 for one it held
    (a layer could not judge it), or None to go on."""
    refusal = await prompts.review(fed(request), prompt, cameos)
    if refusal is None:
        return None
    if refusal.category == HELD:
        # Not a refusal: a layer could not judge it. Nothing queued, nothing logged against
        # the person; 503 says so, and when to try again.
        prompts.log_held(refusal, requester=requester, source=source)
        return JSONResponse({"error": refusal.reason, "rule": refusal.rule, "category": HELD,
                             "words": []}, status_code=503,
                            headers={"Retry-After": str(HELD_RETRY_AFTER_S)})
    await prompts.log_refusal(pool(request), refusal, requester=requester, prompt=prompt,
                              source=source, cameos=cameos)
    return prompt_refusal(refusal)


def job_refusal(exc: jobs.JobError) -> Response:
    """A refused job as the client sees it: 429 (with Retry-After when known) for a quota,
    422 for anything wrong with the request."""
    if isinstance(exc, jobs.QuotaError):
        headers = {"Retry-After": str(exc.retry_after)} if exc.retry_after else None
        return error(429, str(exc), headers=headers)
    return error(422, str(exc))


@rate_limited("generations")
async def create_generation(request: Request) -> Response:
    user = await current_user(request)
    params = await read_params(request)
    cameos = await _own_cameos(request, user["actor_id"], params.get("cameo_ids"))
    try:
        prompt, _ = jobs.check_request(_queue(request).config, params.get("prompt"),
                                       params.get("duration_s"))
    except jobs.JobError as exc:
        return job_refusal(exc)
    requester = await fstore.actor_by_id(pool(request), user["actor_id"])
    uses = [prompts.cameo_use(c["uri"], c["name"], c["instructions"], requester) for c in cameos]
    refused = await refused_prompt(request, requester, prompt, uses, "generation")
    if refused is not None:
        return refused
    try:
        job_id = await jobs.create_job(_queue(request), actor_id=user["actor_id"],
                                       prompt=params.get("prompt"),
                                       cameo_uris=[c["uri"] for c in cameos],
                                       duration_s=params.get("duration_s"))
    except jobs.JobError as exc:
        return job_refusal(exc)
    row = await gstore.job(pool(request), job_id)
    return JSONResponse(await job_json(request, row), status_code=201)


async def draft_post_terms(request: Request, author: asyncpg.Record, media_ids: list[int]
                           ) -> tuple[str | None, list[dict[str, Any]]]:
    """What a post of these media carries for the drafts among them: the model that made them
    and the author's own cameos in them (PROTOCOL.md: one's own cameo needs no authorization).
    A remix's draft is refused (409): it is published through its remix, which carries the
    other owners' consent; so is a draft whose cameo was deleted since it was made."""
    generator: str | None = None
    entries: dict[str, dict[str, Any]] = {}
    for media_id in media_ids:
        job = await gstore.job_by_result(pool(request), media_id)
        if job is None:
            continue
        if job["remix_id"] is not None:
            raise HTTPException(409, f"video {media_id} was made for remix {job['remix_id']}: publish"
                                     f" it with POST /api/v1/remixes/{job['remix_id']}/publish,"
                                     " which carries its cameo owners' consent")
        generator = generator or job["generator"]
        for uri in job["cameo_uris"]:
            cameo = await fstore.cameo_by_uri(pool(request), uri)
            if cameo is None or cameo["actor_id"] != author["id"] or cameo["deleted_at"] is not None:
                raise HTTPException(409, f"video {media_id} shows a cameo that was deleted")
            entries[uri] = {"cameo_uri": uri, "owner_uri": author["uri"], "authorization_uri": None,
                            "authorization_document": None}
    return generator, list(entries.values())


async def _own_job(request: Request) -> asyncpg.Record:
    user = await current_user(request)
    job_id = parse_id(request.path_params["job_id"])
    row = await gstore.job(pool(request), job_id) if job_id is not None else None
    if row is None or row["actor_id"] != user["actor_id"]:
        raise HTTPException(404, "no such generation")
    return row


async def list_generations(request: Request) -> Response:
    user = await current_user(request)
    params = dict(request.query_params)
    rows = await gstore.jobs_of(pool(request), user["actor_id"],
                                limit=int_param(params, "limit", default=20, low=1, high=40),
                                max_id=int_param(params, "max_id", low=0))
    items = [await job_json(request, r, await jobs.live_progress(_queue(request), r["id"]))
             for r in rows]
    return JSONResponse(items)


async def get_generation(request: Request) -> Response:
    row = await _own_job(request)
    return JSONResponse(await job_json(request, row, await jobs.live_progress(_queue(request), row["id"])))


async def cancel_generation(request: Request) -> Response:
    return await _cancel(request, await _own_job(request))


async def _cancel(request: Request, row: asyncpg.Record) -> Response:
    cancelled = await jobs.cancel_job(_queue(request), row["id"])
    if cancelled is None:
        if row["state"] == "held":
            return error(409, f"this generation is {HELD_FOR_REVIEW}")
        return error(409, f"this generation has {row['state']} already")
    return JSONResponse(await job_json(request, cancelled))


async def delete_generation(request: Request) -> Response:
    """Cancel a job on its way, or discard a finished draft nobody has seen: its files go."""
    row = await _own_job(request)
    if row["state"] != "succeeded":
        return await _cancel(request, row)
    discarded = await jobs.discard_draft(_queue(request), request.app.state.instance.media, row["id"])
    if discarded is None:
        return error(409, "this generation's video is published: delete the post instead")
    return JSONResponse(await job_json(request, discarded))


async def generation_events(request: Request) -> Response:
    """Server-Sent Events: the job as GET shows it, each time its state or step changes, until
    it ends or is held for a moderator. Progress comes from Redis; the row is read every second
    and when Redis says the state changed."""
    row = await _own_job(request)
    queue = _queue(request)

    async def stream() -> AsyncIterator[str]:
        current = row
        sent: tuple[Any, ...] | None = None
        quiet = 0.0
        looks = 0
        while True:
            live = await jobs.live_progress(queue, current["id"])
            if looks % ROW_EVERY == 0 or (live and live.get("state") != current["state"]):
                current = await gstore.job(pool(request), current["id"]) or current
            looks += 1
            body = await job_json(request, current, live)
            key = (body["state"], body["progress"]["step"], body["progress"]["total_steps"])
            if key != sent:
                sent, quiet = key, 0.0
                yield f"event: progress\nid: {looks}\ndata: {json.dumps(body)}\n\n"
            if body["state"] in jobs.SETTLED:
                return
            if quiet >= KEEPALIVE_S:
                quiet = 0.0
                yield ": keepalive\n\n"
            await asyncio.sleep(EVENT_POLL_S)
            quiet += EVENT_POLL_S

    return StreamingResponse(stream(), media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})


routes = [
    Route("/api/v1/generations", create_generation, methods=["POST"]),
    Route("/api/v1/generations", list_generations),
    Route("/api/v1/generations/{job_id}", get_generation),
    Route("/api/v1/generations/{job_id}", delete_generation, methods=["DELETE"]),
    Route("/api/v1/generations/{job_id}/cancel", cancel_generation, methods=["POST"]),
    Route("/api/v1/generations/{job_id}/events", generation_events),
]
