"""The inbox: verify, keep, answer 202; then handle in a worker.

Verification is kept apart from handling (as GoToSocial does): `receive` decides whether an
activity is authentic and stores it; `process` reads it back and dispatches it by type.
"""

from __future__ import annotations

import functools
import json
import logging
from typing import Any, NamedTuple
from urllib.parse import urlsplit

import asyncpg

from . import actors, fetch, httpsig, inputs, metrics, proofs, store
from .batching import Batches
from .context import Federation
from .errors import Ignore
from .handlers import HANDLERS
from .handlers.common import HANDLED_ROW
from .jsonld import JSONLDError, as_list, canonical, ref
from .signing import instance_signer
from .vocab import ACTIVITY_TYPES, ACTOR_TYPES, is_type, type_names

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 5


class InboxError(Exception):
    """An activity refused at the door; `status` is the HTTP answer."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def parse_activity(body: bytes) -> dict[str, Any]:
    try:
        activity = inputs.loads(body)
    except inputs.InputError as exc:
        # A 400, never a 5xx: the sender must not retry what can never be kept.
        raise InboxError(400, f"body {exc}") from None
    if not isinstance(activity, dict):
        raise InboxError(400, "body is not a JSON object")
    for name in ("id", "type", "actor"):
        if name not in activity:
            raise InboxError(400, f"activity has no {name!r}")
    if not isinstance(activity["id"], str) or not activity["id"].startswith(("https://", "http://")):
        raise InboxError(400, "activity id is not an http(s) URL")
    if not type_names(activity["type"]):
        raise InboxError(400, "activity type is neither a string nor a list of strings")
    if not isinstance(ref(activity["actor"]), str):
        raise InboxError(400, "activity actor is not a URL")
    return activity


def activity_kind(activity: dict[str, Any]) -> str | None:
    """The activity type that decides how an activity is handled (`type` may be a list)."""
    return ACTIVITY_TYPES.pick(activity.get("type"))


def check_origin(activity: dict[str, Any], signer: str) -> None:
    """Refuse an activity whose ids are on another host than its signer (CVE-2024-23832).

    Objects that belong to someone else (the post a Like names, the Follow an Accept answers)
    may be referenced from anywhere: handlers use their id only and never trust the embedding.
    """
    if ref(activity.get("actor")) != signer:
        raise InboxError(401, "the request is signed by another actor than the activity's actor")
    # No `id` after JSON-LD reading, when the sender's context redefined the term.
    activity_id = activity.get("id")
    if not isinstance(activity_id, str) or not fetch.same_origin(activity_id, signer):
        raise InboxError(403, "activity id is on another host than its actor")
    kind = activity_kind(activity)
    obj = activity.get("object")
    if kind in ("Create", "Update", "Delete"):
        object_id = ref(obj)
        if not isinstance(object_id, str) or not fetch.same_origin(object_id, signer) \
                and not _successor_revocation(activity):
            raise InboxError(403, "object id is on another host than the activity's actor")
        if kind != "Delete" and isinstance(obj, dict):
            # PeerTube attributes a video to its account and its channel: the signer must be one.
            owners = [obj.get("id")] if obj.get("type") in ACTOR_TYPES else [
                ref(o) for o in as_list(obj.get("attributedTo"))]
            if signer not in owners:
                raise InboxError(403, "object is attributed to another actor than the activity's")
    if kind == "Undo" and isinstance(obj, dict) and (
            not isinstance(obj.get("id"), str) or not fetch.same_origin(obj["id"], signer)
            or ref(obj.get("actor")) != signer):
        raise InboxError(403, "an actor can only undo its own activities")


def _successor_revocation(activity: dict[str, Any]) -> bool:
    """A signed revoke of an authorization that its owner gave on a former server, sent from
    the server they moved to: the Delete handlers take it only from the owner's verified
    successor (PROTOCOL.md "Succession")."""
    return activity_kind(activity) == "Delete" and is_type(activity.get("object"), "RemixAuthorization") \
        and "proof" in activity


async def receive(fed: Federation, method: str, url: str, headers: Any, body: bytes) -> str:
    """Verify and keep one POSTed activity. Returns "accepted", "duplicate" or "ignored"."""
    kind = "unparsed"
    try:
        activity = parse_activity(body)
        kind = metrics.activity_type(activity_kind(activity))
        outcome = await _receive(fed, method, url, headers, body, activity)
    except InboxError:
        metrics.inbox_received(kind, "refused").inc()
        raise
    metrics.inbox_received(kind, outcome).inc()
    return outcome


async def _receive(fed: Federation, method: str, url: str, headers: Any, body: bytes,
                   activity: dict[str, Any]) -> str:
    try:
        info = httpsig.parse_signature(method, url, headers)
    except httpsig.SignatureError as exc:
        raise InboxError(401, str(exc)) from None
    # Before any key fetch: a suspended server must not make us talk to it.
    await _check_federates(fed, info.key_id, ref(activity["actor"]))
    signer = await _verify(fed, info, method, url, headers, body, activity)
    if signer is None:
        return "ignored"
    received: bytes | None = body  # what is stored, unless the activity is taken from its origin
    if ref(activity["actor"]) != signer and "proof" in activity:
        signer = await _forwarded_signer(fed, activity, signer)
    elif ref(activity["actor"]) != signer and activity_kind(activity) in ("Delete", "Update"):
        checked = await _checked_at_origin(fed, activity, signer)
        if checked is None:
            return "ignored"
        activity, signer, received = checked, ref(activity["actor"]), None
    check_origin(activity, signer)
    kind = activity_kind(activity)
    if kind is None or kind not in ACTIVITY_TYPES and ":" not in kind:
        return "ignored"
    # Handled here at once when this process runs a worker, kept claimed by the insert itself as
    # a job would claim it: a consent answer waits for no worker's poll, nor for a second query.
    handle_here = fed.leases.can_run()
    row = await _keep(fed, activity, kind, signer, received,
                      fed.leases.lease_s if handle_here else None)
    await _peer_seen(fed, urlsplit(signer).netloc.lower())
    if row is None:
        return "duplicate"
    if handle_here:
        fed.leases.run(_process_leased(fed, row))
    else:
        # The activity is kept: its job need not hold up the 202 (one that Redis never gets, the
        # process dying first, is queued again by the sweeper, `delivery.sweep`).
        fed.in_background(fed.enqueue("process_inbox", row["id"], job_id=f"inbox:{row['id']}"))
    return "accepted"


class _Kept(NamedTuple):
    activity_id: str
    kind: str
    signer: str
    text: str  # the JSON as it came (PostgreSQL parses it once), else dumped again
    lease_s: float | None  # kept claimed for this process's worker (`Leases.run`)
    activity: dict[str, Any]


async def _keep(fed: Federation, activity: dict[str, Any], kind: str, signer: str,
                received: bytes | None, lease_s: float | None) -> asyncpg.Record | None:
    """Store an activity, batched with the other POSTs in flight: its row, or None for a
    redelivery."""
    try:
        # "-sig": json.loads reads bytes that start with a BOM, which jsonb refuses.
        text = received.decode("utf-8-sig") if received is not None else None
    except UnicodeDecodeError:
        text = None
    if text is None or "\x00" in text:  # JSON in UTF-16 or 32, which json.loads reads too
        text = json.dumps(activity)
    if fed.inbox_inserts is None:
        fed.inbox_inserts = Batches(functools.partial(_insert, fed.pool))
    kept = await fed.inbox_inserts.add(_Kept(activity["id"], kind, signer, text, lease_s, activity))
    if isinstance(kept, Exception):
        raise kept
    return kept


async def _insert(pool: asyncpg.Pool, batch: list[_Kept]) -> list[asyncpg.Record | None | Exception]:
    try:
        return await store.insert_inbox_activities(pool, [kept[:5] for kept in batch])
    except asyncpg.DataError:
        # JSON that jsonb cannot take as sent (1e-20000, which json reads as 0.0): each activity
        # alone, as Python read it, so that one cannot fail the others.
        return [await _insert_alone(pool, kept) for kept in batch]


async def _insert_alone(pool: asyncpg.Pool, kept: _Kept) -> asyncpg.Record | None | Exception:
    try:
        return (await store.insert_inbox_activities(
            pool, [(*kept[:3], json.dumps(kept.activity), kept.lease_s)]))[0]
    except asyncpg.DataError as exc:
        return exc


async def _check_federates(fed: Federation, *urls: str) -> None:
    """Refuse what comes from (or names as its actor) a server the instance rules suspend."""
    for url in urls:
        found = await fed.rules.policy(url)
        if found.suspended:
            raise InboxError(403, f"this server does not federate with {urlsplit(url).netloc}")


async def _peer_seen(fed: Federation, host: str) -> None:
    """A peer that talks to us is reachable again (written once per host while this process's
    note of it lasts: `Federation.peers_seen`)."""
    seen = await fed.peers_seen.get()
    if host not in seen:
        seen.add(host)
        await store.peer_seen(fed.pool, host)


async def _verify(fed: Federation, info: httpsig.SignatureInfo, method: str, url: str,
                  headers: Any, body: bytes, activity: dict[str, Any]) -> str | None:
    """The signer's actor uri, once the signature verifies (refetching the key once)."""
    found = await actors.key_for_verification(fed, info.key_id)
    if found is None:
        if activity_kind(activity) == "Delete" and ref(activity.get("object")) == ref(activity["actor"]):
            # A deleted actor's key cannot be fetched any more; there is nothing of it to delete.
            return None
        raise InboxError(401, f"could not fetch the key {info.key_id}")
    try:
        httpsig.verify_signature(info, method, url, headers, body, found[1])
    except httpsig.SignatureError as first:
        refreshed = await actors.key_for_verification(fed, info.key_id, refresh=True)
        if refreshed is None:
            raise InboxError(401, str(first)) from None
        try:
            httpsig.verify_signature(info, method, url, headers, body, refreshed[1])
        except httpsig.SignatureError as exc:
            raise InboxError(401, str(exc)) from None
        found = refreshed
    return found[0]


