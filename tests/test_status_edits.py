"""Editing posts as Mastodon does (PUT /api/v1/statuses/:id, its history and source), what an
edit may not change, and incoming Updates that are not the author's or come forwarded."""

from __future__ import annotations

from typing import Any

from tests.conftest import eventually
from tests.test_remix_posts import _published_remix
from tests.videos import make_mp4, upload_video

AP = "application/activity+json"


async def _post(instance, username: str, **fields: Any) -> dict[str, Any]:
    response = await instance.api(username, "POST", "/api/v1/statuses", json=fields)
    assert response.status_code == 200, response.text
    return response.json()


async def _edit(instance, username: str, status_id: str, **fields: Any):
    return await instance.api(username, "PUT", f"/api/v1/statuses/{status_id}", json=fields)


async def _history(instance, username: str | None, status_id: str) -> list[dict[str, Any]]:
    response = await instance.api(username, "GET", f"/api/v1/statuses/{status_id}/history")
    assert response.status_code == 200, response.text
    return response.json()


async def _updates_sent(instance) -> int:
    return await instance.pool.fetchval("SELECT count(*) FROM outbox_activities WHERE type = 'Update'")


async def test_history_source_and_edited_at(make_instance):
    a = await make_instance("a")
    await a.signup("alice")
    post = await _post(a, "alice", status="one #first")
    assert post["edited_at"] is None
    # Never edited: the history is the post itself.
    [original] = await _history(a, None, post["id"])
    assert "one" in original["content"] and original["created_at"] == post["created_at"]
    assert original["account"]["username"] == "alice"

    response = await _edit(a, "alice", post["id"], status="two #second", spoiler_text="careful")
    assert response.status_code == 200, response.text
    edited = response.json()
    assert "two" in edited["content"] and edited["spoiler_text"] == "careful" and edited["edited_at"]
    assert [t["name"] for t in edited["tags"]] == ["second"]
    response = await _edit(a, "alice", post["id"], status="three", sensitive=True)
    assert response.status_code == 200, response.text
    # The same again changes nothing a reader sees: no new version.
    response = await _edit(a, "alice", post["id"], status="three", sensitive=True)
    assert response.status_code == 200, response.text

    history = await _history(a, None, post["id"])
    assert [v["content"].split()[0] for v in history] == ["<p>one", "<p>two", "<p>three</p>"]
    assert [v["spoiler_text"] for v in history] == ["", "careful", "careful"]
    assert [v["sensitive"] for v in history] == [False, False, True]
    assert history[0]["created_at"] == post["created_at"]
    assert history[-1]["created_at"] == (await a.api("alice", "GET", f"/api/v1/statuses/{post['id']}")
                                         ).json()["edited_at"]
    source = (await a.api("alice", "GET", f"/api/v1/statuses/{post['id']}/source")).json()
    assert source == {"id": post["id"], "text": "three", "spoiler_text": "careful"}
    assert await _updates_sent(a) == 2


async def test_only_the_author_edits_and_bad_edits_change_nothing(make_instance, tmp_path):
    a = await make_instance("a")
    await a.signup("alice")
    await a.signup("bob")
    post = await _post(a, "alice", status="as written")
    # Someone else's post is not theirs to edit or to read the source of (Mastodon: 404).
    assert (await _edit(a, "bob", post["id"], status="hijacked")).status_code == 404
    assert (await a.api("bob", "GET", f"/api/v1/statuses/{post['id']}/source")).status_code == 404
    assert (await _edit(a, "alice", "999999", status="nothing")).status_code == 404
    assert (await a.api(None, "PUT", f"/api/v1/statuses/{post['id']}", json={"status": "x"})
            ).status_code == 401
    media = await upload_video(a, "bob", make_mp4(tmp_path / "bob.mp4"))
    bad = [
        {"status": "x" * 5001},
        {"status": "   "},
        {"status": 5},
        {"status": "fine", "language": "not a language"},
        {"status": "fine", "media_ids": ["999999"]},
        {"status": "fine", "media_ids": [media["id"]]},  # bob's upload
        {"status": "fine", "media_ids": ["1", "2", "3", "4", "5"]},
        {"status": "fine", "media_attributes": [{"description": "no id"}]},
        {"status": "fine", "media_attributes": [{"id": media["id"], "description": "not in it"}]},
    ]
    for fields in bad:
        response = await _edit(a, "alice", post["id"], **fields)
        assert response.status_code == 422, (fields, response.text)
        assert response.json()["error"]
    shown = (await a.api("alice", "GET", f"/api/v1/statuses/{post['id']}")).json()
    assert "as written" in shown["content"] and shown["edited_at"] is None
    assert len(await _history(a, "alice", post["id"])) == 1
    assert await _updates_sent(a) == 0


