"""Mastodon's markers API: where the signed-in person stopped reading their home timeline and
their notifications, kept on the server so that every app of theirs agrees on what is new."""

from __future__ import annotations

from typing import Any

import asyncpg
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from federation.objects import iso

from .. import store
from ..http import current_user, error, parse_id, pool, read_params

TIMELINES = ("home", "notifications")


def marker_json(row: asyncpg.Record) -> dict[str, Any]:
    return {"last_read_id": str(row["last_read_id"]), "version": row["version"],
            "updated_at": iso(row["updated_at"])}


async def get_markers(request: Request) -> Response:
    """Unknown timelines are left out, as Mastodon does."""
    user = await current_user(request)
    asked = [t for t in request.query_params.getlist("timeline[]") if t in TIMELINES]
    rows = await store.markers(pool(request), user["id"], asked)
    return JSONResponse({row["timeline"]: marker_json(row) for row in rows})


def last_read_ids(params: dict[str, Any]) -> dict[str, Any]:
    """The `last_read_id` asked for each timeline named in a JSON body
    (`{"notifications": {"last_read_id": "5"}}`) or a form (`notifications[last_read_id]=5`)."""
    found: dict[str, Any] = {}
    for key, value in params.items():
        if key.endswith("[last_read_id]"):
            found[key.removesuffix("[last_read_id]")] = value
        elif isinstance(value, dict):
            found[key] = value.get("last_read_id")
    return found


async def save_markers(request: Request) -> Response:
    user = await current_user(request)
    asked = last_read_ids(await read_params(request))
    if not asked:
        return error(422, "name a timeline to mark: notifications[last_read_id] or home[last_read_id]")
    last_read: dict[str, int] = {}
    for timeline, value in asked.items():
        if timeline not in TIMELINES:
            return error(422, f"unknown timeline {timeline!r}: markers are kept for home and notifications")
        if (last_read_id := parse_id(value)) is None:
            return error(422, f"{timeline}[last_read_id] must be an id")
        last_read[timeline] = last_read_id
    async with pool(request).acquire() as conn, conn.transaction():
        rows = [await store.save_marker(conn, user["id"], timeline, last_read_id)
                for timeline, last_read_id in last_read.items()]
    return JSONResponse({row["timeline"]: marker_json(row) for row in rows})


routes = [
    Route("/api/v1/markers", get_markers),
    Route("/api/v1/markers", save_markers, methods=["POST"]),
]