async def _forwarded_signer(fed: Federation, activity: dict[str, Any], forwarder: str) -> str:
    """The actor of an activity another server forwarded (FEP-8b32): the HTTP signature only
    says who passed it on, so the activity must carry its actor's own integrity proof."""
    actor = ref(activity["actor"])
    try:
        proof = proofs.proof_of(activity)
        method = proof["verificationMethod"]
        actor_keys = await actors.assertion_keys(fed, actor, method)
        if method not in actor_keys:
            raise InboxError(401, "the forwarded activity's proof key is not its actor's")
        proofs.verify(activity, actor_keys[method])
    except proofs.ProofError as exc:
        raise InboxError(401, f"forwarded by {forwarder} with no valid proof by its actor: {exc}") \
            from None
    return actor


async def _checked_at_origin(fed: Federation, activity: dict[str, Any], forwarder: str
                             ) -> dict[str, Any] | None:
    """A `Delete` or `Update` of a post that another server forwarded with no proof by its actor
    (Mastodon forwards them to the followers of those who boosted the post): the post's origin
    is asked instead. A Delete stands when the post is gone there (404, 410 or a Tombstone); an
    Update is taken with the post as its origin serves it, never as forwarded. None when we hold
    no such post of that actor: there is nothing to check it against."""
    actor, object_id = ref(activity["actor"]), ref(activity.get("object"))
    if not isinstance(object_id, str) or not fetch.same_origin(object_id, actor):
        raise InboxError(403, "object id is on another host than the activity's actor")
    post = await store.post_by_uri(fed.pool, object_id)
    author = await store.actor_by_uri(fed.pool, actor)
    if post is None or author is None or post["actor_id"] != author["id"]:
        return None
    try:
        fetched = await fetch.fetch_document(fed.client, object_id, sign=await instance_signer(fed),
                                             max_bytes=fed.max_document_bytes)
    except fetch.GoneError:
        if activity["type"] == "Delete":
            return activity
        raise InboxError(401, f"forwarded by {forwarder}: the post it updates is gone") from None
    except fetch.FetchError as exc:
        raise InboxError(401, f"forwarded by {forwarder}, and its origin could not confirm it: {exc}") \
            from None
    document = fetched.document
    if activity["type"] == "Delete":
        if document.get("type") != "Tombstone":
            raise InboxError(401, f"forwarded by {forwarder}: the post still exists at its origin")
        return activity
    if actor not in [ref(owner) for owner in as_list(document.get("attributedTo"))]:
        raise InboxError(401, f"forwarded by {forwarder}: the post is not the activity's actor's")
    return {**activity, "object": document}


