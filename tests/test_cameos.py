"""Cameos over the API: references validated and stripped of metadata, never public; the
permission rules; the public Cameo object; edits, pauses and deletes."""

from __future__ import annotations

import io
from urllib.parse import quote

from PIL import Image

AP = "application/activity+json"


def _jpeg(color=(200, 80, 40), *, gps: bool = False, size=(64, 48)) -> bytes:
    image = Image.new("RGB", size, color)
    buffer = io.BytesIO()
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    if gps:
        exif[0x8825] = {1: "N", 2: (52.0, 31.0, 0.0)}  # GPSInfo
    image.save(buffer, "JPEG", exif=exif)
    return buffer.getvalue()


def _png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGBA", (32, 32), (0, 0, 255, 128)).save(buffer, "PNG")
    return buffer.getvalue()


def _form(name="Me", references=None, preview=None, **fields):
    files = [("references", (f"r{n}.jpg", data, "image/jpeg"))
             for n, data in enumerate(references if references is not None else [_jpeg(gps=True)])]
    if preview is not False:
        files.append(("preview", ("p.png", preview or _png(), "image/png")))
    data = {"name": name, **fields} if name is not None else fields
    return {"data": data, "files": files}


async def _create(a, user, **kwargs):
    return await a.api(user, "POST", "/api/v1/cameos", **_form(**kwargs))


async def test_create_list_and_public_object(make_instance):
    a = await make_instance()
    await a.signup("alice")
    response = await _create(a, "alice", name="Alice", instructions="always wearing a hat",
                             references=[_jpeg(gps=True), _jpeg((10, 10, 10))],
                             permission="followers", approval="manual")
    assert response.status_code == 201, response.text
    cameo = response.json()
    assert (cameo["name"], cameo["references"], cameo["permission"]) == ("Alice", 2, "followers")
    assert [c["id"] for c in (await a.api("alice", "GET", "/api/v1/cameos")).json()] == [cameo["id"]]

    async with a.client() as client:
        public = await client.get(cameo["uri"], headers={"Accept": AP})
        preview = await client.get(cameo["preview_url"])
    doc = public.json()
    assert public.headers["content-type"].startswith(AP)
    assert (doc["type"], doc["attributedTo"], doc["summary"]) == (
        "Cameo", f"{a.base_url}/users/alice", "always wearing a hat")
    assert doc["interactionPolicy"]["canRemix"] == {
        "automaticApproval": [f"{a.base_url}/users/alice"],
        "manualApproval": [f"{a.base_url}/users/alice/followers"]}
    assert preview.status_code == 200 and preview.headers["content-type"] == "image/png"
    assert doc["icon"]["url"] == cameo["preview_url"]
    # The Cameo names where its references are, never what they are: those answer only a signed
    # fetch by a live authorization's holder.
    assert doc["references"] == [f"{cameo['uri']}/references/0", f"{cameo['uri']}/references/1"]
    async with a.client() as client:
        for url in doc["references"]:
            assert (await client.get(url)).status_code == 403

    # References are stored without metadata and are not under /media/.
    rows = await a.pool.fetch("SELECT storage_key FROM cameo_references ORDER BY position")
    for row in rows:
        path = a.instance.media.path(row["storage_key"])
        with Image.open(path) as image:
            assert not image.getexif()
        async with a.client() as client:
            assert (await client.get(f"/media/{row['storage_key']}")).status_code == 404


async def test_bad_cameo_input_leaves_nothing(make_instance, tmp_path):
    a = await make_instance()
    await a.signup("alice")
    cases = [
        ({"references": []}, 422, "1 to 5"),
        ({"references": [_jpeg()] * 6}, 422, "1 to 5"),
        ({"references": [b"<html>not an image</html>"]}, 422, "reference 1"),
        ({"references": [_jpeg(), b"GIF89a..."]}, 422, "reference 2"),
        ({"preview": False}, 422, "preview"),
        ({"name": None}, 422, "name"),
        ({"name": "   "}, 422, "name"),
        ({"name": "x" * 101}, 422, "name"),
        ({"name": "bad\x00name"}, 400, "name contains a NUL byte"),
        ({"permission": "anyone"}, 422, "permission"),
        ({"approval": "sometimes"}, 422, "approval"),
    ]
    for kwargs, status, words in cases:
        response = await _create(a, "alice", **kwargs)
        assert response.status_code == status, (kwargs, response.text)
        assert words in response.json()["error"], response.json()
    assert (await _create(a, None)).status_code == 401
    assert await a.pool.fetchval("SELECT count(*) FROM cameos") == 0
    files = [p for p in (a.instance.settings.media_dir).rglob("*") if p.is_file()] \
        if a.instance.settings.media_dir.exists() else []
    assert files == []
    assert not any((a.instance.settings.data_dir / "tmp").glob("*"))


async def test_public_figures_cannot_open_to_everyone(make_instance):
    a = await make_instance()
    await a.signup("alice")
    await a.pool.execute("UPDATE actors SET public_figure = true WHERE username = 'alice'")
    refused = await _create(a, "alice", permission="everyone", approval="automatic")
    assert refused.status_code == 422 and "public figure" in refused.json()["error"]
    default = await _create(a, "alice")
    assert default.json()["approval"] == "manual"
    patch = await a.api("alice", "PATCH", f"/api/v1/cameos/{default.json()['id']}",
                        json={"permission": "everyone", "approval": "automatic"})
    assert patch.status_code == 422


