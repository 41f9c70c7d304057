"""Every term of every document Likeness serves survives JSON-LD expansion, under the IRI that
PROTOCOL.md means (issue 14: a JSON-LD peer found no `assertionMethod`, so no key for consent
proofs). The documents come over HTTP from running instances, or as delivered; pyld expands them
with a loader that holds only local copies of the W3C contexts, so nothing of ours is fetched."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from pyld import jsonld as pyld

from federation import consent, jsonld, keys, proofs, vocab
from tests.conftest import eventually
from tests.peers import AP
from tests.test_federation_e2e import _upload_video
from tests.test_remix_consent import _cameo, _remix, _state
from tests.test_remix_posts import _draft, _follow
from tests.videos import make_mp4

AS = "https://www.w3.org/ns/activitystreams#"
LDP = "http://www.w3.org/ns/ldp#"
SEC = "https://w3id.org/security#"
DC = "http://purl.org/dc/terms/"
TOOT = "http://joinmastodon.org/ns#"
GTS = "https://gotosocial.org/ns#"
FEP_044F = "https://w3id.org/fep/044f#"
LK = "https://likeness.social/ns#"

# What each property means (PROTOCOL.md; security terms as FEP-521a and FEP-8b32 use them).
PROPERTIES = {
    **{name: AS + name for name in (
        "actor", "object", "target", "result", "instrument", "to", "cc", "attributedTo", "content",
        "name", "summary", "published", "updated", "url", "inReplyTo", "tag", "attachment",
        "mediaType", "width", "height", "duration", "icon", "href", "generator", "preferredUsername",
        "outbox", "followers", "following", "endpoints", "sharedInbox", "totalItems", "first",
        "next", "prev", "partOf", "formerType", "deleted", "endTime",
        "sensitive", "manuallyApprovesFollowers", "alsoKnownAs", "movedTo")},
    "inbox": LDP + "inbox",
    "orderedItems": AS + "items",  # as:items, as an ordered list
    **{name: SEC + name for name in (
        "publicKey", "owner", "publicKeyPem", "assertionMethod", "controller", "publicKeyMultibase",
        "proof", "cryptosuite", "verificationMethod", "proofPurpose", "proofValue")},
    "created": DC + "created",
    **{name: TOOT + name for name in ("discoverable", "indexable", "suspended", "blurhash", "focalPoint",
                                      "featured")},
    **{name: GTS + name for name in ("interactionPolicy", "canQuote", "automaticApproval",
                                     "manualApproval", "interactingObject", "interactionTarget")},
    **{name: FEP_044F + name for name in ("quote", "quoteAuthorization")},
    **{name: LK + name for name in ("aiGenerated", "cameos", "cameo", "remixAuthorization", "remixOf",
                                    "grantee", "prompt", "promptDigest", "canRemix", "references",
                                    "cameoCollection", "takenOver", "succession")},
}
TYPES = {
    **{name: AS + name for name in (
        "Person", "Application", "Note", "Video", "Image", "Mention", "Hashtag", "Create", "Update",
        "Delete", "Follow", "Accept", "Reject", "Undo", "Like", "Announce", "Tombstone", "Add", "Remove",
        "OrderedCollection", "OrderedCollectionPage", "Move")},
    "Multikey": SEC + "Multikey",
    "DataIntegrityProof": SEC + "DataIntegrityProof",
    **{name: LK + name for name in ("Label", "Cameo", "RemixRequest", "RemixAuthorization", "TakenOver")},
    **{name: FEP_044F + name for name in ("QuoteRequest", "QuoteAuthorization")},
}
# The W3C contexts, from local copies: all a peer needs to read us.
W3C = {vocab.AS_CONTEXT, vocab.SECURITY_V1, vocab.MULTIKEY_V1, vocab.DATA_INTEGRITY_V2}


def w3c_loader(url: str, options: dict[str, Any] | None = None) -> dict[str, Any]:
    if url not in W3C:
        raise pyld.JsonLdError(f"a peer could not load {url}", "loading document failed")
    return jsonld.document_loader(url, options)


def assert_all_terms_kept(document: dict[str, Any], *, loader: Any = w3c_loader) -> None:
    """Expand `document` and check each of its keys, at every depth, under the table's IRI."""
    [expanded] = pyld.expand(document, {"documentLoader": loader})
    _compare(document, expanded, document.get("type", "?"))


