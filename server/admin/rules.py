"""Instance rules over HTTP, in Mastodon's shapes: `/api/v1/admin/domain_blocks` and
`/api/v1/admin/domain_allows` (admins only), CSV export and import of the blocks, the federation
mode, and the public `/api/v1/instance/domain_blocks`."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from federation import domain_rules
from federation import domain_rules_store as rules_store
from federation.domain_rules import block_of
from federation.objects import iso
from policy.blocklist_csv import BlocklistError, format_blocklist, parse_blocklist
from policy.instance_rules import (
    DomainBlock,
    RuleError,
    digest,
    normalize_domain,
    parse_severity,
    public_domain,
    user_facing,
)

from ..http import (
    bool_param,
    current_staff,
    error,
    fed,
    int_param,
    paged,
    pool,
    read_body,
    read_form,
    read_params,
)

MAX_CSV_BYTES = 5 * 1024 * 1024
CSV_TYPES = ("text/csv", "text/plain", "application/csv", "application/octet-stream")
MODES = ("open", "allowlist")
# How a block and an allow are found by id, and removed.
FIND_RULE = {"block": rules_store.block_by_id, "allow": rules_store.allow_by_id}
REMOVE_RULE = {"block": domain_rules.remove_block, "allow": domain_rules.remove_allow}


def block_json(row: asyncpg.Record) -> dict[str, Any]:
    """Mastodon's Admin::DomainBlock, plus Likeness's `reject_remix_requests`."""
    return {"id": str(row["id"]), "domain": row["domain"], "digest": digest(row["domain"]),
            "created_at": iso(row["created_at"]), "severity": row["severity"],
            "reject_media": row["reject_media"], "reject_reports": row["reject_reports"],
            "reject_remix_requests": row["reject_remix_requests"],
            "private_comment": row["private_comment"], "public_comment": row["public_comment"],
            "obfuscate": row["obfuscate"]}


def allow_json(row: asyncpg.Record) -> dict[str, Any]:
    return {"id": str(row["id"]), "domain": row["domain"], "created_at": iso(row["created_at"])}


def _page(request: Request) -> dict[str, int | None]:
    params = dict(request.query_params)
    return {"limit": int_param(params, "limit", default=100, low=1, high=200),
            "max_id": int_param(params, "max_id", low=0),
            "min_id": int_param(params, "since_id", low=0) or int_param(params, "min_id", low=0)}


def _comment(params: dict[str, Any], name: str, current: str | None) -> str | None:
    if name not in params:
        return current
    value = params[name]
    if value is None:
        return None
    if not isinstance(value, str):
        raise HTTPException(422, f"{name} must be text")
    return value.strip() or None


def _block(params: dict[str, Any], domain: str, base: DomainBlock | None = None) -> DomainBlock:
    """A block from request parameters; with `base`, what they leave out stays as it was."""
    base = base or DomainBlock(domain)
    try:
        severity = parse_severity(params.get("severity"), default=base.severity)
    except RuleError as exc:
        raise HTTPException(422, str(exc)) from None
    return DomainBlock(
        domain=domain, severity=severity,
        reject_media=bool_param(params, "reject_media", base.reject_media),
        reject_reports=bool_param(params, "reject_reports", base.reject_reports),
        reject_remix_requests=bool_param(params, "reject_remix_requests", base.reject_remix_requests),
        public_comment=_comment(params, "public_comment", base.public_comment),
        private_comment=_comment(params, "private_comment", base.private_comment),
        obfuscate=bool_param(params, "obfuscate", base.obfuscate))


async def _domain_params(request: Request) -> tuple[dict[str, Any], str]:
    """The parameters of a new block or allow, and the domain they name (422 if none)."""
    params = await read_params(request)
    try:
        return params, normalize_domain(params.get("domain"))
    except RuleError as exc:
        raise HTTPException(422, str(exc)) from None


async def _save(request: Request, block: DomainBlock) -> asyncpg.Record:
    try:
        row, _ = await domain_rules.save_block(fed(request).rules, block)
    except RuleError as exc:
        raise HTTPException(422, str(exc)) from None
    return row


async def _rule_or_404(request: Request, kind: str) -> asyncpg.Record:
    """The block or allow (`kind`) that the path names by `{kind}_id`."""
    row = await FIND_RULE[kind](pool(request), request.path_params[f"{kind}_id"])
    if row is None:
        raise HTTPException(404, f"no such domain {kind}")
    return row


async def _delete(request: Request, kind: str) -> Response:
    """Lift a block, or take a domain off the allow list."""
    await current_staff(request, admin_only=True)
    row = await _rule_or_404(request, kind)
    await REMOVE_RULE[kind](fed(request).rules, row["id"])
    return JSONResponse({})


async def _list(request: Request, rows_of: Callable[..., Awaitable[list[asyncpg.Record]]],
                as_json: Callable[[asyncpg.Record], dict[str, Any]]) -> Response:
    """A page of blocks or allows, in Mastodon's paging."""
    await current_staff(request, admin_only=True)
    rows = await rows_of(pool(request), **_page(request))
    return paged(request, [as_json(r) for r in rows])


