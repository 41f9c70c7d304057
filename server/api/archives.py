"""A person's archive and their imports, over HTTP.

`POST /api/v1/archives` asks for an archive (one per 7 days, as Mastodon); a worker builds it
(server/archive.py) while `GET /api/v1/archives/:id` reports its state and percent done; once
ready, `GET /api/v1/archives/:id/download` gives it to its owner alone, until it expires.

`POST /api/v1/imports/:type` takes a file as the multipart field `data` (Mastodon's import form):
`following`, `blocking`, `muting` take Mastodon's CSV exports (a real Follow is sent for each
account followed; the answer lists the rows that could not be imported and why), `archive` a
Likeness archive, whose cameos are made again here with their settings and reference images and
whose consent ledger is kept here (federation/store/consent_ledger.py). Imports merge: importing
the same file twice adds nothing the second time.
"""

from __future__ import annotations

import asyncio
import io
from pathlib import Path
from typing import Any

import asyncpg
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from federation import actors, fetch, outbox
from federation import store as fstore
from federation.objects import iso
from policy.consent import Approval, CameoRules, ConsentRuleError, Permission, check_rules

from .. import archive, store
from ..archive_import import (
    MAX_ARCHIVE_BYTES,
    MAX_CSV_BYTES,
    ArchiveContents,
    ArchiveError,
    CameoImport,
    read_archive,
    read_csv,
)
from ..http import current_user, error, fed, pool, read_form
from ..media import MediaError, clean_image, format_bytes, inspect_upload, spool_upload, stored_response
from ..media_store import new_key
from ..rate_limits import rate_limited
from ..safety import refuse_unsafe_images

IMPORT_TYPES = ("following", "blocking", "muting", "archive")
_MEDIA_TYPES = {"jpg": "image/jpeg", "png": "image/png", "webp": "image/webp"}


def archive_json(row: asyncpg.Record) -> dict[str, Any]:
    ready = row["state"] == "ready"
    return {"id": str(row["id"]), "state": row["state"], "progress": row["progress"],
            "size": row["byte_size"] if ready else None, "error": row["error"],
            "created_at": iso(row["created_at"]),
            "finished_at": iso(row["finished_at"]) if row["finished_at"] else None,
            "expires_at": iso(row["expires_at"]) if row["expires_at"] else None,
            "download_url": f"/api/v1/archives/{row['id']}/download" if ready else None}


async def request_archive(request: Request) -> Response:
    user = await current_user(request)
    async with pool(request).acquire() as conn, conn.transaction():
        archive_id = await store.insert_archive(conn, user["id"], archive.ARCHIVE_COOLDOWN.total_seconds())
    if archive_id is None:
        return error(429, "you can ask for an archive once every 7 days")
    await archive.queue_build(fed(request), archive_id)
    return JSONResponse(archive_json(await store.archive(pool(request), archive_id)), status_code=202)


async def list_archives(request: Request) -> Response:
    user = await current_user(request)
    return JSONResponse([archive_json(r) for r in await store.archives_of(pool(request), user["id"])])


async def _own_archive(request: Request) -> asyncpg.Record | None:
    user = await current_user(request)
    row = await store.archive(pool(request), request.path_params["archive_id"])
    return row if row is not None and row["user_id"] == user["id"] else None


async def get_archive(request: Request) -> Response:
    row = await _own_archive(request)
    if row is None:
        return error(404, "no such archive")
    return JSONResponse(archive_json(row))


async def download_archive(request: Request) -> Response:
    """The zip, to its owner alone (a bucket's address signed for a while, where media live in
    one); private, never kept by a cache."""
    row = await _own_archive(request)
    if row is None:
        return error(404, "no such archive")
    if row["state"] == "expired":
        return error(410, "this archive has expired: ask for a new one")
    if row["state"] != "ready":
        return error(409, f"this archive is {row['state']}, not ready yet")
    response = await stored_response(request, request.app.state.instance.media, row["storage_key"],
                                     "application/zip", private=True)
    stamp = row["created_at"].strftime("%Y%m%d%H%M%S")
    response.headers["content-disposition"] = f'attachment; filename="archive-{stamp}-{row["id"]}.zip"'
    return response


# --- imports ---------------------------------------------------------------------------------

async def _upload(request: Request, limit: int) -> Path:
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit + 64 * 1024:
        raise ArchiveError(f"the file is larger than {format_bytes(limit)}")
    form = await read_form(request, max_files=1, max_fields=5)
    upload = form.get("data")
    if upload is None or isinstance(upload, str):
        raise ArchiveError("send the file as the multipart field 'data'")
    tmp_dir = request.app.state.instance.settings.tmp_dir
    tmp = await asyncio.to_thread(spool_upload, upload.file, tmp_dir)
    if (await asyncio.to_thread(tmp.stat)).st_size > limit:
        await asyncio.to_thread(tmp.unlink, missing_ok=True)
        raise ArchiveError(f"the file is larger than {format_bytes(limit)}")
    return tmp


