"""Actors: our own (documents and keys) and remote ones (fetched, checked and cached)."""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime, timedelta
from html import escape
from typing import Any
from urllib.parse import quote, urlsplit

import asyncpg
import httpx

from . import fetch, inputs, keys, store
from .context import Federation
from .html import sanitize_html
from .objects import parse_time
from .signing import instance_signer
from .vocab import ACTOR_CONTEXT, ACTOR_TYPES, is_type

log = logging.getLogger(__name__)

# A cached remote actor is refreshed on use after this long (Mastodon: one day).
ACTOR_TTL = timedelta(hours=24)
KEY_CACHE_SECONDS = 300
WEBFINGER_MAX_BYTES = 100_000
# The aliases kept of a remote actor (Mastodon lets an account have a handful).
MAX_ALIASES = 20


class ActorError(ValueError):
    """A remote actor document is missing something we need, or is inconsistent."""


async def create_local_actor(conn: asyncpg.Connection, fed: Federation, *, user_id: int | None,
                             username: str, type: str = "Person", display_name: str = "") -> int:
    """Insert a local actor with fresh keys; run inside the caller's transaction."""
    uri = fed.instance_actor_uri if type == "Application" else fed.actor_uri(username)
    actor_id = await store.insert_local_actor(conn, user_id=user_id, type=type, uri=uri,
                                              username=username, domain=fed.domain,
                                              display_name=display_name)
    rsa_pem = keys.generate_rsa_private_pem()
    ed_raw = keys.generate_ed25519_private()
    await store.store_actor_keys(conn, actor_id, rsa_pem, ed_raw)
    await store.store_public_key(conn, f"{uri}#main-key", uri, "rsa", keys.rsa_public_pem(rsa_pem))
    await store.store_public_key(conn, f"{uri}#ed25519-key", uri, "ed25519",
                                 keys.ed25519_public_multibase(ed_raw))
    return actor_id


async def ensure_instance_actor(fed: Federation) -> None:
    """Make the instance actor once; processes starting together on a new database (a web server
    and its workers) wait for each other instead of racing to insert it."""
    async with fed.pool.acquire() as conn, conn.transaction():
        await store.lock_instance_actor(conn)
        if await store.actor_by_uri(conn, fed.instance_actor_uri) is None:
            await create_local_actor(conn, fed, user_id=None, username=fed.domain.split(":")[0],
                                     type="Application", display_name="Instance actor")


async def actor_document(fed: Federation, actor: asyncpg.Record) -> dict[str, Any]:
    """The ActivityPub document of a local actor (Person or the instance Application)."""
    uri = actor["uri"]
    public = {k["kind"]: k["public_pem"] for k in await store.public_keys_of(fed.pool, uri)}
    doc: dict[str, Any] = {
        "@context": ACTOR_CONTEXT,
        "id": uri,
        "type": actor["type"],
        "preferredUsername": actor["username"],
        "name": actor["display_name"] or actor["username"],
        "summary": actor["summary"],
        "url": _profile_url(fed, actor),
        "inbox": f"{uri}/inbox",
        "outbox": f"{uri}/outbox",
        "followers": f"{uri}/followers",
        "following": f"{uri}/following",
        # Mastodon's pinned posts.
        "featured": f"{uri}/collections/featured",
        "endpoints": {"sharedInbox": fed.shared_inbox},
        "manuallyApprovesFollowers": actor["manually_approves_followers"],
        "discoverable": actor["type"] == "Person",
        "indexable": actor["type"] == "Person",
        "published": _iso(actor["created_at"]),
        "publicKey": {"id": f"{uri}#main-key", "owner": uri, "publicKeyPem": public["rsa"]},
        "assertionMethod": [{
            "id": f"{uri}#ed25519-key", "type": "Multikey", "controller": uri,
            "publicKeyMultibase": public["ed25519"],
        }],
    }
    if actor["type"] == "Person":
        doc["cameoCollection"] = f"{uri}/cameos"
        # Where this account answers for what it took over from its former accounts.
        doc["endpoints"]["takenOver"] = f"{uri}/taken_over"
    elif (notice := await store.shutdown_notice(fed.pool)) is not None:
        closing(doc, notice)
    # Account moves, as Mastodon writes them: the accounts this one was (its aliases), and the
    # one it moved to.
    if actor["also_known_as"]:
        doc["alsoKnownAs"] = list(actor["also_known_as"])
    if actor["moved_to_uri"]:
        doc["movedTo"] = actor["moved_to_uri"]
    # The signed Moves of its former accounts, as their keys signed them: a server that finds
    # an authorization of a former account checks its succession here, offline.
    successions = await store.successions_to(fed.pool, uri)
    if successions:
        doc["succession"] = [row["move"] for row in successions]
    if actor["suspended"]:
        # Mastodon's `toot:suspended`: other servers hide the account until a document without
        # it. The profile is withheld meanwhile; the keys stay, to verify that later Update.
        doc.update(name=actor["username"], summary="", suspended=True)
    else:
        if actor["icon_url"]:
            doc["icon"] = {"type": "Image", "url": actor["icon_url"]}
        if actor["header_url"]:
            doc["image"] = {"type": "Image", "url": actor["header_url"]}
    return doc


