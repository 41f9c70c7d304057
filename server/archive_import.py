"""Reading what a person brings from another server: a Likeness archive (server/archive.py's zip)
and Mastodon's CSV exports. Everything is read and checked here before anything is written, so
a malformed or hostile file is refused whole, with a clear error, and leaves nothing behind.

An archive is untrusted input: its member names are checked (no absolute paths, no `..`, no
links, no duplicates), its sizes bounded (each member, the whole, the compression ratio: no zip
bombs; reads are bounded too, whatever the headers claim), its JSON typed field by field, and
every authorization of its consent ledger must verify against the key its actor.json lists (or,
taken over from an account it moved from, a key of an account its `alsoKnownAs` names).
"""

from __future__ import annotations

import csv
import io
import json
import re
import stat
import zipfile
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from federation import consent, fetch, keys, proofs
from federation.cameos import MAX_IMAGE_BYTES, MAX_REFERENCES
from federation.objects import parse_time
from federation.vocab import is_type
from policy.consent import Approval, Permission

from .archive import CONSENT_LEDGER_TYPE, CONSENT_LEDGER_VERSION

# The largest archive upload taken (its media come along but are not imported).
MAX_ARCHIVE_BYTES = 1024 * 1024 * 1024
MAX_MEMBERS = 100_000
# Past this ratio a member this big is taken for a zip bomb: real media barely compress.
MAX_RATIO = 100
RATIO_CHECKED_FROM = 1024 * 1024
MAX_UNCOMPRESSED = 8 * 1024 * 1024 * 1024
MAX_JSON_BYTES = {"actor.json": 1024 * 1024, "cameos.json": 4 * 1024 * 1024,
                  "consent.json": 64 * 1024 * 1024}
MAX_CAMEOS = 100
MAX_LEDGER_ENTRIES = 100_000
MAX_HOLDERS = 10_000
MAX_KEYS = 100
MAX_APPROVED = 500
MAX_NAME, MAX_INSTRUCTIONS = 100, 1000
_MEMBER = re.compile(r"[A-Za-z0-9_.@+-]+(?:/[A-Za-z0-9_.@+-]+)*/?")
_CAMEO_FILE = re.compile(r"cameos/[0-9]{1,19}/[a-z0-9-]{1,40}\.(?:jpg|jpeg|png|webp)")

# Mastodon's CSV imports (Form::Import): at most this many rows and bytes a file.
MAX_CSV_ROWS = 1000
MAX_CSV_BYTES = 20 * 1024 * 1024
CSV_HEADERS = {"following": ("Account address", "Show boosts", "Notify on new posts", "Languages"),
               "blocking": ("Account address",), "muting": ("Account address", "Hide notifications")}
_ADDRESS = re.compile(r"@?([A-Za-z0-9_.-]{1,64})@([A-Za-z0-9.-]{1,253}(?::[0-9]{1,5})?)")


class ArchiveError(ValueError):
    """An archive or CSV that cannot be imported; the text says why, for the person."""


@dataclass(frozen=True)
class CameoImport:
    old_uri: str
    name: str
    instructions: str
    permission: str
    approval: str
    paused: bool
    approved: list[str]
    # (bytes, what) of each reference image and then of the preview, unchecked yet.
    images: list[tuple[bytes, str]]


@dataclass(frozen=True)
class SigningKey:
    """A key that signed part of the ledger: the archive's actor's, or a former account's."""

    id: str
    controller: str
    multibase: str
    public_key: Any


@dataclass(frozen=True)
class AuthorizationImport:
    uri: str
    owner_uri: str
    key: SigningKey
    cameo_uri: str
    grantee_uri: str
    post_uri: str
    prompt_digest: str
    request_uri: str | None
    document: dict[str, Any]
    published: datetime
    end_time: datetime
    state: str
    revocation: dict[str, Any] | None
    revoked_at: datetime | None
    holders: list[str]


