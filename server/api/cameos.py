"""Cameos over HTTP: the owner's API (create, edit, pause, delete) and the public Cameo object.

Reference images are validated by their bytes, re-encoded without metadata and never served
under /media/; the preview image is the only public picture of a cameo. A cameo only its owner
may use is not public at all: to anyone else it does not exist (`hidden_from`).
"""

from __future__ import annotations

from html import escape
from typing import Any
from urllib.parse import quote, urlsplit

import asyncpg
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from federation import backfill, inbox, remix, streams
from federation import store as fstore
from federation.cameos import (
    MAX_IMAGE_BYTES,
    MAX_REFERENCES,
    cameo_document,
    hidden_from,
    only_me,
    rules_of,
)
from federation.objects import iso
from federation.vocab import AS_CONTEXT, OBJECT_CONTEXT
from generation import jobs
from generation import store as gstore
from policy.consent import (
    Approval,
    CameoRules,
    ConsentRuleError,
    Decision,
    Permission,
    Requester,
    check_rules,
    decide_remix,
    default_rules,
)

from .. import store
from ..http import (
    ActivityResponse,
    current_user,
    error,
    fed,
    parse_id,
    parsed_url,
    pool,
    read_form,
    read_params,
    safe_http_url,
    wants_activity_json,
)
from ..media import MediaError, checked_image, format_bytes, stored_response
from ..media_store import new_key
from ..rate_limits import rate_limited
from ..runtime import Instance
from ..safety import refuse_unsafe_images
from ..web.pages import page
from . import entities

MAX_NAME = 100
MAX_INSTRUCTIONS = 1000


def _preview_url(request: Request, cameo: asyncpg.Record) -> str:
    """The preview's address as its owner's views give it: signed and expiring when the cameo
    is only theirs, since its preview is then not public (app.serve_media)."""
    base_url = fed(request).base_url
    if only_me(cameo):
        return request.app.state.instance.links.url(base_url, cameo["preview_key"])
    return fed(request).media_address(cameo["preview_key"])


async def _cameo_json(request: Request, cameo: asyncpg.Record) -> dict[str, Any]:
    approved = await fstore.cameo_approved(pool(request), cameo["id"])
    references = await fstore.cameo_references(pool(request), cameo["id"])
    return {
        "id": str(cameo["id"]),
        "uri": cameo["uri"],
        "name": cameo["name"],
        "instructions": cameo["instructions"],
        "permission": cameo["permission"],
        "approval": cameo["approval"],
        "paused": cameo["paused"],
        "preview_url": _preview_url(request, cameo),
        "references": len(references),
        "approved_accounts": [entities.account(fed(request), a) for a in approved],
        "created_at": iso(cameo["created_at"]),
        "updated_at": iso(cameo["updated_at"]),
    }


def _text(params: dict[str, Any], name: str, limit: int, *, required: bool) -> str | None:
    value = params.get(name)
    if value is None:
        if required:
            raise HTTPException(422, f"{name} is required")
        return None
    if not isinstance(value, str):
        raise HTTPException(422, f"{name} must be text")
    value = value.strip()
    if required and not value:
        raise HTTPException(422, f"{name} must not be empty")
    if len(value) > limit or any(ord(c) < 32 and c not in "\n\t" for c in value):
        raise HTTPException(422, f"{name} must be at most {limit} printable characters")
    return value


def _choice(params: dict[str, Any], name: str, kind: type[Permission] | type[Approval]) -> Any:
    value = params.get(name)
    if value is None:
        return None
    try:
        return kind(value)
    except ValueError:
        raise HTTPException(422, f"{name} must be one of {', '.join(k.value for k in kind)}") from None


async def _image(request: Request, upload: Any, what: str) -> tuple[bytes, str, int, int]:
    """A checked image from a multipart part, re-encoded without metadata."""
    tmp_dir = request.app.state.instance.settings.tmp_dir
    try:
        return await checked_image(upload, what, tmp_dir, max_bytes=MAX_IMAGE_BYTES)
    except MediaError as exc:
        raise HTTPException(422, str(exc)) from None


