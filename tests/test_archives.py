"""A person's archive: asked for, built by the worker with progress, downloaded by its owner only,
with Mastodon's layout plus cameos and the consent ledger; imported on another server (cameos and
ledger, Mastodon's CSVs), twice without duplicates; hostile archives refused whole."""

from __future__ import annotations

import copy
import io
import json
import os
import stat
import zipfile
from datetime import timedelta

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from federation import consent, keys, proofs
from federation import store as fstore
from federation.objects import now
from server import archive
from tests.conftest import PASSWORD, eventually
from tests.test_cameos import _jpeg, _png
from tests.test_remix_consent import _cameo, _remix, _state


async def _archive_of(instance, user):
    response = await instance.api(user, "POST", "/api/v1/archives")
    assert response.status_code == 202, response.text
    archive = response.json()
    assert archive["state"] in ("queued", "building", "ready")
    seen = []

    async def ready():
        row = (await instance.api(user, "GET", f"/api/v1/archives/{archive['id']}")).json()
        seen.append((row["state"], row["progress"]))
        return row if row["state"] in ("ready", "failed") else None

    done = await eventually(ready, timeout=60)
    assert done["state"] == "ready", done
    assert done["progress"] == 100 and done["size"] > 0 and done["expires_at"]
    assert all(0 <= p <= 100 for _, p in seen)
    return done


async def _authorized(b, remix_id):
    async def authorization():
        state = await _state(b, "bob", remix_id)
        return state["cameos"][0]["authorization"] if state["state"] == "authorized" else None

    return await eventually(authorization, timeout=60)


def _upload(data: bytes, name: str = "archive.zip", kind: str = "application/zip"):
    return {"files": [("data", (name, data, kind))]}