@dataclass
class ArchiveContents:
    """What an archive brings: its actor, cameos and consent ledger, all checked."""

    actor: dict[str, Any]
    # Every key the ledger's signatures rest on, by id.
    keys: dict[str, SigningKey] = field(default_factory=dict)
    cameos: list[CameoImport] = field(default_factory=list)
    authorizations: list[AuthorizationImport] = field(default_factory=list)
    # (direction, request uri, entry) of every request received and sent.
    records: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)


def _http(value: Any) -> bool:
    return isinstance(value, str) and value.startswith(("https://", "http://")) and len(value) <= 2000


def _require(ok: bool, where: str, what: str) -> None:
    if not ok:
        raise ArchiveError(f"{where}: {what}")


def _members(archive: zipfile.ZipFile) -> dict[str, zipfile.ZipInfo]:
    infos = archive.infolist()
    if len(infos) > MAX_MEMBERS:
        raise ArchiveError(f"the archive has more than {MAX_MEMBERS} files")
    found: dict[str, zipfile.ZipInfo] = {}
    total = 0
    for info in infos:
        name = info.filename
        if not _MEMBER.fullmatch(name) or ".." in name.split("/") or "." in name.split("/"):
            raise ArchiveError(f"the archive has a file with a name that is not allowed: {name[:100]!r}")
        if stat.S_ISLNK(info.external_attr >> 16):
            raise ArchiveError(f"the archive has a link, which is not allowed: {name[:100]!r}")
        if name in found:
            raise ArchiveError(f"the archive has {name[:100]!r} twice")
        if info.flag_bits & 0x1:
            raise ArchiveError("the archive is encrypted")
        if info.file_size > RATIO_CHECKED_FROM and info.file_size > MAX_RATIO * max(info.compress_size, 1):
            raise ArchiveError(f"{name[:100]!r} expands more than {MAX_RATIO} times: a zip bomb?")
        total += info.file_size
        found[name] = info
    if total > MAX_UNCOMPRESSED:
        raise ArchiveError("the archive expands to more than 8 GiB")
    return found


def _read(archive: zipfile.ZipFile, members: dict[str, zipfile.ZipInfo], name: str, limit: int) -> bytes:
    """A member's bytes, refused past `limit` whatever its header says."""
    info = members.get(name)
    if info is None:
        raise ArchiveError(f"the archive has no {name}")
    if info.file_size > limit:
        raise ArchiveError(f"{name} is larger than {limit // 1024} KiB")
    try:
        with archive.open(info) as member:
            data = member.read(limit + 1)
    except (zipfile.BadZipFile, OSError, EOFError, NotImplementedError) as exc:
        raise ArchiveError(f"{name} cannot be read: {exc}") from None
    if len(data) > limit:
        raise ArchiveError(f"{name} is larger than {limit // 1024} KiB")
    return data


def _json(archive: zipfile.ZipFile, members: dict[str, zipfile.ZipInfo], name: str) -> dict[str, Any]:
    data = _read(archive, members, name, MAX_JSON_BYTES[name])
    try:
        value = json.loads(data)
    except (UnicodeDecodeError, ValueError):
        raise ArchiveError(f"{name} is not JSON") from None
    _require(isinstance(value, dict), name, "is not a JSON object")
    return value


def _actor_keys(actor: dict[str, Any]) -> dict[str, SigningKey]:
    """The Ed25519 keys the archive's actor lists as its own (its authorizations' signers)."""
    _require(_http(actor.get("id")) and is_type(actor, "Person"), "actor.json", "is not a Person with an id")
    listed = consent.assertion_keys(actor)
    methods = actor.get("assertionMethod")
    found = {}
    for method in methods if isinstance(methods, list) else [methods]:
        if isinstance(method, dict) and method.get("id") in listed:
            found[method["id"]] = SigningKey(method["id"], actor["id"], method["publicKeyMultibase"],
                                             listed[method["id"]])
    _require(bool(found), "actor.json", "lists no Ed25519 key of its own in assertionMethod")
    return found