# --- domain blocks --------------------------------------------------------------------------

async def list_blocks(request: Request) -> Response:
    return await _list(request, rules_store.blocks, block_json)


async def create_block(request: Request) -> Response:
    await current_staff(request, admin_only=True)
    params, domain = await _domain_params(request)
    block = _block(params, domain)
    existing = await domain_rules.conflicting_block(pool(request), block)
    if existing is not None:
        # Mastodon's answer: the block in the way, which the client may edit instead.
        return JSONResponse({"error": f"{existing['domain']} is already blocked at least as"
                                      f" strictly; edit that block (id {existing['id']}) instead",
                             "existing_domain_block": block_json(existing)}, status_code=422)
    return JSONResponse(block_json(await _save(request, block)))


async def get_block(request: Request) -> Response:
    await current_staff(request, admin_only=True)
    return JSONResponse(block_json(await _rule_or_404(request, "block")))


async def update_block(request: Request) -> Response:
    await current_staff(request, admin_only=True)
    row = await _rule_or_404(request, "block")
    params = await read_params(request)
    if params.get("domain") not in (None, "", row["domain"]):
        return error(422, "a block's domain cannot change: remove it and block the other domain")
    return JSONResponse(block_json(await _save(request, _block(params, row["domain"], block_of(row)))))


async def delete_block(request: Request) -> Response:
    return await _delete(request, "block")


async def export_blocks(request: Request) -> Response:
    await current_staff(request, admin_only=True)
    rows = await rules_store.blocks(pool(request))
    return Response(format_blocklist(block_of(r) for r in rows), media_type="text/csv",
                    headers={"Content-Disposition": 'attachment; filename="domain_blocks.csv"'})


async def import_blocks(request: Request) -> Response:
    """A CSV as the body (text/csv) or as the multipart file `data` (Mastodon's form) or
    `file`. Every row is checked first: one bad row and nothing is written."""
    await current_staff(request, admin_only=True)
    raw = await _csv_body(request)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return error(400, "the file is not UTF-8 text")
    try:
        blocks = parse_blocklist(text)
        created, updated = await domain_rules.import_blocks(fed(request).rules, blocks)
    except BlocklistError as exc:
        return JSONResponse({"error": f"nothing was imported: {exc}", "errors": exc.errors},
                            status_code=422)
    except RuleError as exc:
        return error(422, f"nothing was imported: {exc}")
    return JSONResponse({"created": created, "updated": updated, "total": len(blocks)})


