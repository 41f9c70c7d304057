"""One test per activity type, driven by a scripted remote server: what each handler stores,
and what it refuses to act on."""

from __future__ import annotations

from tests.conftest import eventually

PUBLIC = "https://www.w3.org/ns/activitystreams#Public"


async def _setup(make_instance, peer):
    """alice@A follows mallory@peer (accepted), and mallory follows alice."""
    a = await make_instance()
    await a.signup("alice")
    alice = f"{a.base_url}/users/alice"
    mallory = peer.add_actor("mallory")
    found = (await a.api("alice", "GET", "/api/v2/search", params={"q": mallory})).json()
    mallory_id = found["accounts"][0]["id"]
    await a.api("alice", "POST", f"/api/v1/accounts/{mallory_id}/follow")
    follow = await eventually(lambda: _first(peer, "Follow"))
    await peer.post("mallory", f"{a.base_url}/inbox", {
        "id": f"{peer.base}/accepts/1", "type": "Accept", "actor": mallory, "object": follow})
    await eventually(lambda: a.pool.fetchval("SELECT accepted FROM follows f JOIN actors a"
                                             " ON a.id = f.followed_id WHERE a.uri = $1", mallory))
    return a, alice, mallory, mallory_id


async def _first(peer, kind):
    return next((x for x in peer.received if x["type"] == kind), None)


async def _state(a, activity_id):
    return await a.pool.fetchval("SELECT state FROM inbox_activities WHERE activity_uri = $1",
                                 activity_id)


async def _processed(a, activity_id):
    return await eventually(lambda: _done_state(a, activity_id))


async def _done_state(a, activity_id):
    state = await _state(a, activity_id)
    return state if state in ("done", "ignored", "failed") else None


def _note(peer, n, **extra):
    return {"id": f"{peer.base}/notes/{n}", "type": "Note", "attributedTo": peer.actor_id("mallory"),
            "content": f"<p>note {n}</p>", "to": [PUBLIC], "cc": [], **extra}


async def _send(a, peer, kind, obj, n, name="mallory"):
    activity = {"id": f"{peer.base}/{kind.lower()}s/{n}", "type": kind,
                "actor": peer.actor_id(name), "object": obj}
    response = await peer.post(name, f"{a.base_url}/inbox", activity)
    assert response.status_code == 202, response.text
    return await _processed(a, activity["id"])


async def test_create_update_delete_of_a_video_note(make_instance, peer):
    a, alice, mallory, _ = await _setup(make_instance, peer)
    video = {"type": "Document", "mediaType": "video/mp4", "url": f"{peer.base}/v.mp4",
             "width": 480, "height": 832, "duration": "PT5S", "blurhash": "UABC",
             "icon": {"type": "Image", "url": f"{peer.base}/poster.jpg"}}
    note = _note(peer, 1, attachment=[video], content="<p>hi<script>x</script></p>")
    assert await _send(a, peer, "Create", note, 1) == "done"
    home = (await a.api("alice", "GET", "/api/v1/timelines/home")).json()
    status = home[0]
    assert status["uri"] == note["id"] and "<script" not in status["content"]
    media = status["media_attachments"][0]
    assert media["type"] == "video" and media["meta"]["original"]["duration"] == 5.0
    assert media["preview_url"] == f"{peer.base}/poster.jpg"

    edited = {**note, "content": "<p>edited</p>", "updated": "2026-11-25T01:00:00Z"}
    assert await _send(a, peer, "Update", edited, 1) == "done"
    status = (await a.api("alice", "GET", f"/api/v1/statuses/{status['id']}")).json()
    assert status["content"] == "<p>edited</p>" and status["edited_at"]

    assert await _send(a, peer, "Delete", {"id": note["id"], "type": "Tombstone"}, 1) == "done"
    assert (await a.api("alice", "GET", f"/api/v1/statuses/{status['id']}")).status_code == 404


async def test_peertube_video(make_instance, peer):
    a, *_ = await _setup(make_instance, peer)
    video = {"id": f"{peer.base}/videos/watch/9", "type": "Video", "name": "A <b>title</b>",
             "attributedTo": [peer.actor_id("mallory")], "to": [PUBLIC], "duration": "PT1M5S",
             "content": "plain *markdown* description",
             "icon": [{"type": "Image", "url": f"{peer.base}/small.jpg", "width": 100},
                      {"type": "Image", "url": f"{peer.base}/big.jpg", "width": 800}],
             "url": [{"type": "Link", "mediaType": "text/html", "href": f"{peer.base}/w/9"},
                     {"type": "Link", "mediaType": "video/mp4", "href": f"{peer.base}/240.mp4",
                      "height": 240, "width": 426},
                     {"type": "Link", "mediaType": "video/mp4", "href": f"{peer.base}/720.mp4",
                      "height": 720, "width": 1280}]}
    assert await _send(a, peer, "Create", video, 2) == "done"
    status = (await a.api("alice", "GET", "/api/v1/timelines/home")).json()[0]
    assert "A &lt;b&gt;title&lt;/b&gt;" in status["content"]
    media = status["media_attachments"][0]
    assert media["url"] == f"{peer.base}/720.mp4" and media["meta"]["original"]["duration"] == 65
    assert media["preview_url"] == f"{peer.base}/big.jpg"


