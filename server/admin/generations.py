"""Generations for staff: the drafts the output safety check held, and a moderator's decision on
each, release (the requester gets the draft) or reject (the job fails and the draft is deleted).

Moderators and admins alike (`current_staff`); the requester sees only `held` and a plain reason.
"""

from __future__ import annotations

from typing import Any

import asyncpg
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from federation import store as fstore
from federation.objects import iso
from generation import jobs
from generation import store as gstore

from ..api import entities
from ..api.generations import job_json
from ..http import current_staff, error, fed, int_param, parse_id, pool, read_params

MAX_REASON_CHARS = 500


def review_reason(raw: Any) -> str | None:
    """A moderator's reason for a rejection, as the requester will read it; ValueError if unfit."""
    if raw is None or raw == "":
        return None
    if not isinstance(raw, str) or len(raw) > MAX_REASON_CHARS or any(ord(c) < 32 for c in raw):
        raise ValueError(f"reason must be one line of at most {MAX_REASON_CHARS} characters")
    return raw.strip() or None


async def _staff_json(request: Request, row: asyncpg.Record) -> dict[str, Any]:
    """The job as its requester sees it, plus what staff need to decide: who asked, the draft
    (held or not), and the safety check's verdict. The draft's address is not signed: staff
    fetch a held draft with their token, and another draft is its requester's alone."""
    media = await fstore.media_by_id(pool(request), row["result_media_id"]) \
        if row["result_media_id"] is not None else None
    actor = await fstore.actor_by_id(pool(request), row["actor_id"])
    return {
        **await job_json(request, row),
        "account": entities.account(fed(request), actor) if actor else None,
        "result": entities.media_attachment(fed(request), media) if media else None,
        "safety": {"score": row["safety_score"], "frame": row["safety_frame"],
                   "reason": row["held_reason"]},
        "reviewed_at": iso(row["reviewed_at"]) if row["reviewed_at"] else None,
    }


async def _job(request: Request) -> asyncpg.Record:
    job_id = parse_id(request.path_params["job_id"])
    row = await gstore.job(pool(request), job_id) if job_id is not None else None
    if row is None:
        raise HTTPException(404, "no such generation")
    return row


def _not_held(row: asyncpg.Record, action: str) -> Response:
    return error(409, f"this generation is {row['state']}, not held: only a held one can be {action}")


async def list_generations(request: Request) -> Response:
    """Everyone's generations in one state (`state`, default `held`), newest first."""
    await current_staff(request)
    params = dict(request.query_params)
    state = params.get("state") or "held"
    if state not in jobs.TRANSITIONS:
        return error(422, f"state must be one of {', '.join(jobs.TRANSITIONS)}")
    rows = await gstore.jobs_in_state(pool(request), state,
                                      limit=int_param(params, "limit", default=20, low=1, high=80),
                                      max_id=int_param(params, "max_id", low=0))
    return JSONResponse([await _staff_json(request, r) for r in rows])


async def get_generation(request: Request) -> Response:
    await current_staff(request)
    return JSONResponse(await _staff_json(request, await _job(request)))


async def release_generation(request: Request) -> Response:
    staff = await current_staff(request)
    row = await _job(request)
    released = await jobs.release_held(request.app.state.instance.jobs, row["id"], staff["id"],
                                       request.app.state.instance.media)
    if released is None:
        return _not_held(await _job(request), "released")
    return JSONResponse(await _staff_json(request, released))


async def reject_generation(request: Request) -> Response:
    staff = await current_staff(request)
    row = await _job(request)
    params = await read_params(request)
    try:
        reason = review_reason(params.get("reason"))
    except ValueError as exc:
        return error(422, str(exc))
    rejected = await jobs.reject_held(request.app.state.instance.jobs, row["id"], staff["id"],
                                      request.app.state.instance.media, reason)
    if rejected is None:
        return _not_held(await _job(request), "rejected")
    return JSONResponse(await _staff_json(request, rejected))


routes = [
    Route("/api/v1/admin/generations", list_generations),
    Route("/api/v1/admin/generations/{job_id}", get_generation),
    Route("/api/v1/admin/generations/{job_id}/release", release_generation, methods=["POST"]),
    Route("/api/v1/admin/generations/{job_id}/reject", reject_generation, methods=["POST"]),
]