def handle_of(actor: asyncpg.Record) -> str:
    """`user@host`, as people name an account."""
    return f"{actor['username']}@{actor['domain']}"


def closing(document: dict[str, Any], notice: dict[str, Any]) -> None:
    """The instance actor's document while the server closes down (federation/shutdown.py): when,
    for servers (`endTime`) and for people (its summary)."""
    document.update(summary=closing_summary(notice), endTime=notice["until"])


def closing_summary(notice: dict[str, Any]) -> str:
    """The instance actor's summary while a notice stands: its message, then when it closes."""
    until = parse_time(notice.get("until"))
    when = until.strftime("%d %B %Y, %H:%M UTC") if until else notice.get("until")
    message = escape(notice.get("message") or "")
    return f"<p>{message}</p><p>This server closes on {when}.</p>" if message \
        else f"<p>This server closes on {when}.</p>"


def _profile_url(fed: Federation, actor: asyncpg.Record) -> str:
    if actor["type"] == "Application":
        return f"{fed.base_url}/about"
    return f"{fed.base_url}/@{actor['username']}"


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_actor_document(doc: dict[str, Any]) -> tuple[dict[str, Any], list[tuple[str, str, str]]]:
    """Read a fetched actor into row fields and its keys (key id, kind, public PEM/multibase).

    Plain keys of the JSON as fetched: the document came from its own origin, and keys are
    only taken when their id shares that origin and they name this actor as owner.
    """
    uri = doc.get("id")
    if not isinstance(uri, str):
        raise ActorError("actor has no id")
    if doc.get("type") not in ACTOR_TYPES:
        raise ActorError(f"not an actor type: {doc.get('type')!r}")
    inbox = doc.get("inbox")
    if not isinstance(inbox, str) or not fetch.same_origin(inbox, uri):
        raise ActorError("actor has no inbox on its own origin")
    username = doc.get("preferredUsername")
    if not isinstance(username, str) or not username:
        username = urlsplit(uri).path.rstrip("/").rsplit("/", 1)[-1] or "unknown"
    endpoints = doc.get("endpoints") if isinstance(doc.get("endpoints"), dict) else {}
    shared_inbox = endpoints.get("sharedInbox")
    icon_url, header_url = _image_url(doc.get("icon")), _image_url(doc.get("image"))
    url = doc.get("url")
    fields = {
        "uri": uri,
        "type": ACTOR_TYPES.pick(doc["type"]),
        "username": username[:200],
        "domain": urlsplit(uri).netloc.lower(),
        "display_name": str(doc.get("name") or "")[:200],
        "summary": sanitize_html(str(doc.get("summary") or ""))[:5000],
        "url": url if isinstance(url, str) else uri,
        "icon_url": icon_url,
        "header_url": header_url,
        "inbox": inbox,
        "shared_inbox": shared_inbox if isinstance(shared_inbox, str)
        and fetch.same_origin(shared_inbox, uri) else None,
        "outbox": _str(doc.get("outbox")),
        "followers_url": _str(doc.get("followers")),
        "following_url": _str(doc.get("following")),
        "manually_approves_followers": bool(doc.get("manuallyApprovesFollowers")),
        "suspended": doc.get("suspended") is True,
        "document": doc,
        "also_known_as": _uris(doc.get("alsoKnownAs"))[:MAX_ALIASES],
        "moved_to_uri": next(iter(_uris(doc.get("movedTo"))), None),
    }
    found: list[tuple[str, str, str]] = []
    for key in _as_list(doc.get("publicKey")):
        if isinstance(key, dict) and _owned_key(key.get("id"), key.get("owner"), uri) \
                and isinstance(key.get("publicKeyPem"), str):
            found.append((key["id"], "rsa", key["publicKeyPem"]))
    for method in _as_list(doc.get("assertionMethod")):
        if isinstance(method, dict) and is_type(method, "Multikey") \
                and _owned_key(method.get("id"), method.get("controller"), uri) \
                and isinstance(method.get("publicKeyMultibase"), str):
            found.append((method["id"], "ed25519", method["publicKeyMultibase"]))
    return fields, found