async def test_archive_export_with_ledger_then_import_on_another_server(make_instance):
    a = await make_instance("a")
    b = await make_instance("b")
    await a.signup("alice")
    await a.signup("eve")
    await b.signup("bob")
    cameo = await _cameo(a, "alice", name="Alice", instructions="always in a red hat",
                         permission="everyone", approval="automatic")
    kept = (await _remix(b, "bob", [cameo["uri"]], prompt="dancing in the rain")).json()
    withdrawn = (await _remix(b, "bob", [cameo["uri"]], prompt="singing on a roof")).json()
    kept_uri = await _authorized(b, kept["id"])
    withdrawn_uri = await _authorized(b, withdrawn["id"])
    requests = (await a.api("alice", "GET", "/api/v1/remix_requests")).json()
    [to_revoke] = [r for r in requests if r["authorization"] == withdrawn_uri]
    revoke = await a.api("alice", "POST", f"/api/v1/remix_requests/{to_revoke['id']}/revoke")
    assert revoke.status_code == 200
    # A knows bob from his requests.
    bob = await a.api("alice", "GET", "/api/v1/accounts/lookup", params={"acct": b.handle("bob")})
    await a.api("alice", "POST", f"/api/v1/accounts/{bob.json()['id']}/follow")
    post = await a.api("alice", "POST", "/api/v1/statuses", json={"status": "my last post here"})
    assert post.status_code == 200, post.text

    done = await _archive_of(a, "alice")
    # Once every 7 days, as Mastodon.
    assert (await a.api("alice", "POST", "/api/v1/archives")).status_code == 429
    # Its owner's alone.
    download = done["download_url"]
    assert (await a.api("eve", "GET", download)).status_code == 404
    assert (await a.api(None, "GET", download)).status_code == 401
    response = await a.api("alice", "GET", download)
    assert response.status_code == 200
    assert response.headers["content-disposition"].startswith("attachment;")
    assert "no-store" in response.headers["cache-control"]
    archive = zipfile.ZipFile(io.BytesIO(response.content))
    names = set(archive.namelist())
    assert {"actor.json", "outbox.json", "likes.json", "bookmarks.json", "following_accounts.csv",
            "blocked_accounts.csv", "muted_accounts.csv", "cameos.json", "consent.json"} <= names

    actor = json.loads(archive.read("actor.json"))
    assert actor["id"] == f"{a.base_url}/users/alice" and actor["outbox"] == "outbox.json"
    assert actor["publicKey"]["publicKeyPem"].startswith("-----BEGIN PUBLIC KEY-----")
    outbox = json.loads(archive.read("outbox.json"))
    assert outbox["type"] == "OrderedCollection"
    assert [i["object"]["content"] for i in outbox["orderedItems"] if i["type"] == "Create"] \
        == ["<p>my last post here</p>"]
    following = archive.read("following_accounts.csv").decode().splitlines()
    assert following == ["Account address,Show boosts,Notify on new posts,Languages",
                         f"bob@{b.domain},true,false,"]
    assert archive.read("muted_accounts.csv").decode() == "Account address,Hide notifications\n"

    [exported] = json.loads(archive.read("cameos.json"))["cameos"]
    assert exported["object"]["id"] == cameo["uri"] and exported["object"]["type"] == "Cameo"
    assert exported["settings"] == {"name": "Alice", "instructions": "always in a red hat",
                                    "permission": "everyone", "approval": "automatic",
                                    "paused": False, "approvedAccounts": []}
    assert [r["path"] in names for r in exported["references"]] == [True]
    assert exported["preview"]["path"] in names
    assert archive.read(exported["references"][0]["path"])[:2] == b"\xff\xd8"

    ledger = json.loads(archive.read("consent.json"))
    assert ledger["type"] == "LikenessConsentLedger" and ledger["owner"] == actor["id"]
    assert {(r["state"], r["answer"]["type"]) for r in ledger["received"]} == {("approved", "Accept"),
                                                                                ("revoked", "Accept")}
    by_id = {entry["id"]: entry for entry in ledger["authorizations"]}
    assert set(by_id) == {kept_uri, withdrawn_uri}
    # The archive's copy is the signed authorization, unchanged: it verifies with actor.json's key.
    [method] = actor["assertionMethod"]
    owner_key = keys.decode_multikey(method["publicKeyMultibase"])
    stored = await b.pool.fetchval("SELECT authorization_document FROM remix_cameos"
                                   " WHERE authorization_uri = $1", kept_uri)
    assert by_id[kept_uri]["document"] == stored
    proofs.verify(by_id[kept_uri]["document"], owner_key)
    use = consent.RemixUse(post=kept["post_uri"], author=f"{b.base_url}/users/bob", cameo=cameo["uri"],
                           owner=actor["id"], digest=consent.prompt_digest("dancing in the rain"))
    consent.check_authorization(by_id[kept_uri]["document"], use, {method["id"]: owner_key})
    assert by_id[kept_uri]["state"] == "live" and by_id[kept_uri]["revocation"] is None
    revoked = by_id[withdrawn_uri]
    assert revoked["state"] == "revoked" and revoked["revocation"]["type"] == "Delete"
    assert revoked["revocation"]["object"]["id"] == withdrawn_uri
    proofs.verify(revoked["revocation"], owner_key)
    # The holders a revoke must reach: bob's server.
    assert by_id[kept_uri]["holders"] == [f"{b.base_url}/inbox"]
    assert [s["request"] for s in ledger["sent"]] == []

    # --- on a new server -------------------------------------------------------------------
    d = await make_instance("d")
    await d.signup("alice")
    imported = await d.api("alice", "POST", "/api/v1/imports/archive", **_upload(response.content))
    assert imported.status_code == 200, imported.text
    report = imported.json()
    assert report["cameos"] == {"imported": 1, "already": 0}
    assert report["authorizations"] == {"imported": 2, "already": 0}
    [made] = (await d.api("alice", "GET", "/api/v1/cameos")).json()
    assert (made["name"], made["instructions"], made["permission"], made["approval"], made["references"]) \
        == ("Alice", "always in a red hat", "everyone", "automatic", 1)
    assert made["uri"].startswith(f"{d.base_url}/users/alice/cameos/")
    rows = await d.pool.fetch("SELECT * FROM imported_authorizations ORDER BY uri")
    assert {r["uri"]: r["state"] for r in rows} == {kept_uri: "live", withdrawn_uri: "revoked"}
    assert all(r["cameo_id"] == int(made["id"]) and r["owner_uri"] == actor["id"] for r in rows)
    kept_row = next(r for r in rows if r["uri"] == kept_uri)
    assert kept_row["document"] == stored and kept_row["holders"] == [f"{b.base_url}/inbox"]
    proofs.verify(kept_row["document"], owner_key)
    assert await d.pool.fetchval("SELECT count(*) FROM imported_consent_records") == 2

    # Twice: nothing more.
    again = (await d.api("alice", "POST", "/api/v1/imports/archive", **_upload(response.content))).json()
    assert again["cameos"] == {"imported": 0, "already": 1}
    assert again["authorizations"] == {"imported": 0, "already": 2}
    assert len((await d.api("alice", "GET", "/api/v1/cameos")).json()) == 1
    assert await d.pool.fetchval("SELECT count(*) FROM imported_authorizations") == 2
    assert await d.pool.fetchval("SELECT count(*) FROM cameo_references") == 1

    # D's own archive carries the ledger it took over, as signed.
    d_archive = await _archive_of(d, "alice")
    content = (await d.api("alice", "GET", d_archive["download_url"])).content
    carried = json.loads(zipfile.ZipFile(io.BytesIO(content)).read("consent.json"))
    assert {e["id"]: e["state"] for e in carried["authorizations"]} == {kept_uri: "live",
                                                                        withdrawn_uri: "revoked"}
    # With the key that signed them, alice's on A, beside her own on D.
    assert {(k["id"], k["controller"]) for k in carried["keys"]} == {
        (method["id"], actor["id"]), (f"{d.base_url}/users/alice#ed25519-key", f"{d.base_url}/users/alice")}
    assert kept_row["key_id"] == method["id"]
    assert kept_row["public_key_multibase"] == method["publicKeyMultibase"]
    # ...and its own server refuses it back: it is the archive of an account there.
    home = await a.api("alice", "POST", "/api/v1/imports/archive", **_upload(response.content))
    assert home.status_code == 422 and "on this server" in home.json()["error"]