def _compare(compact: dict[str, Any], expanded: dict[str, Any], path: str) -> None:
    for key, value in compact.items():
        where = f"{path}.{key}"
        if key == "@context" or value is None:
            continue  # null says "none" in JSON-LD too
        if key == "id":
            assert expanded.get("@id") == value, where
            continue
        if key == "type":
            names = value if isinstance(value, list) else [value]
            assert expanded.get("@type") == [TYPES[n] for n in names], (where, expanded.get("@type"))
            continue
        assert key in PROPERTIES, f"{where}: no meaning in the table"
        iri = PROPERTIES[key]
        assert iri in expanded, f"{where} was dropped or mapped elsewhere: {sorted(expanded)}"
        values = expanded[iri]
        if len(values) == 1 and "@list" in values[0]:
            values = values[0]["@list"]
        elif values and all("@graph" in v for v in values):
            values = [node for v in values for node in v["@graph"]]
        nested = [v for v in (value if isinstance(value, list) else [value]) if isinstance(v, dict)]
        if nested:
            assert len(nested) == len(values), where
            for inner, node in zip(nested, values, strict=True):
                _compare(inner, node, where)
        if key == "proofPurpose":
            assert values == [{"@id": SEC + "assertionMethod"}], where


async def _get(instance, url: str, status: int = 200) -> dict[str, Any]:
    async with instance.client() as client:
        response = await client.get(url, headers={"Accept": AP})
    assert response.status_code == status, (url, response.text)
    return response.json()


async def test_every_served_document_keeps_every_term(make_instance, peer, tmp_path):
    a = await make_instance("a")
    b = await make_instance("b")
    await a.signup("alice")
    await b.signup("bob")
    await _follow(b, "bob", a, "alice")
    await _follow(a, "alice", b, "bob")
    served: dict[str, dict[str, Any]] = {}

    # alice posts a video (Note with a Video attachment, hashtag, AI label).
    media_id = await _upload_video(a, "alice", make_mp4(tmp_path / "clip.mp4"))
    post = (await a.api("alice", "POST", "/api/v1/statuses", json={
        "status": "me, #dancing", "media_ids": [media_id], "ai_generated": True})).json()
    served["Note"] = await _get(a, post["uri"])
    served["Create"] = await _get(a, f"{post['uri']}/activity")

    # A quote of it, asked by another server: the Accept it receives and the stamp.
    peer.add_actor("pete")
    request = {"@context": vocab.AS_CONTEXT, "id": f"{peer.base}/quote_requests/1", "type": "QuoteRequest",
               "actor": peer.actor_id("pete"), "object": post["uri"],
               "instrument": {"id": f"{peer.base}/users/pete/statuses/1", "type": "Note",
                              "attributedTo": peer.actor_id("pete"), "content": "look"}}
    assert (await peer.post("pete", f"{a.base_url}/inbox", request)).status_code == 202
    accept = await eventually(lambda: _received(peer, "Accept"))
    served["Accept of a QuoteRequest"] = accept
    served["QuoteAuthorization"] = await _get(a, accept["result"])

    # bob remixes alice's cameo: the cameo, the signed authorization, bob's Note with cameos.
    cameo = await _cameo(a, "alice", permission="everyone", approval="automatic")
    served["Cameo"] = await _get(a, cameo["uri"])
    owner = await _get(a, served["Cameo"]["attributedTo"])
    served["cameo collection"] = await _get(a, owner["cameoCollection"])
    assert (await a.api("alice", "POST", f"/api/v1/statuses/{post['id']}/pin")).status_code == 200
    served["featured collection"] = await _get(a, owner["featured"])
    assert served["featured collection"]["orderedItems"], served["featured collection"]
    remix = (await _remix(b, "bob", [cameo["uri"]])).json()
    state = await eventually(lambda: _authorized(b, remix["id"]))
    auth_uri = state["cameos"][0]["authorization"]
    served["RemixAuthorization"] = await _get(a, auth_uri)
    draft = await _draft(b, "bob", remix["id"])
    published = await b.api("bob", "POST", f"/api/v1/remixes/{remix['id']}/publish",
                            json={"media_id": draft["result"]["id"], "status": "look who it is"})
    assert published.status_code == 201, published.text
    served["Note with cameos"] = await _get(b, remix["post_uri"])

    # alice revokes it: the Delete with her proof (in her outbox), and the Tombstone.
    uses = (await a.api("alice", "GET", "/api/v1/remix_requests")).json()
    revoked = await a.api("alice", "POST", f"/api/v1/remix_requests/{uses[0]['id']}/revoke")
    assert revoked.status_code == 200, revoked.text
    served["RemixAuthorization Tombstone"] = await _get(a, auth_uri, 410)

    for instance, name in ((a, "alice"), (b, "bob")):
        actor = f"{instance.base_url}/users/{name}"
        served[f"{name}'s Person"] = await _get(instance, actor)
        for collection in ("outbox", "followers", "following", "mutuals"):
            served[f"{name}'s {collection}"] = await _get(instance, f"{actor}/{collection}")
            served[f"{name}'s {collection} page"] = await _get(instance, f"{actor}/{collection}?page=1")
        served[f"{instance.domain}'s Application"] = await _get(instance, f"{instance.base_url}/actor")
        # What was delivered and never served (RemixRequest, Follow, the remix's Accept, ...).
        for row in await instance.pool.fetch("SELECT type, body FROM outbox_activities ORDER BY id"):
            served[f"{row['type']} {len(served)} delivered by {name}"] = row["body"]

    types = {d["type"] for d in served.values()}
    assert {"RemixRequest", "Accept", "Delete", "Follow", "Create"} <= types
    delete = next(d for d in served["alice's outbox page"]["orderedItems"] if d["type"] == "Delete")
    assert delete["proof"]["proofPurpose"] == "assertionMethod"
    for name, document in served.items():
        try:
            assert_all_terms_kept(document)
        except AssertionError as exc:
            raise AssertionError(f"{name}: {exc}") from None

    # The proofs a JSON-LD peer now reads still verify, with the key it now finds.
    key = consent.assertion_keys(served["alice's Person"])[f"{a.base_url}/users/alice#ed25519-key"]
    for document in (served["RemixAuthorization"], delete,
                     served["Note with cameos"]["cameos"][0]["remixAuthorization"]):
        proofs.verify(document, key)