def _former_keys(ledger: dict[str, Any], contents: ArchiveContents) -> None:
    """The ledger's `keys` of the accounts the actor moved from (authorizations it took over): each
    must belong to an account actor.json names in `alsoKnownAs`; its own must be actor.json's."""
    owner = contents.actor["id"]
    aliases = contents.actor.get("alsoKnownAs", [])
    aliases = [a for a in aliases if isinstance(a, str)] if isinstance(aliases, list) else []
    listed = ledger.get("keys", [])
    _require(isinstance(listed, list) and len(listed) <= MAX_KEYS, "consent.json",
             f"keys must be a list of at most {MAX_KEYS}")
    for n, entry in enumerate(listed):
        where = f"consent.json: keys[{n}]"
        _require(isinstance(entry, dict) and _http(entry.get("id")) and _http(entry.get("controller"))
                 and isinstance(entry.get("publicKeyMultibase"), str), where, "is not a Multikey")
        key_id, controller = entry["id"], entry["controller"]
        if controller == owner:
            own = contents.keys.get(key_id)
            _require(own is not None and own.multibase == entry["publicKeyMultibase"], where,
                     "is not the key actor.json lists")
            continue
        _require(controller in aliases, where,
                 f"belongs to {controller[:200]}, which actor.json does not name in alsoKnownAs")
        _require(fetch.same_origin(key_id, controller), where, "is not on its controller's server")
        try:
            public_key = keys.decode_multikey(entry["publicKeyMultibase"])
        except keys.KeyFormatError:
            public_key = None
        _require(isinstance(public_key, Ed25519PublicKey), where, "is not an Ed25519 Multikey")
        contents.keys[key_id] = SigningKey(key_id, controller, entry["publicKeyMultibase"], public_key)


def _text(value: Any, where: str, limit: int, *, required: bool = False) -> str:
    _require(isinstance(value, str) and len(value) <= limit and (value.strip() or not required)
             and not any(ord(c) < 32 and c not in "\n\t" for c in value),
             where, f"must be text of at most {limit} printable characters")
    return value


def _cameos(archive: zipfile.ZipFile, members: dict[str, zipfile.ZipInfo], owner: str
            ) -> list[CameoImport]:
    listed = _json(archive, members, "cameos.json").get("cameos")
    _require(isinstance(listed, list) and len(listed) <= MAX_CAMEOS, "cameos.json",
             f"cameos must be a list of at most {MAX_CAMEOS}")
    found, seen = [], set()
    for n, entry in enumerate(listed):
        where = f"cameos.json: cameos[{n}]"
        _require(isinstance(entry, dict), where, "is not an object")
        obj, settings = entry.get("object"), entry.get("settings")
        _require(isinstance(obj, dict) and is_type(obj, "Cameo") and _http(obj.get("id"))
                 and obj.get("attributedTo") == owner, where, "object is not a Cameo of actor.json's actor")
        _require(obj["id"] not in seen, where, "is listed twice")
        seen.add(obj["id"])
        _require(isinstance(settings, dict), where, "settings is not an object")
        permission, approval = settings.get("permission"), settings.get("approval")
        _require(permission in {p.value for p in Permission}, where, "settings.permission is not known")
        _require(approval in {a.value for a in Approval}, where, "settings.approval is not known")
        _require(isinstance(settings.get("paused"), bool), where, "settings.paused is not true or false")
        approved = settings.get("approvedAccounts", [])
        _require(isinstance(approved, list) and len(approved) <= MAX_APPROVED
                 and all(_http(a) for a in approved), where, "settings.approvedAccounts is not a list of ids")
        references, preview = entry.get("references"), entry.get("preview")
        _require(isinstance(references, list) and 1 <= len(references) <= MAX_REFERENCES, where,
                 f"references must list 1 to {MAX_REFERENCES} images")
        _require(isinstance(preview, dict), where, "has no preview image")
        images = []
        for what, image in [*((f"reference {i + 1}", r) for i, r in enumerate(references)),
                            ("preview", preview)]:
            path = image.get("path") if isinstance(image, dict) else None
            _require(isinstance(path, str) and _CAMEO_FILE.fullmatch(path) is not None, where,
                     f"{what} does not name an image under cameos/")
            images.append((_read(archive, members, path, MAX_IMAGE_BYTES), f"{where} {what}"))
        found.append(CameoImport(
            old_uri=obj["id"],
            name=_text(settings.get("name"), f"{where} settings.name", MAX_NAME, required=True),
            instructions=_text(settings.get("instructions", ""), f"{where} settings.instructions",
                               MAX_INSTRUCTIONS),
            permission=permission, approval=approval, paused=settings["paused"], approved=approved,
            images=images))
    return found