@rate_limited("media")  # reference images are uploads
async def create_cameo(request: Request) -> Response:
    user = await current_user(request)
    declared = request.headers.get("content-length")
    limit = (MAX_REFERENCES + 1) * MAX_IMAGE_BYTES + 64 * 1024
    if declared and declared.isdigit() and int(declared) > limit:
        return error(413, f"send at most {MAX_REFERENCES + 1} images of {format_bytes(MAX_IMAGE_BYTES)}")
    # One spare file, so that six references get our message rather than the parser's.
    form = await read_form(request, max_files=MAX_REFERENCES + 2, max_fields=20)
    params = {k: form.get(k) for k in ("name", "instructions", "permission", "approval")}
    name = _text(params, "name", MAX_NAME, required=True)
    instructions = _text(params, "instructions", MAX_INSTRUCTIONS, required=False) or ""
    owner = await fstore.actor_by_id(pool(request), user["actor_id"])
    rules = default_rules(public_figure=owner["public_figure"])
    permission = _choice(params, "permission", Permission) or rules.permission
    approval = _choice(params, "approval", Approval) or rules.approval
    try:
        check_rules(CameoRules(permission, approval, owner_is_public_figure=owner["public_figure"]))
    except ConsentRuleError as exc:
        return error(422, str(exc))
    uploads = form.getlist("references") + form.getlist("references[]")
    if not 1 <= len(uploads) <= MAX_REFERENCES:
        return error(422, f"send 1 to {MAX_REFERENCES} reference images as 'references'")
    if form.get("preview") is None:
        return error(422, "send a public preview image as 'preview'")
    references = [await _image(request, u, f"reference {n + 1}") for n, u in enumerate(uploads)]
    preview = await _image(request, form.get("preview"), "preview")
    # References become generation inputs and the preview is public: all are checked, together.
    await refuse_unsafe_images(request, [(f"reference {n + 1}", r[0]) for n, r in enumerate(references)]
                               + [("preview", preview[0])])
    media = request.app.state.instance.media
    stored: list[str] = []
    try:
        keys = []
        for data, extension, _, _ in [*references, preview]:
            key = new_key("cameos", extension)
            await media.put_bytes(key, data)
            stored.append(key)
            keys.append(key)
        async with pool(request).acquire() as conn, conn.transaction():
            cameo_id = await fstore.next_cameo_id(conn)
            await fstore.insert_cameo(conn, {
                "id": cameo_id, "uri": f"{owner['uri']}/cameos/{cameo_id}", "actor_id": owner["id"],
                "local": True, "name": name, "instructions": instructions,
                "permission": permission.value, "approval": approval.value,
                "preview_key": keys[-1], "preview_media_type": _media_type(preview[1]),
            })
            pairs = zip(references, keys[:-1], strict=True)
            for position, ((_, extension, width, height), key) in enumerate(pairs):
                await fstore.insert_cameo_reference(conn, cameo_id, position, key,
                                                    _media_type(extension), width, height)
    except BaseException:
        for key in stored:
            await media.delete(key)
        raise
    cameo = await fstore.cameo_by_id(pool(request), cameo_id)
    return JSONResponse(await _cameo_json(request, cameo), status_code=201)


def _media_type(extension: str) -> str:
    return {"jpg": "image/jpeg", "png": "image/png", "webp": "image/webp"}[extension]


async def _own_cameo(request: Request) -> tuple[asyncpg.Record, asyncpg.Record]:
    user = await current_user(request)
    cameo_id = parse_id(request.path_params["cameo_id"])
    cameo = await fstore.cameo_by_id(pool(request), cameo_id) if cameo_id is not None else None
    if cameo is None or cameo["actor_id"] != user["actor_id"] or cameo["deleted_at"] is not None:
        raise HTTPException(404, "no such cameo")
    return user, cameo


async def list_cameos(request: Request) -> Response:
    user = await current_user(request)
    cameos = await fstore.cameos_of(pool(request), user["actor_id"])
    return JSONResponse([await _cameo_json(request, c) for c in cameos])


async def get_cameo(request: Request) -> Response:
    _, cameo = await _own_cameo(request)
    return JSONResponse(await _cameo_json(request, cameo))


