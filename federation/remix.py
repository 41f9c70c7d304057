"""The remix consent flow, PROTOCOL.md steps 1 to 3.

The requester's instance (B) creates a remix whose post id is final and asks each cameo owner
with a `RemixRequest`; the owner's instance (A) decides by the owner's rules (or asks the owner)
and answers `Accept` with a signed `RemixAuthorization`, or `Reject`. B keeps an authorization
only after checking it as any third instance would. When both sides are this instance, the same
functions run without the network.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import asyncpg

from policy.consent import Decision, Requester, Verdict, decide_remix
from policy.prompts import HELD, MAX_CAMEOS, CameoUse, PromptError, check_prompt

from . import (
    actors,
    consent,
    delivery,
    fetch,
    metrics,
    objects,
    outbox,
    post_consent,
    prompts,
    proofs,
    signing,
    store,
    streams,
    succession,
)
from .cameos import MAX_IMAGE_BYTES, MAX_REFERENCES, hidden_from, rules_of
from .context import Federation
from .errors import Ignore
from .jsonld import ref
from .vocab import OBJECT_CONTEXT, PUBLIC, SIGNED_CONTEXT, is_type

Record = asyncpg.Record

AUTHORIZATION_LIFETIME = timedelta(days=30)
# The most kept of a remote cameo's name or instructions, or of a Reject's reason.
MAX_REMOTE_TEXT = 2000


class RemixError(ValueError):
    """A remix that cannot be asked for as given (a clear 4xx for the client)."""




@dataclass(frozen=True)
class RemixCameo:
    """A cameo a remix asks for, with its owner, and what its owner wrote for the model."""

    uri: str
    name: str
    instructions: str
    owner: Record

    @property
    def use(self) -> CameoUse:
        return prompts.cameo_use(self.uri, self.name, self.instructions, self.owner)


async def resolve_cameo(fed: Federation, cameo_uri: str, requester: Record) -> RemixCameo:
    """A cameo and its owner, local or fetched from the cameo's own origin; to anyone but its
    owner, a local cameo only they may use does not exist, as its document does not."""
    local = await store.cameo_by_uri(fed.pool, cameo_uri)
    if local is not None and local["local"]:
        if hidden_from(local, requester["id"]):
            raise RemixError("no such cameo")
        if local["deleted_at"] is not None:
            raise RemixError("that cameo was deleted")
        owner = await store.actor_by_id(fed.pool, local["actor_id"])
        return RemixCameo(cameo_uri, local["name"], local["instructions"], owner)
    if fed.is_local(cameo_uri):
        raise RemixError("no such cameo")
    rehomed = await _rehomed_cameo(fed, cameo_uri)
    if rehomed is not None:
        return await resolve_cameo(fed, rehomed, requester)
    doc, owner = await fetch_cameo(fed, cameo_uri)
    return RemixCameo(cameo_uri, _text(doc.get("name")), _text(doc.get("summary")), owner)


async def _rehomed_cameo(fed: Federation, cameo_uri: str) -> str | None:
    """The id a cameo has on the server its owner moved to, when we know of the move: requests
    for it go there, where its instructions and permissions came over with the owner."""
    moved = await store.succession_of_object(fed.pool, cameo_uri)
    if moved is None:
        return None
    try:
        rehomed = await succession.rehomed_cameo(fed, moved, cameo_uri)
    except fetch.GoneError:
        raise RemixError("its owner moved, and their new server no longer has that cameo") from None
    except (fetch.FetchError, succession.SuccessionError) as exc:
        raise RemixError(f"its owner moved, and their new server does not answer for it: {exc}") \
            from None
    return rehomed["id"]


async def fetch_cameo(fed: Federation, cameo_uri: str) -> tuple[dict[str, Any], Record]:
    """Another instance's public Cameo and its owner, fetched from the cameo's own origin."""
    try:
        fetched = await fetch.fetch_document(fed.client, cameo_uri,
                                             sign=await signing.instance_signer(fed),
                                             max_bytes=fed.max_document_bytes)
    except fetch.FetchError as exc:
        raise RemixError(f"the cameo could not be fetched: {exc}") from None
    doc = fetched.document
    owner_uri = doc.get("attributedTo")
    if not is_type(doc, "Cameo") or not isinstance(owner_uri, str) \
            or not fetch.same_origin(owner_uri, cameo_uri):
        raise RemixError("that is not a cameo")
    try:
        return doc, await actors.actor(fed, owner_uri)
    except (fetch.FetchError, actors.ActorError) as exc:
        raise RemixError(f"the cameo's owner could not be fetched: {exc}") from None


def _text(value: Any) -> str:
    return value[:MAX_REMOTE_TEXT] if isinstance(value, str) else ""


async def resolve_cameos(fed: Federation, cameo_uris: Any, requester: Record) -> list[RemixCameo]:
    """The cameos a remix names, each with its owner; RemixError if they cannot be used."""
    if not isinstance(cameo_uris, list) or not all(isinstance(c, str) for c in cameo_uris):
        raise RemixError("cameos must be a list of cameo ids (URLs)")
    if not 1 <= len(set(cameo_uris)) == len(cameo_uris) <= MAX_CAMEOS:
        raise RemixError(f"name 1 to {MAX_CAMEOS} different cameos")
    return [await resolve_cameo(fed, uri, requester) for uri in cameo_uris]


async def fetch_references(fed: Federation, cameo_uri: str, grantee_id: int,
                           most: int = MAX_REFERENCES) -> list[bytes]:
    """Another instance's cameo's first `most` reference images, for one render, fetched with
    the grantee's signature (its owner's instance serves them only to a live authorization).
    They are kept in memory only, so nothing is left to delete when the render is done
    (PROTOCOL.md)."""
    if fed.is_local(cameo_uri):
        raise fetch.FetchError("that cameo is not here any more")
    sign = signing.signer(fed, await signing.signing_keys(fed, grantee_id))
    fetched = await fetch.fetch_document(fed.client, cameo_uri, sign=sign, max_bytes=fed.max_document_bytes)
    urls = fetched.document.get("references")
    if not is_type(fetched.document, "Cameo") or not isinstance(urls, list) \
            or not 0 < len(urls) <= MAX_REFERENCES \
            or not all(isinstance(url, str) and fetch.same_origin(url, cameo_uri) for url in urls):
        raise fetch.FetchError("the cameo lists no reference images on its own origin")
    return [await fetch.fetch_bytes(fed.client, url, max_bytes=MAX_IMAGE_BYTES, accept="image/*", sign=sign)
            for url in urls[:most]]


async def request_remix(fed: Federation, requester: Record, prompt: str,
                        cameos: list[RemixCameo]) -> int:
    """Create a remix of `cameos` (from `resolve_cameos`) and ask every owner but the requester
    for consent. The prompt policy is the caller's to apply first (`prompts.review`)."""
    try:
        check_prompt(prompt)
    except PromptError as exc:
        raise RemixError(str(exc)) from None
    digest = consent.prompt_digest(prompt)
    local_requests: list[dict[str, Any]] = []
    async with fed.pool.acquire() as conn, conn.transaction():
        post_id = await store.next_post_id(conn)
        post_uri = f"{requester['uri']}/statuses/{post_id}"
        remix_id = await store.insert_remix(conn, post_id, post_uri, requester["id"], prompt, digest)
        deliveries: list[int] = []
        for cameo in cameos:
            cameo_uri, owner = cameo.uri, cameo.owner
            if owner["id"] == requester["id"]:
                await store.insert_remix_cameo(conn, remix_id, cameo_uri, owner["uri"], None,
                                               "approved", cameo.instructions)
                continue
            request_uri = f"{requester['uri']}#remix-requests/{secrets.token_hex(12)}"
            activity = {
                "@context": OBJECT_CONTEXT, "id": request_uri, "type": "RemixRequest",
                "actor": requester["uri"], "to": [owner["uri"]], "object": cameo_uri,
                "instrument": {"id": post_uri, "type": "Note", "attributedTo": requester["uri"],
                               "prompt": prompt, "promptDigest": digest,
                               # Every cameo of the remix: a public figure named in the prompt
                               # may be one of them, asked for their own consent.
                               "cameos": [{"cameo": c.uri, "attributedTo": c.owner["uri"]}
                                          for c in cameos]},
            }
            await store.insert_remix_cameo(conn, remix_id, cameo_uri, owner["uri"], request_uri,
                                           "pending", cameo.instructions)
            if owner["local"]:
                local_requests.append(activity)
            else:
                deliveries += await delivery.queue_activity(conn, requester["id"], activity,
                                                            [owner["inbox"]], public=False)
        await store.settle_remix(conn, remix_id)
    await delivery.start(fed, deliveries)
    for activity in local_requests:
        await receive_request(fed, activity)
    return remix_id


