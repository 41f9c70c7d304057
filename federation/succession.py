"""Consent that outlives its server: an account's signed succession (issue 17).

When alice moves from A to D, A signs the `Move` with alice's old Ed25519 key (FEP-8b32) and
embeds that key as the Move's `instrument`. D keeps the signed Move and publishes it in alice@D's
actor (`succession`, beside `alsoKnownAs`), so any server can check, offline and long after A is
gone, that the key which signed alice's old authorizations handed her over to alice@D:

- the Move's proof verifies under its embedded Multikey, whose id and controller are the old
  actor's (the key id the old authorizations name), and which equals any key we saw for it;
- the Move's `actor` and `object` are the old actor, its `target` is the new one;
- the new actor, fetched from its own origin, lists the old one in `alsoKnownAs` and publishes
  the Move.

D then answers for what it took over at its `takenOver` endpoint: `?id=<old id>` gives the old
authorization unchanged while it stands (410 once revoked), or the re-homed cameo that names the
old cameo id. PROTOCOL.md's "Succession" section is the wire reference.
"""

from __future__ import annotations

import hashlib
import logging
from typing import Any
from urllib.parse import urlencode

import asyncpg

from . import actors, fetch, keys, proofs, store
from .consent import proof_method
from .context import Federation
from .jsonld import ref
from .signing import instance_signer, signing_keys
from .vocab import MOVE_CONTEXT, is_type

log = logging.getLogger(__name__)

TAKEN_OVER_TYPE = "TakenOver"


class SuccessionError(ValueError):
    """A succession that does not prove what it claims; the text says why."""


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [] if value is None else [value]


def signed_move(old_uri: str, new_uri: str, *, private_key: Any, key_id: str,
                public_key_multibase: str, to: list[str] | None = None) -> dict[str, Any]:
    """The old actor's Move to `new_uri`, as Mastodon sends it (`actor` = `object` = the old
    actor, `target` = the new one), with the old actor's Multikey as `instrument` and a proof
    by that key: a statement of succession that anyone can check without the old server."""
    move_id = f"{old_uri}#moves/{hashlib.sha256(new_uri.encode()).hexdigest()[:16]}"
    document = {
        "@context": MOVE_CONTEXT, "id": move_id, "type": "Move",
        "actor": old_uri, "object": old_uri, "target": new_uri,
        "instrument": {"id": key_id, "type": "Multikey", "controller": old_uri,
                       "publicKeyMultibase": public_key_multibase},
    }
    if to is not None:
        document["to"] = to
    return proofs.sign(document, private_key, key_id)


async def signed_move_of(fed: Federation, actor: asyncpg.Record, new_uri: str, *,
                         to: list[str] | None = None) -> dict[str, Any]:
    """The signed Move of a local actor to `new_uri`, by its own Ed25519 key."""
    own = await signing_keys(fed, actor["id"])
    return signed_move(actor["uri"], new_uri, private_key=own.ed25519, key_id=own.ed25519_key_id,
                       public_key_multibase=keys.encode_multikey(own.ed25519.public_key()), to=to)


def check_move(move: Any, old_uri: str, new_uri: str, *, pinned: str | None = None) -> tuple[str, str]:
    """The old actor's key (id, multibase) that signed `move`, a succession from `old_uri` to
    `new_uri`; SuccessionError unless the Move proves exactly that. `pinned`: the key we already
    hold under that id, which the embedded one must equal."""
    if not is_type(move, "Move"):
        raise SuccessionError("the succession is not a Move")
    if move.get("@context") != MOVE_CONTEXT:
        raise SuccessionError("the Move's @context is not the pinned one")
    if ref(move.get("actor")) != old_uri or ref(move.get("object")) != old_uri:
        raise SuccessionError("the Move is not the old actor moving itself")
    if ref(move.get("target")) != new_uri:
        raise SuccessionError("the Move's target is not the new actor")
    move_id, key = move.get("id"), move.get("instrument")
    if not isinstance(move_id, str) or not fetch.same_origin(move_id, old_uri):
        raise SuccessionError("the Move's id is not on the old actor's server")
    if not is_type(key, "Multikey") or key.get("controller") != old_uri:
        raise SuccessionError("the Move embeds no Multikey of the old actor")
    key_id, multibase = key.get("id"), key.get("publicKeyMultibase")
    if not isinstance(key_id, str) or not fetch.same_origin(key_id, old_uri) \
            or not isinstance(multibase, str):
        raise SuccessionError("the embedded key is not on the old actor's server")
    if pinned is not None and pinned != multibase:
        raise SuccessionError("the embedded key is not the key we know for that id")
    try:
        public_key = keys.decode_multikey(multibase)
        if proofs.proof_of(move)["verificationMethod"] != key_id:
            raise SuccessionError("the Move is not signed by its embedded key")
        proofs.verify(move, public_key)
    except keys.KeyFormatError:
        raise SuccessionError("the embedded key is not an Ed25519 Multikey") from None
    except proofs.ProofError as exc:
        raise SuccessionError(f"the Move's proof: {exc}") from None
    return key_id, multibase