def _verified(document: Any, where: str, key: SigningKey) -> None:
    _require(consent.proof_method(document) == key.id, where, f"is not signed with {key.id[:200]}")
    try:
        proofs.verify(document, key.public_key)
    except proofs.ProofError as exc:
        raise ArchiveError(f"{where}: its proof does not hold: {exc}") from None


def _authorization(entry: Any, where: str, signers: dict[str, SigningKey]) -> AuthorizationImport:
    _require(isinstance(entry, dict), where, "is not an object")
    document = entry.get("document")
    _require(isinstance(document, dict) and is_type(document, "RemixAuthorization")
             and _http(document.get("id")), where, "document is not a RemixAuthorization")
    key = signers.get(consent.proof_method(document) or "")
    _require(key is not None, where, "document is not signed with a key the archive lists")
    assert key is not None
    owner = key.controller
    _require(document.get("attributedTo") == owner, where, "document is not attributed to its signer")
    for name in ("interactingObject", "interactionTarget", "grantee"):
        _require(_http(document.get(name)), where, f"document.{name} is not an id")
    digest = document.get("promptDigest")
    _require(isinstance(digest, str) and digest.startswith("sha256-"), where, "document has no promptDigest")
    published, end_time = parse_time(document.get("published")), parse_time(document.get("endTime"))
    _require(published is not None and end_time is not None, where, "document has no published and endTime")
    _verified(document, f"{where} document", key)
    state, revocation = entry.get("state"), entry.get("revocation")
    _require(state in ("live", "revoked"), where, "state must be live or revoked")
    revoked_at = None
    if state == "revoked":
        target = revocation.get("object") if isinstance(revocation, dict) else None
        _require(isinstance(revocation, dict) and is_type(revocation, "Delete")
                 and revocation.get("actor") == owner and isinstance(target, dict)
                 and target.get("id") == document["id"], where,
                 "a revoked authorization must carry its owner's signed Delete of it")
        _verified(revocation, f"{where} revocation", key)
        revoked_at = parse_time(entry.get("revokedAt"))
    else:
        _require(revocation is None, where, "a live authorization has no revocation")
    holders = entry.get("holders", [])
    _require(isinstance(holders, list) and len(holders) <= MAX_HOLDERS and all(_http(h) for h in holders),
             where, "holders is not a list of inboxes")
    request = entry.get("request")
    _require(request is None or _http(request), where, "request is not an id")
    assert published is not None and end_time is not None
    return AuthorizationImport(
        uri=document["id"], owner_uri=owner, key=key, cameo_uri=document["interactionTarget"],
        grantee_uri=document["grantee"], post_uri=document["interactingObject"], prompt_digest=digest,
        request_uri=request, document=document, published=published, end_time=end_time, state=state,
        revocation=revocation, revoked_at=revoked_at, holders=sorted(set(holders)))


