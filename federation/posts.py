"""Remote posts: fetched from their origin and stored with their media, mentions and tags."""

from __future__ import annotations

from typing import Any

import asyncpg

from . import actors, fetch, objects, post_consent, store, streams
from .consent import ConsentError
from .context import Federation
from .errors import Ignore
from .jsonld import canonical, ref
from .signing import instance_signer
from .vocab import POST_TYPES


async def ingest(fed: Federation, obj: dict[str, Any], raw: dict[str, Any] | None = None) -> int:
    """Store or refresh a remote post whose origin has been checked; returns its row id.

    `raw` is the object as received, before compaction: a post that uses cameos is checked on
    it (the embedded authorizations are signed bytes) and is not stored unless every cameo's
    consent holds; a stored one that no longer passes (an edit) is hidden.
    """
    if obj.get("type") not in POST_TYPES:
        raise Ignore(f"not a post type: {obj.get('type')!r}")
    author_uri = objects.author_of(obj)
    if not isinstance(author_uri, str) or not fetch.same_origin(author_uri, obj["id"]):
        raise Ignore("post is not attributed to an actor of its own origin")
    author = await actors.actor(fed, author_uri)
    raw = raw if raw is not None else obj
    uses = None
    if post_consent.uses_cameos(raw, obj):
        try:
            uses = await post_consent.verify_post(fed, raw)
        except ConsentError as exc:
            existing = await store.post_by_uri(fed.pool, obj["id"])
            if existing is not None and existing["actor_id"] == author["id"]:
                await store.soft_delete_post(fed.pool, existing["id"])
            raise Ignore(f"the post's cameo consent does not hold: {exc}") from None
    fields = objects.incoming_post_fields(obj, author["followers_url"])
    digest = raw.get("promptDigest")
    fields["prompt_digest"] = digest if isinstance(digest, str) and uses else None
    fields["consent_checked_at"] = objects.now() if uses else None
    media = [] if (await fed.rules.policy(author_uri)).reject_media else objects.incoming_media(obj)
    mention_uris = objects.mention_targets(obj)
    async with fed.pool.acquire() as conn, conn.transaction():
        existing = await store.post_by_uri(conn, obj["id"])
        if existing is not None and existing["actor_id"] != author["id"]:
            raise Ignore("post id belongs to another actor")
        parent = await store.post_by_uri(conn, fields["in_reply_to_uri"]) \
            if fields["in_reply_to_uri"] else None
        fields["in_reply_to_id"] = parent["id"] if parent else None
        if existing is None:
            post_id = await store.insert_post(conn, {**fields, "actor_id": author["id"], "local": False})
            await store.link_replies(conn, post_id, obj["id"])
        else:
            post_id = existing["id"]
            await store.update_post(conn, post_id, {**fields, "edited_at": objects.parse_time(
                obj.get("updated")) or existing["edited_at"], "deleted_at": None})
        await store.replace_remote_media(conn, post_id, author["id"], media)
        await store.replace_post_cameos(conn, post_id, [u.row() for u in uses or []])
        mentioned = await _known_actors(conn, mention_uris)
        await store.replace_mentions(conn, post_id, [a["id"] for a in mentioned])
        await store.replace_tags(conn, post_id, objects.hashtags(obj))
        notified = await _notify(conn, post_id, author["id"], mentioned, parent) if existing is None else []
    await streams.post_event(fed, "update" if existing is None else "status.update", post_id)
    for user_id, notification_id in notified:
        await streams.notification(fed, user_id, notification_id)
    return post_id


async def _known_actors(conn: asyncpg.Connection, uris: list[str]) -> list[asyncpg.Record]:
    found = []
    for uri in uris:
        row = await store.actor_by_uri(conn, uri)
        if row is not None:
            found.append(row)
    return found


async def _notify(conn: asyncpg.Connection, post_id: int, author_id: int,
                  mentioned: list[asyncpg.Record], parent: asyncpg.Record | None) -> list[tuple[int, int]]:
    """Notify the local accounts a post mentions or answers; (user id, notification id) each."""
    told: dict[int, int] = {}
    for actor in mentioned:
        if actor["local"] and actor["user_id"] and actor["user_id"] not in told:
            told[actor["user_id"]] = await store.insert_notification(conn, actor["user_id"], "mention",
                                                                     author_id, post_id)
    if parent is not None and parent["local"]:
        owner = await store.actor_by_id(conn, parent["actor_id"])
        if owner and owner["user_id"] and owner["user_id"] not in told:
            told[owner["user_id"]] = await store.insert_notification(conn, owner["user_id"], "reply",
                                                                     author_id, post_id)
    return list(told.items())


async def post(fed: Federation, uri: str) -> asyncpg.Record:
    """A known post, or a remote one fetched from its origin (never from a forwarded copy)."""
    row = await store.post_by_uri(fed.pool, uri)
    if row is not None:
        if row["deleted_at"] is not None:
            raise Ignore("the post was deleted")
        return row
    if fed.is_local(uri):
        raise Ignore("no such local post")
    fetched = await fetch.fetch_document(fed.client, uri, sign=await instance_signer(fed),
                                         max_bytes=fed.max_document_bytes)
    post_id = await ingest(fed, canonical(fetched.document), fetched.document)
    row = await store.post_by_id(fed.pool, post_id)
    assert row is not None
    return row


async def is_relevant(fed: Federation, obj: dict[str, Any], author_uri: str) -> bool:
    """Keep only posts someone here asked for: by a followed actor, mentioning or replying to us."""
    if any(fed.is_local(uri) for uri in objects.mention_targets(obj)):
        return True
    parent = ref(obj.get("inReplyTo"))
    if parent and (fed.is_local(parent) or await store.post_by_uri(fed.pool, parent)):
        return True
    return await store.has_local_follower(fed.pool, author_uri)
