"""Posting over the client API: uploads, visibility, replies, likes, boosts, deletes, paging,
and every bad input refused without a trace."""

from __future__ import annotations

from tests.videos import make_mp4, upload_video

AP = "application/activity+json"


async def _upload(instance, user, name, content, content_type="video/mp4"):
    return await instance.api(user, "POST", "/api/v2/media",
                              files={"file": (name, content, content_type)})


async def test_upload_refusals(make_instance, tmp_path):
    a = await make_instance(max_upload_bytes=200_000)
    await a.signup("alice")
    fake = b"<html><script>alert(1)</script></html>"
    cases = [
        (await _upload(a, "alice", "x.mp4", fake), 422, "not an MP4"),
        (await _upload(a, "alice", "x.mp4", make_mp4(tmp_path / "v.mp4").read_bytes()[:3000]),
         422, "video"),
        (await _upload(a, "alice", "big.mp4", b"\0" * 300_000), 413, "larger"),
        (await a.api("alice", "POST", "/api/v2/media", data={"description": "no file"}), 422,
         "file"),
        (await _upload(a, None, "x.mp4", make_mp4(tmp_path / "w.mp4").read_bytes()), 401, ""),
    ]
    for response, status, words in cases:
        assert response.status_code == status, response.text
        assert words in response.json()["error"]
    assert await a.pool.fetchval("SELECT count(*) FROM media") == 0
    assert not any((tmp_path / "a" / "media").rglob("*.mp4"))


async def test_upload_sniffs_type_and_post_shape(make_instance, tmp_path):
    a = await make_instance()
    await a.signup("alice")
    # No Content-Type on the part: the file is sniffed, not refused.
    media = await upload_video(a, "alice", make_mp4(tmp_path / "v.mp4"), name="clip",
                               content_type="application/octet-stream")
    assert media["type"] == "video" and media["meta"]["original"]["duration"] > 0.9
    # Signed for its owner while in no post (test_media_privacy).
    assert media["blurhash"] and media["preview_url"].partition("?")[0].endswith(".jpg")
    posted = await a.api("alice", "POST", "/api/v1/statuses", json={
        "status": "look #Cats", "media_ids": [media["id"]], "visibility": "unlisted"})
    assert posted.status_code == 200, posted.text
    status = posted.json()
    async with a.client() as client:
        note = (await client.get(status["uri"], headers={"Accept": AP})).json()
    assert note["type"] == "Note"
    video = note["attachment"][0]
    assert video["type"] == "Video" and video["mediaType"] == "video/mp4"
    assert {"url", "width", "height", "duration", "blurhash", "focalPoint", "icon"} <= set(video)
    assert video["icon"]["mediaType"] == "image/jpeg"
    # An uploaded video is a camera's as far as this server knows: no AI label, no generator.
    assert status["ai_generated"] is False
    assert "aiGenerated" not in note and "generator" not in note
    assert not any(t["type"] == "Label" for t in note["tag"])
    assert any(t["type"] == "Hashtag" and t["name"] == "#cats" for t in note["tag"])
    assert "https://www.w3.org/ns/activitystreams#Public" in note["cc"]
    # A media id cannot be used twice.
    again = await a.api("alice", "POST", "/api/v1/statuses", json={"media_ids": [media["id"]]})
    assert again.status_code == 422


async def test_a_poster_may_declare_an_upload_ai_generated(make_instance, tmp_path):
    a = await make_instance()
    await a.signup("alice")
    media = await upload_video(a, "alice", make_mp4(tmp_path / "v.mp4"))
    posted = await a.api("alice", "POST", "/api/v1/statuses", data={
        "status": "made elsewhere", "media_ids[]": media["id"], "ai_generated": "true"})
    assert posted.status_code == 200, posted.text
    status = posted.json()
    assert status["ai_generated"] is True
    async with a.client() as client:
        note = (await client.get(status["uri"], headers={"Accept": AP})).json()
    assert note["aiGenerated"] is True
    assert [t for t in note["tag"] if t["type"] == "Label"] == [{
        "type": "Label", "name": "AI-generated", "summary": "This media was made by an AI model."}]
    # Declared, not rendered here: no model is named.
    assert "generator" not in note
    # A declaration that is neither true nor false is refused, and nothing is posted.
    media = await upload_video(a, "alice", make_mp4(tmp_path / "w.mp4"))
    before = await a.pool.fetchval("SELECT count(*) FROM posts")
    refused = await a.api("alice", "POST", "/api/v1/statuses", json={
        "status": "x", "media_ids": [media["id"]], "ai_generated": "maybe"})
    assert refused.status_code == 400 and "ai_generated" in refused.json()["error"]
    assert await a.pool.fetchval("SELECT count(*) FROM posts") == before