# --- archives made by hand: the hostile ones ---------------------------------------------------

OWNER = "https://old.example/users/alice"
KEY_ID = f"{OWNER}#ed25519-key"


def _ledger_parts(key: Ed25519PrivateKey, *, revoked: bool = False) -> dict[str, object]:
    published = now() - timedelta(days=1)
    document = consent.authorization(
        id=f"{OWNER}/remix_authorizations/1", owner=OWNER, post="https://b.example/users/bob/statuses/1",
        cameo=f"{OWNER}/cameos/1", grantee="https://b.example/users/bob",
        digest=consent.prompt_digest("a walk"), published=published,
        end_time=published + timedelta(days=30), private_key=key, key_id=KEY_ID)
    entry: dict[str, object] = {"id": document["id"], "request": "https://b.example/requests/1",
                                "cameo": f"{OWNER}/cameos/1", "state": "live", "document": document,
                                "revocation": None, "holders": ["https://b.example/inbox"]}
    if revoked:
        entry["state"] = "revoked"
        entry["revocation"] = proofs.sign({
            "@context": document["@context"], "id": f"{document['id']}#delete", "type": "Delete",
            "actor": OWNER, "object": {"id": document["id"], "type": "RemixAuthorization"}}, key, KEY_ID)
    return {"type": "LikenessConsentLedger", "version": 1, "owner": OWNER,
            "received": [{"request": "https://b.example/requests/1", "state": entry["state"]}],
            "sent": [], "authorizations": [entry]}