async def update_cameo(request: Request) -> Response:
    user, cameo = await _own_cameo(request)
    params = await read_params(request)
    owner = await fstore.actor_by_id(pool(request), user["actor_id"])
    changes: dict[str, Any] = {}
    for name, limit, column in (("name", MAX_NAME, "name"),
                                ("instructions", MAX_INSTRUCTIONS, "instructions")):
        value = _text(params, name, limit, required=name == "name" and name in params)
        if value is not None:
            changes[column] = value
    permission = _choice(params, "permission", Permission) or Permission(cameo["permission"])
    approval = _choice(params, "approval", Approval) or Approval(cameo["approval"])
    changes.update(permission=permission.value, approval=approval.value)
    if "paused" in params:
        if not isinstance(params["paused"], bool) and params["paused"] not in ("true", "false"):
            return error(422, "paused must be true or false")
        changes["paused"] = params["paused"] in (True, "true")
    approved_ids = params.get("approved_account_ids")
    approved_rows = None  # None leaves the list as it is
    if approved_ids is not None:
        if not isinstance(approved_ids, list) or len(approved_ids) > 500 \
                or None in (approved_ids := [parse_id(a) for a in approved_ids]):
            return error(422, "approved_account_ids must be a list of account ids")
        approved_rows = [await fstore.actor_by_id(pool(request), a) for a in approved_ids]
        if any(r is None for r in approved_rows):
            return error(422, "an approved account id is unknown")
    elif permission is not Permission.APPROVED:
        approved_rows = []  # the list only means something at the "people I approve" level
    approved_uris = [a["uri"] for a in approved_rows] if approved_rows is not None else [
        a["uri"] for a in await fstore.cameo_approved(pool(request), cameo["id"])]
    try:
        check_rules(rules_of({**dict(cameo), **changes}, approved_uris,
                             public_figure=owner["public_figure"]))
    except ConsentRuleError as exc:
        return error(422, str(exc))
    async with pool(request).acquire() as conn, conn.transaction():
        await fstore.update_cameo(conn, cameo["id"], changes)
        if approved_rows is not None:
            await fstore.replace_cameo_approved(conn, cameo["id"], [a["id"] for a in approved_rows])
    if permission is Permission.ONLY_ME and not only_me(cameo):
        # Nobody else may use it now, and to other servers it no longer exists (their checks
        # of a post fetch the cameo and would fail): every consent given with it is withdrawn
        # as when it is deleted, each holder told by the same signed Delete as a revoke.
        await remix.withdraw_cameo(fed(request), cameo["id"], "the cameo is now its owner's alone")
    cameo = await fstore.cameo_by_id(pool(request), cameo["id"])
    return JSONResponse(await _cameo_json(request, cameo))


async def forget_deleted_cameo(instance: Instance, cameo: asyncpg.Record, keys: list[str]) -> None:
    """What follows the transaction that marked a cameo deleted (fstore.delete_cameo gave `keys`):
    the files of the face go, so do its owner's unpublished drafts that show it, and every
    consent given with it is withdrawn everywhere (others' drafts go with their remix's
    consent). Its owner's deletion, a moderator's and an account's deletion all end so."""
    assert instance.fed is not None and instance.media is not None and instance.jobs is not None
    for key in keys:
        await instance.media.delete(key)
    drafts = await gstore.drafts_with_cameo(instance.fed.pool, cameo["actor_id"], cameo["uri"])
    await jobs.withdraw_drafts(instance.jobs, instance.media, drafts, jobs.CAMEO_DELETED)
    await remix.withdraw_cameo(instance.fed, cameo["id"], "the cameo was deleted")


async def delete_cameo(request: Request) -> Response:
    _, cameo = await _own_cameo(request)
    async with pool(request).acquire() as conn, conn.transaction():
        keys = await fstore.delete_cameo(conn, cameo["id"])
    await forget_deleted_cameo(request.app.state.instance, cameo, keys)
    return JSONResponse({})


# --- other people's cameos, as the remix composer shows them ----------------------------------

def _public_json(request: Request, owner: asyncpg.Record, *, uri: str, name: str, instructions: str,
                 preview_url: str | None, cameo: asyncpg.Record | None = None) -> dict[str, Any]:
    """What anyone may know of a cameo; the rules only for ours (another server's are a hint)."""
    return {"id": str(cameo["id"]) if cameo else None, "uri": uri, "name": name,
            "instructions": instructions, "preview_url": preview_url,
            "permission": cameo["permission"] if cameo else None,
            "approval": cameo["approval"] if cameo else None,
            "paused": cameo["paused"] if cameo else None,
            "account": entities.account(fed(request), owner)}


