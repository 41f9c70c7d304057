"""Look-ups that several handlers share."""

from __future__ import annotations

from contextvars import ContextVar
from typing import Any

import asyncpg

from .. import delivery, store
from ..context import Federation
from ..jsonld import ref

# The inbox row being handled (`inbox._handle`): its body is the activity as received, already
# in hand, which `raw_body` need not read again.
HANDLED_ROW: ContextVar[asyncpg.Record | None] = ContextVar("handled_inbox_row", default=None)


async def follow_answered(fed: Federation, activity: dict[str, Any]) -> asyncpg.Record | None:
    """The local Follow an Accept or Reject answers, if the answering actor is its target.

    Found by the Follow's id, or by (local follower, answering actor) for servers that embed
    the Follow without an id we know.
    """
    answerer = await store.actor_by_uri(fed.pool, activity["actor"])
    if answerer is None:
        return None
    obj = activity.get("object")
    row = await store.follow_by_uri(fed.pool, ref(obj) or "")
    if row is None and isinstance(obj, dict) and ref(obj.get("object")) == activity["actor"]:
        follower = await store.actor_by_uri(fed.pool, ref(obj.get("actor")) or "")
        if follower is not None and follower["local"]:
            row = await store.follow(fed.pool, follower["id"], answerer["id"])
    if row is None or row["followed_id"] != answerer["id"]:
        return None
    return row


async def local_user_of_post(conn: Any, post: asyncpg.Record) -> int | None:
    """The user to notify about an interaction with `post`, when it is a local post."""
    if not post["local"]:
        return None
    owner = await store.actor_by_id(conn, post["actor_id"])
    return owner["user_id"] if owner is not None else None


async def raw_body(fed: Federation, activity: dict[str, Any]) -> dict[str, Any]:
    """The activity as it was received, before compaction: signed parts are checked on it."""
    row = HANDLED_ROW.get()
    if row is not None and row["activity_uri"] == activity["id"]:
        return row["body"]
    return await store.inbox_activity_body(fed.pool, activity["id"]) or activity


async def raw_object(fed: Federation, activity: dict[str, Any]) -> dict[str, Any] | None:
    """The embedded object as received, if it is the one the compacted activity names."""
    obj = (await raw_body(fed, activity)).get("object")
    if isinstance(obj, dict) and obj.get("id") == ref(activity.get("object")):
        return obj
    return None


async def forward_to_spreaders(fed: Federation, activity: dict[str, Any], post: asyncpg.Record) -> None:
    """Pass a `Delete` or `Update` of a remote post on, as received, to the servers that saw it
    through accounts here (Mastodon's ActivityPub::Forwarder): the followers of the local
    accounts that boosted it, and of the local author it replies to. Receivers check it by its
    author's proof, or at the post's origin. Call before a Delete hides the boosts."""
    if post["visibility"] not in ("public", "unlisted"):
        return
    async with fed.pool.acquire() as conn, conn.transaction():
        spreaders = await store.local_boosters(conn, post["id"])
        parent = await store.post_by_id(conn, post["in_reply_to_id"]) if post["in_reply_to_id"] else None
        if parent is not None and parent["local"]:
            spreaders.insert(0, await store.actor_by_id(conn, parent["actor_id"]))
        if not spreaders:
            return
        author = await store.actor_by_id(conn, post["actor_id"])
        inboxes = {inbox for spreader in spreaders
                   for inbox in await store.follower_inboxes(conn, spreader["id"])}
        inboxes -= {author["shared_inbox"], author["inbox"]}
        ids = await delivery.forward_activity(conn, spreaders[0]["id"], await raw_body(fed, activity),
                                              sorted(inboxes), public=False)
    await delivery.start(fed, ids)
