"""The web app as the server serves it: one shell for every /app/... route, its files with their
content types and caching, and the plain profile and post pages that stay as they were for
crawlers and ActivityPub clients."""

from __future__ import annotations

import base64
import hashlib
import json
import re

from tests.videos import make_mp4, upload_video

AP = "application/activity+json"
LD = 'application/ld+json; profile="https://www.w3.org/ns/activitystreams"'
IMMUTABLE = "public, max-age=31536000, immutable"


def _import_map(html: str) -> tuple[str, dict]:
    raw = re.search(r'<script type="importmap">(.*?)</script>', html, re.S).group(1)
    return raw, json.loads(raw)


async def test_every_app_route_gets_the_shell(make_instance):
    a = await make_instance()
    async with a.client() as client:
        pages = [await client.get(path) for path in
                 ["/app", "/app/for-you", "/app/@alice/123", "/app/cameos/new", "/app/no/such/screen"]]
    for page in pages:
        assert page.status_code == 200
        assert page.headers["content-type"] == "text/html; charset=utf-8"
        assert page.headers["cache-control"] == "no-cache"
        assert page.text == pages[0].text
    raw, import_map = _import_map(pages[0].text)
    assert '<script type="module" src="/static/app/main.js?v=' in pages[0].text
    assert '<link rel="stylesheet" href="/static/app/app.css?v=' in pages[0].text
    # Every module is in the import map under its versioned address.
    assert {"/static/app/main.js", "/static/app/screens/feed.js", "/static/app/ui/reel.js"} \
        <= set(import_map["imports"])
    assert all(re.fullmatch(rf"{re.escape(path)}\?v=[0-9a-f]{{16}}", url)
               for path, url in import_map["imports"].items())
    # Scripts only from here, plus the import map by its hash; the API only on this origin.
    csp = pages[0].headers["content-security-policy"]
    digest = base64.b64encode(hashlib.sha256(raw.encode()).digest()).decode()
    assert f"script-src 'self' 'sha256-{digest}';" in csp
    assert "connect-src 'self'" in csp and "frame-ancestors 'none'" in csp and "object-src 'none'" in csp


async def test_files_have_their_types_and_are_cached_by_version(make_instance):
    a = await make_instance()
    async with a.client() as client:
        _, import_map = _import_map((await client.get("/app")).text)
        plain = await client.get("/static/app/main.js")
        versioned = await client.get(import_map["imports"]["/static/app/main.js"])
        stale = await client.get("/static/app/main.js?v=0123456789abcdef")
        again = await client.get("/static/app/main.js", headers={"If-None-Match": plain.headers["etag"]})
        head = await client.head("/static/app/screens/feed.js")
        css = await client.get("/static/app/app.css")
        avatar = await client.get("/static/avatar.png")
        refused = [await client.get(path) for path in
                   ["/static/app/../../webapp.py", "/static/%2e%2e/webapp.py", "/static/app/nothing.js"]]
        post = await client.post("/static/app/main.js")
    assert plain.status_code == 200 and plain.headers["content-type"] == "text/javascript; charset=utf-8"
    assert plain.headers["cache-control"] == "no-cache"
    assert plain.headers["x-content-type-options"] == "nosniff"
    assert "import" in plain.text
    # Asked for by its current hash, a file is kept for a year; by another, it is checked again.
    assert versioned.headers["cache-control"] == IMMUTABLE and versioned.content == plain.content
    assert stale.headers["cache-control"] == "no-cache"
    assert again.status_code == 304 and again.headers["cache-control"] == "no-cache"
    assert head.status_code == 200 and head.headers["content-type"] == "text/javascript; charset=utf-8"
    assert css.headers["content-type"] == "text/css; charset=utf-8"
    assert avatar.headers["content-type"] == "image/png"
    assert [r.status_code for r in refused] == [404, 404, 404]
    assert post.status_code == 405


async def _video_post(instance, user, tmp_path) -> dict:
    clip = make_mp4(tmp_path / "clip.mp4", width=90, height=160, seconds=0.5, fps=8)
    media = await upload_video(instance, user, clip)
    posted = await instance.api(user, "POST", "/api/v1/statuses",
                                json={"status": "hello", "media_ids": [media["id"]]})
    return posted.json()


async def test_profile_and_post_links_answer_activitypub_as_before(make_instance, tmp_path):
    a = await make_instance()
    await a.signup("alice")
    status = await _video_post(a, "alice", tmp_path)
    async with a.client() as client:
        actor = (await client.get("/users/alice", headers={"Accept": AP})).json()
        for accept in (AP, LD):
            profile = await client.get("/@alice", headers={"Accept": accept})
            assert profile.headers["content-type"].startswith(AP) and profile.json() == actor
            post = await client.get(f"/@alice/{status['id']}", headers={"Accept": accept})
            assert post.status_code == 303 and post.headers["location"] == status["uri"]
        note = (await client.get(status["uri"], headers={"Accept": AP})).json()
        # Browsers and crawlers still get the post itself without JavaScript, and a way in.
        profile_page = await client.get("/@alice", headers={"Accept": "text/html"})
        post_page = await client.get(f"/@alice/{status['id']}", headers={"Accept": "text/html"})
    assert note["type"] == "Note" and note["id"] == status["uri"]
    assert profile_page.headers["content-type"] == "text/html; charset=utf-8"
    assert 'href="/app/@alice"' in profile_page.text
    assert "<video" in post_page.text and "<p>hello</p>" in post_page.text
    # An uploaded video its poster did not declare AI-generated carries no AI label.
    assert '<span class="ai">' not in post_page.text
    assert f'href="/app/@alice/{status["id"]}"' in post_page.text
