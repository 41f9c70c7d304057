"""Backfill: a remote account's recent public posts and the cameos its server lets us see.

A server hears of a post only when it is delivered, so an account nobody here followed shows
nothing. When someone here looks at it or follows it, a worker reads the first page of its
`outbox` (as Mastodon reads a new account's featured collection) and its `cameoCollection`
(PROTOCOL.md): bounded (one page, at most MAX_ITEMS, the fetch limits), at most once per
BACKFILL_EVERY_S and never twice at once (the claim in `store.claim_backfill`). Each post goes
through the checks an incoming Create passes (`inbox.admit`, `posts.ingest`), and only public
ones are kept: what an outbox lists is what anyone may see.
"""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg

from policy.consent import CameoRules

from . import fetch, inbox, objects, posts, store
from .cameos import remote_rules
from .context import Federation
from .errors import Ignore
from .jsonld import JSONLDError, canonical
from .remix import MAX_REMOTE_TEXT
from .signing import instance_signer
from .vocab import POST_TYPES

log = logging.getLogger(__name__)

FUNCTION = "backfill_actor"
BACKFILL_EVERY_S = 3600.0
# Longer than the worker lets one job run (server/worker.py), so a held backfill is never run
# by a second worker while the first still works on it.
BACKFILL_LEASE_S = 300.0
MAX_ITEMS = 20
# Jobs queued for one actor, however many views ask while it is due: one per this many seconds.
QUEUE_EVERY_S = 10
COLLECTION_TYPES = ("OrderedCollection", "Collection", "OrderedCollectionPage", "CollectionPage")
# The properties of a Cameo kept from another server's collection: what its own document says.
CAMEO_KEYS = ("id", "type", "attributedTo", "name", "summary", "icon", "interactionPolicy",
              "published", "updated")


class CollectionError(Exception):
    """A collection that is not one, or not on its owner's origin: nothing of it is kept."""


def due(actor: asyncpg.Record) -> bool:
    """Whether a remote actor's backfill should be queued: never done or done over an hour ago,
    and no worker on it."""
    if actor["local"]:
        return False
    now = datetime.now(UTC)
    busy = actor["backfilling_until"] is not None and actor["backfilling_until"] > now
    recent = actor["backfilled_at"] is not None \
        and actor["backfilled_at"] > now - timedelta(seconds=BACKFILL_EVERY_S)
    return not busy and not recent