@rate_limited("media")
async def import_file(request: Request) -> Response:
    user = await current_user(request)
    kind = request.path_params["type"]
    if kind not in IMPORT_TYPES:
        return error(404, f"the import types are {', '.join(IMPORT_TYPES)}")
    me = await fstore.actor_by_id(pool(request), user["actor_id"])
    try:
        tmp = await _upload(request, MAX_ARCHIVE_BYTES if kind == "archive" else MAX_CSV_BYTES)
        try:
            if kind == "archive":
                contents = await asyncio.to_thread(read_archive, tmp)
                return JSONResponse(await _import_archive(request, me, contents))
            rows, bad = read_csv(kind, await asyncio.to_thread(tmp.read_bytes))
        finally:
            await asyncio.to_thread(tmp.unlink, missing_ok=True)
    except ArchiveError as exc:
        return error(422, str(exc))
    return JSONResponse(await _import_accounts(request, me, kind, rows, bad))


async def _import_accounts(request: Request, me: asyncpg.Record, kind: str, rows: list[Any],
                           bad: list[dict[str, Any]]) -> dict[str, Any]:
    """Follow, block or mute each account, as Mastodon's BulkImportService does; a row that fails
    joins the report and the others go on."""
    imported = already = 0
    for row in rows:
        try:
            target = await _account(request, row.username, row.domain)
            relation = await store.relationship(pool(request), me["id"], target["id"])
            if kind == "following":
                if relation["following"] or relation["requested"]:
                    already += 1
                    continue
                await outbox.follow(fed(request), me, target)
            elif kind == "blocking":
                if relation["blocking"]:
                    already += 1
                    continue
                await outbox.block(fed(request), me, target)
            else:
                if target["id"] == me["id"]:
                    raise outbox.ActionError("you cannot mute yourself")
                await store.mute(pool(request), me["id"], target["id"], row.hide_notifications)
            imported += 1
        except (actors.ActorError, fetch.FetchError, outbox.ActionError) as exc:
            bad.append({"line": row.line, "address": row.address, "error": str(exc)[:300]})
    bad.sort(key=lambda b: b["line"])
    return {"type": kind, "imported": imported, "already": already, "failed": bad}


async def _account(request: Request, username: str, domain: str) -> asyncpg.Record:
    if domain == fed(request).domain.lower():
        found = await fstore.local_actor(pool(request), username)
        if found is None or found["deleted_at"] is not None:
            raise actors.ActorError(f"no local account {username!r}")
        return found
    return await actors.resolve_handle(fed(request), f"{username}@{domain}")


async def _check_origin(request: Request, contents: ArchiveContents) -> None:
    """An archive of an account of this server is not imported here, and each key it lists must be
    the one this server knows by that id, if it knows one (a forged actor.json is refused)."""
    owner = contents.actor["id"]
    if fed(request).is_local(owner):
        raise ArchiveError("this archive is of an account on this server")
    for key in contents.keys.values():
        known = await fstore.public_key(pool(request), key.id)
        if known is not None and (known["owner_uri"], known["public_pem"]) != (key.controller, key.multibase):
            raise ArchiveError(f"the archive's key {key.id} is not the key this server knows for"
                               f" {key.controller}")


async def _cameo_images(request: Request, cameo: CameoImport) -> list[tuple[bytes, str, int, int]]:
    """The cameo's images checked by their bytes and re-encoded without metadata, as an upload."""
    tmp_dir = request.app.state.instance.settings.tmp_dir
    checked = []
    for data, what in cameo.images:
        tmp = await asyncio.to_thread(spool_upload, io.BytesIO(data), tmp_dir)
        try:
            info = await inspect_upload(tmp, max_bytes=len(data) + 1, images_only=True)
            checked.append((await clean_image(tmp, info.media_type), info.extension, info.width, info.height))
        except MediaError as exc:
            raise ArchiveError(f"cameo {what}: {exc}") from None
        finally:
            await asyncio.to_thread(tmp.unlink, missing_ok=True)
    return checked


