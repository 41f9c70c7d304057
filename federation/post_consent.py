"""Consent of a received post that uses cameos (PROTOCOL.md step 5, research 8.3), and its
withdrawal (step 6) on every instance that holds a copy.

Every check fails closed and trusts no one on the way: the cameo is read from its own origin,
the authorization's proof is checked against a key its owner lists, and the authorization
must still be served by the owner's instance (404 or 410 there means revoked). A post that
fails is not stored, or is hidden if it was; nothing here forwards it.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from policy.prompts import MAX_CAMEOS

from . import actors, consent, fetch, keys, metrics, store, succession
from .consent import ConsentError
from .context import Federation
from .errors import Ignore
from .jsonld import ref
from .signing import instance_signer
from .store.common import Record
from .vocab import is_type

log = logging.getLogger(__name__)

# A peer that cannot be reached keeps its post visible this long after the last good check.
GRACE = timedelta(minutes=15)


@dataclass(frozen=True)
class CameoUse:
    """One verified `cameos` entry, as kept in `post_cameos`."""

    cameo_uri: str
    owner_uri: str
    authorization_uri: str | None
    authorization_document: dict[str, Any] | None

    def row(self) -> dict[str, Any]:
        return {"cameo_uri": self.cameo_uri, "owner_uri": self.owner_uri,
                "authorization_uri": self.authorization_uri,
                "authorization_document": self.authorization_document}


def uses_cameos(raw: dict[str, Any], compacted: dict[str, Any]) -> bool:
    """A post claims cameos under either spelling: both are checked, so that a context trick
    cannot hide the claim from the check while a client still shows it."""
    return "cameos" in raw or "cameos" in compacted


async def verify_post(fed: Federation, raw: dict[str, Any]) -> list[CameoUse]:
    """Every cameo of the post `raw` (the JSON as received, its origin already checked) with
    its verified consent; ConsentError when any entry fails, FetchError when a peer could not
    be asked (worth a retry)."""
    entries = raw.get("cameos")
    if not isinstance(entries, list) or not entries:
        raise ConsentError("cameos must be a non-empty list")
    if len(entries) > MAX_CAMEOS:
        raise ConsentError(f"a post may use at most {MAX_CAMEOS} cameos")
    post_uri, author = raw.get("id"), ref(raw.get("attributedTo"))
    if not isinstance(post_uri, str) or not isinstance(author, str):
        raise ConsentError("the post has no id or author")
    digest = raw.get("promptDigest")
    uses = []
    for entry in entries:
        if not isinstance(entry, dict):
            raise ConsentError("a cameos entry is not an object")
        cameo_uri = ref(entry.get("cameo"))
        if not isinstance(cameo_uri, str) or not cameo_uri.startswith(("https://", "http://")):
            raise ConsentError("a cameos entry names no cameo")
        owner = await _cameo_owner(fed, cameo_uri, entry.get("remixAuthorization"))
        if owner == author:
            uses.append(CameoUse(cameo_uri, owner, None, None))
            continue
        if not isinstance(digest, str):
            raise ConsentError("the post has no promptDigest")
        document = await _authorization(fed, entry.get("remixAuthorization"))
        use = consent.RemixUse(post=post_uri, author=author, cameo=cameo_uri, owner=owner,
                               digest=digest)
        await check_consent(fed, document, use)
        uses.append(CameoUse(cameo_uri, owner, document["id"], document))
    return uses


async def check_consent(fed: Federation, document: Any, use: consent.RemixUse) -> None:
    """The signed authorization grants `use`, and its owner's instance still serves it."""
    try:
        await _check_consent(fed, document, use)
    except ConsentError:
        metrics.CONSENT_CHECKS.labels("authorization", "invalid").inc()
        raise
    metrics.CONSENT_CHECKS.labels("authorization", "valid").inc()