async def receive_request(fed: Federation, activity: dict[str, Any]) -> None:
    """A: record a RemixRequest for a local cameo and answer it by the owner's rules."""
    cameo = await store.cameo_by_uri(fed.pool, ref(activity.get("object")) or "")
    if cameo is None or not cameo["local"]:
        raise Ignore("RemixRequest for a cameo that is not ours")
    instrument = activity.get("instrument")
    if not isinstance(instrument, dict):
        raise Ignore("RemixRequest without the pending post")
    post_uri, requester_uri = ref(instrument), activity["actor"]
    if not isinstance(post_uri, str) or not post_uri.startswith(("https://", "http://")) \
            or not fetch.same_origin(post_uri, requester_uri):
        raise Ignore("the pending post is not on the requester's server")
    if ref(instrument.get("attributedTo")) != requester_uri:
        raise Ignore("the pending post is not the requester's")
    digest, prompt = instrument.get("promptDigest"), instrument.get("prompt")
    if not isinstance(digest, str) or not digest.startswith("sha256-"):
        raise Ignore("the pending post has no promptDigest")
    if isinstance(prompt, str) and consent.prompt_digest(prompt) != digest:
        raise Ignore("the prompt does not match its digest")
    requester = await actors.actor(fed, requester_uri)
    owner = await store.actor_by_id(fed.pool, cameo["actor_id"])
    if (await fed.rules.policy(requester_uri)).reject_remix_requests:
        await _refuse_for_instance(fed, activity, owner, requester, post_uri)
        return
    verdict = decide_remix(*await _standing(fed, cameo, owner, requester))
    metrics.CONSENT_CHECKS.labels("remix_request", verdict.decision.value).inc()
    uses = await _uses(fed, cameo, owner, instrument)
    refusal = None
    if verdict.decision is not Decision.REFUSE:
        # This instance's own prompt policy and the owner's instructions, whatever B checked.
        try:
            refusal = await prompts.review(fed, prompt, uses)
        except PromptError as exc:
            verdict = Verdict(Decision.REFUSE, f"the prompt cannot be checked: {exc}")
        if refusal is not None and refusal.category == HELD:
            # A layer could not judge it: held for the owner, who sees the prompt and decides,
            # as for a cameo whose every use is asked about; never answered for them unchecked.
            prompts.log_held(refusal, requester=requester, source="remix_request")
            refusal, verdict = None, Verdict(Decision.ASK, refusal.reason)
        elif refusal is not None:
            verdict = Verdict(Decision.REFUSE, refusal.reason)
    async with fed.pool.acquire() as conn, conn.transaction():
        request_id = await store.insert_remix_request(conn, {
            "uri": activity["id"], "cameo_id": cameo["id"], "requester_id": requester["id"],
            "post_uri": post_uri, "prompt": prompt if isinstance(prompt, str) else "",
            "prompt_digest": digest})
        if request_id is None:
            return  # a replayed request: answered already, or waiting for the owner
        if refusal is not None:
            await prompts.log_refusal(conn, refusal, requester=requester, prompt=prompt,
                                      source="remix_request", cameos=uses)
        notification_id = None
        if verdict.decision is not Decision.REFUSE:
            # The owner hears of every use: one to decide, or one their rules let through.
            kind = "remix_request" if verdict.decision is Decision.ASK else "remix_use"
            notification_id = await store.insert_notification(conn, owner["user_id"], kind,
                                                              requester["id"])
        decided = None
        if verdict.decision is not Decision.ASK:
            # Answered in the same transaction, from what is known here: the requester's server
            # waits for this answer, not for the request to be read back.
            decided = await _decide(fed, conn, _Request(request_id, activity["id"], post_uri, digest),
                                    cameo, owner, requester, approve=verdict.decision is Decision.APPROVE,
                                    reason=verdict.reason)
    if decided is not None:
        await _send_answer(fed, requester, *decided)
    if notification_id is not None:
        await streams.notification(fed, owner["user_id"], notification_id)


