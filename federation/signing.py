"""The one signer: local actors' keys and the signed requests they send.

Private keys are parsed once per process and kept in `Federation.key_cache`; RSA parsing costs
more than the signature itself.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from urllib.parse import urlsplit

import asyncpg
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey

from . import httpsig, store
from .context import Federation
from .fetch import Signer

# How a request to a peer is signed; the names are those of `peers.signature_scheme`.
CAVAGE = "cavage"
RFC9421_RSA = "rfc9421-rsa"
RFC9421_ED25519 = "rfc9421-ed25519"


@dataclass(frozen=True)
class SigningKeys:
    actor_uri: str
    rsa: RSAPrivateKey
    ed25519: Ed25519PrivateKey

    @property
    def rsa_key_id(self) -> str:
        return f"{self.actor_uri}#main-key"

    @property
    def ed25519_key_id(self) -> str:
        return f"{self.actor_uri}#ed25519-key"

    def sign(self, scheme: str, method: str, url: str, headers: dict[str, str],
             body: bytes | None) -> dict[str, str]:
        """The headers that sign a request with this actor's key, in `scheme`."""
        if scheme == RFC9421_ED25519:
            return httpsig.sign_rfc9421(method, url, headers, body,
                                        key_id=self.ed25519_key_id, private_key=self.ed25519)
        if scheme == RFC9421_RSA:
            return httpsig.sign_rfc9421(method, url, headers, body,
                                        key_id=self.rsa_key_id, private_key=self.rsa)
        return httpsig.sign_cavage(method, url, headers, body,
                                   key_id=self.rsa_key_id, private_key=self.rsa)


def scheme_of(peer: asyncpg.Record | None) -> str:
    """The scheme a server was learned to want (deliveries learn it, PROTOCOL.md "double
    knock"); cavage, which every fediverse server takes, for a server not known yet."""
    return peer["signature_scheme"] if peer is not None else CAVAGE


def signer(fed: Federation, keys: SigningKeys) -> Signer:
    """Sign each request as `keys`' actor, in the scheme its server was learned to want: key and
    object fetches as deliveries, so a server that takes only RFC 9421 answers them too."""

    async def sign(method: str, url: str, headers: dict[str, str], body: bytes | None) -> dict[str, str]:
        peer = await store.peer(fed.pool, urlsplit(url).netloc.lower())
        return keys.sign(scheme_of(peer), method, url, headers, body)

    return sign


async def signing_keys(fed: Federation, actor_id: int) -> SigningKeys:
    """The actor's keys, parsed once per process. The parse is shared: a cold worker's first
    fan-out asks for the same keys a hundred times at once, and parsing each time cost more
    than the deliveries (76% of a fresh worker's CPU)."""
    loading = fed.key_cache.get(actor_id)
    if loading is None or (loading.done() and (loading.cancelled() or loading.exception() is not None)):
        # Not asked yet, or the last parse failed: this caller tries (again).
        loading = fed.key_cache[actor_id] = asyncio.ensure_future(_load_keys(fed, actor_id))
    elif loading.done():
        return loading.result()
    # Shielded: a caller cancelled while waiting does not cancel the others' parse.
    return await asyncio.shield(loading)


async def _load_keys(fed: Federation, actor_id: int) -> SigningKeys:
    row = await store.actor_keys(fed.pool, actor_id)
    actor = await store.actor_by_id(fed.pool, actor_id)
    if row is None or actor is None:
        raise LookupError(f"actor {actor_id} has no keys")
    rsa = serialization.load_pem_private_key(row["rsa_private_pem"].encode(), password=None)
    assert isinstance(rsa, RSAPrivateKey)
    return SigningKeys(actor["uri"], rsa, Ed25519PrivateKey.from_private_bytes(row["ed25519_private"]))


async def instance_signer(fed: Federation) -> Signer:
    """Sign GETs as the instance actor: servers in authorized-fetch mode refuse unsigned ones."""
    actor = await store.actor_by_uri(fed.pool, fed.instance_actor_uri)
    if actor is None:
        raise LookupError("the instance actor is missing; run migrations and start the server")
    return signer(fed, await signing_keys(fed, actor["id"]))