async def _csv_body(request: Request) -> bytes:
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type == "multipart/form-data":
        form = await read_form(request, max_files=1, max_fields=5, max_part_size=MAX_CSV_BYTES)
        upload = form.get("data") or form.get("file")
        if not isinstance(upload, UploadFile):
            raise HTTPException(422, "send the CSV as the multipart file 'data'")
        raw = await upload.read(MAX_CSV_BYTES + 1)
        if len(raw) > MAX_CSV_BYTES:
            raise HTTPException(413, f"the file is larger than {MAX_CSV_BYTES} bytes")
        return raw
    if content_type not in CSV_TYPES:
        raise HTTPException(415, "send the CSV as a text/csv body or as the multipart file 'data'")
    return await read_body(request, MAX_CSV_BYTES)


# --- domain allows ---------------------------------------------------------------------------

async def list_allows(request: Request) -> Response:
    return await _list(request, rules_store.allows, allow_json)


async def create_allow(request: Request) -> Response:
    await current_staff(request, admin_only=True)
    _, domain = await _domain_params(request)
    row, _ = await domain_rules.add_allow(fed(request).rules, domain)
    return JSONResponse(allow_json(row))


async def get_allow(request: Request) -> Response:
    await current_staff(request, admin_only=True)
    return JSONResponse(allow_json(await _rule_or_404(request, "allow")))


async def delete_allow(request: Request) -> Response:
    return await _delete(request, "allow")


# --- federation mode -------------------------------------------------------------------------

async def _mode_json(request: Request) -> dict[str, Any]:
    allowlist = await rules_store.allowlist_mode(pool(request))
    return {"mode": "allowlist" if allowlist else "open"}


async def get_mode(request: Request) -> Response:
    await current_staff(request, admin_only=True)
    return JSONResponse(await _mode_json(request))


async def set_mode(request: Request) -> Response:
    """`open`, or `allowlist` (Mastodon's limited federation mode): only allowed domains
    federate, and follows with every other one are severed."""
    await current_staff(request, admin_only=True)
    mode = (await read_params(request)).get("mode")
    if mode not in MODES:
        return error(422, "mode must be open or allowlist")
    await domain_rules.set_allowlist_mode(fed(request).rules, mode == "allowlist")
    return JSONResponse(await _mode_json(request))


# --- public ----------------------------------------------------------------------------------

async def public_blocks(request: Request) -> Response:
    """Mastodon's public list of moderated servers: obfuscated where the admins asked, with the
    SHA-256 digest of the real domain, and the public comment."""
    rows = await rules_store.blocks(pool(request))
    shown = [block_of(r) for r in rows]
    return JSONResponse([{"domain": public_domain(b), "digest": digest(b.domain),
                          "severity": b.severity.value, "comment": b.public_comment or ""}
                         for b in sorted(shown, key=lambda b: b.domain) if user_facing(b)])


routes = [
    Route("/api/v1/admin/domain_blocks", list_blocks),
    Route("/api/v1/admin/domain_blocks", create_block, methods=["POST"]),
    Route("/api/v1/admin/domain_blocks/export", export_blocks),
    Route("/api/v1/admin/domain_blocks/import", import_blocks, methods=["POST"]),
    Route("/api/v1/admin/domain_blocks/{block_id:id}", get_block),
    Route("/api/v1/admin/domain_blocks/{block_id:id}", update_block, methods=["PUT"]),
    Route("/api/v1/admin/domain_blocks/{block_id:id}", delete_block, methods=["DELETE"]),
    Route("/api/v1/admin/domain_allows", list_allows),
    Route("/api/v1/admin/domain_allows", create_allow, methods=["POST"]),
    Route("/api/v1/admin/domain_allows/{allow_id:id}", get_allow),
    Route("/api/v1/admin/domain_allows/{allow_id:id}", delete_allow, methods=["DELETE"]),
    Route("/api/v1/admin/federation_mode", get_mode),
    Route("/api/v1/admin/federation_mode", set_mode, methods=["PUT"]),
    Route("/api/v1/instance/domain_blocks", public_blocks),
]