async def _uses(fed: Federation, cameo: Record, owner: Record,
                instrument: dict[str, Any]) -> list[CameoUse]:
    """The cameos of a requested remix as the policy reads them: ours, with its owner's
    instructions, and the others the pending post lists whose owners we know (a public figure
    named in the prompt may be one of them; their own instance asks for their consent)."""
    uses = [prompts.cameo_use(cameo["uri"], cameo["name"], cameo["instructions"], owner)]
    listed = instrument.get("cameos")
    for entry in listed[:MAX_CAMEOS] if isinstance(listed, list) else ():
        other = ref(entry.get("attributedTo")) if isinstance(entry, dict) else None
        uri = ref(entry.get("cameo")) if isinstance(entry, dict) else None
        if not isinstance(other, str) or not isinstance(uri, str) or uri == cameo["uri"] \
                or not fetch.same_origin(uri, other):
            continue
        known = await store.actor_by_uri(fed.pool, other)
        if known is not None:
            uses.append(prompts.cameo_use(uri, "", "", known))
    return uses


async def _refuse_for_instance(fed: Federation, activity: dict[str, Any], owner: Record,
                               requester: Record, post_uri: str) -> None:
    """Reject a request from a server whose remix requests this instance refuses. Nothing is
    kept and nobody is told: the admins' rule answers, never the cameo's owner."""
    reason = f"{fed.domain} does not take remix requests from {requester['domain']}"
    reject = _answer_activity(owner, requester, activity["id"], ref(activity.get("object")), post_uri,
                              kind="Reject", answer_id=f"{owner['uri']}#remix-answers/"
                              f"refused-{secrets.token_hex(12)}", reason=reason)
    async with fed.pool.acquire() as conn, conn.transaction():
        ids = await delivery.queue_activity(conn, owner["id"], reject, [requester["inbox"]],
                                            public=False)
    await delivery.start(fed, ids)


