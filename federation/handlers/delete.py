"""Delete: of a post, or of the actor itself."""

from __future__ import annotations

from typing import Any

from .. import post_consent, remix, store
from ..context import Federation
from ..errors import Ignore
from ..jsonld import ref
from .common import forward_to_spreaders, raw_body


async def handle(fed: Federation, activity: dict[str, Any]) -> None:
    # A revoked RemixAuthorization: the requester's instance withdraws its post (and forwards
    # the owner's signed Delete); every instance hides the posts that rest on it.
    raw = await raw_body(fed, activity)
    requester_side = await remix.receive_revocation(fed, raw)
    if await post_consent.receive_revocation(fed, raw) or requester_side:
        return
    uri = ref(activity.get("object"))
    actor = await store.actor_by_uri(fed.pool, activity["actor"])
    if actor is None:
        raise Ignore("Delete from an actor we never heard of")
    if uri == activity["actor"]:
        await store.delete_actor(fed.pool, actor["id"])
        return
    post = await store.post_by_uri(fed.pool, uri or "")
    if post is None or post["actor_id"] != actor["id"]:
        raise Ignore("Delete of a post we do not have from this actor")
    await forward_to_spreaders(fed, activity, post)
    # Its boosts go with it: a boost must not outlive the post it shows.
    await store.soft_delete_post(fed.pool, post["id"])