async def test_irrelevant_and_foreign_activities_are_ignored(make_instance, peer):
    a, alice, mallory, _ = await _setup(make_instance, peer)
    peer.add_actor("eve")  # nobody here follows eve
    eve_note = {**_note(peer, 3), "attributedTo": peer.actor_id("eve")}
    assert await _send(a, peer, "Create", eve_note, 3, name="eve") == "ignored"
    # eve mentions alice: kept, and alice is notified.
    mention = {**_note(peer, 4), "attributedTo": peer.actor_id("eve"),
               "tag": [{"type": "Mention", "href": alice, "name": "@alice"}]}
    assert await _send(a, peer, "Create", mention, 4, name="eve") == "done"
    notes = (await a.api("alice", "GET", "/api/v1/notifications")).json()
    assert notes[0]["type"] == "mention"
    # eve cannot delete mallory's post.
    assert await _send(a, peer, "Create", _note(peer, 5), 5) == "done"
    assert await _send(a, peer, "Delete", f"{peer.base}/notes/5", 6, name="eve") == "ignored"
    assert await a.pool.fetchval("SELECT deleted_at IS NULL FROM posts WHERE uri = $1",
                                 f"{peer.base}/notes/5")
    # Unsupported object types (a Question is a poll: tests/test_peer_objects.py).
    assert await _send(a, peer, "Create", {"id": f"{peer.base}/q/1", "type": "Collection",
                                           "attributedTo": mallory}, 7) == "ignored"


async def test_like_announce_and_undo(make_instance, peer):
    a, alice, mallory, _ = await _setup(make_instance, peer)
    post = (await a.api("alice", "POST", "/api/v1/statuses", json={"status": "like me"})).json()
    assert await _send(a, peer, "Like", post["uri"], 1) == "done"
    assert await _send(a, peer, "Announce", post["uri"], 1) == "done"
    status = (await a.api("alice", "GET", f"/api/v1/statuses/{post['id']}")).json()
    assert (status["favourites_count"], status["reblogs_count"]) == (1, 1)
    kinds = {n["type"] for n in (await a.api("alice", "GET", "/api/v1/notifications")).json()}
    assert {"favourite", "reblog"} <= kinds
    like = {"id": f"{peer.base}/likes/1", "type": "Like", "actor": mallory, "object": post["uri"]}
    announce = {"id": f"{peer.base}/announces/1", "type": "Announce", "actor": mallory,
                "object": post["uri"]}
    assert await _send(a, peer, "Undo", like, 2) == "done"
    assert await _send(a, peer, "Undo", announce, 3) == "done"
    status = (await a.api("alice", "GET", f"/api/v1/statuses/{post['id']}")).json()
    assert (status["favourites_count"], status["reblogs_count"]) == (0, 0)
    # A boost of a remote post is fetched from its origin, not taken from the embedding.
    peer.objects[f"{peer.base}/notes/8"] = {**_note(peer, 8), "content": "<p>the real one</p>"}
    forged = {**_note(peer, 8), "content": "<p>forged copy</p>"}
    assert await _send(a, peer, "Announce", forged, 4) == "done"
    stored = await a.pool.fetchval("SELECT content FROM posts WHERE uri = $1", f"{peer.base}/notes/8")
    assert stored == "<p>the real one</p>"


async def test_a_document_of_the_wrong_content_type_fails_at_once(make_instance, peer):
    """As Mastodon: a fetched object served as HTML is no ActivityPub document, and asking again
    (five times, over hours) will not make it one; no more than it makes a document served with
    another origin's id its own."""
    a, alice, mallory, _ = await _setup(make_instance, peer)
    page = f"{peer.base}/notes/9"
    peer.objects[page] = _note(peer, 9)
    peer.content_types[page] = "text/html; charset=utf-8"
    assert await _send(a, peer, "Announce", page, 5) == "failed"
    row = await a.pool.fetchrow("SELECT attempts, error FROM inbox_activities WHERE activity_uri = $1",
                                f"{peer.base}/announces/5")
    assert row["attempts"] == 1 and "not an ActivityPub document" in row["error"]
    # Nor will a server that serves a document under another origin's id come to own it.
    claimed = f"{peer.base}/notes/10"
    peer.objects[claimed] = {**_note(peer, 10), "id": "https://elsewhere.example/notes/10"}
    assert await _send(a, peer, "Announce", claimed, 6) == "failed"