async def test_editing_media_and_their_descriptions(make_instance, tmp_path):
    a = await make_instance("a")
    await a.signup("alice")
    first = await upload_video(a, "alice", make_mp4(tmp_path / "first.mp4"), description="before")
    post = await _post(a, "alice", status="with a clip", media_ids=[first["id"]])
    # A client that sends no media_ids keeps the media; media_attributes change their descriptions.
    response = await _edit(a, "alice", post["id"], status="with a described clip",
                           media_attributes=[{"id": first["id"], "description": "after",
                                              "focus": "0.5,-0.5"}])
    assert response.status_code == 200, response.text
    [attachment] = response.json()["media_attachments"]
    assert attachment["description"] == "after" and attachment["meta"]["focus"] == {"x": 0.5, "y": -0.5}
    second = await upload_video(a, "alice", make_mp4(tmp_path / "second.mp4"))
    response = await _edit(a, "alice", post["id"], status="another clip", media_ids=[second["id"]])
    assert response.status_code == 200, response.text
    assert [m["id"] for m in response.json()["media_attachments"]] == [second["id"]]
    history = await _history(a, "alice", post["id"])
    assert [[m["description"] for m in v["media_attachments"]] for v in history] == [
        ["before"], ["after"], [None]]
    # Text-less with no media is refused; without text but with media is a post.
    assert (await _edit(a, "alice", post["id"], status="", media_ids=[])).status_code == 422
    assert (await _edit(a, "alice", post["id"], status="")).status_code == 200


async def test_a_remix_keeps_its_video_and_prompt(make_instance, tmp_path):
    a, b = await make_instance("a"), await make_instance("b")
    await a.signup("alice")
    await b.signup("bob")
    _, published = await _published_remix(a, b)
    post_id = published["post_uri"].rsplit("/", 1)[1]
    shown = (await b.api("bob", "GET", f"/api/v1/statuses/{post_id}")).json()
    [video] = shown["media_attachments"]
    other = await upload_video(b, "bob", make_mp4(tmp_path / "other.mp4"))
    for fields in ({"status": "new video", "media_ids": [other["id"]]},
                   {"status": "no video", "media_ids": []},
                   {"status": "new prompt", "prompt": "alice somewhere else"}):
        response = await _edit(b, "bob", post_id, **fields)
        assert response.status_code == 422, (fields, response.text)
        assert "consent" in response.json()["error"]
    after = (await b.api("bob", "GET", f"/api/v1/statuses/{post_id}")).json()
    assert after["content"] == shown["content"] and after["edited_at"] is None
    # The caption and flags may change; the same video, named, is no change of media.
    response = await _edit(b, "bob", post_id, status="a better caption", sensitive=True,
                           media_ids=[video["id"]])
    assert response.status_code == 200, response.text
    edited = response.json()
    assert "a better caption" in edited["content"] and edited["sensitive"] is True
    assert [m["id"] for m in edited["media_attachments"]] == [video["id"]]
    assert edited["cameos"] == shown["cameos"]