def vouching_move(successor_document: dict[str, Any], old_uri: str) -> dict[str, Any]:
    """The signed Move by which the actor `successor_document` (as fetched from its origin)
    vouches for `old_uri`: it must list the old actor among its aliases and publish the Move."""
    if old_uri not in _as_list(successor_document.get("alsoKnownAs")):
        raise SuccessionError("the new actor does not list the old one in alsoKnownAs")
    for move in _as_list(successor_document.get("succession")):
        if isinstance(move, dict) and ref(move.get("object")) == old_uri:
            return move
    raise SuccessionError("the new actor publishes no Move of the old one")


async def _pinned_key(fed: Federation, key_id: str, old_uri: str) -> str | None:
    row = await store.public_key(fed.pool, key_id)
    if row is None:
        return None
    if row["owner_uri"] != old_uri or row["kind"] != "ed25519":
        raise SuccessionError("that key id belongs to another actor")
    return row["public_pem"]


async def _record(fed: Federation, old_uri: str, new_uri: str, move: dict[str, Any]) -> asyncpg.Record:
    embedded = move.get("instrument")
    key_id = embedded.get("id") if isinstance(embedded, dict) else None
    pinned = await _pinned_key(fed, key_id, old_uri) if isinstance(key_id, str) else None
    key_id, multibase = check_move(move, old_uri, new_uri, pinned=pinned)
    async with fed.pool.acquire() as conn, conn.transaction():
        await store.record_succession(conn, old_uri, new_uri, key_id, multibase, move)
        if pinned is None:
            # Kept as a key of the old actor, so that a later, different claim to it is refused.
            await store.store_public_key(conn, key_id, old_uri, "ed25519", multibase)
    return await store.succession_of(fed.pool, old_uri)


async def verify_successor(fed: Federation, old_uri: str, new_uri: str) -> asyncpg.Record:
    """The succession from `old_uri` to `new_uri`, checked against the new actor's own document
    (fetched from its origin) and recorded; SuccessionError when it does not hold."""
    known = await store.succession_of(fed.pool, old_uri)
    if known is not None and known["new_actor_uri"] == new_uri:
        return known
    if fed.is_local(new_uri):
        raise SuccessionError("no such succession here")
    try:
        successor = await actors.actor(fed, new_uri, refresh=True)
    except (fetch.FetchError, actors.ActorError) as exc:
        raise SuccessionError(f"the new actor could not be fetched: {exc}") from None
    return await _record(fed, old_uri, new_uri, vouching_move(successor["document"] or {}, old_uri))


async def successor_of(fed: Federation, old_uri: str) -> asyncpg.Record | None:
    """The verified succession of an actor that moved, if we know of one: recorded when its
    signed Move reached us, or found now through the `movedTo` its old document named."""
    known = await store.succession_of(fed.pool, old_uri)
    if known is not None:
        return known
    old = await store.actor_by_uri(fed.pool, old_uri)
    document = old["document"] if old is not None and old["document"] else {}
    target = (old["moved_to_uri"] if old is not None else None) or ref(document.get("movedTo"))
    if not isinstance(target, str):
        return None
    try:
        return await verify_successor(fed, old_uri, target)
    except SuccessionError as exc:
        log.info("%s names %s as its successor, which does not hold: %s", old_uri, target, exc)
        return None