def _local_public_json(request: Request, owner: asyncpg.Record, cameo: asyncpg.Record) -> dict[str, Any]:
    return _public_json(request, owner, uri=cameo["uri"], name=cameo["name"],
                        instructions=cameo["instructions"], cameo=cameo,
                        preview_url=_preview_url(request, cameo))



async def account_cameos(request: Request) -> Response:
    """`GET /api/v1/accounts/:id/cameos`: the cameos of an account that the viewer may ask to use
    (all of them for their owner). Another server's are those it listed to this one
    (`cameoCollection`), fetched in the background when its account is first looked at."""
    user = await current_user(request, required=False)
    account_id = parse_id(request.path_params["account_id"])
    owner = await fstore.actor_by_id(pool(request), account_id) if account_id is not None else None
    if owner is None:
        return error(404, "no such account")
    viewer = user["actor_id"] if user is not None else None
    cameos = await fstore.cameos_of(pool(request), owner["id"])
    if not owner["local"]:
        await backfill.request(fed(request), owner)
        if owner["suspended"] or (await fed(request).rules.policy(owner["uri"])).suspended:
            # Suspended here, or its server is: nobody may ask for its cameos from here.
            return JSONResponse([])
        requester = await _requester(request, owner, viewer)
        return JSONResponse([_remote_public_json(request, owner, c) for c in cameos
                             if await _may_ask(request, c, requester)])
    return JSONResponse([_local_public_json(request, owner, c) for c in cameos
                         if not hidden_from(c, viewer)])


def _remote_public_json(request: Request, owner: asyncpg.Record, cameo: asyncpg.Record) -> dict[str, Any]:
    """Another server's cameo as its collection listed it; its rules stay that server's to apply."""
    return {**_public_json(request, owner, uri=cameo["uri"], name=cameo["name"],
                           instructions=cameo["instructions"], preview_url=cameo["preview_url"]),
            "id": str(cameo["id"])}


async def _requester(request: Request, owner: asyncpg.Record, viewer_id: int | None) -> Requester:
    """The viewer as someone asking `owner` for a cameo (anyone, when not signed in)."""
    if viewer_id is None:
        return Requester(actor="")
    viewer = await fstore.actor_by_id(pool(request), viewer_id)
    relation = await store.relationship(pool(request), viewer_id, owner["id"])
    return Requester(actor=viewer["uri"], follows_owner=relation["following"],
                     followed_by_owner=relation["followed_by"],
                     blocked=relation["blocking"] or relation["blocked_by"])


async def _may_ask(request: Request, cameo: asyncpg.Record, requester: Requester) -> bool:
    """Whether the rules another server advertises for its cameo let `requester` ask for it."""
    approved = [a["uri"] for a in await fstore.cameo_approved(pool(request), cameo["id"])]
    rules = rules_of(cameo, approved, public_figure=False)
    return decide_remix(rules, requester).decision is not Decision.REFUSE


async def lookup_cameo(request: Request) -> Response:
    """`GET /api/v1/cameos/lookup?uri=`: a cameo by its URL, here or fetched from its server."""
    user = await current_user(request)
    uri = request.query_params.get("uri", "").strip()
    if not uri.startswith(("https://", "http://")) or len(uri) > 2000 or parsed_url(uri) is None:
        return error(422, "uri must be the cameo's URL")
    if fed(request).is_local(uri):
        cameo = await fstore.cameo_by_uri(pool(request), uri)
        if cameo is None or not cameo["local"] or cameo["deleted_at"] is not None \
                or hidden_from(cameo, user["actor_id"]):
            return error(404, "no such cameo")
        owner = await fstore.actor_by_id(pool(request), cameo["actor_id"])
        return JSONResponse(_local_public_json(request, owner, cameo))
    try:
        doc, owner = await remix.fetch_cameo(fed(request), uri)
    except remix.RemixError as exc:
        return error(404, str(exc))
    name, summary = doc.get("name"), doc.get("summary")
    icon = doc.get("icon")
    preview = icon.get("url") if isinstance(icon, dict) else None
    return JSONResponse(_public_json(
        request, owner, uri=uri, name=name[:MAX_NAME] if isinstance(name, str) else "",
        instructions=summary[:MAX_INSTRUCTIONS] if isinstance(summary, str) else "",
        preview_url=safe_http_url(preview)))