async def test_bad_statuses_are_refused(make_instance):
    a = await make_instance()
    await a.signup("alice")
    await a.signup("bob")
    bobs = (await a.api("bob", "POST", "/api/v1/statuses", json={"status": "bob's"})).json()
    before = await a.pool.fetchval("SELECT count(*) FROM posts")
    cases = [
        ({"status": ""}, 422), ({"status": "x" * 5001}, 422), ({"status": 5}, 422),
        ({"status": "hi", "visibility": "everyone"}, 422),
        ({"status": "hi", "media_ids": ["abc"]}, 422), ({"status": "hi", "media_ids": ["999"]}, 422),
        ({"status": "hi", "in_reply_to_id": "424242"}, 404),
        ({"status": "hi", "media_ids": ["1", "2", "3", "4", "5"]}, 422),
    ]
    for body, status in cases:
        response = await a.api("alice", "POST", "/api/v1/statuses", json=body)
        assert response.status_code == status, (body, response.text)
        assert response.json()["error"]
    assert (await a.api("alice", "DELETE", f"/api/v1/statuses/{bobs['id']}")).status_code == 403
    assert (await a.api("alice", "GET", "/api/v1/statuses/nope")).status_code == 404
    assert await a.pool.fetchval("SELECT count(*) FROM posts") == before


async def test_visibility_and_local_interactions(make_instance):
    a = await make_instance()
    await a.signup("alice")
    await a.signup("bob")
    alice_id = (await a.api("bob", "GET", "/api/v1/accounts/lookup",
                            params={"acct": "alice"})).json()["id"]
    private = (await a.api("alice", "POST", "/api/v1/statuses",
                           json={"status": "friends only", "visibility": "private"})).json()
    assert private["visibility"] == "private"
    # Not fetchable by ActivityPub, not visible to a non-follower.
    async with a.client() as client:
        assert (await client.get(private["uri"], headers={"Accept": AP})).status_code == 404
    assert (await a.api("bob", "GET", f"/api/v1/statuses/{private['id']}")).status_code == 404
    followed = await a.api("bob", "POST", f"/api/v1/accounts/{alice_id}/follow")
    assert followed.json()["following"] is True
    assert (await a.api("bob", "GET", f"/api/v1/statuses/{private['id']}")).status_code == 200
    home = (await a.api("bob", "GET", "/api/v1/timelines/home")).json()
    assert [s["id"] for s in home] == [private["id"]]
    # Private posts cannot be boosted; public ones can, once.
    assert (await a.api("bob", "POST", f"/api/v1/statuses/{private['id']}/reblog")).status_code == 422
    public = (await a.api("alice", "POST", "/api/v1/statuses", json={"status": "all"})).json()
    boost = await a.api("bob", "POST", f"/api/v1/statuses/{public['id']}/reblog")
    assert boost.status_code == 200 and boost.json()["reblog"]["id"] == public["id"]
    await a.api("bob", "POST", f"/api/v1/statuses/{public['id']}/reblog")
    liked = await a.api("bob", "POST", f"/api/v1/statuses/{public['id']}/favourite")
    assert liked.json()["favourites_count"] == 1 and liked.json()["reblogs_count"] == 1
    notes = (await a.api("alice", "GET", "/api/v1/notifications")).json()
    assert {"follow", "reblog", "favourite"} <= {n["type"] for n in notes}
    # Clients name the types they can show, or the ones they cannot; paging is Mastodon's.
    only = await a.api("alice", "GET", "/api/v1/notifications", params={"types[]": ["follow", "reblog"]})
    assert sorted(n["type"] for n in only.json()) == ["follow", "reblog"]
    without = await a.api("alice", "GET", "/api/v1/notifications", params={"exclude_types[]": "follow"})
    assert "follow" not in {n["type"] for n in without.json()} and len(without.json()) == len(notes) - 1
    newer = await a.api("alice", "GET", "/api/v1/notifications", params={"min_id": notes[-1]["id"]})
    assert [n["id"] for n in newer.json()] == [n["id"] for n in notes[:-1]]
    unliked = await a.api("bob", "POST", f"/api/v1/statuses/{public['id']}/unfavourite")
    assert unliked.json()["favourites_count"] == 0
    # Deleted posts answer 410 to ActivityPub fetches.
    await a.api("alice", "DELETE", f"/api/v1/statuses/{public['id']}")
    async with a.client() as client:
        assert (await client.get(public["uri"], headers={"Accept": AP})).status_code == 410


