"""Announce: a remote actor boosts a post, which is fetched from its own origin."""

from __future__ import annotations

from typing import Any

from .. import actors, objects, posts, store, streams
from ..context import Federation
from ..errors import Ignore
from ..jsonld import ref
from .common import local_user_of_post


async def handle(fed: Federation, activity: dict[str, Any]) -> None:
    booster = await actors.actor(fed, activity["actor"])
    # An embedded copy of someone else's post proves nothing: use its id only.
    original = await posts.post(fed, ref(activity.get("object")) or "")
    if original["visibility"] not in ("public", "unlisted"):
        raise Ignore("boost of a post that is not public")
    if await store.post_by_uri(fed.pool, activity["id"]) or \
            await store.boost(fed.pool, booster["id"], original["id"]):
        return
    async with fed.pool.acquire() as conn, conn.transaction():
        boost_id = await store.insert_boost(conn, {
            "uri": activity["id"], "actor_id": booster["id"], "local": False,
            "object_type": "Announce", "reblog_of_id": original["id"],
            "visibility": objects.visibility_of(activity, booster["followers_url"]),
            "published_at": objects.parse_time(activity.get("published")) or objects.now(),
        })
        if boost_id is None:
            return  # the same boost, kept a moment ago by another worker
        user_id = await local_user_of_post(conn, original)
        notification_id = None
        if user_id is not None:
            notification_id = await store.insert_notification(conn, user_id, "reblog", booster["id"],
                                                              original["id"])
    await streams.post_event(fed, "update", boost_id)
    if notification_id is not None:
        await streams.notification(fed, user_id, notification_id)