async def _check_consent(fed: Federation, document: Any, use: consent.RemixUse) -> None:
    if isinstance(document, dict) and isinstance(document.get("id"), str) \
            and await store.revoked_authorization(fed.pool, document["id"]):
        raise ConsentError("the authorization was revoked")
    moved = await succession.successor_of(fed, use.owner)
    if moved is not None:
        # The owner moved: the old key, vouched for by the successor, proves the authorization,
        # and the successor answers whether it stands.
        owner_keys = {moved["key_id"]: keys.decode_multikey(moved["public_key_multibase"])}
        consent.check_authorization(document, use, owner_keys)
        await _check_live_at_successor(fed, document, use, owner_keys, moved)
        return
    owner_keys = await actors.assertion_keys(fed, use.owner, consent.proof_method(document))
    consent.check_authorization(document, use, owner_keys)
    await _check_live(fed, document, use, owner_keys)


async def _cameo_owner(fed: Federation, cameo_uri: str, authorization: Any) -> str:
    """The cameo's owner, read from the cameo at its origin; or, when the owner the embedded
    authorization names has moved, from the cameo its successor took it over as."""
    claimed = ref(authorization.get("attributedTo")) if isinstance(authorization, dict) else None
    if isinstance(claimed, str) and fetch.same_origin(claimed, cameo_uri) and not fed.is_local(cameo_uri):
        moved = await succession.successor_of(fed, claimed)
        if moved is not None:
            try:
                await succession.rehomed_cameo(fed, moved, cameo_uri)
            except fetch.GoneError:
                raise ConsentError("the owner's new server no longer has the cameo") from None
            except succession.SuccessionError as exc:
                raise ConsentError(str(exc)) from None
            return claimed
    local = await store.cameo_by_uri(fed.pool, cameo_uri)
    if fed.is_local(cameo_uri):
        if local is None or not local["local"] or local["deleted_at"] is not None:
            raise ConsentError("the cameo does not exist here")
        owner = await store.actor_by_id(fed.pool, local["actor_id"])
        return owner["uri"]
    try:
        fetched = await fetch.fetch_document(fed.client, cameo_uri, sign=await instance_signer(fed),
                                             max_bytes=fed.max_document_bytes)
    except fetch.GoneError:
        raise ConsentError("the cameo is gone") from None
    document = fetched.document
    owner = ref(document.get("attributedTo"))
    if not is_type(document, "Cameo") or not isinstance(owner, str) \
            or not fetch.same_origin(owner, cameo_uri):
        raise ConsentError("the cameo is not a Cameo attributed to an actor of its origin")
    return owner


async def _authorization(fed: Federation, value: Any) -> dict[str, Any]:
    """The authorization of an entry: embedded (checked offline first), or fetched by id."""
    if isinstance(value, dict):
        return value
    if not isinstance(value, str):
        raise ConsentError("a cameo of someone else is used without a remixAuthorization")
    try:
        fetched = await fetch.fetch_document(fed.client, value, sign=await instance_signer(fed),
                                             max_bytes=fed.max_document_bytes)
    except fetch.GoneError:
        raise ConsentError("the authorization is gone (revoked)") from None
    return fetched.document


async def _check_live(fed: Federation, document: dict[str, Any], use: consent.RemixUse,
                      owner_keys: dict[str, Any]) -> None:
    """Ask the owner's instance: it serves a granted authorization and answers 404 or 410 for a
    withdrawn one. A revoke is remembered, so that no later post can cite it."""
    auth_uri = document["id"]
    if fed.is_local(auth_uri):
        row = await store.authorization_by_uri(fed.pool, auth_uri)
        if row is None or row["state"] != "approved":
            raise ConsentError("the authorization was revoked")
        return
    try:
        fetched = await fetch.fetch_document(fed.client, auth_uri, sign=await instance_signer(fed),
                                             max_bytes=fed.max_document_bytes)
    except fetch.GoneError:
        await store.record_revoked_authorization(fed.pool, auth_uri, use.owner)
        raise ConsentError("the owner's instance no longer serves the authorization (revoked)") from None
    if fetched.document != document:
        consent.check_authorization(fetched.document, use, owner_keys)