def _members(key: Ed25519PrivateKey, *, cameos: int = 1, revoked: bool = False) -> dict[str, object]:
    actor = {"id": OWNER, "type": "Person", "assertionMethod": [{
        "id": KEY_ID, "type": "Multikey", "controller": OWNER,
        "publicKeyMultibase": keys.encode_multikey(key.public_key())}]}
    listed, files = [], {}
    for n in range(1, cameos + 1):
        files[f"cameos/{n}/reference-0.jpg"] = _jpeg((n * 40, 10, 10))
        files[f"cameos/{n}/preview.png"] = _png()
        listed.append({"object": {"id": f"{OWNER}/cameos/{n}", "type": "Cameo", "attributedTo": OWNER},
                       "settings": {"name": f"Cameo {n}", "instructions": "no hats",
                                    "permission": "followers", "approval": "manual", "paused": False,
                                    "approvedAccounts": []},
                       "references": [{"path": f"cameos/{n}/reference-0.jpg"}],
                       "preview": {"path": f"cameos/{n}/preview.png"}})
    return {"actor.json": actor, "cameos.json": {"cameos": listed},
            "consent.json": _ledger_parts(key, revoked=revoked), **files}


def _zip(members: dict[str, object], *, extra: list[tuple[zipfile.ZipInfo, bytes]] = ()) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, value in members.items():
            archive.writestr(name, value if isinstance(value, bytes) else json.dumps(value))
        for info, data in extra:
            archive.writestr(info, data)
    return out.getvalue()


async def test_hostile_archives_are_refused_whole(make_instance):
    d = await make_instance("d")
    await d.signup("alice")
    key = Ed25519PrivateKey.generate()

    async def refused(data: bytes, expected: str) -> None:
        response = await d.api("alice", "POST", "/api/v1/imports/archive", **_upload(data))
        assert response.status_code == 422, response.text
        assert expected in response.json()["error"], response.json()

    link = zipfile.ZipInfo("cameos/1/evil.jpg")
    link.external_attr = (stat.S_IFLNK | 0o777) << 16
    bomb = zipfile.ZipInfo("media_attachments/files/zeros.bin")
    bomb.compress_type = zipfile.ZIP_DEFLATED
    tampered = _members(key)
    tampered["consent.json"]["authorizations"][0]["document"]["grantee"] = "https://evil.example/users/x"
    wrong_type = _members(key)
    wrong_type["consent.json"]["authorizations"][0]["document"] = 5
    not_listed = _members(key)
    not_listed["cameos.json"]["cameos"][0]["references"] = "cameos/1/reference-0.jpg"
    traversal_path = _members(key)
    traversal_path["cameos.json"]["cameos"][0]["references"] = [{"path": "../../etc/passwd"}]
    bad_image = _members(key, cameos=2)
    bad_image["cameos/2/reference-0.jpg"] = b"\xff\xd8 not a jpeg at all"
    other_key = _members(Ed25519PrivateKey.generate())
    other_key["consent.json"] = _ledger_parts(key)
    unsigned_revoke = _members(key, revoked=True)
    del unsigned_revoke["consent.json"]["authorizations"][0]["revocation"]["proof"]

    await refused(b"PK\x03\x04 this is no zip", "not a zip archive")
    await refused(_zip(_members(key), extra=[(zipfile.ZipInfo("../outside.txt"), b"x")]), "not allowed")
    await refused(_zip(_members(key), extra=[(zipfile.ZipInfo("/etc/cron.d/x"), b"x")]), "not allowed")
    await refused(_zip(_members(key), extra=[(link, b"/etc/passwd")]), "link")
    await refused(_zip(_members(key), extra=[(bomb, bytes(64 * 1024 * 1024))]), "zip bomb")
    huge = json.dumps({"id": OWNER, "type": "Person", "padding": os.urandom(1024 * 1024).hex()})
    await refused(_zip({**_members(key), "actor.json": huge.encode()}), "actor.json is larger than")
    await refused(_zip({**_members(key), "consent.json": b"[1, 2]"}), "consent.json: is not a JSON object")
    await refused(_zip(tampered), "proof does not hold")
    await refused(_zip(wrong_type), "authorizations[0]: document is not a RemixAuthorization")
    await refused(_zip(not_listed), "references must list")
    await refused(_zip(traversal_path), "does not name an image under cameos/")
    await refused(_zip(bad_image), "cameos[1] reference 1")
    await refused(_zip(other_key), "its proof does not hold")
    await refused(_zip(unsigned_revoke), f"revocation: is not signed with {KEY_ID}")
    members = _members(key)
    del members["consent.json"]
    await refused(_zip(members), "the archive has no consent.json")
    await refused(_zip(_members(key)).replace(b"consent.json", b"consent.jso\xff"), "")
    assert (await d.api("alice", "POST", "/api/v1/imports/archive", data={"data": "text"})).status_code == 422
    assert (await d.api("alice", "POST", "/api/v1/imports/everything", **_upload(b"x"))).status_code == 404

    # Nothing half-written: no cameo, no ledger, no file.
    for table in ("cameos", "cameo_references", "imported_authorizations", "imported_consent_records"):
        assert await d.pool.fetchval(f"SELECT count(*) FROM {table}") == 0, table
    media_root = d.instance.settings.media_dir
    assert not (media_root / "cameos").exists() or not any((media_root / "cameos").rglob("*.*"))

    # The same archive, sound, goes in, with its revoke.
    sound = _zip(_members(key, revoked=True))
    response = await d.api("alice", "POST", "/api/v1/imports/archive", **_upload(sound))
    assert response.status_code == 200, response.text
    row = await d.pool.fetchrow("SELECT * FROM imported_authorizations")
    assert row["state"] == "revoked" and row["revocation"]["type"] == "Delete"
    assert row["cameo_id"] == await d.pool.fetchval("SELECT id FROM cameos WHERE imported_from = $1",
                                                    f"{OWNER}/cameos/1")
    # An older archive, from before the revoke, does not bring it back to life.
    await d.api("alice", "POST", "/api/v1/imports/archive", **_upload(_zip(_members(key))))
    assert await d.pool.fetchval("SELECT state FROM imported_authorizations") == "revoked"
    cameo = (await d.api("alice", "GET", "/api/v1/cameos")).json()[0]
    assert (cameo["permission"], cameo["approval"], cameo["instructions"]) \
        == ("followers", "manual", "no hats")


