"""The fail-closed check of a RemixAuthorization: section 9's consent rows that need no network
(the liveness and revocation rows come with the three-instance flow)."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from federation import keys, proofs
from federation.consent import (
    ConsentError,
    RemixUse,
    assertion_keys,
    authorization,
    check_authorization,
    prompt_digest,
)

OWNER = "https://a.example/users/alice"
KEY_ID = f"{OWNER}#ed25519-key"
CAMEO = "https://a.example/users/alice/cameos/1"
POST = "https://b.example/users/bob/statuses/7"
BOB = "https://b.example/users/bob"
NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
KEY = Ed25519PrivateKey.generate()
USE = RemixUse(post=POST, author=BOB, cameo=CAMEO, owner=OWNER, digest=prompt_digest("a dance"))


def _owner_document(key=KEY, key_id=KEY_ID, controller=OWNER):
    return {"id": OWNER, "type": "Person", "assertionMethod": [{
        "id": key_id, "type": "Multikey", "controller": controller,
        "publicKeyMultibase": keys.encode_multikey(key.public_key())}]}


OWNER_KEYS = assertion_keys(_owner_document())


def _auth(**changes):
    fields = dict(id="https://a.example/users/alice/remix_authorizations/1", owner=OWNER, post=POST,
                  cameo=CAMEO, grantee=BOB, digest=USE.digest, published=NOW - timedelta(minutes=1),
                  end_time=NOW + timedelta(days=30), private_key=KEY, key_id=KEY_ID)
    fields.update(changes)
    return authorization(**fields)


def test_valid_authorization():
    document = _auth()
    assert "actor" not in document and document["proof"]["cryptosuite"] == "eddsa-jcs-2022"
    check_authorization(document, USE, OWNER_KEYS, at=NOW)


@pytest.mark.parametrize("changes,words", [
    ({"id": "https://evil.example/auth/1"}, "hosted"),
    ({"owner": "https://a.example/users/mallory"}, "attributedTo"),
    ({"post": "https://b.example/users/bob/statuses/8"}, "interactingObject"),
    ({"cameo": "https://a.example/users/alice/cameos/2"}, "interactionTarget"),
    ({"grantee": "https://b.example/users/eve"}, "grantee"),
    ({"digest": prompt_digest("another prompt")}, "promptDigest"),
    ({"end_time": NOW - timedelta(seconds=1)}, "expired"),
    ({"published": NOW + timedelta(minutes=5)}, "not valid yet"),
    ({"private_key": Ed25519PrivateKey.generate()}, "does not verify"),
    ({"key_id": f"{OWNER}#other-key"}, "assertionMethod"),
    ({"key_id": "https://evil.example/users/alice#ed25519-key"}, "assertionMethod"),
])
def test_mismatches_are_refused(changes, words):
    with pytest.raises(ConsentError, match=words):
        check_authorization(_auth(**changes), USE, OWNER_KEYS, at=NOW)


@pytest.mark.parametrize("field,value", [
    ("promptDigest", prompt_digest("another prompt")), ("interactingObject", POST + "0"),
    ("endTime", "2099-01-01T00:00:00Z"), ("grantee", "https://b.example/users/eve"),
])
def test_tampered_field_with_the_old_proof(field, value):
    document = _auth()
    document[field] = value
    use = RemixUse(post=document["interactingObject"], author=document["grantee"], cameo=CAMEO,
                   owner=OWNER, digest=document["promptDigest"])
    with pytest.raises(ConsentError, match="does not verify"):
        check_authorization(document, use, OWNER_KEYS, at=NOW)


def test_structure_refusals():
    wrong_type = _auth()
    wrong_type["type"] = "QuoteAuthorization"
    with_actor = proofs.sign({**_auth(), "actor": OWNER}, KEY, KEY_ID)
    other_context = _auth()
    other_context["@context"] = ["https://www.w3.org/ns/activitystreams"]
    two_proofs = _auth()
    two_proofs["proof"] = [two_proofs["proof"], two_proofs["proof"]]
    for document, words in [(wrong_type, "type"), (with_actor, "actor"), (other_context, "@context"),
                            (two_proofs, "single proof"), ("a string", "not an object"),
                            ({**_auth(), "id": "ftp://a.example/1"}, "http")]:
        with pytest.raises(ConsentError, match=words):
            check_authorization(document, USE, OWNER_KEYS, at=NOW)


def test_owner_keys_need_a_reciprocal_claim():
    """A key whose controller is someone else, or on another host, is not the owner's."""
    assert assertion_keys(_owner_document(controller="https://a.example/users/mallory")) == {}
    assert assertion_keys(_owner_document(key_id="https://evil.example/k")) == {}
    assert list(assertion_keys(_owner_document())) == [KEY_ID]
    broken = copy.deepcopy(_owner_document())
    broken["assertionMethod"][0]["publicKeyMultibase"] = "zNotAKey"
    assert assertion_keys(broken) == {}


def test_prompt_digest():
    assert prompt_digest("") == "sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
