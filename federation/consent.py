"""Remix consent on the wire: the signed `RemixAuthorization` and its fail-closed check.

PROTOCOL.md step 3 fixes the object; research/federation-consent.md section 8.3 the checks.
The check reads plain JSON keys of the object as received and verifies its FEP-8b32 proof
against a Multikey that the owner's own actor document lists: a third instance never has to
trust the instance that passed the authorization on.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from . import keys, proofs
from .fetch import same_origin
from .objects import iso, now, parse_time
from .vocab import SIGNED_CONTEXT, SIGNED_CONTEXT_2026_11, is_type

# The only @context values an authorization may carry: verifiers pin them, never fetch them.
# The older one stays accepted, so that authorizations signed before this one still verify.
AUTHORIZATION_CONTEXTS = (SIGNED_CONTEXT, SIGNED_CONTEXT_2026_11)


class ConsentError(ValueError):
    """An authorization that does not prove consent for this use; the text says why."""


def prompt_digest(prompt: str) -> str:
    return "sha256-" + base64.b64encode(hashlib.sha256(prompt.encode()).digest()).decode()


def authorization(*, id: str, owner: str, post: str, cameo: str, grantee: str, digest: str,
                  published: datetime, end_time: datetime, private_key: Ed25519PrivateKey,
                  key_id: str) -> dict[str, Any]:
    """A signed RemixAuthorization. It has no `actor` (FEP-2277 would make it an activity)
    and embeds neither the post nor the cameo."""
    document = {
        "@context": SIGNED_CONTEXT,
        "id": id,
        "type": "RemixAuthorization",
        "attributedTo": owner,
        "interactingObject": post,
        "interactionTarget": cameo,
        "grantee": grantee,
        "promptDigest": digest,
        "published": iso(published),
        "endTime": iso(end_time),
    }
    return proofs.sign(document, private_key, key_id, created=published)


def assertion_keys(actor_document: dict[str, Any]) -> dict[str, Ed25519PublicKey]:
    """The Ed25519 Multikeys an actor lists in `assertionMethod` as its own (reciprocal claim)."""
    owner = actor_document.get("id")
    methods = actor_document.get("assertionMethod")
    found: dict[str, Ed25519PublicKey] = {}
    for method in methods if isinstance(methods, list) else [methods]:
        if not isinstance(method, dict) or not is_type(method, "Multikey"):
            continue
        key_id = method.get("id")
        if method.get("controller") != owner or not isinstance(key_id, str) \
                or not isinstance(owner, str) or not same_origin(key_id, owner):
            continue
        try:
            key = keys.decode_multikey(method.get("publicKeyMultibase", ""))
        except keys.KeyFormatError:
            continue
        if isinstance(key, Ed25519PublicKey):
            found[key_id] = key
    return found


def proof_method(document: Any) -> str | None:
    """The key an object's proof names, if it names one: the key to look up before the check."""
    proof = document.get("proof") if isinstance(document, dict) else None
    method = proof.get("verificationMethod") if isinstance(proof, dict) else None
    return method if isinstance(method, str) else None


@dataclass(frozen=True)
class RemixUse:
    """What an authorization must grant: this post, by this author, of this cameo, this prompt."""

    post: str
    author: str
    cameo: str
    owner: str
    digest: str


def check_authorization(document: Any, use: RemixUse, owner_keys: dict[str, Ed25519PublicKey],
                        *, at: datetime | None = None) -> None:
    """Raise ConsentError unless `document` is the owner's signed consent to exactly `use`."""
    if not isinstance(document, dict):
        raise ConsentError("the authorization is not an object")
    auth_id = document.get("id")
    if not isinstance(auth_id, str) or not auth_id.startswith(("https://", "http://")):
        raise ConsentError("the authorization has no http(s) id")
    if not same_origin(auth_id, use.owner):
        raise ConsentError("the authorization is not hosted by the cameo owner's server")
    if document.get("@context") not in AUTHORIZATION_CONTEXTS:
        raise ConsentError("the authorization's @context is not a pinned one")
    expected = {
        "type": "RemixAuthorization",
        "attributedTo": use.owner,
        "interactingObject": use.post,
        "interactionTarget": use.cameo,
        "grantee": use.author,
        "promptDigest": use.digest,
    }
    for name, value in expected.items():
        if document.get(name) != value:
            raise ConsentError(f"the authorization's {name} does not match this use")
    if "actor" in document:
        raise ConsentError("an authorization must not have an actor")
    moment = at or now()
    published, end_time = parse_time(document.get("published")), parse_time(document.get("endTime"))
    if published is None or end_time is None:
        raise ConsentError("the authorization has no valid published and endTime")
    if moment < published:
        raise ConsentError("the authorization is not valid yet")
    if moment >= end_time:
        raise ConsentError("the authorization has expired")
    try:
        proof = proofs.proof_of(document)
        method = proof["verificationMethod"]
        if not same_origin(method, use.owner) or method not in owner_keys:
            raise ConsentError("the proof's key is not one the owner lists in assertionMethod")
        proofs.verify(document, owner_keys[method])
    except proofs.ProofError as exc:
        raise ConsentError(str(exc)) from None