async def test_edit_pause_approved_list_and_delete(make_instance):
    a = await make_instance()
    await a.signup("alice")
    await a.signup("bob")
    bob_id = (await a.api("alice", "GET", "/api/v1/accounts/lookup", params={"acct": "bob"})).json()["id"]
    cameo = (await _create(a, "alice")).json()
    path = f"/api/v1/cameos/{cameo['id']}"
    edited = await a.api("alice", "PATCH", path, json={
        "name": "Alice (hat)", "permission": "approved", "approved_account_ids": [bob_id],
        "paused": True})
    assert edited.status_code == 200, edited.text
    body = edited.json()
    assert (body["name"], body["paused"]) == ("Alice (hat)", True)
    assert [x["id"] for x in body["approved_accounts"]] == [bob_id]
    async with a.client() as client:
        doc = (await client.get(cameo["uri"], headers={"Accept": AP})).json()
    assert doc["interactionPolicy"]["canRemix"]["automaticApproval"][1] == f"{a.base_url}/users/bob"
    for bad in ({"approved_account_ids": ["999999"]}, {"approved_account_ids": "bob"},
                {"paused": "maybe"}, {"name": ""}, {"permission": "followers",
                                                    "approved_account_ids": [bob_id]}):
        response = await a.api("alice", "PATCH", path, json=bad)
        assert response.status_code == 422, (bad, response.text)
    # Leaving the "approved" level empties the list.
    back = await a.api("alice", "PATCH", path, json={"permission": "followers"})
    assert back.json()["approved_accounts"] == []
    # Others cannot see or change it.
    assert (await a.api("bob", "GET", path)).status_code == 404
    assert (await a.api("bob", "DELETE", path)).status_code == 404

    keys = [r["storage_key"] for r in await a.pool.fetch("SELECT storage_key FROM cameo_references")]
    keys.append(await a.pool.fetchval("SELECT preview_key FROM cameos"))
    assert all(a.instance.media.path(k).exists() for k in keys)
    assert (await a.api("alice", "DELETE", path)).status_code == 200
    # The references and the preview: no file of the face is left.
    assert not any(a.instance.media.path(k).exists() for k in keys)
    async with a.client() as client:
        gone = await client.get(cameo["uri"], headers={"Accept": AP})
        preview = await client.get(cameo["preview_url"])
    assert gone.status_code == 410 and gone.json()["type"] == "Tombstone"
    assert preview.status_code == 410
    assert (await a.api("alice", "GET", path)).status_code == 404


async def test_cameo_link_is_a_page_in_a_browser(make_instance):
    """A cameo's id answers a browser with a page (whose it is, its name and instructions, a way
    into the app) and ActivityPub with the Cameo; one hidden from the asker is not found in either
    form, and a deleted one is gone in both."""
    a = await make_instance()
    await a.signup("alice")
    cameo = (await _create(a, "alice", name="Alice <3", instructions="hat & scarf",
                           permission="followers")).json()
    hidden = (await _create(a, "alice", name="Secret", permission="only_me")).json()
    html = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}
    ld = {"Accept": 'application/ld+json; profile="https://www.w3.org/ns/activitystreams"'}
    async with a.client() as client:
        shown = await client.get(cameo["uri"], headers=html)
        as_activity = await client.get(cameo["uri"], headers={"Accept": AP})
        as_ld = await client.get(cameo["uri"], headers=ld)
        hidden_answers = [await client.get(hidden["uri"], headers=h) for h in (html, {"Accept": AP}, ld)]
        unknown = await client.get(f"{a.base_url}/users/alice/cameos/999999", headers=html)
    assert shown.status_code == 200 and shown.headers["content-type"].startswith("text/html")
    assert shown.headers["vary"] == "Accept" and as_activity.headers["vary"] == "Accept"
    page = shown.text
    assert "<h1>Alice &lt;3</h1>" in page and "hat &amp; scarf" in page
    assert '<a href="/@alice">alice</a> (@alice)' in page
    assert f'<img src="{cameo["preview_url"]}"' in page
    assert f'href="/app/compose?cameo={quote(cameo["uri"], safe="")}"' in page
    assert 'href="/app/@alice">Open in the app' in page
    for answer in (as_activity, as_ld):
        assert answer.status_code == 200 and answer.headers["content-type"].startswith(AP)
        assert (answer.json()["type"], answer.json()["name"]) == ("Cameo", "Alice <3")
    assert [r.status_code for r in hidden_answers] == [404, 404, 404]
    assert hidden_answers[0].headers["content-type"].startswith("text/html")
    assert "Secret" not in hidden_answers[0].text
    assert unknown.status_code == 404 and unknown.headers["content-type"].startswith("text/html")

    assert (await a.api("alice", "DELETE", f"/api/v1/cameos/{cameo['id']}")).status_code == 200
    async with a.client() as client:
        gone = await client.get(cameo["uri"], headers=html)
        tombstone = await client.get(cameo["uri"], headers={"Accept": AP})
    assert gone.status_code == 410 and "Alice" not in gone.text
    assert tombstone.status_code == 410 and tombstone.json()["type"] == "Tombstone"