def _image_url(image: Any) -> str | None:
    """The address of an actor's `icon` or `image`: an Image object's `url`, or a plain link."""
    url = image.get("url") if isinstance(image, dict) else image
    return url if isinstance(url, str) else None


def _owned_key(key_id: Any, owner: Any, actor_uri: str) -> bool:
    return isinstance(key_id, str) and owner == actor_uri and fetch.same_origin(key_id, actor_uri)


def _uris(value: Any) -> list[str]:
    """The http(s) addresses a property holds: links, or objects by their id, one or a list."""
    found = [item.get("id") if isinstance(item, dict) else item for item in _as_list(value)]
    return list(dict.fromkeys(uri for uri in found if isinstance(uri, str)
                              and uri.startswith(("https://", "http://"))))


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


async def fetch_actor(fed: Federation, uri: str, *, client: httpx.AsyncClient | None = None
                      ) -> asyncpg.Record:
    """Fetch an actor from its origin (signed GET), check it and store it with its keys;
    through `client` when given (the key fetches' own pool), else the shared one."""
    fetched = await fetch.fetch_document(client or fed.client, uri, sign=await instance_signer(fed),
                                         max_bytes=fed.max_document_bytes)
    return await _store_actor(fed, fetched.document)


async def _store_actor(fed: Federation, doc: dict[str, Any]) -> asyncpg.Record:
    # `fetch_document` already holds the document's id to the origin it came from.
    fields, found = parse_actor_document(doc)
    if (await fed.rules.policy(fields["uri"])).reject_media:
        fields["icon_url"] = fields["header_url"] = None
    async with fed.pool.acquire() as conn, conn.transaction():
        existing = await store.actor_by_uri(conn, fields["uri"])
        if existing is not None and existing["local"]:
            raise ActorError("refusing to overwrite a local actor")
        row = await store.upsert_remote_actor(conn, fields)
        # Its server's say on a suspension (`toot:suspended`), on every fetch, as Mastodon reads it.
        row = await store.set_origin_suspension(conn, row["id"], fields["suspended"])
        await store.forget_public_keys(conn, fields["uri"])
        for key_id, kind, material in found:
            try:
                keys.load_public_key(material)
            except ValueError:
                log.info("skipping unreadable key %s of %s", key_id, fields["uri"])
                continue
            await store.store_public_key(conn, key_id, fields["uri"], kind, material)
    return row


async def actor(fed: Federation, uri: str, *, refresh: bool = False) -> asyncpg.Record:
    """A known actor, fetched when unknown or stale."""
    row = await store.actor_by_uri(fed.pool, uri)
    if row is not None and (row["local"] or not refresh and not _stale(row)):
        return row
    try:
        return await fetch_actor(fed, uri)
    except fetch.FetchError:
        if row is not None and not refresh:
            return row
        raise


def _stale(row: asyncpg.Record) -> bool:
    fetched = row["fetched_at"]
    return fetched is None or datetime.now(UTC) - fetched > ACTOR_TTL