async def test_mastodon_csv_imports(make_instance):
    a = await make_instance("a")
    b = await make_instance("b")
    await a.signup("alice")
    await a.signup("carol")
    await b.signup("bob")
    await b.signup("dave")
    # As Mastodon 4 exports them: following with its header, blocks one address a line, mutes
    # with theirs; a bad row or two among them.
    following = ("Account address,Show boosts,Notify on new posts,Languages\n"
                 f"bob@{b.domain},true,false,\n"
                 f"carol@{a.domain},false,true,\"en,fr\"\n"
                 "not an address,true,false,\n"
                 f"nobody@{b.domain},true,false,\n")
    response = await a.api("alice", "POST", "/api/v1/imports/following",
                           **_upload(following.encode(), "following_accounts.csv", "text/csv"))
    assert response.status_code == 200, response.text
    report = response.json()
    assert (report["imported"], report["already"]) == (2, 0)
    assert [(f["line"], f["address"]) for f in report["failed"]] == [(4, "not an address"),
                                                                      (5, f"nobody@{b.domain}")]
    # A real Follow reached bob's server, which accepted it.

    async def followed():
        return await b.pool.fetchval(
            "SELECT count(*) FROM follows f JOIN actors a ON a.id = f.follower_id"
            " WHERE a.uri = $1 AND f.accepted", f"{a.base_url}/users/alice")

    assert await eventually(followed) == 1
    again = (await a.api("alice", "POST", "/api/v1/imports/following",
                         **_upload(following.encode(), "following_accounts.csv", "text/csv"))).json()
    assert (again["imported"], again["already"]) == (0, 2)
    assert await a.pool.fetchval("SELECT count(*) FROM follows") == 2

    blocks = f"dave@{b.domain}\n\n@carol@{a.domain}\nnobody\n".encode()
    report = (await a.api("alice", "POST", "/api/v1/imports/blocking", **_upload(blocks, "b.csv"))).json()
    assert report["imported"] == 2
    assert [(f["line"], f["address"]) for f in report["failed"]] == [(4, "nobody")]
    assert await a.pool.fetchval("SELECT count(*) FROM blocks") == 2
    # Blocking carol ended alice's follow of her, as a block does.
    assert await a.pool.fetchval("SELECT count(*) FROM follows") == 1

    mutes = f"Account address,Hide notifications\nbob@{b.domain},false\ncarol@{a.domain},maybe\n".encode()
    report = (await a.api("alice", "POST", "/api/v1/imports/muting", **_upload(mutes, "m.csv"))).json()
    assert report["imported"] == 1
    assert report["failed"] == [{"line": 3, "address": f"carol@{a.domain}",
                                 "error": "Hide notifications must be true or false"}]
    assert await a.pool.fetchval("SELECT hide_notifications FROM mutes") is False
    bob_id = await a.pool.fetchval("SELECT id FROM actors WHERE uri = $1", f"{b.base_url}/users/bob")
    relations = await a.api("alice", "GET", "/api/v1/accounts/relationships", params={"id[]": bob_id})
    [relation] = relations.json()
    assert (relation["muting"], relation["muting_notifications"], relation["following"]) \
        == (True, False, True)

    for bad, expected in ((b"\xff\xfe\x00b", "not UTF-8"), (b"a\0b", "not a CSV"),
                          (("x@y.example\n" * 1001).encode(), "more than 1000 rows")):
        response = await a.api("alice", "POST", "/api/v1/imports/blocking", **_upload(bad, "x.csv"))
        assert response.status_code == 422 and expected in response.json()["error"], response.text