def _ledger(archive: zipfile.ZipFile, members: dict[str, zipfile.ZipInfo], contents: ArchiveContents) -> None:
    ledger = _json(archive, members, "consent.json")
    owner = contents.actor["id"]
    _require(ledger.get("type") == CONSENT_LEDGER_TYPE and ledger.get("version") == CONSENT_LEDGER_VERSION,
             "consent.json", f"is not a {CONSENT_LEDGER_TYPE} of version {CONSENT_LEDGER_VERSION}")
    _require(ledger.get("owner") == owner, "consent.json", "is the ledger of another actor than actor.json's")
    _former_keys(ledger, contents)
    for part in ("received", "sent", "authorizations"):
        _require(isinstance(ledger.get(part), list) and len(ledger[part]) <= MAX_LEDGER_ENTRIES,
                 "consent.json", f"{part} must be a list of at most {MAX_LEDGER_ENTRIES}")
    for direction in ("received", "sent"):
        seen = set()
        for n, entry in enumerate(ledger[direction]):
            where = f"consent.json: {direction}[{n}]"
            _require(isinstance(entry, dict) and _http(entry.get("request")), where,
                     "is not an object with a request id")
            _require(entry["request"] not in seen, where, "is listed twice")
            seen.add(entry["request"])
            contents.records.append((direction, entry["request"], entry))
    uris = set()
    for n, entry in enumerate(ledger["authorizations"]):
        authorization = _authorization(entry, f"consent.json: authorizations[{n}]", contents.keys)
        _require(authorization.uri not in uris, f"consent.json: authorizations[{n}]", "is listed twice")
        uris.add(authorization.uri)
        contents.authorizations.append(authorization)


def read_archive(path: Path) -> ArchiveContents:
    """The checked contents of a Likeness archive at `path` (blocking: run it in a thread)."""
    try:
        with zipfile.ZipFile(path) as archive:
            members = _members(archive)
            actor = _json(archive, members, "actor.json")
            contents = ArchiveContents(actor, _actor_keys(actor))
            contents.cameos = _cameos(archive, members, actor["id"])
            _ledger(archive, members, contents)
            return contents
    except zipfile.BadZipFile:
        raise ArchiveError("this is not a zip archive") from None


# --- Mastodon's CSVs ----------------------------------------------------------------------------

@dataclass(frozen=True)
class AccountRow:
    line: int
    username: str
    domain: str
    hide_notifications: bool = True

    @property
    def address(self) -> str:
        return f"{self.username}@{self.domain}"


def read_csv(kind: str, data: bytes) -> tuple[list[AccountRow], list[dict[str, Any]]]:
    """The rows of a Mastodon CSV export of `kind` (following, blocking, muting), with or without
    its header as Mastodon's versions wrote it, and a report of the rows that are not accounts."""
    if len(data) > MAX_CSV_BYTES:
        raise ArchiveError("the file is larger than 20 MiB")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ArchiveError("the file is not UTF-8 text") from None
    if "\0" in text:
        raise ArchiveError("the file is not a CSV file")
    reader = csv.reader(io.StringIO(text))
    try:
        # (line, cells) of each row that is not blank, numbered as an editor shows them.
        table = [(reader.line_num, row) for row in reader if any(cell.strip() for cell in row)]
    except csv.Error as exc:
        raise ArchiveError(f"the file is not a CSV file: {exc}") from None
    if table and table[0][1][0].strip() == CSV_HEADERS[kind][0]:
        table = table[1:]
    if len(table) > MAX_CSV_ROWS:
        raise ArchiveError(f"the file has more than {MAX_CSV_ROWS} rows: split it")
    rows, bad = [], []
    for line, row in table:
        match = _ADDRESS.fullmatch(row[0].strip()) if row else None
        if match is None:
            bad.append({"line": line, "address": (row[0] if row else "")[:200],
                        "error": "not an account address (user@domain)"})
            continue
        hide = True
        if kind == "muting" and len(row) > 1 and row[1].strip():
            if row[1].strip().lower() not in ("true", "false"):
                bad.append({"line": line, "address": row[0][:200],
                            "error": "Hide notifications must be true or false"})
                continue
            hide = row[1].strip().lower() == "true"
        rows.append(AccountRow(line, match.group(1), match.group(2).lower(), hide))
    return rows, bad