async def test_timeline_paging(make_instance):
    a = await make_instance()
    await a.signup("alice")
    ids = []
    for n in range(5):
        ids.append((await a.api("alice", "POST", "/api/v1/statuses",
                                json={"status": f"n{n}"})).json()["id"])
    first = await a.api("alice", "GET", "/api/v1/timelines/home", params={"limit": 2})
    assert [s["id"] for s in first.json()] == ids[:-3:-1]
    assert 'rel="next"' in first.headers["link"]
    older = await a.api("alice", "GET", "/api/v1/timelines/home",
                        params={"limit": 2, "max_id": first.json()[-1]["id"]})
    assert [s["id"] for s in older.json()] == [ids[2], ids[1]]
    newer = await a.api("alice", "GET", "/api/v1/timelines/home",
                        params={"limit": 2, "min_id": ids[0]})
    assert [s["id"] for s in newer.json()] == [ids[2], ids[1]]
    since = await a.api("alice", "GET", "/api/v1/timelines/home",
                        params={"limit": 2, "since_id": ids[0]})
    assert [s["id"] for s in since.json()] == [ids[4], ids[3]]
    for params in ({"limit": "x"}, {"limit": 0}, {"max_id": "-1"}):
        assert (await a.api("alice", "GET", "/api/v1/timelines/home",
                            params=params)).status_code == 400


async def test_search_finds_hashtags_only_of_posts_others_may_see(make_instance):
    """`GET /api/v2/search` with a word or `#word`: Mastodon's Tag entities for the tags that begin
    with it, the most used first; a tag used only in a private post is not found."""
    a = await make_instance()
    for user in ("alice", "mallory"):
        await a.signup(user)
    for text, visibility in [("#raincoat walk", "public"), ("#rain again #Rain", "public"),
                             ("more #rain", "public"), ("#rainsecret plans", "private"),
                             ("#rainquiet", "unlisted"), ("#sunny", "public")]:
        posted = await a.api("alice", "POST", "/api/v1/statuses",
                             json={"status": text, "visibility": visibility})
        assert posted.status_code == 200, posted.text

    async def hashtags(query: str, user: str | None = "mallory") -> list[dict]:
        found = await a.api(user, "GET", "/api/v2/search", params={"q": query})
        assert found.status_code == 200, found.text
        return found.json()["hashtags"]

    assert await hashtags("#RAIN") == [
        {"name": "rain", "url": f"{a.base_url}/tags/rain", "history": []},
        {"name": "raincoat", "url": f"{a.base_url}/tags/raincoat", "history": []}]
    assert [t["name"] for t in await hashtags("rainc", None)] == ["raincoat"]
    assert await hashtags("rainsecret") == await hashtags("rainquiet") == []
    # Not one hashtag: a handle, a link, two words, a bare `#`, LIKE's wildcards.
    for query in ("@rain@example.org", "https://example.org/tags/rain", "rain coat", "#", "%", "r_in"):
        assert await hashtags(query) == [], query
