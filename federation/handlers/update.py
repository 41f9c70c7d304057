"""Update: a remote actor changed its profile (or its server suspended it, or lifted that) or
edited a post."""

from __future__ import annotations

from typing import Any

from .. import actors, posts, store
from ..context import Federation
from ..errors import Ignore
from ..vocab import ACTOR_TYPES, POST_TYPES
from .common import forward_to_spreaders, raw_object


async def handle(fed: Federation, activity: dict[str, Any]) -> None:
    obj = activity.get("object")
    if not isinstance(obj, dict):
        raise Ignore("Update without an embedded object")
    if obj.get("type") in ACTOR_TYPES:
        # The signed document is the actor's own (inbox.check_origin); refetching from its origin
        # keeps the one path that stores actors and keys, and that reads `suspended`.
        await actors.fetch_actor(fed, activity["actor"])
        return
    if obj.get("type") in POST_TYPES:
        held = await store.post_by_uri(fed.pool, obj["id"])
        if held is None or held["deleted_at"] is not None:
            raise Ignore("Update of a post we do not have")
        post_id = await posts.ingest(fed, obj, await raw_object(fed, activity), edit=True)
        await forward_to_spreaders(fed, activity, await store.post_by_id(fed.pool, post_id))
        return
    raise Ignore(f"Update of unsupported type {obj.get('type')!r}")
