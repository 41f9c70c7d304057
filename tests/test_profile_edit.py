"""Editing a profile over Mastodon's `PATCH /api/v1/accounts/update_credentials`: name, bio,
avatar and header, with Mastodon's limits; pictures checked, cropped and stripped of metadata;
any bad field changes nothing; the change reaches followers' servers as an `Update`; another
server's header is shown as its actor's `image` says."""

from __future__ import annotations

import io

from PIL import Image

from tests.conftest import eventually
from tests.test_delivery import _alice_with_remote_followers

PATH = "/api/v1/accounts/update_credentials"
AP = {"Accept": "application/activity+json"}


def _jpeg(size: tuple[int, int], color=(30, 120, 200)) -> bytes:
    image = Image.new("RGB", size, color)
    exif = Image.Exif()
    exif[0x8825] = {1: "N", 2: (52.0, 31.0, 0.0)}  # GPSInfo
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", exif=exif)
    return buffer.getvalue()


def _png(size: tuple[int, int]) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGBA", size, (200, 50, 50, 255)).save(buffer, "PNG")
    return buffer.getvalue()


def _image_of(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def _profile_files(a) -> set[str]:
    """The stored files of profile pictures."""
    return {str(p) for p in (a.instance.settings.media_dir / "profiles").rglob("*") if p.is_file()}


async def test_edit_name_bio_avatar_and_header(make_instance, peer):
    a = await make_instance()
    await _alice_with_remote_followers(a, peer, names=("mallory",))
    edited = await a.api("alice", "PATCH", PATH, data={"display_name": "Alice Liddell",
                                                       "note": "Down the #rabbit hole\nand back"},
                         files={"avatar": ("a.jpg", _jpeg((800, 600)), "image/jpeg"),
                                "header": ("h.png", _png((3000, 1200)), "image/png")})
    assert edited.status_code == 200, edited.text
    account = edited.json()
    assert account["display_name"] == "Alice Liddell"
    assert "Down the" in account["note"] and f"{a.base_url}/tags/rabbit" in account["note"]
    assert account["avatar"].startswith(f"{a.base_url}/media/profiles/")
    assert account["avatar"].endswith(".webp")
    assert account["header"].startswith(f"{a.base_url}/media/profiles/")
    assert (account["avatar_static"], account["header_static"]) == (account["avatar"], account["header"])
    # Cropped from the middle to Mastodon's sizes, re-encoded without the photo's metadata.
    async with a.client() as client:
        avatar = await client.get(account["avatar"])
        header = await client.get(account["header"])
        actor = (await client.get(f"{a.base_url}/users/alice", headers=AP)).json()
    assert avatar.status_code == 200 and avatar.headers["content-type"] == "image/webp"
    assert _image_of(avatar.content).size == (400, 400) and not _image_of(avatar.content).getexif()
    assert _image_of(header.content).size == (1500, 500)
    assert actor["icon"]["url"] == account["avatar"] and actor["image"]["url"] == account["header"]
    assert actor["name"] == "Alice Liddell"
    # Others see it; followers' servers are told.
    me = (await a.api("alice", "GET", "/api/v1/accounts/verify_credentials")).json()
    assert (me["avatar"], me["header"], me["display_name"]) == (
        account["avatar"], account["header"], "Alice Liddell")

    async def updated() -> list:
        return [x for x in peer.received if x["type"] == "Update"
                and x["object"].get("icon", {}).get("url") == account["avatar"]]

    update = (await eventually(updated))[-1]
    assert update["object"]["image"]["url"] == account["header"]
    assert update["object"]["name"] == "Alice Liddell"

    # A new avatar replaces the old file; the header and the name stay as they are.
    before = _profile_files(a)
    again = await a.api("alice", "PATCH", PATH, files={"avatar": ("b.png", _png((100, 100)), "image/png")})
    assert again.status_code == 200, again.text
    assert again.json()["header"] == account["header"] and again.json()["display_name"] == "Alice Liddell"
    after = _profile_files(a)
    assert len(after) == 2 and len(before - after) == 1
    async with a.client() as client:
        assert (await client.get(account["avatar"])).status_code == 404
        small = await client.get(again.json()["avatar"])
    assert _image_of(small.content).size == (400, 400)  # as Mastodon's `400x400#`, made larger


async def test_bad_profile_input_changes_nothing(make_instance):
    a = await make_instance()
    await a.signup("bob")
    first = await a.api("bob", "PATCH", PATH, data={"display_name": "Bob", "note": "hi"},
                        files={"avatar": ("a.png", _png((50, 50)), "image/png")})
    assert first.status_code == 200, first.text
    kept = first.json()
    files = _profile_files(a)
    good = ("h.jpg", _jpeg((1500, 500)), "image/jpeg")
    for why, request in [
        ("display_name over 30", {"data": {"display_name": "x" * 31}}),
        ("note over 500", {"data": {"note": "x" * 501}}),
        ("display_name not text", {"json": {"display_name": 5}}),
        ("note not text", {"json": {"note": ["a"]}}),
        ("avatar not a file", {"data": {"avatar": "https://example.com/me.png", "display_name": "New"}}),
        ("avatar not an image", {"files": {"avatar": ("a.png", b"not an image at all", "image/png"),
                                           "header": good}}),
        ("header cut off", {"data": {"display_name": "New"},
                            "files": {"avatar": ("a.png", _png((60, 60)), "image/png"),
                                      "header": ("h.jpg", _jpeg((600, 200))[:300], "image/jpeg")}}),
        ("header a video", {"files": {"header": ("h.mp4", b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 64,
                                                 "video/mp4")}}),
    ]:
        refused = await a.api("bob", "PATCH", PATH, **request)
        assert refused.status_code == 422, (why, refused.text)
        assert refused.json()["error"], why
    too_large = await a.api("bob", "PATCH", PATH, content=b"x" * (17 * 1024 * 1024),
                            headers={"Content-Type": "multipart/form-data; boundary=b"})
    assert too_large.status_code == 413, too_large.text
    now = (await a.api("bob", "GET", "/api/v1/accounts/verify_credentials")).json()
    assert {k: now[k] for k in ("display_name", "note", "avatar", "header")} == {
        k: kept[k] for k in ("display_name", "note", "avatar", "header")}
    assert _profile_files(a) == files
    # Exactly at the limits is fine.
    edge = await a.api("bob", "PATCH", PATH, data={"display_name": "y" * 30, "note": "z" * 500})
    assert edge.status_code == 200 and edge.json()["display_name"] == "y" * 30
    # Without a token, nothing.
    assert (await a.api(None, "PATCH", PATH, data={"display_name": "Mallory"})).status_code == 401


async def test_default_avatar_is_large_and_remote_headers_are_shown(make_instance, peer):
    a = await make_instance()
    await a.signup("carol")
    async with a.client() as client:
        default = await client.get("/static/avatar.png")
    # Mastodon's missing.png is 400x400: crisp in the largest place an app shows an avatar.
    assert _image_of(default.content).size == (400, 400)
    peer.add_actor("mallory")
    peer.actor_extras["mallory"] = {"icon": {"type": "Image", "url": f"{peer.base}/a.png"},
                                    "image": {"type": "Image", "url": f"{peer.base}/h.png"}}
    found = await a.api("carol", "GET", "/api/v2/search",
                        params={"q": f"{peer.actor_id('mallory')}", "resolve": "true"})
    assert found.status_code == 200, found.text
    [account] = found.json()["accounts"]
    assert (account["avatar"], account["header"]) == (f"{peer.base}/a.png", f"{peer.base}/h.png")