async def signed_fetcher(fed: Federation, method: str, url: str, headers: Any) -> str | None:
    """The actor behind a validly signed GET, or None: signed fetches are logged, not required."""
    try:
        info = httpsig.parse_signature(method, url, headers)
        if (await fed.rules.policy(info.key_id)).suspended:
            return None
        found = await actors.key_for_verification(fed, info.key_id)
        if found is None:
            return None
        httpsig.verify_signature(info, method, url, headers, None, found[1])
    except (httpsig.SignatureError, ValueError):
        return None
    return found[0]


def _updates_itself(activity: dict[str, Any]) -> bool:
    return activity_kind(activity) == "Update" and ref(activity.get("object")) == ref(activity.get("actor"))


async def admit(fed: Federation, activity: dict[str, Any], signer_uri: str) -> None:
    """The checks an activity passes before it is handled, whether its signer's server sent it
    or this server fetched it from the signer's outbox: origins, the instance rules (a rule made
    since it arrived still applies to it), and the signer's standing here."""
    check_origin(activity, signer_uri)
    await _check_federates(fed, signer_uri)
    signer = await store.actor_by_uri(fed.pool, signer_uri)
    if signer is not None and signer["suspended"] and not _updates_itself(activity):
        # A suspended account: what it sends is kept, not acted on. Only an Update of its
        # own actor is, which is how its server lifts a suspension that was the server's.
        raise Ignore("the actor is suspended on this server")


