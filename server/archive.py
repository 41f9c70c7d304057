"""A person's archive: everything of theirs in one zip, built by a worker, offered for a while.

The layout is Mastodon's (its BackupService) with Likeness's own parts beside it:

    actor.json          the actor document (public keys included), icon/image naming the files below
    avatar.<ext>, header.<ext>
    outbox.json         their posts and boosts as ActivityStreams Create/Announce activities
    media_attachments/files/<storage key>    each post's media, which outbox.json's attachments name
    likes.json, bookmarks.json               OrderedCollections of the posts' ids
    following_accounts.csv, blocked_accounts.csv, muted_accounts.csv   Mastodon's CSV exports
    cameos.json         each cameo: its Cameo object, its settings, and its files under cameos/<id>/
    consent.json        the consent ledger (CONSENT_LEDGER_TYPE): every request received and sent,
                        every answer, every authorization as signed, its state and its revoke,
                        and the inboxes that hold it

A person asks for one at most every ARCHIVE_COOLDOWN (Mastodon's 7 days); it is kept for
ARCHIVE_LIFETIME, then deleted.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
import logging
import zipfile
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

from federation import actors, outbox
from federation import store as fstore
from federation.cameos import cameo_document
from federation.context import Federation
from federation.objects import iso, now, parse_time, wrap
from federation.vocab import AS_CONTEXT, PUBLIC

from . import store
from .media_store import MediaStore, new_key

log = logging.getLogger(__name__)

FUNCTION = "build_archive"
ARCHIVE_COOLDOWN = timedelta(days=7)
ARCHIVE_LIFETIME = timedelta(days=7)
# A building archive whose worker has not moved it for this long is taken up again.
ABANDONED_AFTER = timedelta(minutes=5)
# An archive with many videos takes a while; the heartbeat, not this, notices a dead worker.
BUILD_TIMEOUT_S = 3 * 3600
CONSENT_LEDGER_TYPE = "LikenessConsentLedger"
CONSENT_LEDGER_VERSION = 1
MEDIA_DIR = "media_attachments/files"

FOLLOWING_HEADER = ["Account address", "Show boosts", "Notify on new posts", "Languages"]
MUTED_HEADER = ["Account address", "Hide notifications"]


async def queue_build(fed: Federation, archive_id: int) -> None:
    await fed.enqueue(FUNCTION, archive_id, job_id=f"archive:{archive_id}")


def _json(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, indent=2).encode()


def _csv(rows: list[list[str]], header: list[str] | None) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    if header:
        writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode()


def _address(row: Any) -> str:
    return f"{row['username']}@{row['domain']}"


def _extension(key: str) -> str:
    return key.rsplit(".", 1)[-1] if "." in key.rsplit("/", 1)[-1] else "bin"


class _Zip:
    """The archive being written, member by member, off the event loop."""

    def __init__(self, path: Path) -> None:
        self.file = zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, allowZip64=True)

    async def put(self, name: str, data: bytes) -> None:
        await asyncio.to_thread(self.file.writestr, name, data)

    async def put_stored(self, media: MediaStore, name: str, key: str) -> bool:
        """Copy a stored file in (not compressed again: media are); False if it is gone."""
        try:
            async with media.local_file(key) as path:
                await asyncio.to_thread(self.file.write, path, name, zipfile.ZIP_STORED)
        except FileNotFoundError:
            log.warning("archive: %s is missing from the media store", key)
            return False
        return True

    def close(self) -> None:
        self.file.close()


async def _outbox(fed: Federation, actor: Any, posts: list[Any], media_paths: dict[str, str]
                  ) -> dict[str, Any]:
    items = []
    async with fed.pool.acquire() as conn:
        for post in posts:
            if post["reblog_of_id"] is not None:
                if post["reblog_of_uri"]:
                    activity = wrap("Announce", actor["uri"], post["reblog_of_uri"],
                                    activity_id=post["uri"], to=[PUBLIC], cc=[actor["followers_url"]])
                    activity["published"] = iso(post["published_at"])
                    items.append(activity)
                continue
            note = await outbox.document_of(fed, conn, post)
            for attachment in note.get("attachment", []):
                url = attachment.get("url") if isinstance(attachment, dict) else None
                for key, path in media_paths.items():
                    if isinstance(url, str) and url.endswith("/" + key):
                        attachment["url"] = path
            activity = wrap("Create", actor["uri"], note, activity_id=f"{post['uri']}/activity",
                            to=note.get("to"), cc=note.get("cc"))
            activity["published"] = note.get("published")
            items.append(activity)
    return {"@context": AS_CONTEXT, "id": "outbox.json", "type": "OrderedCollection",
            "totalItems": len(items), "orderedItems": items}


def _collection(name: str, items: list[str]) -> dict[str, Any]:
    return {"@context": AS_CONTEXT, "id": name, "type": "OrderedCollection",
            "totalItems": len(items), "orderedItems": items}


async def consent_ledger(fed: Federation, actor: Any) -> dict[str, Any]:
    """The account's consent ledger as consent.json carries it. Authorizations are exactly as
    signed; `keys` lists each key that signed them (the account's own, as in actor.json, and those
    of the accounts it moved from, whose ledgers it imported); a revoked one carries the signed
    Delete that withdrew it; `holders` are the inboxes a revoke must reach."""
    async with fed.pool.acquire() as conn:
        received_rows = await fstore.requests_received(conn, actor["id"])
        sent_rows = await fstore.requests_sent(conn, actor["id"])
        imported = await fstore.imported_authorizations_of(conn, actor["id"])
        received, authorizations = [], []
        for row in received_rows:
            answer = None
            if row["state"] != "pending":
                # Answered: Accept if it was ever granted (a revoke comes after its Accept).
                answer = {"type": "Reject" if row["state"] == "rejected" else "Accept",
                          "id": f"{actor['uri']}#remix-answers/{row['id']}",
                          "reason": row["reason"],
                          "decided": iso(row["decided_at"]) if row["decided_at"] else None}
            received.append({
                "request": row["uri"], "cameo": row["cameo_uri"], "requester": row["requester_uri"],
                "post": row["post_uri"], "prompt": row["prompt"], "promptDigest": row["prompt_digest"],
                "received": iso(row["created_at"]), "state": row["state"], "answer": answer,
                "authorization": row["authorization_uri"]})
            if row["authorization_document"] is None:
                continue
            revocation = None
            if row["state"] == "revoked":
                revocation = await fstore.outbox_activity_body(conn, f"{row['authorization_uri']}#delete")
            holders = [] if row["requester_local"] or not row["requester_inbox"] \
                else [row["requester_inbox"]]
            authorizations.append({
                "id": row["authorization_uri"], "request": row["uri"], "cameo": row["cameo_uri"],
                "state": "revoked" if row["state"] == "revoked" else "live",
                "revokedAt": iso(row["revoked_at"]) if row["revoked_at"] else None,
                "document": row["authorization_document"], "revocation": revocation,
                "holders": sorted(set(holders + list(row["fetchers"])))})
        for row in imported:
            authorizations.append({
                "id": row["uri"], "request": row["request_uri"], "cameo": row["cameo_uri"],
                "state": row["state"], "revokedAt": iso(row["revoked_at"]) if row["revoked_at"] else None,
                "document": row["document"], "revocation": row["revocation"],
                "holders": list(row["holders"])})
        own = [k for k in await fstore.public_keys_of(conn, actor["uri"]) if k["kind"] == "ed25519"]
    signers = [(k["key_id"], actor["uri"], k["public_pem"]) for k in own] + [
        (r["key_id"], r["owner_uri"], r["public_key_multibase"]) for r in imported]
    keys: dict[str, dict[str, str]] = {}
    for key_id, controller, multibase in signers:
        keys.setdefault(key_id, {"id": key_id, "type": "Multikey", "controller": controller,
                                 "publicKeyMultibase": multibase})
    sent = [{"request": r["request_uri"], "post": r["post_uri"], "cameo": r["cameo_uri"],
             "owner": r["owner_uri"], "prompt": r["prompt"], "promptDigest": r["prompt_digest"],
             "sent": iso(r["created_at"]), "state": r["state"], "reason": r["reason"],
             "answered": iso(r["answered_at"]) if r["answered_at"] else None,
             "authorization": r["authorization_document"]} for r in sent_rows]
    return {"type": CONSENT_LEDGER_TYPE, "version": CONSENT_LEDGER_VERSION, "owner": actor["uri"],
            "generated": iso(now()), "keys": list(keys.values()), "received": received, "sent": sent,
            "authorizations": authorizations}


async def _cameos(fed: Federation, actor: Any, archive: _Zip, media: MediaStore,
                  step: Callable[[], Awaitable[None]]) -> list[dict[str, Any]]:
    found = []
    for cameo in await fstore.cameos_of(fed.pool, actor["id"]):
        approved = [a["uri"] for a in await fstore.cameo_approved(fed.pool, cameo["id"])]
        references = await fstore.cameo_references(fed.pool, cameo["id"])
        folder = f"cameos/{cameo['id']}"
        files = []
        for ref in references:
            name = f"{folder}/reference-{ref['position']}.{_extension(ref['storage_key'])}"
            if await archive.put_stored(media, name, ref["storage_key"]):
                files.append({"path": name, "mediaType": ref["media_type"],
                              "width": ref["width"], "height": ref["height"]})
            await step()
        preview = None
        if cameo["preview_key"]:
            name = f"{folder}/preview.{_extension(cameo['preview_key'])}"
            if await archive.put_stored(media, name, cameo["preview_key"]):
                preview = {"path": name, "mediaType": cameo["preview_media_type"]}
        found.append({
            "object": cameo_document(fed, cameo, actor, approved, len(references)),
            "settings": {"name": cameo["name"], "instructions": cameo["instructions"],
                         "permission": cameo["permission"], "approval": cameo["approval"],
                         "paused": cameo["paused"], "approvedAccounts": approved},
            "references": files, "preview": preview, "importedFrom": cameo["imported_from"]})
    return found


async def build(fed: Federation, media: MediaStore, tmp_dir: Path, archive_id: int) -> str:
    """Build archive `archive_id` into the media store; what became of it."""
    async with fed.pool.acquire() as conn:
        if not await store.claim_archive(conn, archive_id, ABANDONED_AFTER.total_seconds()):
            return "not due"
        row = await store.archive(conn, archive_id)
        actor = await fstore.actor_of_user(conn, row["user_id"])
    await asyncio.to_thread(tmp_dir.mkdir, parents=True, exist_ok=True)
    path = tmp_dir / f"archive-{archive_id}.zip.part"
    try:
        return await _build(fed, media, archive_id, actor, path)
    except Exception as exc:
        log.exception("archive %s could not be built", archive_id)
        await store.fail_archive(fed.pool, archive_id, f"the archive could not be built: {exc}"[:500])
        return "failed"
    finally:
        await asyncio.to_thread(path.unlink, missing_ok=True)


async def _build(fed: Federation, media: MediaStore, archive_id: int, actor: Any, path: Path) -> str:
    posts = await store.archive_posts(fed.pool, actor["id"])
    attachments = await store.archive_media(fed.pool, [p["id"] for p in posts])
    references = 0
    for cameo in await fstore.cameos_of(fed.pool, actor["id"]):
        references += len(await fstore.cameo_references(fed.pool, cameo["id"]))
    total = len(attachments) + references + 4
    done = 0
    reported = -1

    async def step() -> None:
        nonlocal done, reported
        done += 1
        percent = min(99, done * 100 // total)
        if percent != reported:
            reported = percent
            await store.archive_progress(fed.pool, archive_id, percent)

    archive = _Zip(path)
    try:
        document = await actors.actor_document(fed, actor)
        for name, key, field in (("avatar", actor["avatar_key"], "icon"),
                                 ("header", actor["header_key"], "image")):
            if key and await archive.put_stored(media, f"{name}.{_extension(key)}", key):
                document[field] = {"type": "Image", "url": f"{name}.{_extension(key)}"}
        document.update(outbox="outbox.json", likes="likes.json", bookmarks="bookmarks.json")
        await archive.put("actor.json", _json(document))
        await step()
        media_paths = {}
        for attachment in attachments:
            name = f"{MEDIA_DIR}/{attachment['storage_key']}"
            if await archive.put_stored(media, name, attachment["storage_key"]):
                media_paths[attachment["storage_key"]] = name
            await step()
        await archive.put("outbox.json", _json(await _outbox(fed, actor, posts, media_paths)))
        await archive.put("likes.json", _json(_collection(
            "likes.json", await store.liked_post_uris(fed.pool, actor["id"]))))
        await archive.put("bookmarks.json", _json(_collection(
            "bookmarks.json", await store.bookmarked_post_uris(fed.pool, actor["id"]))))
        await step()
        following = [[_address(r), "true", "false", ""]
                     for r in await store.followed_accounts(fed.pool, actor["id"])]
        await archive.put("following_accounts.csv", _csv(following, FOLLOWING_HEADER))
        # Mastodon's blocked_accounts.csv has no header: one address a line.
        await archive.put("blocked_accounts.csv", _csv(
            [[_address(r)] for r in await store.blocked_accounts(fed.pool, actor["id"])], None))
        await archive.put("muted_accounts.csv", _csv(
            [[_address(r), str(r["hide_notifications"]).lower()]
             for r in await store.muted_accounts(fed.pool, actor["id"])], MUTED_HEADER))
        await step()
        await archive.put("cameos.json", _json({"cameos": await _cameos(fed, actor, archive, media, step)}))
        await archive.put("consent.json", _json(await consent_ledger(fed, actor)))
        await step()
    finally:
        archive.close()
    key = new_key("archives", "zip")
    await media.put_file(key, path)
    size = (await asyncio.to_thread(path.stat)).st_size
    # A server closing down keeps every archive until it closes.
    notice = await fstore.shutdown_notice(fed.pool)
    closes = parse_time(notice["until"]) if notice else None
    expires = max(now() + ARCHIVE_LIFETIME, closes or now())
    if not await store.finish_archive(fed.pool, archive_id, key, size, expires):
        await media.delete(key)  # taken up by another worker meanwhile
        return "superseded"
    return "ready"


async def requeue_unfinished(fed: Federation) -> int:
    """Queue again the archives whose job Redis lost or whose worker died (the sweep)."""
    ids = await store.unfinished_archives(fed.pool, ABANDONED_AFTER.total_seconds())
    for archive_id in ids:
        await queue_build(fed, archive_id)
    return len(ids)


async def remove_expired(fed: Federation, media: MediaStore) -> int:
    keys = await store.expire_archives(fed.pool)
    for key in keys:
        await media.delete(key)
    return len(keys)