async def _owner_stub(request: Request, cameo: asyncpg.Record, owner: asyncpg.Record
                      ) -> dict[str, Any] | None:
    """What another server may know of a cameo only its owner may use: nothing, unless a live post
    of the owner stars it and the fetch is signed. A server that receives such a post fetches
    the cameo to learn whose it is, and the post already told it the cameo's id: it gets that
    owner, and none of the name, instructions or preview."""
    if not await fstore.cameo_in_own_post(pool(request), cameo["uri"], owner["id"]):
        return None
    if await inbox.signed_fetcher(fed(request), "GET", str(request.url), request.headers) is None:
        return None
    return {"@context": OBJECT_CONTEXT, "id": cameo["uri"], "type": "Cameo", "attributedTo": owner["uri"]}


def _cameo_page(request: Request, cameo: asyncpg.Record, owner: asyncpg.Record) -> Response:
    """The cameo for a person who opens its link in a browser: whose it is, its name and
    instructions, its preview, and the way into the app to ask to use it."""
    handle = f"@{owner['username']}"
    ask = f"/app/compose?cameo={quote(cameo['uri'], safe='')}"
    instructions = cameo["instructions"]
    body = (f'<article class="post"><h1>{escape(cameo["name"])}</h1>'
            f'<p>A cameo of <a href="/@{escape(owner["username"])}">'
            f'{escape(owner["display_name"] or owner["username"])}</a> ({escape(handle)}), a likeness'
            " others may ask to use in AI-generated videos.</p>"
            f'<img src="{escape(_preview_url(request, cameo))}" alt="{escape(cameo["name"])}" width="50%">'
            + (f"<h2>Instructions</h2><p>{escape(instructions)}</p>" if instructions else "")
            + f'<p><a href="{escape(ask)}">Ask to use it in a remix</a></p></article>')
    head = f'<link rel="alternate" type="application/activity+json" href="{escape(cameo["uri"])}">'
    response = page(f"{cameo['name']} · {handle}", body, head, app_path=f"/app/@{owner['username']}")
    response.headers["Vary"] = "Accept"
    return response


async def cameo_object(request: Request) -> Response:
    """The public Cameo, or a Tombstone once deleted; HTML to a browser (Accept: text/html and
    anything else that is not ActivityPub's). One only its owner may use is theirs alone (to the
    owner's token), but for `_owner_stub`: to anyone else it is not found, in either form."""
    activity = wants_activity_json(request)

    def missing(status: int = 404) -> Response:
        if activity:
            return error(status, "no such cameo" if status == 404 else "this cameo was deleted")
        return page("Not found", "<h1>This cameo is not here</h1>" if status == 404 else
                    "<h1>This cameo was deleted</h1>", status=status)

    owner = await fstore.local_actor(pool(request), request.path_params["username"])
    cameo_id = parse_id(request.path_params["cameo_id"])
    cameo = await fstore.cameo_by_id(pool(request), cameo_id) if owner and cameo_id is not None else None
    if cameo is None or cameo["actor_id"] != owner["id"]:
        return missing()
    if only_me(cameo):
        user = await current_user(request, required=False)
        if hidden_from(cameo, user["actor_id"] if user is not None else None):
            stub = await _owner_stub(request, cameo, owner) \
                if activity and cameo["deleted_at"] is None else None
            return ActivityResponse(stub) if stub else missing()
    if cameo["deleted_at"] is not None:
        if not activity:
            return missing(410)
        return ActivityResponse({"@context": AS_CONTEXT, "id": cameo["uri"], "type": "Tombstone",
                                 "formerType": "Cameo"}, status_code=410)
    if not activity:
        return _cameo_page(request, cameo, owner)
    approved = [a["uri"] for a in await fstore.cameo_approved(pool(request), cameo["id"])]
    references = await fstore.cameo_references(pool(request), cameo["id"])
    return ActivityResponse(cameo_document(fed(request), cameo, owner, approved, len(references)),
                            headers={"Vary": "Accept"})