async def _check_live_at_successor(fed: Federation, document: dict[str, Any], use: consent.RemixUse,
                                   owner_keys: dict[str, Any], moved: Record) -> None:
    """Ask the owner's new server, which answers for the authorizations it took over: the same
    authorization while it stands, 404 or 410 once revoked (remembered, as at the origin)."""
    try:
        served = await succession.taken_over(fed, moved, document["id"])
    except fetch.GoneError:
        await store.record_revoked_authorization(fed.pool, document["id"], use.owner)
        raise ConsentError("the owner's new server no longer answers for the authorization (revoked)") \
            from None
    except succession.SuccessionError as exc:
        raise ConsentError(str(exc)) from None
    if served != document:
        consent.check_authorization(served, use, owner_keys)


async def recheck(fed: Federation, post_id: int) -> bool:
    """Check a stored post's consent again (its last check is older than the TTL); hide it when
    consent is gone. Returns whether the post may still be shown."""
    post = await store.post_by_id(fed.pool, post_id)
    if post is None or post["deleted_at"] is not None:
        return False
    if post["consent_checked_at"] is None:
        return True
    author = await store.actor_by_id(fed.pool, post["actor_id"])
    try:
        for row in await store.post_cameos(fed.pool, post_id):
            if row["authorization_document"] is None:
                continue
            use = consent.RemixUse(post=post["uri"], author=author["uri"], cameo=row["cameo_uri"],
                                   owner=row["owner_uri"], digest=post["prompt_digest"] or "")
            await check_consent(fed, row["authorization_document"], use)
    except ConsentError as exc:
        log.info("hiding post %s: %s", post["uri"], exc)
        await store.soft_delete_post(fed.pool, post_id)
        return False
    except fetch.FetchError as exc:
        if datetime.now(UTC) - post["consent_checked_at"] > GRACE:
            log.info("hiding post %s: consent unverifiable since %s: %s", post["uri"],
                     post["consent_checked_at"], exc)
            await store.soft_delete_post(fed.pool, post_id)
            return False
        return True
    await store.mark_consent_checked(fed.pool, post_id)
    return True


def recheck_due(fed: Federation, posts: Sequence[Record]) -> list[int]:
    """Of `posts` (rows just read), the ids of the live remote ones whose consent was last
    verified over the TTL ago: the caller checks them again. Read off the rows, not asked of
    PostgreSQL: every page of every timeline asks."""
    due = datetime.now(UTC) - timedelta(seconds=fed.consent_ttl)
    return [post["id"] for post in posts if not post["local"] and post["deleted_at"] is None
            and post["consent_checked_at"] is not None and post["consent_checked_at"] < due]


async def receive_revocation(fed: Federation, activity: dict[str, Any]) -> bool:
    """A `Delete` of a RemixAuthorization from its owner: hide every post here that rests on it,
    and remember it, so that a post arriving later citing it is refused. False when the Delete
    is not about an authorization."""
    obj = activity.get("object")
    auth_uri = ref(obj)
    actor = ref(activity.get("actor"))
    if not isinstance(auth_uri, str) or not isinstance(actor, str):
        return False
    posts = await store.posts_citing_authorization(fed.pool, auth_uri)
    named = is_type(obj, "RemixAuthorization")
    if not posts and not named:
        return False
    if not fetch.same_origin(auth_uri, actor) and not posts \
            and not any(fetch.same_origin(auth_uri, row["old_actor_uri"])
                        for row in await store.successions_to(fed.pool, actor)):
        raise Ignore("a revocation from another origin than the authorization's")
    for owner in {post["owner_uri"] for post in posts}:
        # The owner, on the authorization's own origin, or the owner's verified successor.
        if owner == actor and not fetch.same_origin(auth_uri, actor):
            raise Ignore("a revocation from another origin than the authorization's")
        if owner != actor and not await succession.speaks_for(fed, owner, actor):
            raise Ignore("a revocation from someone else than the authorization's owner")
    await store.record_revoked_authorization(fed.pool, auth_uri, actor)
    for post in posts:
        if not post["local"]:
            await store.soft_delete_post(fed.pool, post["id"])
    return True
