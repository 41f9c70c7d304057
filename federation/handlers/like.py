"""Like: a remote actor likes a post."""

from __future__ import annotations

from typing import Any

from .. import actors, posts, store, streams
from ..context import Federation
from ..jsonld import ref
from .common import local_user_of_post


async def handle(fed: Federation, activity: dict[str, Any]) -> None:
    post = await posts.post(fed, ref(activity.get("object")) or "")
    liker = await actors.actor(fed, activity["actor"])
    notification_id = user_id = None
    async with fed.pool.acquire() as conn, conn.transaction():
        if await store.insert_like(conn, activity["id"], liker["id"], post["id"]):
            user_id = await local_user_of_post(conn, post)
            if user_id is not None:
                notification_id = await store.insert_notification(conn, user_id, "favourite",
                                                                  liker["id"], post["id"])
    if notification_id is not None:
        await streams.notification(fed, user_id, notification_id)
