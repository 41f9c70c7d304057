"""Mastodon's hashtags: a tag's entity with its week of use (`GET /api/v1/tags/:name`),
following and unfollowing it (`POST .../follow`, `.../unfollow`), and the tags one follows
(`GET /api/v1/followed_tags`). Public posts with a followed tag join the home timeline."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from federation.html import normalised_hashtag, parse_hashtags

from .. import store
from ..http import current_user, fed, paged, paging, pool

# Mastodon's default page of followed tags, and twice it at most.
TAGS_PER_PAGE, MOST_TAGS_PER_PAGE = 100, 200


def history(days: list[Any]) -> list[dict[str, str]]:
    """Mastodon's `history` of a tag or a link: a week of days, today first, each its UTC
    midnight as a Unix time and that day's uses and accounts (strings, as Mastodon sends them),
    from `days`, each a mapping of `age` (in days), `uses` and `accounts`, for the days used."""
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    by_age = {row["age"]: row for row in days}
    return [{"day": str(int((today - timedelta(days=age)).timestamp())),
             "uses": str(by_age[age]["uses"] if age in by_age else 0),
             "accounts": str(by_age[age]["accounts"] if age in by_age else 0)}
            for age in range(store.TREND_DAYS)]


async def tag_entities(request: Request, names: list[str], viewer: int | None) -> list[dict[str, Any]]:
    """Mastodon's Tag entities, with `following` for a signed-in viewer (as Mastodon adds it)."""
    usage = await store.tag_usage(pool(request), names)
    followed = await store.following_tags(pool(request), viewer, names) if viewer else set()
    return [{"name": name, "url": f"{fed(request).base_url}/tags/{name}", "history": history(usage[name]),
             **({"following": name in followed} if viewer else {})} for name in names]


def _tag_name(request: Request) -> str:
    raw = request.path_params["name"].removeprefix("#")
    if parse_hashtags(f"#{raw}") != [normalised_hashtag(raw)]:
        raise HTTPException(404, "no such hashtag: a hashtag is letters, digits and underscores")
    return normalised_hashtag(raw)


async def tag(request: Request) -> Response:
    user = await current_user(request, required=False)
    name = _tag_name(request)
    return JSONResponse((await tag_entities(request, [name], user["actor_id"] if user else None))[0])


async def follow(request: Request) -> Response:
    user = await current_user(request)
    name = _tag_name(request)
    if request.url.path.endswith("/unfollow"):
        await store.unfollow_tag(pool(request), user["actor_id"], name)
    else:
        await store.follow_tag(pool(request), user["actor_id"], name)
    return JSONResponse((await tag_entities(request, [name], user["actor_id"]))[0])


async def followed_tags(request: Request) -> Response:
    user = await current_user(request)
    page = paging(dict(request.query_params), default=TAGS_PER_PAGE, most=MOST_TAGS_PER_PAGE)
    rows = await store.followed_tags(pool(request), user["actor_id"], **page)
    found = await tag_entities(request, [row["name"] for row in rows], user["actor_id"])
    return paged(request, found, cursors=[row["page_id"] for row in rows], limit=page["limit"])


routes = [
    Route("/api/v1/tags/{name}", tag),
    Route("/api/v1/tags/{name}/follow", follow, methods=["POST"]),
    Route("/api/v1/tags/{name}/unfollow", follow, methods=["POST"]),
    Route("/api/v1/followed_tags", followed_tags),
]
