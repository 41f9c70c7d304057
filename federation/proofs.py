"""FEP-8b32 Object Integrity Proofs with the `eddsa-jcs-2022` cryptosuite.

A proof makes an object verifiable by anyone, later, without trusting whoever passed it on:
cameo consent travels inside other people's posts. JCS (RFC 8785) canonicalises the JSON as
received, so what is verified is exactly what is read; no JSON-LD processing is involved.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

import rfc8785
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from .keys import b58decode, b58encode
from .objects import iso, now
from .vocab import is_type

CRYPTOSUITE = "eddsa-jcs-2022"
PROOF_TYPE = "DataIntegrityProof"


class ProofError(ValueError):
    """A proof that is missing, malformed, or does not verify."""


def _jcs_hash(value: Any) -> bytes:
    try:
        return hashlib.sha256(rfc8785.dumps(value)).digest()
    except (rfc8785.CanonicalizationError, TypeError, ValueError) as exc:
        raise ProofError(f"the document cannot be canonicalised: {exc}") from None


def _hash_data(document: dict[str, Any], proof_config: dict[str, Any]) -> bytes:
    unsecured = {k: v for k, v in document.items() if k != "proof"}
    return _jcs_hash(proof_config) + _jcs_hash(unsecured)


def _timestamp(moment: datetime | str | None) -> str:
    if isinstance(moment, str):
        return moment
    return iso(moment or now())


def sign(document: dict[str, Any], private_key: Ed25519PrivateKey, verification_method: str, *,
         created: datetime | str | None = None, purpose: str = "assertionMethod") -> dict[str, Any]:
    """`document` with an `eddsa-jcs-2022` proof by `verification_method` added."""
    config: dict[str, Any] = {}
    if "@context" in document:
        config["@context"] = document["@context"]
    config.update({"type": PROOF_TYPE, "cryptosuite": CRYPTOSUITE,
                   "verificationMethod": verification_method, "proofPurpose": purpose,
                   "created": _timestamp(created)})
    signature = private_key.sign(_hash_data(document, config))
    return {**{k: v for k, v in document.items() if k != "proof"},
            "proof": {**config, "proofValue": "z" + b58encode(signature)}}


def proof_of(document: dict[str, Any], *, purpose: str = "assertionMethod") -> dict[str, Any]:
    """The single, well-formed proof of `document` (before its key is looked up)."""
    proof = document.get("proof")
    if not isinstance(proof, dict):
        raise ProofError("the object carries no single proof")
    if not is_type(proof, PROOF_TYPE) or proof.get("cryptosuite") != CRYPTOSUITE:
        raise ProofError(f"unsupported proof: {proof.get('type')!r} / {proof.get('cryptosuite')!r}")
    if proof.get("proofPurpose") != purpose:
        raise ProofError(f"the proof's purpose is not {purpose}")
    for name in ("verificationMethod", "proofValue"):
        if not isinstance(proof.get(name), str):
            raise ProofError(f"the proof has no {name}")
    if not proof["proofValue"].startswith("z"):
        raise ProofError("the proofValue is not base58btc")
    if "@context" in proof and proof["@context"] != document.get("@context"):
        raise ProofError("the proof's @context differs from the document's")
    return proof


def verify(document: dict[str, Any], public_key: Ed25519PublicKey, *,
           purpose: str = "assertionMethod") -> dict[str, Any]:
    """Check the proof of `document` with `public_key`; returns the proof."""
    proof = proof_of(document, purpose=purpose)
    try:
        signature = b58decode(proof["proofValue"][1:])
    except ValueError:
        raise ProofError("the proofValue is not base58btc") from None
    config = {k: v for k, v in proof.items() if k != "proofValue"}
    try:
        public_key.verify(signature, _hash_data(document, config))
    except InvalidSignature:
        raise ProofError("the proof does not verify") from None
    return proof