async def request(fed: Federation, actor: asyncpg.Record) -> None:
    """Queue the backfill of `actor` if it is due; the worker's claim decides whether it runs."""
    if due(actor):
        bucket = int(time.time() // QUEUE_EVERY_S)
        await fed.enqueue(FUNCTION, actor["id"], job_id=f"backfill:{actor['id']}:{bucket}")


async def run(fed: Federation, actor_id: int) -> str:
    """The worker's job: claim the actor's backfill, fetch its posts and cameos, let go."""
    actor = await store.claim_backfill(fed.pool, actor_id, BACKFILL_EVERY_S, BACKFILL_LEASE_S)
    if actor is None:
        return "not due"
    try:
        kept_posts = await backfill_posts(fed, actor)
        kept_cameos = await backfill_cameos(fed, actor)
    finally:
        await store.release_backfill(fed.pool, actor_id)
    return f"{kept_posts} posts, {kept_cameos} cameos"


async def backfill_posts(fed: Federation, actor: asyncpg.Record) -> int:
    """Ingest the public posts of the first page of the actor's outbox; how many were kept."""
    if actor["suspended"]:
        return 0
    try:
        page, context = await first_page(fed, actor["outbox"], actor["uri"])
    except (fetch.FetchError, CollectionError) as exc:
        log.info("no posts of %s: %s", actor["uri"], exc)
        return 0
    kept = 0
    # Oldest first, so that posts are numbered here in the order they were written.
    for item in reversed(page):
        try:
            await _ingest_created(fed, actor, item, context)
            kept += 1
        except (Ignore, inbox.InboxError, JSONLDError, fetch.FetchError, ValueError) as exc:
            log.info("outbox item of %s not kept: %s", actor["uri"], exc)
    return kept


async def _ingest_created(fed: Federation, actor: asyncpg.Record, item: Any, context: Any) -> None:
    """One outbox item, kept if it is a Create of a public post by the actor, through the checks
    of an incoming Create."""
    if not isinstance(item, dict):
        raise Ignore("an outbox item that is not an embedded activity")
    raw_object = item.get("object")
    # Items are read in the context of the page that holds them, unless they carry their own.
    activity = canonical(item if "@context" in item or context is None else {"@context": context, **item})
    if activity.get("type") != "Create":
        raise Ignore(f"not a Create: {activity.get('type')!r}")
    await inbox.admit(fed, activity, actor["uri"])
    obj = activity.get("object")
    if not isinstance(obj, dict) or not isinstance(raw_object, dict):
        raise Ignore("a Create whose post is not embedded")
    if obj.get("type") not in POST_TYPES:
        raise Ignore(f"Create of unsupported type {obj.get('type')!r}")
    if objects.visibility_of(obj, actor["followers_url"]) not in ("public", "unlisted"):
        raise Ignore("not a public post")
    await posts.ingest(fed, obj, raw_object)


async def backfill_cameos(fed: Federation, actor: asyncpg.Record) -> int:
    """Keep the cameos the actor's server lists to this server, and retire those it no longer
    lists; how many are listed."""
    document = actor["document"] if isinstance(actor["document"], dict) else {}
    url = document.get("cameoCollection")
    if url is None or actor["suspended"]:
        return 0
    try:
        page, _ = await first_page(fed, url, actor["uri"])
    except (fetch.FetchError, CollectionError) as exc:
        log.info("no cameos of %s: %s", actor["uri"], exc)
        return 0
    kept: list[int] = []
    async with fed.pool.acquire() as conn, conn.transaction():
        for item in page:
            listed = _listed_cameo(item, actor)
            if listed is None:
                continue
            fields, rules = listed
            cameo_id = await store.store_remote_cameo(conn, actor["id"], fields)
            if cameo_id is None:
                continue
            # Only the approved people known here matter: they are the ones it is shown to.
            approved = await store.actors_by_uris(conn, sorted(rules.approved))
            await store.replace_cameo_approved(conn, cameo_id, [a["id"] for a in approved])
            kept.append(cameo_id)
        await store.retire_remote_cameos(conn, actor["id"], kept)
    return len(kept)


def _listed_cameo(item: Any, actor: asyncpg.Record) -> tuple[dict[str, Any], CameoRules] | None:
    """The row of a listed Cameo of `actor` and the rules it advertises; None if it is not a
    Cameo of `actor`'s, or not one that anyone but its owner may ask for."""
    if not isinstance(item, dict) or item.get("type") != "Cameo":
        return None
    uri = item.get("id")
    if not isinstance(uri, str) or not fetch.same_origin(uri, actor["uri"]) \
            or item.get("attributedTo") != actor["uri"]:
        return None
    rules = remote_rules(item, actor)
    if rules is None:
        return None
    name, summary, icon = item.get("name"), item.get("summary"), item.get("icon")
    preview = icon.get("url") if isinstance(icon, dict) else None
    return {"uri": uri, "name": name[:MAX_REMOTE_TEXT] if isinstance(name, str) else "",
            "instructions": summary[:MAX_REMOTE_TEXT] if isinstance(summary, str) else "",
            "permission": rules.permission.value, "approval": rules.approval.value,
            "preview_url": preview if _is_http_url(preview) else None,
            "document": {key: item[key] for key in CAMEO_KEYS if key in item}}, rules


def _is_http_url(value: Any) -> bool:
    """Whether a remote document's `value` is an http(s) URL, never a `javascript:` one."""
    if not isinstance(value, str) or len(value) > 2000:
        return False
    try:
        fetch.origin(value)
    except ValueError:
        return False
    return True


async def first_page(fed: Federation, url: Any, owner_uri: str) -> tuple[list[Any], Any]:
    """The first MAX_ITEMS items of a collection of `owner_uri`'s, from the collection itself or
    its `first` page (embedded, or fetched from the owner's origin); and the `@context` they are
    read in."""
    if not isinstance(url, str) or not fetch.same_origin(url, owner_uri):
        raise CollectionError(f"the collection {url!r} is not on its owner's origin")
    collection = await _fetch_collection(fed, url)
    context = collection.get("@context")
    if "orderedItems" not in collection and "items" not in collection:
        first = collection.get("first")
        if isinstance(first, str) and fetch.same_origin(first, owner_uri):
            collection = await _fetch_collection(fed, first)
        elif isinstance(first, dict) and isinstance(first.get("id", url), str) \
                and fetch.same_origin(first.get("id", url), owner_uri):
            collection = first
        else:
            raise CollectionError(f"{url} has no items and no first page on its origin")
        context = collection.get("@context", context)
    items = collection.get("orderedItems", collection.get("items"))
    if not isinstance(items, list):
        raise CollectionError(f"the items of {url} are not a list")
    return items[:MAX_ITEMS], context


async def _fetch_collection(fed: Federation, url: str) -> dict[str, Any]:
    fetched = await fetch.fetch_document(fed.client, url, sign=await instance_signer(fed),
                                         max_bytes=fed.max_document_bytes)
    if fetched.document.get("type") not in COLLECTION_TYPES:
        raise CollectionError(f"{url} is not a collection")
    return fetched.document