async def process(fed: Federation, row_id: int) -> str:
    """Handle one stored activity; returns the state it ends in."""
    row = await store.claim_inbox_activity(fed.pool, row_id, fed.leases.lease_s)
    if row is None:
        return "gone"
    return await _process_leased(fed, row)


async def _process_leased(fed: Federation, row: asyncpg.Record) -> str:
    """Handle an activity this process claimed, renewing its lease meanwhile."""
    with fed.leases.holding("inbox_activities", row["id"]):
        outcome = await _handle(fed, row)
    metrics.INBOX_HANDLED.labels(metrics.activity_type(row["type"]), outcome).inc()
    return outcome


async def _handle(fed: Federation, row: asyncpg.Record) -> str:
    row_id = row["id"]
    try:
        activity = canonical(row["body"])
        await admit(fed, activity, row["signer_uri"])
        kind = activity_kind(activity)
        handler = HANDLERS.get(kind) if kind is not None else None
        if handler is None:
            raise Ignore(f"unsupported activity type {activity.get('type')!r}")
        handled = HANDLED_ROW.set(row)
        try:
            await handler(fed, activity)
        finally:
            HANDLED_ROW.reset(handled)
    except (Ignore, JSONLDError, InboxError, fetch.DomainRefusedError) as exc:
        await store.finish_inbox_activity(fed.pool, row_id, "ignored", str(exc))
        return "ignored"
    except fetch.FetchError as exc:
        if row["attempts"] < MAX_ATTEMPTS and not exc.permanent:
            await store.release_inbox_activity(fed.pool, row_id, str(exc))
            await fed.enqueue("process_inbox", row_id, job_id=f"inbox:{row_id}:{row['attempts']}",
                              defer_by=30 * 2 ** row["attempts"])
            return "retry"
        await store.finish_inbox_activity(fed.pool, row_id, "failed", str(exc))
        return "failed"
    except Exception as exc:
        log.exception("inbox activity %s failed", row_id)
        await store.finish_inbox_activity(fed.pool, row_id, "failed", repr(exc))
        return "failed"
    await store.finish_inbox_activity(fed.pool, row_id, "done")
    return "done"
