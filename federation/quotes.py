"""FEP-044f quote consent, as Mastodon 4.5 asks for it: a `QuoteRequest` for one of our posts is
answered by the post's quote policy with an `Accept` naming a stamp we serve, or a `Reject`;
a remote quote post is shown with its quoted post once such a stamp approves it.

Our posts advertise that policy as `interactionPolicy.canQuote` (see `objects.quote_policy`):
whoever may see a post may quote it, and nobody may quote a direct post.
"""

from __future__ import annotations

from typing import Any

import asyncpg

from . import actors, delivery, fetch, objects, store
from .context import Federation
from .errors import Ignore
from .jsonld import ref
from .signing import instance_signer
from .vocab import OBJECT_CONTEXT, is_type


def stamp_uri(author: asyncpg.Record, stamp_id: int) -> str:
    return f"{author['uri']}/quote_authorizations/{stamp_id}"


def stamp_document(author: asyncpg.Record, stamp: asyncpg.Record) -> dict[str, Any]:
    """The `QuoteAuthorization`: it names the quote and the quoted post and embeds neither."""
    return {"@context": OBJECT_CONTEXT, "id": stamp_uri(author, stamp["id"]),
            "type": "QuoteAuthorization", "attributedTo": author["uri"],
            "interactingObject": stamp["quoting_uri"], "interactionTarget": stamp["post_uri"]}


async def _may_quote(fed: Federation, post: asyncpg.Record, author: asyncpg.Record,
                     requester: asyncpg.Record) -> bool:
    if requester["suspended"] or await store.is_blocked_either_way(fed.pool, author["id"],
                                                                   requester["id"]):
        return False
    if post["visibility"] in ("public", "unlisted"):
        return True
    if post["visibility"] == "followers":
        follow = await store.follow(fed.pool, requester["id"], author["id"])
        return bool(follow and follow["accepted"])
    return False


async def receive_request(fed: Federation, activity: dict[str, Any]) -> None:
    """Answer a QuoteRequest for a local post, once per request id."""
    post = await store.post_by_uri(fed.pool, ref(activity.get("object")) or "")
    if post is None or not post["local"] or post["deleted_at"] is not None or post["reblog_of_id"]:
        raise Ignore("QuoteRequest for no live post of ours")
    requester_uri = activity["actor"]
    instrument = activity.get("instrument")
    quoting_uri = ref(instrument)
    if not isinstance(quoting_uri, str) or not quoting_uri.startswith(("https://", "http://")) \
            or not fetch.same_origin(quoting_uri, requester_uri):
        raise Ignore("the quoting post is not on the requester's server")
    if isinstance(instrument, dict) and ref(instrument.get("attributedTo")) != requester_uri:
        raise Ignore("the quoting post is not the requester's")
    requester = await actors.actor(fed, requester_uri)
    author = await store.actor_by_id(fed.pool, post["actor_id"])
    approved = await _may_quote(fed, post, author, requester)
    async with fed.pool.acquire() as conn, conn.transaction():
        stamp_id = await store.insert_quote_authorization(
            conn, post["id"], activity["id"], quoting_uri, requester["id"],
            "approved" if approved else "rejected")
        if stamp_id is None:
            return  # a replayed request, answered already
        answer = objects.wrap("Accept" if approved else "Reject", author["uri"], {
            "id": activity["id"], "type": "QuoteRequest", "actor": requester_uri,
            "object": post["uri"], "instrument": quoting_uri},
            activity_id=f"{author['uri']}#quote-answers/{stamp_id}", to=[requester_uri])
        if approved:
            answer["result"] = stamp_uri(author, stamp_id)
            await store.insert_notification(conn, author["user_id"], "quote", requester["id"],
                                            post["id"])
        ids = await delivery.queue_activity(conn, author["id"], answer,
                                            [requester["inbox"]], public=False)
    await delivery.start(fed, ids)


async def incoming_quote_state(fed: Federation, obj: dict[str, Any], author_uri: str,
                               quoted: asyncpg.Record | None) -> str:
    """Mastodon 4.5's state of a remote quote post: "accepted" when its author quotes their own
    post, or when the quoted author's `QuoteAuthorization` (a stamp we issued, for a post of
    ours) names this quote and the quoted post; "rejected" when the stamp it names is gone;
    else "pending", which shows the quote without the quoted post (an older quote, by
    `quoteUrl`, stays so, as on Mastodon)."""
    if quoted is None:
        return "pending"
    quoted_author = await store.actor_by_id(fed.pool, quoted["actor_id"])
    if quoted_author is None:
        return "pending"
    if quoted_author["uri"] == author_uri:
        return "accepted"
    stamp = ref(obj.get("quoteAuthorization"))
    if not isinstance(stamp, str) or not fetch.same_origin(stamp, quoted_author["uri"]):
        return "pending"
    if quoted["local"]:
        row = await store.approved_quote_authorization(fed.pool, quoted["id"], obj["id"])
        return "accepted" if row is not None and stamp_uri(quoted_author, row["id"]) == stamp \
            else "rejected"
    try:
        fetched = await fetch.fetch_document(fed.client, stamp, sign=await instance_signer(fed),
                                             max_bytes=fed.max_document_bytes)
    except fetch.GoneError:
        return "rejected"
    except fetch.FetchError:
        return "pending"
    document = fetched.document
    matches = (is_type(document, "QuoteAuthorization")
               and ref(document.get("attributedTo")) == quoted_author["uri"]
               and ref(document.get("interactingObject")) == obj["id"]
               and ref(document.get("interactionTarget")) == quoted["uri"])
    return "accepted" if matches else "pending"
