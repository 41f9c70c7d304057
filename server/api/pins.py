"""Posts pinned to a profile (`POST /api/v1/statuses/:id/pin` and `/unpin`), which
`GET /api/v1/accounts/:id/statuses?pinned=true` lists and the actor's `featured` collection
serves to other servers, as Mastodon's do."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from federation import outbox
from federation import store as fstore

from .. import store
from ..http import current_user, error, fed, pool
from .statuses import render_statuses, visible_or_404


async def pin(request: Request) -> Response:
    """Mastodon's rules: only one's own post, not a boost, not a direct one, and at most
    store.MAX_PINS. Pinning twice, or unpinning what is not pinned, changes nothing and
    tells no one."""
    user = await current_user(request)
    post = await visible_or_404(request, user)
    pinning = not request.url.path.endswith("/unpin")
    if not pinning:
        changed = await store.unpin(pool(request), user["actor_id"], post["id"])
    elif post["actor_id"] != user["actor_id"]:
        return error(422, "you can only pin your own posts")
    elif post["reblog_of_id"]:
        return error(422, "a boost cannot be pinned")
    elif post["visibility"] == "direct":
        return error(422, "a direct post cannot be pinned")
    else:
        changed = await store.pin(pool(request), user["actor_id"], post["id"])
        if changed is None:
            return error(422, f"you have already pinned the most posts one may, {store.MAX_PINS}")
    # Other servers hear of the posts their people may see in the featured collection.
    if changed and post["visibility"] in ("public", "unlisted"):
        me = await fstore.actor_by_id(pool(request), user["actor_id"])
        await outbox.feature(fed(request), me, post, pinned=pinning)
    return JSONResponse((await render_statuses(request, [post], user["actor_id"]))[0])


routes = [
    Route("/api/v1/statuses/{status_id:id}/pin", pin, methods=["POST"]),
    Route("/api/v1/statuses/{status_id:id}/unpin", pin, methods=["POST"]),
]