async def test_a_ledger_taken_over_from_a_former_account_imports_only_through_its_alias(make_instance):
    """An archive of the account alice moved to carries the authorizations she gave before, with
    the key that signed them: they go in only when its actor.json names her former account in
    alsoKnownAs, and keep their signer."""
    d = await make_instance("d")
    await d.signup("alice")
    old_key, new_key = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    new_owner = "https://new.example/users/alice"
    members = _members(old_key)
    members["actor.json"] = {"id": new_owner, "type": "Person", "alsoKnownAs": [OWNER], "assertionMethod": [{
        "id": f"{new_owner}#ed25519-key", "type": "Multikey", "controller": new_owner,
        "publicKeyMultibase": keys.encode_multikey(new_key.public_key())}]}
    for cameo in members["cameos.json"]["cameos"]:
        cameo["object"]["attributedTo"] = new_owner
    ledger = members["consent.json"]
    ledger["owner"] = new_owner
    ledger["keys"] = [{"id": KEY_ID, "type": "Multikey", "controller": OWNER,
                       "publicKeyMultibase": keys.encode_multikey(old_key.public_key())}]
    unnamed = copy.deepcopy(members)
    unnamed["actor.json"]["alsoKnownAs"] = []
    response = await d.api("alice", "POST", "/api/v1/imports/archive", **_upload(_zip(unnamed)))
    assert response.status_code == 422
    assert "which actor.json does not name in alsoKnownAs" in response.json()["error"]
    assert await d.pool.fetchval("SELECT count(*) FROM cameos") == 0

    response = await d.api("alice", "POST", "/api/v1/imports/archive", **_upload(_zip(members)))
    assert response.status_code == 200, response.text
    row = await d.pool.fetchrow("SELECT * FROM imported_authorizations")
    assert (row["owner_uri"], row["key_id"]) == (OWNER, KEY_ID)
    proofs.verify(row["document"], keys.decode_multikey(row["public_key_multibase"]))