async def key_for_verification(fed: Federation, key_id: str, *, refresh: bool = False
                               ) -> tuple[str, Any] | None:
    """The owner uri and public key of `key_id`, fetched from the owner when unknown.

    `refresh` refetches the owner (key rotation): a failed verification tries this once.
    Keys are kept in memory for a few minutes; a rotation is still seen on the first failure.
    """
    cached = fed.public_key_cache.get(key_id)
    if cached is not None and not refresh and time.monotonic() - cached[2] < KEY_CACHE_SECONDS:
        return cached[0], cached[1]
    row = await store.public_key(fed.pool, key_id)
    if row is None or refresh and not fed.is_local(row["owner_uri"]):
        try:
            await _fetch_key_owner(fed, key_id)
        except (fetch.FetchError, ActorError) as exc:
            log.info("could not fetch key %s: %s", key_id, exc)
            return None
        row = await store.public_key(fed.pool, key_id)
    if row is None:
        return None
    key = keys.load_public_key(row["public_pem"])
    fed.public_key_cache[key_id] = (row["owner_uri"], key, time.monotonic())
    return row["owner_uri"], key


async def _fetch_key_owner(fed: Federation, key_id: str) -> None:
    """Fetch the actor behind a key id: `actor#main-key`, or a key document naming its owner.

    Through the pool kept for key fetches: inbound activities wait on these, and must not wait
    behind lookups that a slow server holds up."""
    fetched = await fetch.fetch_document(fed.key_client, key_id.split("#", 1)[0],
                                         sign=await instance_signer(fed),
                                         max_bytes=fed.max_document_bytes)
    doc = fetched.document
    if doc.get("type") in ACTOR_TYPES:
        await _store_actor(fed, doc)
        return
    owner = doc.get("owner") or doc.get("controller")
    if not isinstance(owner, str) or not fetch.same_origin(owner, key_id):
        raise ActorError(f"key {key_id} names no owner on its own origin")
    await fetch_actor(fed, owner, client=fed.key_client)


async def assertion_keys(fed: Federation, owner_uri: str, method: str | None = None) -> dict[str, Any]:
    """The Ed25519 keys an actor lists in its `assertionMethod`, by key id: what its FEP-8b32
    proofs verify against. Fetched again once when a proof names a key we do not know (a
    rotation), and fetched at all when the actor is new to us; through the key fetches' pool."""
    for attempt in range(2):
        found = {k["key_id"]: keys.decode_multikey(k["public_pem"])
                 for k in await store.public_keys_of(fed.pool, owner_uri) if k["kind"] == "ed25519"}
        if method in found or fed.is_local(owner_uri) or attempt == 1 or \
                found and method is None:
            return found
        try:
            await fetch_actor(fed, owner_uri, client=fed.key_client)
        except (fetch.FetchError, ActorError):
            return found
    return found


async def resolve_handle(fed: Federation, handle: str) -> asyncpg.Record:
    """Find `user@host` through WebFinger and fetch the actor it names."""
    username, _, host = handle.lstrip("@").partition("@")
    if not username or not host or "/" in host:
        raise ActorError(f"not a handle: {handle!r}")
    refused = await fed.rules.policy(host.lower())
    if refused.suspended:
        raise ActorError(f"{handle} cannot be looked up: {refused.reason}")
    known = await store.actor_by_handle(fed.pool, username, host)
    if known is not None and (known["local"] or not _stale(known)):
        return known
    if host.lower() == fed.domain.lower():
        raise ActorError(f"no local account {username!r}")
    scheme = urlsplit(fed.base_url).scheme
    url = f"{scheme}://{host}/.well-known/webfinger?resource={quote(f'acct:{username}@{host}')}"
    # Through the fetch layer, so that a refused connection or a host that is not a valid
    # address is a FetchError like any other.
    body = await fetch.fetch_bytes(fed.client, url, max_bytes=WEBFINGER_MAX_BYTES,
                                   accept="application/jrd+json")
    try:
        document = inputs.loads(body)
    except inputs.InputError:
        raise ActorError(f"WebFinger for {handle} did not answer JSON") from None
    links = document.get("links") if isinstance(document, dict) else None
    for link in links if isinstance(links, list) else []:
        if isinstance(link, dict) and link.get("rel") == "self" and isinstance(link.get("href"), str) \
                and str(link.get("type", "")).startswith(("application/activity+json",
                                                          "application/ld+json")):
            return await actor(fed, link["href"])
    raise ActorError(f"WebFinger for {handle} names no ActivityPub actor")