async def cameo_collection(request: Request) -> Response:
    """An actor's `cameoCollection` (PROTOCOL.md): the Cameos of its that the fetching server's
    people may ask for. Those open to everyone to anyone; those open to followers, mutuals or
    approved people only to a signed fetch from a server where it has such people. Paused ones
    and those only their owner may use are not listed."""
    owner = await fstore.local_actor(pool(request), request.path_params["username"])
    if owner is None or owner["type"] != "Person":
        return error(404, "no such account")
    listed: list[asyncpg.Record] = []
    if not owner["suspended"]:
        signer = await inbox.signed_fetcher(fed(request), "GET", str(request.url), request.headers)
        audience = None if signer is None else await fstore.audience_on_domain(
            pool(request), owner["id"], urlsplit(signer).netloc.lower())
        listed = [c for c in await fstore.cameos_of(pool(request), owner["id"]) if _listed_to(c, audience)]
    items = []
    for cameo in listed[:backfill.MAX_ITEMS]:
        approved = [a["uri"] for a in await fstore.cameo_approved(pool(request), cameo["id"])]
        references = await fstore.cameo_references(pool(request), cameo["id"])
        document = cameo_document(fed(request), cameo, owner, approved, len(references))
        del document["@context"]
        items.append(document)
    return ActivityResponse({"@context": OBJECT_CONTEXT, "id": f"{owner['uri']}/cameos",
                             "type": "OrderedCollection", "totalItems": len(listed), "orderedItems": items},
                            # What it lists depends on who signed the fetch.
                            headers={"Cache-Control": "private", "Vary": "Signature"})


def _listed_to(cameo: asyncpg.Record, audience: asyncpg.Record | None) -> bool:
    """Whether a cameo is listed to a fetching server with `audience` there (None: unsigned)."""
    if cameo["paused"] or only_me(cameo):
        return False
    level = Permission(cameo["permission"])
    if level is Permission.EVERYONE:
        return True
    if audience is None:
        return False
    if level is Permission.APPROVED:
        return cameo["id"] in audience["approved"]
    return audience["mutuals"] if level is Permission.MUTUALS else audience["followers"]


async def cameo_reference(request: Request) -> Response:
    """A reference image, only to a signed fetch by an actor holding a live authorization."""
    owner = await fstore.local_actor(pool(request), request.path_params["username"])
    cameo_id = parse_id(request.path_params["cameo_id"])
    cameo = await fstore.cameo_by_id(pool(request), cameo_id) if owner and cameo_id is not None else None
    if cameo is None or cameo["actor_id"] != owner["id"] or cameo["deleted_at"] is not None:
        return error(404, "no such cameo")
    signer = await inbox.signed_fetcher(fed(request), "GET", str(request.url), request.headers)
    if signer is None or not await fstore.holds_live_authorization(pool(request), cameo["id"], signer):
        return error(403, "reference images are only for a signed fetch by a live authorization")
    position = request.path_params["position"]
    references = await fstore.cameo_references(pool(request), cameo["id"])
    if not position < len(references):
        return error(404, "no such reference image")
    reference = references[position]
    if position == 0:
        # The grantee's instance fetches the references when it renders: this is the moment the
        # likeness is used, drafts included, so the owner hears of it here.
        requester = await fstore.actor_by_uri(pool(request), signer)
        notification_id = await fstore.insert_notification(pool(request), owner["user_id"], "cameo_used",
                                                           requester["id"])
        await streams.notification(fed(request), owner["user_id"], notification_id)
    # Never kept by a cache (private): a revoke must stop the next fetch. Relayed: the fetching
    # server follows no redirect, and this is the moment its authorization is checked.
    return await stored_response(request, request.app.state.instance.media, reference["storage_key"],
                                 reference["media_type"], private=True, relay=True)


routes = [
    Route("/api/v1/cameos", create_cameo, methods=["POST"]),
    Route("/api/v1/cameos", list_cameos),
    Route("/api/v1/cameos/lookup", lookup_cameo),
    Route("/api/v1/cameos/{cameo_id}", get_cameo),
    Route("/api/v1/cameos/{cameo_id}", update_cameo, methods=["PATCH"]),
    Route("/api/v1/cameos/{cameo_id}", delete_cameo, methods=["DELETE"]),
    Route("/api/v1/accounts/{account_id}/cameos", account_cameos),
    Route("/users/{username}/cameos", cameo_collection),
    Route("/users/{username}/cameos/{cameo_id}", cameo_object),
    Route("/users/{username}/cameos/{cameo_id}/references/{position:int}", cameo_reference),
]
