"""Remote posts: fetched from their origin and stored with their media, mentions and tags."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import asyncpg

from . import actors, edits, fetch, objects, post_consent, quotes, store
from .consent import ConsentError
from .context import Federation
from .errors import Ignore
from .jsonld import JSONLDError, canonical, ref
from .signing import instance_signer
from .vocab import POST_TYPES

log = logging.getLogger(__name__)


# Posts one incoming post may bring with it: its ancestors (a reply to a thread we never saw is
# not left dangling) and the post it quotes, each fetched and checked as an incoming post is.
MAX_ANCESTORS = 5
MAX_FETCHES = 8


@dataclass
class Fetches:
    """What is left of one incoming post's allowance of posts fetched with it."""

    left: int = MAX_FETCHES


async def ingest(fed: Federation, obj: dict[str, Any], raw: dict[str, Any] | None = None, *,
                 edit: bool = False, depth: int = 0, fetches: Fetches | None = None) -> int:
    """Store or refresh a remote post whose origin has been checked; returns its row id.

    `raw` is the object as received, before compaction: a post that uses cameos is checked on
    it (the embedded authorizations are signed bytes) and is not stored unless every cameo's
    consent holds; a stored one that no longer passes (an edit) is hidden. With `edit` (its
    author's `Update`), a change a reader sees is kept as a version in the post's history; an
    Update older than the version held is ignored. The post it answers and the post it quotes
    are fetched when unknown, `depth` levels up a thread being at most MAX_ANCESTORS, and all of
    them together at most MAX_FETCHES.
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
    fetches = fetches or Fetches()
    if fields["in_reply_to_uri"] and depth < MAX_ANCESTORS:
        await _fetch_related(fed, fields["in_reply_to_uri"], depth + 1, fetches)
    quoted = await _fetch_related(fed, fields["quote_uri"], depth + 1, fetches) \
        if fields["quote_uri"] and fields["quote_uri"] != obj["id"] else None
    fields["quote_id"] = quoted["id"] if quoted else None
    fields["quote_state"] = await quotes.incoming_quote_state(fed, obj, author_uri, quoted) \
        if fields["quote_uri"] else None
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
            updated = objects.parse_time(obj.get("updated"))
            if edit and updated is not None and existing["edited_at"] is not None \
                    and updated <= existing["edited_at"]:
                raise Ignore("an Update older than the version held")
            before_media = await store.post_media(conn, post_id)
            await store.update_post(conn, post_id, {**fields, "deleted_at": None, "edited_at": updated or (
                objects.now() if edit else existing["edited_at"])})
        await store.replace_remote_media(conn, post_id, author["id"], media)
        if edit and existing is not None:
            after = await store.post_by_id(conn, post_id)
            after_media = await store.post_media(conn, post_id)
            if edits.changed(existing, before_media, after, after_media):
                await edits.record(conn, existing, before_media, after, after_media)
            else:
                # Nothing a reader sees changed (a refreshed poll count, say): no new version.
                await store.update_post(conn, post_id, {"edited_at": existing["edited_at"]})
        await store.replace_post_cameos(conn, post_id, [u.row() for u in uses or []])
        mentioned = await _known_actors(conn, mention_uris)
        # Local accounts it addresses without a Mention tag: Mastodon's "silent" mentions,
        # which let them see it but notify nobody.
        addressed = [a for a in await _known_actors(conn, objects.audience(obj))
                     if a["local"] and a["id"] not in {m["id"] for m in mentioned}]
        await store.replace_mentions(conn, post_id, [a["id"] for a in mentioned + addressed],
                                     [a["id"] for a in addressed])
        await store.replace_tags(conn, post_id, objects.hashtags(obj))
        if existing is None:
            await _notify(conn, post_id, author["id"], mentioned, parent)
    return post_id


async def _fetch_related(fed: Federation, uri: str, depth: int, fetches: Fetches) -> asyncpg.Record | None:
    """A post this one answers or quotes: known, or fetched within the allowance; None when it
    cannot be had (gone, refused, not a post, over the allowance): the post is kept without."""
    row = await store.post_by_uri(fed.pool, uri)
    if row is not None:
        return row if row["deleted_at"] is None else None
    if fetches.left <= 0 or fed.is_local(uri):
        return None
    fetches.left -= 1
    try:
        return await post(fed, uri, depth=depth, fetches=fetches)
    except (Ignore, fetch.FetchError, JSONLDError, actors.ActorError) as exc:
        log.info("could not fetch %s for a post that names it: %s", uri, exc)
        return None


async def _known_actors(conn: asyncpg.Connection, uris: list[str]) -> list[asyncpg.Record]:
    found = []
    for uri in uris:
        row = await store.actor_by_uri(conn, uri)
        if row is not None:
            found.append(row)
    return found


async def _notify(conn: asyncpg.Connection, post_id: int, author_id: int,
                  mentioned: list[asyncpg.Record], parent: asyncpg.Record | None) -> None:
    told: set[int] = set()
    for actor in mentioned:
        if actor["local"] and actor["user_id"] and actor["user_id"] not in told:
            await store.insert_notification(conn, actor["user_id"], "mention", author_id, post_id)
            told.add(actor["user_id"])
    if parent is not None and parent["local"]:
        owner = await store.actor_by_id(conn, parent["actor_id"])
        if owner and owner["user_id"] and owner["user_id"] not in told:
            await store.insert_notification(conn, owner["user_id"], "reply", author_id, post_id)


async def post(fed: Federation, uri: str, *, depth: int = 0,
               fetches: Fetches | None = None) -> asyncpg.Record:
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
    post_id = await ingest(fed, canonical(fetched.document), fetched.document, depth=depth,
                           fetches=fetches)
    row = await store.post_by_id(fed.pool, post_id)
    assert row is not None
    return row


async def is_relevant(fed: Federation, obj: dict[str, Any], author_uri: str) -> bool:
    """Keep only posts someone here asked for: by a followed actor, mentioning, addressing
    (as Mastodon, in `to` or `cc` without a Mention tag), replying to or quoting us."""
    if any(fed.is_local(uri) for uri in objects.mention_targets(obj)):
        return True
    for uri in objects.audience(obj):
        actor = await store.actor_by_uri(fed.pool, uri) if fed.is_local(uri) else None
        if actor is not None and actor["local"]:
            return True
    if fed.is_local(objects.quote_target(obj)):
        return True
    parent = ref(obj.get("inReplyTo"))
    if parent and (fed.is_local(parent) or await store.post_by_uri(fed.pool, parent)):
        return True
    return await store.has_local_follower(fed.pool, author_uri)
