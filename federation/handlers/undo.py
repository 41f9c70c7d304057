"""Undo: of a Follow, Like, Announce or Block that the same actor sent before."""

from __future__ import annotations

from typing import Any

from .. import store
from ..context import Federation
from ..errors import Ignore
from ..jsonld import ref
from ..vocab import ACTIVITY_TYPES


async def handle(fed: Federation, activity: dict[str, Any]) -> None:
    actor = await store.actor_by_uri(fed.pool, activity["actor"])
    if actor is None:
        raise Ignore("Undo from an actor we never heard of")
    obj = activity.get("object")
    uri = ref(obj) or ""
    kind = ACTIVITY_TYPES.pick(obj.get("type")) if isinstance(obj, dict) else None
    if kind in (None, "Follow"):
        row = await store.follow_by_uri(fed.pool, uri)
        if row is None and isinstance(obj, dict):
            target = await store.actor_by_uri(fed.pool, ref(obj.get("object")) or "")
            row = await store.follow(fed.pool, actor["id"], target["id"]) if target else None
        if row is not None and row["follower_id"] == actor["id"]:
            await store.delete_follow(fed.pool, row["id"])
            return
    if kind in (None, "Like"):
        row = await store.like_by_uri(fed.pool, uri)
        if row is None and isinstance(obj, dict):
            post = await store.post_by_uri(fed.pool, ref(obj.get("object")) or "")
            row = await store.like(fed.pool, actor["id"], post["id"]) if post else None
        if row is not None and row["actor_id"] == actor["id"]:
            await store.delete_like(fed.pool, row["id"])
            return
    if kind in (None, "Announce"):
        row = await store.post_by_uri(fed.pool, uri)
        if row is not None and row["actor_id"] == actor["id"] and row["reblog_of_id"]:
            await store.soft_delete_post(fed.pool, row["id"])
            return
    if kind in (None, "Block"):
        await store.delete_block_by_uri(fed.pool, uri, actor["id"])
        return
    raise Ignore(f"nothing to undo for {uri}")