async def test_updates_from_others_and_forwarded_ones(make_instance, peer):
    a, b = await make_instance("a"), await make_instance("b")
    await a.signup("alice")
    await b.signup("dave")
    post = await _post(a, "alice", status="the original")
    found = (await b.api("dave", "GET", "/api/v2/search",
                         params={"q": post["uri"], "resolve": "true"})).json()["statuses"]
    held_id = found[0]["id"]
    response = await _edit(a, "alice", post["id"], status="the edit")
    assert response.status_code == 200, response.text
    peer.add_actor("mallory")
    alice_uri = f"{a.base_url}/users/alice"
    forged = {"id": post["uri"], "type": "Note", "attributedTo": alice_uri, "content": "forged",
              "to": ["https://www.w3.org/ns/activitystreams#Public"], "updated": "2099-01-01T00:00:00Z"}
    # An Update of alice's post in mallory's own name is refused at the door.
    update = {"@context": "https://www.w3.org/ns/activitystreams", "id": f"{peer.base}/u/1",
              "type": "Update", "actor": peer.actor_id("mallory"), "object": forged}
    assert (await peer.post("mallory", f"{b.base_url}/inbox", update)).status_code == 403
    # Forwarded by mallory in alice's name with no proof: B asks A, and keeps A's version.
    forwarded = {**update, "id": f"{a.base_url}/users/alice#forwarded-update", "actor": alice_uri}
    assert (await peer.post("mallory", f"{b.base_url}/inbox", forwarded)).status_code == 202

    async def edited_on_b() -> dict[str, Any] | None:
        shown = (await b.api("dave", "GET", f"/api/v1/statuses/{held_id}")).json()
        return shown if shown["edited_at"] else None

    shown = await eventually(edited_on_b)
    assert "the edit" in shown["content"] and "forged" not in shown["content"]
    assert len(await _history(b, "dave", held_id)) == 2
    # A forwarded Delete of a post that still exists at its origin is refused; once it is gone, kept.
    delete = {"@context": "https://www.w3.org/ns/activitystreams", "type": "Delete",
              "id": f"{a.base_url}/users/alice#fwd-delete", "actor": alice_uri,
              "object": {"id": post["uri"], "type": "Tombstone"}}
    assert (await peer.post("mallory", f"{b.base_url}/inbox", delete)).status_code == 401
    assert (await a.api("alice", "DELETE", f"/api/v1/statuses/{post['id']}")).status_code == 200
    assert (await peer.post("mallory", f"{b.base_url}/inbox", delete)).status_code == 202

    async def gone_on_b() -> bool:
        return (await b.api("dave", "GET", f"/api/v1/statuses/{held_id}")).status_code == 404

    await eventually(gone_on_b)


async def test_timelines_show_each_change_at_once(make_instance):
    """A timeline shows a status rendered earlier only while the rows it was rendered from are
    unchanged (server/api/entities.py): an edit, a like, the author's new name and a delete show
    on the next page, and each viewer sees their own flags."""
    a = await make_instance("a")
    await a.signup("alice")
    await a.signup("bob")
    post = await _post(a, "alice", status="one")

    async def shown(username: str, timeline: str) -> dict[str, Any] | None:
        response = await a.api(username, "GET", f"/api/v1/timelines/{timeline}")
        assert response.status_code == 200, response.text
        return {s["id"]: s for s in response.json()}.get(post["id"])

    for _ in range(2):
        home, public = await shown("alice", "home"), await shown("bob", "public")
        assert home["favourites_count"] == public["favourites_count"] == 0
        assert not home["favourited"] and not public["favourited"]
    liked = await a.api("bob", "POST", f"/api/v1/statuses/{post['id']}/favourite")
    assert liked.status_code == 200, liked.text
    home, public = await shown("alice", "home"), await shown("bob", "public")
    assert home["favourites_count"] == public["favourites_count"] == 1
    assert not home["favourited"] and public["favourited"]

    assert (await _edit(a, "alice", post["id"], status="two")).status_code == 200
    assert "two" in (await shown("alice", "home"))["content"]
    assert "two" in (await shown("bob", "public"))["content"]
    renamed = await a.api("alice", "PATCH", "/api/v1/accounts/update_credentials",
                          json={"display_name": "Alice Liddell"})
    assert renamed.status_code == 200, renamed.text
    assert (await shown("alice", "home"))["account"]["display_name"] == "Alice Liddell"
    assert (await shown("bob", "public"))["account"]["display_name"] == "Alice Liddell"

    assert (await a.api("alice", "DELETE", f"/api/v1/statuses/{post['id']}")).status_code == 200
    assert await shown("alice", "home") is None
    assert await shown("bob", "public") is None


async def test_a_page_with_a_kept_post_and_its_boost(make_instance):
    """A page that holds a post whose rendered status was kept and a boost of it: the boost
    renders the post again inside it (server/api/entities.py `embedded`)."""
    a = await make_instance("a")
    await a.signup("alice")
    await a.signup("bob")
    post = await _post(a, "alice", status="boost me")
    bob = (await a.api("bob", "GET", "/api/v1/accounts/verify_credentials")).json()["id"]
    assert (await a.api("alice", "POST", f"/api/v1/accounts/{bob}/follow")).status_code == 200
    boost = await a.api("bob", "POST", f"/api/v1/statuses/{post['id']}/reblog")
    assert boost.status_code == 200, boost.text
    for _ in range(2):
        home = await a.api("alice", "GET", "/api/v1/timelines/home")
        assert home.status_code == 200, home.text
        assert [(s["id"], (s["reblog"] or {}).get("id")) for s in home.json()] == [
            (boost.json()["id"], post["id"]), (post["id"], None)]