def _answer_activity(owner: Record, requester: Record, request_uri: str, cameo_uri: str | None,
                     post_uri: str, *, kind: str, answer_id: str, reason: str) -> dict[str, Any]:
    """An Accept or Reject of a RemixRequest; a Reject says why in `summary`."""
    activity = objects.wrap(kind, owner["uri"], {
        "id": request_uri, "type": "RemixRequest", "actor": requester["uri"],
        "object": cameo_uri, "instrument": post_uri}, activity_id=answer_id, to=[requester["uri"]])
    if kind == "Reject":
        activity["summary"] = reason
    return activity


async def _standing(fed: Federation, cameo: Record, owner: Record, requester: Record
                    ) -> tuple[Any, Requester]:
    """The owner's rules for the cameo, and the requester as those rules see them."""
    standing = await store.remix_standing(fed.pool, cameo["id"], owner["id"], requester["id"])
    rules = rules_of(cameo, list(standing["approved"]), public_figure=owner["public_figure"])
    return rules, Requester(
        actor=requester["uri"], is_owner=requester["id"] == owner["id"],
        follows_owner=standing["follows_owner"], followed_by_owner=standing["followed_by_owner"],
        blocked=standing["blocked"], suspended=requester["suspended"])


@dataclass(frozen=True)
class _Request:
    """What an answer names of the RemixRequest it answers."""

    id: int
    uri: str
    post_uri: str
    prompt_digest: str


