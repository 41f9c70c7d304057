"""The For You timeline and the steering behind it (policy/ranking.py says how it ranks)."""

from __future__ import annotations

from typing import Any

import asyncpg
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from federation import store as fstore
from federation.html import normalised_hashtag, parse_hashtags
from policy import ranking

from .. import store
from ..http import (
    PageResponse,
    current_user,
    error,
    fed,
    feed_pool,
    int_param,
    parse_id,
    pool,
    read_params,
    read_pool,
)
from ..safety import is_staff
from . import entities
from .statuses import render_statuses


async def for_you(request: Request) -> Response:
    """`GET /api/v1/timelines/for_you`: public videos, best first for the signed-in person (or
    by `hot` alone for a visitor); `cursor` from the `next` Link pages on."""
    user = await current_user(request, required=False)
    params = dict(request.query_params)
    limit = int_param(params, "limit", default=20, low=1, high=40)
    cursor = None
    if params.get("cursor"):
        try:
            cursor = ranking.read_cursor(params["cursor"])
        except ValueError as exc:
            return error(400, str(exc))
    viewer = user["actor_id"] if user else None
    staff = viewer is not None and await is_staff(request)
    rows = await store.for_you(feed_pool(request), viewer, ranking.Weights(), limit=limit, cursor=cursor,
                               candidates=ranking.CANDIDATES,
                               followed_candidates=ranking.FOLLOWED_CANDIDATES, staff=staff,
                               on_generic_plans=True)
    headers = {}
    if rows:
        base = str(request.url.remove_query_params(["cursor"]))
        sep = "&" if "?" in base else "?"
        after = ranking.next_cursor(rows[-1]["score"], rows[-1]["id"])
        headers["Link"] = f'<{base}{sep}cursor={after}>; rel="next"'
    return PageResponse(await render_statuses(request, rows, viewer, staff=staff, detailed=True,
                                              read_pool=read_pool(request)),
                        headers=headers)


def _preference_json(request: Request, row: asyncpg.Record, target: asyncpg.Record | None) -> dict[str, Any]:
    return {"id": str(row["id"]), "direction": row["direction"], "tag": row["tag"],
            "account": entities.account(fed(request), target) if target else None}


async def list_preferences(request: Request) -> Response:
    user = await current_user(request)
    rows = await store.feed_preferences(pool(request), user["actor_id"])
    targets = await store.actors_by_ids(pool(request), [r["target_actor_id"] for r in rows
                                                        if r["target_actor_id"]])
    return JSONResponse([_preference_json(request, r, targets.get(r["target_actor_id"])) for r in rows])


async def set_preference(request: Request) -> Response:
    """`POST /api/v1/for_you/preferences {account_id | tag, direction: more|less}`: steer the
    feed; asking again about the same creator or topic changes the answer."""
    user = await current_user(request)
    params = await read_params(request, limit=10_000)
    try:
        direction = ranking.Direction(params.get("direction"))
    except ValueError:
        return error(422, "direction must be more or less")
    account_id, tag = params.get("account_id"), params.get("tag")
    if (account_id is None) == (tag is None):
        return error(422, "give either account_id or tag")
    target = None
    if account_id is not None:
        account_id = parse_id(account_id)
        if account_id is None:
            return error(404, "no such account")
        target = await fstore.actor_by_id(pool(request), account_id)
        if target is None:
            return error(404, "no such account")
        if target["id"] == user["actor_id"]:
            return error(422, "your own videos are not in your For You")
    else:
        raw = tag.removeprefix("#") if isinstance(tag, str) and len(tag) <= 100 else ""
        # The whole text must be the one hashtag, as a post would have it.
        if not raw or parse_hashtags(f"#{raw}") != [normalised_hashtag(raw)]:
            return error(422, "tag must be one hashtag, such as #cats or cats")
        tag = normalised_hashtag(raw)
    row = await store.set_feed_preference(pool(request), user["actor_id"],
                                          target_actor_id=target["id"] if target else None, tag=tag,
                                          direction=direction.value, most=ranking.MAX_PREFERENCES)
    if row is None:
        return error(422, f"you have {ranking.MAX_PREFERENCES} choices already: remove one first")
    return JSONResponse(_preference_json(request, row, target))


async def delete_preference(request: Request) -> Response:
    user = await current_user(request)
    preference_id = parse_id(request.path_params["preference_id"])
    if preference_id is None \
            or not await store.delete_feed_preference(pool(request), user["actor_id"], preference_id):
        return error(404, "no such choice")
    return JSONResponse({})


routes = [
    Route("/api/v1/timelines/for_you", for_you),
    Route("/api/v1/for_you/preferences", list_preferences),
    Route("/api/v1/for_you/preferences", set_preference, methods=["POST"]),
    Route("/api/v1/for_you/preferences/{preference_id}", delete_preference, methods=["DELETE"]),
]
