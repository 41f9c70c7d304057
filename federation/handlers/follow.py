"""Follow: someone elsewhere follows a local actor."""

from __future__ import annotations

from typing import Any

from .. import actors, outbox, store, streams
from ..context import Federation
from ..errors import Ignore
from ..jsonld import ref


async def handle(fed: Federation, activity: dict[str, Any]) -> None:
    target = await store.actor_by_uri(fed.pool, ref(activity.get("object")) or "")
    if target is None or not target["local"] or target["user_id"] is None:
        raise Ignore("Follow of an actor that is not a local account")
    follower = await actors.actor(fed, activity["actor"])
    if await store.block(fed.pool, target["id"], follower["id"]):
        await outbox.answer_follow(fed, target, follower, activity, accept=False)
        return
    # As on Mastodon, a limited server's people only ever ask: the person decides.
    silenced = (await fed.rules.policy(follower["uri"])).silenced
    accepted = not target["manually_approves_followers"] and not silenced
    async with fed.pool.acquire() as conn, conn.transaction():
        await store.upsert_follow(conn, activity["id"], follower["id"], target["id"], accepted)
        notification_id = await store.insert_notification(
            conn, target["user_id"], "follow" if accepted else "follow_request", follower["id"])
    await streams.notification(fed, target["user_id"], notification_id)
    if accepted:
        await outbox.answer_follow(fed, target, follower, activity, accept=True)