async def answer(fed: Federation, request_id: int, *, approve: bool, reason: str) -> None:
    """A: Accept (with a signed authorization) or Reject a request, once."""
    request = await store.remix_request(fed.pool, request_id)
    cameo = await store.cameo_by_id(fed.pool, request["cameo_id"])
    owner = await store.actor_by_id(fed.pool, cameo["actor_id"])
    requester = await store.actor_by_id(fed.pool, request["requester_id"])
    async with fed.pool.acquire() as conn, conn.transaction():
        decided = await _decide(fed, conn, _Request(request_id, request["uri"], request["post_uri"],
                                                    request["prompt_digest"]),
                                cameo, owner, requester, approve=approve, reason=reason)
    await _send_answer(fed, requester, *decided)


async def _decide(fed: Federation, conn: asyncpg.Connection, request: _Request, cameo: Record,
                  owner: Record, requester: Record, *, approve: bool, reason: str
                  ) -> tuple[dict[str, Any], list[int]]:
    """Record the answer to a request in the caller's transaction, with its delivery when the
    requester is remote: the answer, and the deliveries for `_send_answer` after the commit.
    RemixError if the request was answered already."""
    document = None
    if approve:
        owner_keys = await signing.signing_keys(fed, owner["id"])
        published = objects.now()
        document = consent.authorization(
            id=f"{owner['uri']}/remix_authorizations/{request.id}", owner=owner["uri"],
            post=request.post_uri, cameo=cameo["uri"], grantee=requester["uri"],
            digest=request.prompt_digest, published=published,
            end_time=published + AUTHORIZATION_LIFETIME, private_key=owner_keys.ed25519,
            key_id=owner_keys.ed25519_key_id)
    activity = _answer_activity(owner, requester, request.uri, cameo["uri"], request.post_uri,
                                kind="Accept" if approve else "Reject",
                                answer_id=f"{owner['uri']}#remix-answers/{request.id}", reason=reason)
    if document is not None:
        activity["result"] = document
    else:
        activity["summary"] = reason  # why, for the requester (Likeness shows it on the remix)
    if not await store.decide_remix_request(
            conn, request.id, "approved" if approve else "rejected", reason,
            document["id"] if document else None, document):
        raise RemixError("this request was answered already")
    ids = [] if requester["local"] else await delivery.queue_activity(
        conn, owner["id"], activity, [requester["inbox"]], public=False)
    return activity, ids


async def _send_answer(fed: Federation, requester: Record, activity: dict[str, Any],
                       delivery_ids: list[int]) -> None:
    """After the commit: send the answer, or take it here when the requester is local."""
    await delivery.start(fed, delivery_ids)
    if requester["local"]:
        await receive_answer(fed, activity)


async def receive_answer(fed: Federation, activity: dict[str, Any]) -> bool:
    """B: take an Accept or Reject of a request we sent; False if it answers none of ours.

    `activity` is the JSON as received: the authorization inside is checked on those bytes.
    """
    row = await store.remix_cameo_by_request(fed.pool, ref(activity.get("object")) or "")
    if row is None:
        return False
    if ref(activity.get("actor")) != row["owner_uri"]:
        raise Ignore("an answer from someone else than the cameo's owner")
    if row["state"] != "pending":
        return True  # a duplicate answer
    if is_type(activity, "Accept"):
        document = activity.get("result")
        use = consent.RemixUse(post=row["post_uri"], author=row["requester_uri"],
                               cameo=row["cameo_uri"], owner=row["owner_uri"],
                               digest=row["prompt_digest"])
        try:
            owner_keys = await actors.assertion_keys(fed, row["owner_uri"], consent.proof_method(document))
            consent.check_authorization(document, use, owner_keys)
        except consent.ConsentError as exc:
            raise Ignore(f"the authorization does not hold: {exc}") from None
        state, auth_uri, reason = "approved", document["id"], None
    else:
        state, auth_uri, document = "rejected", None, None
        summary = activity.get("summary")
        reason = (summary.strip()[:MAX_REMOTE_TEXT] or None) if isinstance(summary, str) else None
    async with fed.pool.acquire() as conn, conn.transaction():
        await store.answer_remix_cameo(conn, row["remix_id"], row["cameo_uri"], state, auth_uri,
                                       document, reason)
        settled = await store.settle_remix(conn, row["remix_id"])
        notification_id = None
        if settled in ("authorized", "rejected"):
            notification_id = await store.insert_notification(
                conn, row["requester_user_id"], f"remix_{settled}", row["owner_id"])
    if notification_id is not None:
        await streams.notification(fed, row["requester_user_id"], notification_id)
    return True