async def receive_move(fed: Federation, move: dict[str, Any]) -> bool:
    """A Move as received (its actor, the old account, authenticated by the inbox). One with a
    proof by the old actor's key is recorded as a succession once the target names the old actor
    among its aliases: its document when remote, its row when it is one of ours (the new server
    keeps the Move to publish it). False when the Move carries no proof (Mastodon's), or it does
    not hold."""
    if "proof" not in move:
        return False
    old_uri, new_uri = ref(move.get("actor")), ref(move.get("target"))
    if not isinstance(old_uri, str) or not isinstance(new_uri, str):
        return False
    try:
        if fed.is_local(new_uri):
            target = await store.actor_by_uri(fed.pool, new_uri)
            if target is None or old_uri not in (target["also_known_as"] or []):
                raise SuccessionError("the new account here does not list the old one")
            await _record(fed, old_uri, new_uri, move)
        else:
            # From the old actor itself, while its server stands: its current key pins the one
            # the Move embeds, and the new account must already name it (as Mastodon checks).
            await actors.assertion_keys(fed, old_uri, proof_method(move))
            try:
                target = await actors.actor(fed, new_uri, refresh=True)
            except (fetch.FetchError, actors.ActorError) as exc:
                raise SuccessionError(f"the new actor could not be fetched: {exc}") from None
            if old_uri not in _as_list((target["document"] or {}).get("alsoKnownAs")):
                raise SuccessionError("the new actor does not list the old one in alsoKnownAs")
            await _record(fed, old_uri, new_uri, move)
    except SuccessionError as exc:
        log.info("succession %s -> %s refused: %s", old_uri, new_uri, exc)
        return False
    return True


def taken_over_endpoint(successor_document: dict[str, Any]) -> str:
    """Where the new actor answers for what it took over: on its own origin, or nowhere."""
    endpoints = successor_document.get("endpoints")
    url = endpoints.get("takenOver") if isinstance(endpoints, dict) else None
    uri = successor_document.get("id")
    if not isinstance(url, str) or not isinstance(uri, str) or not fetch.same_origin(url, uri):
        raise SuccessionError("the new actor names no takenOver endpoint on its own origin")
    return url


async def taken_over(fed: Federation, succession: asyncpg.Record, old_object_uri: str) -> Any:
    """What the successor serves for an object it took over from the old actor: the `result`
    of its answer (the authorization unchanged, or the re-homed cameo). GoneError (404 or 410)
    when it no longer answers for it: revoked, or deleted."""
    successor = await actors.actor(fed, succession["new_actor_uri"])
    document = await actors.actor_document(fed, successor) if successor["local"] else successor["document"]
    url = f"{taken_over_endpoint(document or {})}?{urlencode({'id': old_object_uri})}"
    fetched = await fetch.fetch_document(fed.client, url, sign=await instance_signer(fed),
                                         max_bytes=fed.max_document_bytes)
    answer = fetched.document
    if not is_type(answer, TAKEN_OVER_TYPE) or ref(answer.get("attributedTo")) != successor["uri"] \
            or ref(answer.get("object")) != old_object_uri or not isinstance(answer.get("result"), dict):
        raise SuccessionError("the new actor's answer is not a TakenOver of that object")
    return answer["result"]


async def rehomed_cameo(fed: Federation, succession: asyncpg.Record, old_cameo_uri: str) -> dict[str, Any]:
    """The successor's Cameo that took over `old_cameo_uri`: on the successor's origin, its own,
    naming the old id. GoneError when the successor no longer has it."""
    cameo = await taken_over(fed, succession, old_cameo_uri)
    new_uri, cameo_id = succession["new_actor_uri"], cameo.get("id")
    if not is_type(cameo, "Cameo") or ref(cameo.get("attributedTo")) != new_uri \
            or not isinstance(cameo_id, str) or not fetch.same_origin(cameo_id, new_uri) \
            or old_cameo_uri not in _as_list(cameo.get("alsoKnownAs")):
        raise SuccessionError("the new actor's cameo does not take over that cameo")
    return cameo


async def speaks_for(fed: Federation, owner_uri: str, actor_uri: str) -> bool:
    """Whether `actor_uri` may act for what `owner_uri` gave: it is that actor, or its verified
    successor (a revoke from the server its owner moved to)."""
    if actor_uri == owner_uri:
        return True
    try:
        await verify_successor(fed, owner_uri, actor_uri)
    except SuccessionError as exc:
        log.info("%s does not speak for %s: %s", actor_uri, owner_uri, exc)
        return False
    return True