async def _import_archive(request: Request, me: asyncpg.Record, contents: ArchiveContents) -> dict[str, Any]:
    await _check_origin(request, contents)
    new = [c for c in contents.cameos
           if await fstore.cameo_imported_from(pool(request), me["id"], c.old_uri) is None]
    for cameo in new:
        try:
            check_rules(CameoRules(Permission(cameo.permission), Approval(cameo.approval),
                                   owner_is_public_figure=me["public_figure"]))
        except ConsentRuleError as exc:
            raise ArchiveError(f"cameo {cameo.name!r}: {exc}") from None
    images = [await _cameo_images(request, c) for c in new]
    checked = [(f"cameo {c.name!r} image {n + 1}", image[0])
               for c, found in zip(new, images, strict=True) for n, image in enumerate(found)]
    if checked:
        await refuse_unsafe_images(request, checked)
    media = request.app.state.instance.media
    stored: list[str] = []
    unknown_approved: set[str] = set()
    try:
        keys = []
        for found in images:
            keys.append([])
            for data, extension, _, _ in found:
                key = new_key("cameos", extension)
                await media.put_bytes(key, data)
                stored.append(key)
                keys[-1].append(key)
        async with pool(request).acquire() as conn, conn.transaction():
            for cameo, found, cameo_keys in zip(new, images, keys, strict=True):
                unknown_approved |= await _insert_cameo(conn, me, cameo, found, cameo_keys)
            authorizations = await _insert_ledger(conn, me, contents)
    except asyncpg.UniqueViolationError:
        for key in stored:
            await media.delete(key)
        raise ArchiveError("this archive is being imported already: try again in a moment") from None
    except BaseException:
        for key in stored:
            await media.delete(key)
        raise
    return {"type": "archive", "account": contents.actor["id"],
            "cameos": {"imported": len(new), "already": len(contents.cameos) - len(new)},
            "authorizations": {"imported": authorizations,
                               "already": len(contents.authorizations) - authorizations},
            "requests": len(contents.records),
            "approved_accounts_unknown": sorted(unknown_approved)}


async def _insert_cameo(conn: asyncpg.Connection, me: asyncpg.Record, cameo: CameoImport,
                        images: list[tuple[bytes, str, int, int]], keys: list[str]) -> set[str]:
    """Make the cameo here, named for the old one; the approved accounts this server does not know
    (they are left off its list)."""
    cameo_id = await fstore.next_cameo_id(conn)
    preview = images[-1]
    await fstore.insert_cameo(conn, {
        "id": cameo_id, "uri": f"{me['uri']}/cameos/{cameo_id}", "actor_id": me["id"], "local": True,
        "name": cameo.name, "instructions": cameo.instructions, "permission": cameo.permission,
        "approval": cameo.approval, "paused": cameo.paused, "preview_key": keys[-1],
        "preview_media_type": _MEDIA_TYPES[preview[1]], "imported_from": cameo.old_uri})
    for position, ((_, extension, width, height), key) in enumerate(zip(images[:-1], keys[:-1], strict=True)):
        await fstore.insert_cameo_reference(conn, cameo_id, position, key, _MEDIA_TYPES[extension],
                                            width, height)
    approved = await fstore.actors_by_uris(conn, cameo.approved)
    await fstore.replace_cameo_approved(conn, cameo_id, [a["id"] for a in approved])
    return set(cameo.approved) - {a["uri"] for a in approved}


async def _insert_ledger(conn: asyncpg.Connection, me: asyncpg.Record, contents: ArchiveContents) -> int:
    """Keep the old server's ledger; how many authorizations were new here."""
    for direction, request_uri, entry in contents.records:
        await fstore.import_consent_record(conn, me["id"], direction, request_uri, entry)
    added = 0
    for auth in contents.authorizations:
        cameo = await fstore.cameo_imported_from(conn, me["id"], auth.cameo_uri)
        added += await fstore.import_authorization(conn, me["id"], {
            "uri": auth.uri, "owner_uri": auth.owner_uri, "cameo_uri": auth.cameo_uri,
            "cameo_id": cameo["id"] if cameo else None, "grantee_uri": auth.grantee_uri,
            "post_uri": auth.post_uri, "prompt_digest": auth.prompt_digest,
            "request_uri": auth.request_uri, "document": auth.document, "published": auth.published,
            "end_time": auth.end_time, "state": auth.state, "revocation": auth.revocation,
            "revoked_at": auth.revoked_at, "holders": auth.holders, "key_id": auth.key.id,
            "public_key_multibase": auth.key.multibase})
    return added


routes = [
    Route("/api/v1/archives", request_archive, methods=["POST"]),
    Route("/api/v1/archives", list_archives),
    Route("/api/v1/archives/{archive_id:id}", get_archive),
    Route("/api/v1/archives/{archive_id:id}/download", download_archive),
    Route("/api/v1/imports/{type}", import_file, methods=["POST"]),
]