async def revoke(fed: Federation, request_id: int, reason: str | None = None) -> None:
    """A: withdraw a granted authorization. Its id answers 410 from now on, and a Delete with the
    owner's proof goes to the requester, to every instance that fetched it, and to the owner's
    followers' instances. `reason`, for the owner's ledger: none when they revoked it by hand."""
    request = await store.remix_request(fed.pool, request_id)
    cameo = await store.cameo_by_id(fed.pool, request["cameo_id"])
    owner = await store.actor_by_id(fed.pool, cameo["actor_id"])
    requester = await store.actor_by_id(fed.pool, request["requester_id"])
    owner_keys = await signing.signing_keys(fed, owner["id"])
    auth_uri = request["authorization_uri"]
    delete = _signed_revocation(owner_keys, f"{auth_uri}#delete", auth_uri)
    async with fed.pool.acquire() as conn, conn.transaction():
        if not await store.revoke_remix_request(conn, request_id, reason):
            raise RemixError("only an approved use can be revoked")
        inboxes = [] if requester["local"] else [requester["shared_inbox"] or requester["inbox"]]
        inboxes += await store.authorization_fetchers(conn, request_id)
        inboxes += await store.follower_inboxes(conn, owner["id"])
        ids = await delivery.queue_activity(conn, owner["id"], delete, inboxes, public=True)
    await delivery.start(fed, ids)
    if requester["local"]:
        await receive_revocation(fed, delete)
    # Copies of the post that reached this instance (the owner was mentioned) go at once.
    await post_consent.receive_revocation(fed, delete)


def _signed_revocation(owner_keys: signing.SigningKeys, delete_id: str, auth_uri: str) -> dict[str, Any]:
    """The owner's `Delete` of an authorization, with the owner's proof: it proves itself,
    forwarded or not."""
    return proofs.sign({
        "@context": SIGNED_CONTEXT, "id": delete_id, "type": "Delete",
        "actor": owner_keys.actor_uri, "to": [PUBLIC],
        "object": {"id": auth_uri, "type": "RemixAuthorization"},
    }, owner_keys.ed25519, owner_keys.ed25519_key_id)


async def revoke_imported(fed: Federation, owner: Record, authorization: Record) -> None:
    """D: withdraw an authorization the owner gave on their former server and brought here in
    their archive (PROTOCOL.md "Succession"). It answers 410 here from now on, and the owner's
    signed Delete goes to its grantee, to every server that held it (the archive's holders and
    those that fetched it here) and to the owner's followers: each takes it from the owner's
    verified successor."""
    owner_keys = await signing.signing_keys(fed, owner["id"])
    delete = _signed_revocation(owner_keys, f"{owner['uri']}#revocations/imported-{authorization['id']}",
                                authorization["uri"])
    try:
        grantee = await actors.actor(fed, authorization["grantee_uri"])
    except (fetch.FetchError, actors.ActorError):
        grantee = None  # its server is gone too: the holders and followers still hear of it
    async with fed.pool.acquire() as conn, conn.transaction():
        if not await store.revoke_imported_authorization(conn, authorization["id"], delete):
            raise RemixError("only a standing authorization can be revoked")
        inboxes = list(authorization["holders"]) + await store.follower_inboxes(conn, owner["id"])
        if grantee is not None and not grantee["local"]:
            inboxes.append(grantee["shared_inbox"] or grantee["inbox"])
        ids = await delivery.queue_activity(conn, owner["id"], delete, sorted(set(inboxes)), public=True)
    await delivery.start(fed, ids)
    if grantee is not None and grantee["local"]:
        await receive_revocation(fed, delete)
    await post_consent.receive_revocation(fed, delete)