async def test_archive_in_either_store_resumes_after_a_lost_job_and_expires(make_instance, media_store):
    a = await make_instance("a", **media_store)
    await a.signup("alice")
    await _cameo(a, "alice", name="Me", permission="followers")
    fed = a.instance.fed
    # A job Redis lost, or a worker that died mid-way: the sweep takes the archive up again.
    user_id = await a.pool.fetchval("SELECT id FROM users WHERE username = 'alice'")
    archive_id = await a.pool.fetchval(
        "INSERT INTO archives (user_id, state, progress, updated_at)"
        " VALUES ($1, 'building', 40, now() - interval '10 minutes') RETURNING id", user_id)
    assert await archive.requeue_unfinished(fed) == 1

    async def ready():
        row = (await a.api("alice", "GET", f"/api/v1/archives/{archive_id}")).json()
        return row if row["state"] == "ready" else None

    done = await eventually(ready, timeout=60)
    async with a.client("alice") as client:
        response = await client.get(done["download_url"], follow_redirects=True)
    assert response.status_code == 200
    names = zipfile.ZipFile(io.BytesIO(response.content)).namelist()
    assert "cameos/1/reference-0.jpg" in names and "consent.json" in names
    key = await a.pool.fetchval("SELECT storage_key FROM archives WHERE id = $1", archive_id)
    assert await a.instance.media.exists(key)

    # Past its time, it goes: the row says so, the file is deleted, the download is gone.
    await a.pool.execute("UPDATE archives SET expires_at = now() - interval '1 second'")
    assert await archive.remove_expired(fed, a.instance.media) == 1
    assert not await a.instance.media.exists(key)
    assert (await a.api("alice", "GET", done["download_url"])).status_code == 410
    assert (await a.api("alice", "GET", "/api/v1/archives")).json()[0]["state"] == "expired"

    # An account deleted takes its archives with it.
    await a.pool.execute("UPDATE archives SET state = 'ready', storage_key = $1,"
                         " expires_at = now() + interval '1 day'", key)
    await a.instance.media.put_bytes(key, b"PK\x05\x06" + bytes(18))
    response = await a.api("alice", "POST", "/api/v1/account/delete", json={"password": PASSWORD})
    assert response.status_code == 200, response.text
    assert not await a.instance.media.exists(key)
    assert await a.pool.fetchval("SELECT count(*) FROM archives") == 0


async def test_the_imported_ledger_as_the_new_server_keeps_it(make_instance):
    """The store functions a move's consent continuity uses: an imported authorization by its id,
    one more holder, and its revoke, once."""
    d = await make_instance("d")
    await d.signup("alice")
    key = Ed25519PrivateKey.generate()
    response = await d.api("alice", "POST", "/api/v1/imports/archive", **_upload(_zip(_members(key))))
    assert response.status_code == 200, response.text
    uri = f"{OWNER}/remix_authorizations/1"
    row = await fstore.imported_authorization(d.pool, uri)
    assert row["state"] == "live" and row["holders"] == ["https://b.example/inbox"]
    await fstore.add_imported_authorization_holder(d.pool, row["id"], "https://c.example/inbox")
    await fstore.add_imported_authorization_holder(d.pool, row["id"], "https://c.example/inbox")
    delete = {"type": "Delete", "object": {"id": uri}}
    assert await fstore.revoke_imported_authorization(d.pool, row["id"], delete)
    assert not await fstore.revoke_imported_authorization(d.pool, row["id"], delete)
    row = await fstore.imported_authorization(d.pool, uri)
    assert (row["state"], row["revocation"], row["holders"]) == (
        "revoked", delete, ["https://b.example/inbox", "https://c.example/inbox"])
    assert [r["request_uri"] for r in await fstore.imported_consent_records_of(d.pool, row["actor_id"])] \
        == ["https://b.example/requests/1"]