async def test_block_update_person_and_delete_actor(make_instance, peer):
    a, alice, mallory, mallory_id = await _setup(make_instance, peer)
    # The Update is read from the actor's origin, which now serves the new profile.
    peer.display_names["mallory"] = "Mallory Renamed"
    assert await _send(a, peer, "Update", peer.actor_document("mallory"), 1) == "done"
    account = (await a.api("alice", "GET", f"/api/v1/accounts/{mallory_id}")).json()
    assert account["display_name"] == "Mallory Renamed"

    assert await _send(a, peer, "Block", alice, 1) == "done"
    rel = (await a.api("alice", "GET", "/api/v1/accounts/relationships",
                       params={"id[]": mallory_id})).json()[0]
    assert rel["blocked_by"] and not rel["following"] and not rel["followed_by"]
    assert (await a.api("alice", "POST", f"/api/v1/accounts/{mallory_id}/follow")).status_code == 422
    assert await _send(a, peer, "Undo", {"id": f"{peer.base}/blocks/1", "type": "Block",
                                         "actor": mallory, "object": alice}, 9) == "done"
    rel = (await a.api("alice", "GET", "/api/v1/accounts/relationships",
                       params={"id[]": mallory_id})).json()[0]
    assert not rel["blocked_by"]

    # (The block ended the follows: only a post that mentions alice is kept now.)
    mention = [{"type": "Mention", "href": alice}]
    assert await _send(a, peer, "Create", _note(peer, 10, tag=mention), 10) == "done"
    assert await _send(a, peer, "Delete", mallory, 11) == "done"
    assert await a.pool.fetchval("SELECT count(*) FROM actors WHERE uri = $1", mallory) == 0
    assert await a.pool.fetchval("SELECT count(*) FROM posts WHERE uri = $1",
                                 f"{peer.base}/notes/10") == 0


async def test_a_peer_suspends_its_own_account_and_lifts_it(make_instance, peer):
    a, alice, mallory, mallory_id = await _setup(make_instance, peer)
    assert await _send(a, peer, "Create", _note(peer, 1), 1) == "done"
    post_id = await a.pool.fetchval("SELECT id FROM posts WHERE uri = $1", f"{peer.base}/notes/1")

    async def shown() -> bool:
        return (await a.api("alice", "GET", f"/api/v1/statuses/{post_id}")).status_code == 200

    # Mastodon's `toot:suspended`, read from the origin as the Update's actor is: only a JSON
    # true suspends; a document without it lifts the suspension, and the follow survives it.
    for n, extra, suspended in ((1, {"suspended": "true"}, False), (2, {"suspended": 1}, False),
                                (3, {"suspended": True}, True), (4, {}, False)):
        peer.actor_extras["mallory"] = extra
        assert await _send(a, peer, "Update", peer.actor_document("mallory"), n) == "done"
        assert await shown() is not suspended, extra
        if suspended:
            # What a suspended account sends is kept and ignored.
            assert await _send(a, peer, "Create", _note(peer, 2), 2) == "ignored"
    rel = (await a.api("alice", "GET", "/api/v1/accounts/relationships", params={"id[]": mallory_id})).json()
    assert rel[0]["following"]


async def test_reject_and_follow_requests(make_instance, peer):
    a = await make_instance()
    await a.signup("alice")
    await a.pool.execute("UPDATE actors SET manually_approves_followers = true"
                         " WHERE username = 'alice'")
    alice = f"{a.base_url}/users/alice"
    mallory = peer.add_actor("mallory")
    follow = {"id": f"{peer.base}/follows/1", "type": "Follow", "actor": mallory, "object": alice}
    assert (await peer.post("mallory", f"{alice}/inbox", follow)).status_code == 202
    requests = await eventually(lambda: _requests(a))
    assert requests[0]["acct"] == f"mallory@{peer.domain}"
    response = await a.api("alice", "POST", f"/api/v1/follow_requests/{requests[0]['id']}/authorize")
    assert response.status_code == 200 and response.json()["followed_by"] is True
    accept = await eventually(lambda: _first(peer, "Accept"))
    assert accept["object"]["id"] == follow["id"]
    bad = await a.api("alice", "POST", f"/api/v1/follow_requests/{requests[0]['id']}/explode")
    assert bad.status_code == 404

    # alice's own follow of mallory is rejected by mallory.
    await a.api("alice", "POST", f"/api/v1/accounts/{requests[0]['id']}/follow")
    own = await eventually(lambda: _first(peer, "Follow"))
    await peer.post("mallory", f"{a.base_url}/inbox", {
        "id": f"{peer.base}/rejects/1", "type": "Reject", "actor": mallory, "object": own["id"]})
    await _processed(a, f"{peer.base}/rejects/1")
    rel = (await a.api("alice", "GET", "/api/v1/accounts/relationships",
                       params={"id[]": requests[0]["id"]})).json()[0]
    assert not rel["following"] and not rel["requested"]


async def _requests(a):
    return (await a.api("alice", "GET", "/api/v1/follow_requests")).json()