async def _received(peer, kind: str) -> dict[str, Any] | None:
    return next((m for m in peer.received if m.get("type") == kind), None)


async def _authorized(instance, remix_id) -> dict[str, Any] | None:
    state = await _state(instance, "bob", remix_id)
    return state if state["state"] == "authorized" else None


def test_the_table_knows_every_term_we_define():
    """A term added to the written context needs its meaning in the table above."""
    for term, definition in vocab.EXTENSION_TERMS.items():
        iri = definition if isinstance(definition, str) else definition["@id"]
        if iri.endswith("#"):
            continue  # a prefix
        prefix, _, rest = iri.partition(":")
        full = {"as": AS, **{k: v for k, v in vocab.EXTENSION_TERMS.items() if isinstance(v, str)
                             and v.endswith("#")}}.get(prefix, prefix + ":") + rest
        assert PROPERTIES.get(term, TYPES.get(term)) == full, term


@pytest.mark.parametrize("signed_context", [vocab.SIGNED_CONTEXT, vocab.SIGNED_CONTEXT_2026_11])
def test_authorizations_signed_before_and_after_verify_and_expand(signed_context):
    """An authorization signed with the older @context (naming the Likeness context by URL) still
    passes the consent check and expands with our loader; the current one needs no loader of ours."""
    private = keys.load_ed25519_private_key(keys.generate_ed25519_private())
    owner = "https://a.example/users/alice"
    document = {
        "@context": signed_context, "id": f"{owner}/remix_authorizations/1", "type": "RemixAuthorization",
        "attributedTo": owner, "interactingObject": "https://b.example/users/bob/statuses/7",
        "interactionTarget": f"{owner}/cameos/1", "grantee": "https://b.example/users/bob",
        "promptDigest": consent.prompt_digest("a prompt"),
        "published": "2026-11-25T10:00:00Z", "endTime": "2026-12-25T10:00:00Z"}
    signed = proofs.sign(document, private, f"{owner}#ed25519-key", created="2026-11-25T10:00:00Z")
    use = consent.RemixUse(post="https://b.example/users/bob/statuses/7", author="https://b.example/users/bob",
                           cameo=f"{owner}/cameos/1", owner=owner, digest=consent.prompt_digest("a prompt"))
    consent.check_authorization(signed, use, {f"{owner}#ed25519-key": private.public_key()},
                                at=datetime(2026, 12, 1, tzinfo=UTC))
    legacy = signed_context is vocab.SIGNED_CONTEXT_2026_11
    assert_all_terms_kept(signed, loader=jsonld.document_loader if legacy else w3c_loader)
    unpinned = {**signed, "@context": [vocab.AS_CONTEXT, vocab.DATA_INTEGRITY_V2]}
    with pytest.raises(consent.ConsentError, match="pinned"):
        consent.check_authorization(unpinned, use, {}, at=datetime(2026, 12, 1, tzinfo=UTC))