async def withdraw_cameo(fed: Federation, cameo_id: int, reason: str) -> int:
    """A: after a cameo is deleted (by its owner or a moderator) or made its owner's alone, no
    consent given with it may stand anywhere: each granted authorization is revoked, with the
    same signed Delete to every holder as a revoke, and each request still waiting is refused
    for `reason`. How many were withdrawn."""
    withdrawn = 0
    for request in await store.open_remix_requests_of_cameo(fed.pool, cameo_id):
        try:
            if request["state"] == "approved":
                await revoke(fed, request["id"], reason)
            else:
                await answer(fed, request["id"], approve=False, reason=reason)
        except RemixError:
            continue  # answered or revoked meanwhile
        withdrawn += 1
    return withdrawn


async def receive_revocation(fed: Federation, activity: dict[str, Any]) -> bool:
    """B: a Delete of an authorization one of our remixes holds; False if it names none.

    Accepted only from the owner who granted it, or the owner's verified successor: the inbox has
    already tied the HTTP signature to the activity's actor.
    """
    row = await store.remix_cameo_by_authorization(fed.pool, ref(activity.get("object")) or "")
    if row is None:
        return False
    actor = ref(activity.get("actor"))
    if not isinstance(actor, str) or not await succession.speaks_for(fed, row["owner_uri"], actor):
        raise Ignore("a revocation from someone else than the cameo's owner")
    if row["state"] == "revoked":
        return True
    async with fed.pool.acquire() as conn, conn.transaction():
        await store.answer_remix_cameo(conn, row["remix_id"], row["cameo_uri"], "revoked",
                                       row["authorization_uri"], row["authorization_document"])
        await store.settle_remix(conn, row["remix_id"])
        requester = await store.actor_by_id(conn, row["actor_id"])
        owner = await store.actor_by_uri(conn, row["owner_uri"])
        notification_id = await store.insert_notification(conn, requester["user_id"], "remix_revoked",
                                                          owner["id"] if owner else None)
        post = await store.post_by_id(conn, row["post_id"])
        ids: list[int] = []
        if post is not None and post["deleted_at"] is None:
            # FEP-044f: the post's owner forwards the revocation to the post's audience.
            audience = await store.follower_inboxes(conn, requester["id"])
            ids = await delivery.forward_activity(conn, requester["id"], activity, audience,
                                                  public=True)
    await delivery.start(fed, ids)
    await streams.notification(fed, requester["user_id"], notification_id)
    if post is not None and post["deleted_at"] is None:
        # Servers that ignore cameos (Mastodon, GoToSocial) drop the post on its own Delete.
        await outbox.delete_post(fed, requester, post)
    return True


async def publish(fed: Federation, remix_id: int, author: Record, *, text: str, media_ids: list[int],
                  visibility: str, sensitive: bool, generator: str) -> int:
    """B: publish an authorized remix at the post id its owners consented to, carrying each
    cameo with its owner's signed authorization, sent to the author's audience and to every
    cameo owner (mentioned, so that they are told)."""
    row = await store.remix(fed.pool, remix_id)
    if row is None or row["actor_id"] != author["id"]:
        raise RemixError("no such remix")
    if row["state"] != "authorized":
        raise RemixError(f"this remix is {row['state']}: it can be published once every cameo "
                         "owner has authorized it, and only once")
    cameos = await store.remix_cameos(fed.pool, remix_id)
    owners: dict[int, Record] = {}
    for cameo in cameos:
        owner = await store.actor_by_uri(fed.pool, cameo["owner_uri"])
        if owner is not None and owner["id"] != author["id"]:
            owners[owner["id"]] = owner
    entries = [{"cameo_uri": c["cameo_uri"], "owner_uri": c["owner_uri"],
                "authorization_uri": c["authorization_uri"],
                "authorization_document": c["authorization_document"]} for c in cameos]
    try:
        return await outbox.publish_post(
            fed, author, text=text, visibility=visibility, media_ids=media_ids,
            sensitive=sensitive, mentioned=list(owners.values()), ai_generated=True,
            generator=generator, remix=row, cameos=entries)
    except outbox.ActionError as exc:
        raise RemixError(str(exc)) from None
