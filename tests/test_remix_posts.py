"""Published remixes across three instances (PROTOCOL.md steps 4-6): the owner on A, the requester
on B, a follower of the requester on C. C verifies every cameo's consent before it shows a post,
and hides it when the owner revokes, whether the Delete reaches C or not."""

from __future__ import annotations

import dataclasses
import json

import pytest

from federation import httpsig, signing
from server.media_cleanup import remove_deleted_posts_media
from tests.conftest import TEST_GENERATION, eventually
from tests.test_cameos import _png
from tests.test_federation_e2e import _account_id, _upload_video
from tests.test_remix_consent import _cameo, _remix, _state
from tests.videos import make_mp4

AP = "application/activity+json"


async def _authorized(instance, user, remix_id):
    async def check():
        state = await _state(instance, user, remix_id)
        return state if state["state"] == "authorized" else None

    return await eventually(check)


async def _follow(follower_instance, follower, target_instance, target):
    target_id = await _account_id(follower_instance, follower, target_instance.handle(target))
    response = await follower_instance.api(follower, "POST", f"/api/v1/accounts/{target_id}/follow")
    assert response.status_code == 200, response.text

    async def following():
        rel = await follower_instance.api(follower, "GET", "/api/v1/accounts/relationships",
                                          params={"id[]": target_id})
        return rel.json()[0]["following"]

    await eventually(following)


async def _three(make_instance):
    a = await make_instance("a")
    b = await make_instance("b")
    c = await make_instance("c")
    await a.signup("alice")
    await b.signup("bob")
    await c.signup("carol")
    await _follow(c, "carol", b, "bob")
    return a, b, c


async def _authorized_remix(make_instance):
    """alice on A, bob on B, and bob's remix of alice's cameo, which she authorizes at once; the
    remix and its authorized state."""
    a = await make_instance("a")
    b = await make_instance("b")
    await a.signup("alice")
    await b.signup("bob")
    cameo = await _cameo(a, "alice", permission="everyone", approval="automatic")
    remix = (await _remix(b, "bob", [cameo["uri"]])).json()
    return a, b, remix, await _authorized(b, "bob", remix["id"])


async def _draft(instance, user, remix_id):
    """The remix's render, once its draft is made (the tiny model, on the instance's worker)."""
    async def rendered():
        generation = (await _state(instance, user, remix_id))["generation"]
        assert generation["state"] not in ("failed", "cancelled"), generation
        return generation if generation["state"] == "succeeded" else None

    return await eventually(rendered, timeout=60)


async def _published_remix(a, b, prompt="alice dancing in the rain"):
    cameo = await _cameo(a, "alice", permission="everyone", approval="automatic")
    remix = (await _remix(b, "bob", [cameo["uri"]], prompt)).json()
    await _authorized(b, "bob", remix["id"])
    draft = await _draft(b, "bob", remix["id"])
    response = await b.api("bob", "POST", f"/api/v1/remixes/{remix['id']}/publish",
                           json={"media_id": draft["result"]["id"], "status": "look who it is"})
    assert response.status_code == 201, response.text
    published = response.json()
    assert published["state"] == "published" and published["post_uri"] == remix["post_uri"]
    return cameo, published


async def _status_on(instance, user, uri):
    timeline = (await instance.api(user, "GET", "/api/v1/timelines/home")).json()
    return next((s for s in timeline if s["uri"] == uri), None)


async def withdrawn_everywhere(b, c, post_uri):
    """After a revoke: B, the remix's server, withdraws the post (its id answers 410), and carol
    on C no longer sees it."""
    async def gone_on_b():
        async with b.client() as client:
            return (await client.get(post_uri, headers={"Accept": AP})).status_code == 410

    await eventually(gone_on_b)

    async def hidden_on_c():
        return await _status_on(c, "carol", post_uri) is None

    await eventually(hidden_on_c)


async def test_publish_verify_show_and_revoke(make_instance, tmp_path):
    a, b, c = await _three(make_instance)
    cameo, published = await _published_remix(a, b)
    post_uri = published["post_uri"]
    video = await b.pool.fetchrow("SELECT * FROM media WHERE post_id = $1", int(published["status_id"]))
    assert b.instance.media.path(video["storage_key"]).exists()
    # Someone on B reports it (an open report keeps a deleted post's files, but not this one's).
    await b.signup("dan")
    bob_id = await b.pool.fetchval("SELECT id FROM actors WHERE username = 'bob' AND local")
    report = await b.api("dan", "POST", "/api/v1/reports",
                         json={"account_id": str(bob_id), "status_ids": [published["status_id"]]})
    assert report.status_code == 200, report.text

    # The Note B serves carries the cameo with alice's signed authorization, copied unchanged.
    async with b.client() as client:
        note = (await client.get(post_uri, headers={"Accept": AP})).json()
    stored = await b.pool.fetchval("SELECT authorization_document FROM remix_cameos")
    assert note["cameos"] == [{"cameo": cameo["uri"], "remixAuthorization": stored}]
    assert note["aiGenerated"] is True and note["promptDigest"] == stored["promptDigest"]
    assert any(t["type"] == "Mention" and t["href"] == f"{a.base_url}/users/alice" for t in note["tag"])

    # C verified it (and fetched the authorization live from A, which logged C), and shows it.
    shown = await eventually(lambda: _status_on(c, "carol", post_uri))
    assert shown["media_attachments"][0]["type"] == "video"
    assert await c.pool.fetchval("SELECT count(*) FROM post_cameos") == 1
    assert f"{c.base_url}/inbox" in {r["inbox"] for r in
                                     await a.pool.fetch("SELECT inbox FROM authorization_fetches")}

    # A, mentioned, lists the use as published on B.
    async def listed():
        uses = (await a.api("alice", "GET", "/api/v1/remix_requests")).json()
        return uses if uses and uses[0]["published"] else None

    uses = await eventually(listed)
    assert uses[0]["instance"] == b.domain and uses[0]["state"] == "approved"

    # A bare remix cannot be published twice.
    again = await b.api("bob", "POST", f"/api/v1/remixes/{published['id']}/publish",
                        json={"media_id": "1"})
    assert again.status_code in (409, 422)

    # alice revokes: B withdraws the post (its id answers 410) and C hides it at once.
    response = await a.api("alice", "POST", f"/api/v1/remix_requests/{uses[0]['id']}/revoke")
    assert response.status_code == 200, response.text

    await withdrawn_everywhere(b, c, post_uri)
    status_id = await c.pool.fetchval("SELECT id FROM posts WHERE uri = $1", post_uri)
    assert (await c.api("carol", "GET", f"/api/v1/statuses/{status_id}")).status_code == 404
    assert (await _state(b, "bob", published["id"]))["state"] == "revoked"
    # B deletes the video of alice itself, files and all (its sweeper does so every 30 s).
    await remove_deleted_posts_media(b.pool, b.instance.media)
    assert not b.instance.media.path(video["storage_key"]).exists()
    assert await b.pool.fetchval("SELECT count(*) FROM media") == 0


async def test_a_revoked_remix_loses_its_unpublished_draft(make_instance):
    a, b, remix, _ = await _authorized_remix(make_instance)
    draft = await _draft(b, "bob", remix["id"])
    media = await b.pool.fetchrow("SELECT * FROM media WHERE id = $1", int(draft["result"]["id"]))
    assert b.instance.media.path(media["storage_key"]).exists()
    [use] = (await a.api("alice", "GET", "/api/v1/remix_requests")).json()
    assert (await a.api("alice", "POST", f"/api/v1/remix_requests/{use['id']}/revoke")).status_code == 200

    # B's sweeper deletes the video of alice that nobody saw but bob, files and all.
    async def withdrawn():
        job = (await b.api("bob", "GET", f"/api/v1/generations/{draft['id']}")).json()
        return job if job["state"] == "failed" else None

    job = await eventually(withdrawn)
    assert (job["failure_reason"], job["result"]) == ("consent withdrawn", None)
    assert await b.pool.fetchval("SELECT count(*) FROM media") == 0
    assert not b.instance.media.path(media["storage_key"]).exists()
    assert not b.instance.media.path(media["poster_key"]).exists()
    published = await b.api("bob", "POST", f"/api/v1/remixes/{remix['id']}/publish", json={})
    assert published.status_code == 409
    notes = (await b.api("bob", "GET", "/api/v1/notifications", params={"types[]": "remix_revoked"})).json()
    assert "remix_revoked" in {n["type"] for n in notes}


async def test_a_missed_delete_hides_the_post_at_the_next_check(make_instance, tmp_path):
    a, b, c = await _three(make_instance)
    c.instance.fed.consent_ttl = 0.5
    _, published = await _published_remix(a, b)
    post_uri = published["post_uri"]
    await eventually(lambda: _status_on(c, "carol", post_uri))
    status_id = await c.pool.fetchval("SELECT id FROM posts WHERE uri = $1", post_uri)
    # Still live: a check after the TTL passes and keeps showing it.
    await eventually(lambda: c.pool.fetchval(
        "SELECT consent_checked_at < now() - interval '0.5 seconds' FROM posts WHERE id = $1", status_id))
    assert (await c.api("carol", "GET", f"/api/v1/statuses/{status_id}")).status_code == 200

    # alice's instance withdraws the authorization but no Delete reaches anyone (lost in transit).
    await a.pool.execute("UPDATE remix_requests SET state = 'revoked', revoked_at = now()")
    await eventually(lambda: c.pool.fetchval(
        "SELECT consent_checked_at < now() - interval '0.5 seconds' FROM posts WHERE id = $1", status_id))
    # The next view checks again, finds 410 at A, and hides the post.
    assert (await c.api("carol", "GET", f"/api/v1/statuses/{status_id}")).status_code == 404
    assert await _status_on(c, "carol", post_uri) is None
    assert await c.pool.fetchval("SELECT count(*) FROM revoked_authorizations") == 1


async def test_timeline_views_recheck_in_the_background(make_instance, tmp_path):
    a, b, c = await _three(make_instance)
    c.instance.fed.consent_ttl = 0.5
    _, published = await _published_remix(a, b)
    post_uri = published["post_uri"]
    await eventually(lambda: _status_on(c, "carol", post_uri))
    await a.pool.execute("UPDATE remix_requests SET state = 'revoked', revoked_at = now()")

    async def hidden():
        return await _status_on(c, "carol", post_uri) is None

    await eventually(hidden)


async def test_several_owners_must_all_consent(make_instance, tmp_path):
    a, b, c = await _three(make_instance)
    await a.signup("dave")
    alice_cameo = await _cameo(a, "alice", permission="everyone", approval="automatic")
    dave_cameo = await _cameo(a, "dave", permission="everyone", approval="manual", name="Dave")
    bob_cameo = await _cameo(b, "bob")
    remix = (await _remix(b, "bob", [alice_cameo["uri"], dave_cameo["uri"], bob_cameo["uri"]],
                          "three friends on a roller coaster")).json()

    async def alice_answered():
        state = await _state(b, "bob", remix["id"])
        return state if any(x["state"] == "approved" and x["owner"].endswith("/alice")
                            for x in state["cameos"]) else None

    state = await eventually(alice_answered)
    # alice said yes, bob's own cameo needs nobody, dave has not answered: nothing may be made.
    assert state["state"] == "pending" and state["generation"]["state"] == "waiting"
    publish = f"/api/v1/remixes/{remix['id']}/publish"
    early = await b.api("bob", "POST", publish, json={})
    assert early.status_code == 409 and "authorized" in early.json()["error"]

    request_id = (await a.api("dave", "GET", "/api/v1/remix_requests")).json()[0]["id"]
    assert (await a.api("dave", "POST", f"/api/v1/remix_requests/{request_id}/approve")).status_code == 200
    await _authorized(b, "bob", remix["id"])
    await _draft(b, "bob", remix["id"])
    response = await b.api("bob", "POST", publish, json={})
    assert response.status_code == 201, response.text

    shown = await eventually(lambda: _status_on(c, "carol", remix["post_uri"]))
    assert shown is not None
    rows = await c.pool.fetch("SELECT cameo_uri, authorization_uri FROM post_cameos ORDER BY position")
    assert {r["cameo_uri"]: r["authorization_uri"] is not None for r in rows} == {
        alice_cameo["uri"]: True, dave_cameo["uri"]: True, bob_cameo["uri"]: False}
    # Both owners were told of the use (they are mentioned in the post).
    for owner in ("alice", "dave"):
        async def told(owner=owner):
            notes = (await a.api(owner, "GET", "/api/v1/notifications")).json()
            return any(n["type"] == "mention" for n in notes)

        await eventually(told)


async def test_publish_refusals_and_blocked_requesters(make_instance, tmp_path):
    a = await make_instance("a")
    b = await make_instance("b")
    await a.signup("alice")
    await b.signup("bob")
    await b.signup("eve")
    cameo = await _cameo(a, "alice", permission="everyone", approval="automatic")
    remix = (await _remix(b, "bob", [cameo["uri"]])).json()
    other = (await _remix(b, "bob", [cameo["uri"]], "alice on another day")).json()
    await _authorized(b, "bob", remix["id"])
    draft = (await _draft(b, "bob", remix["id"]))["result"]["id"]
    others_draft = (await _draft(b, "bob", other["id"]))["result"]["id"]
    upload = await _upload_video(b, "bob", make_mp4(tmp_path / "v.mp4"))
    eves = await _upload_video(b, "eve", make_mp4(tmp_path / "e.mp4"))
    image = (await b.api("bob", "POST", "/api/v2/media",
                         files={"file": ("p.png", _png(), "image/png")})).json()["id"]
    path = f"/api/v1/remixes/{remix['id']}/publish"
    for user, body, status, message in [
        ("bob", {"media_id": "x"}, 422, "media_id must name"),
        ("bob", {"media_id": image}, 422, "not an unused video of yours"),
        ("bob", {"media_id": eves}, 422, "not an unused video of yours"),
        # alice consented to what B renders from the prompt she saw, not to any video of bob's.
        ("bob", {"media_id": upload}, 422, "not rendered for this remix"),
        ("bob", {"media_id": others_draft}, 422, "not rendered for this remix"),
        ("bob", {"media_id": draft, "status": "x" * 2001}, 422, "at most"),
        ("bob", {"media_id": draft, "visibility": "everywhere"}, 422, "visibility"),
        ("eve", {"media_id": eves}, 404, "no such remix"),
    ]:
        response = await b.api(user, "POST", path, json=body)
        assert response.status_code == status, (body, response.text)
        assert message in response.json()["error"], (body, response.text)
    unknown = await b.api("bob", "POST", "/api/v1/remixes/999/publish", json={"media_id": draft})
    assert unknown.status_code == 404
    # A remix's draft cannot be posted as an ordinary post, which would carry no consent.
    plain = await b.api("bob", "POST", "/api/v1/statuses", json={"status": "hi", "media_ids": [draft]})
    assert plain.status_code == 409 and f"/api/v1/remixes/{remix['id']}/publish" in plain.json()["error"]
    # Nothing was half-published: the remix is still authorized, the videos still unused.
    assert (await _state(b, "bob", remix["id"]))["state"] == "authorized"
    assert await b.pool.fetchval("SELECT count(*) FROM media WHERE post_id IS NOT NULL") == 0
    assert await b.pool.fetchval("SELECT count(*) FROM posts") == 0

    # alice blocks bob: his next request is refused, and so is any request for a deleted cameo.
    bob_on_a = await _account_id(a, "alice", b.handle("bob"))
    assert (await a.api("alice", "POST", f"/api/v1/accounts/{bob_on_a}/block")).status_code == 200
    blocked = (await _remix(b, "bob", [cameo["uri"]], "again")).json()

    async def rejected():
        return (await _state(b, "bob", blocked["id"]))["state"] == "rejected"

    await eventually(rejected)
    gone = await _cameo(a, "alice", permission="everyone", approval="automatic", name="Gone")
    assert (await a.api("alice", "DELETE", f"/api/v1/cameos/{gone['id']}")).status_code == 200
    after = await _remix(b, "eve", [gone["uri"]], "after the delete")
    assert after.status_code == 422, after.text


async def test_mutuals_collection(make_instance):
    a = await make_instance("a")
    b = await make_instance("b")
    await a.signup("alice")
    await b.signup("bob")
    await b.signup("eve")
    await _follow(b, "bob", a, "alice")
    await _follow(a, "alice", b, "bob")
    await _follow(b, "eve", a, "alice")
    async with a.client() as client:
        top = (await client.get(f"{a.base_url}/users/alice/mutuals", headers={"Accept": AP})).json()
        page = (await client.get(top["first"], headers={"Accept": AP})).json()
        bad = await client.get(f"{a.base_url}/users/alice/mutuals?page=x", headers={"Accept": AP})
        missing = await client.get(f"{a.base_url}/users/nobody/mutuals", headers={"Accept": AP})
    assert top["totalItems"] == 1 and page["orderedItems"] == [f"{b.base_url}/users/bob"]
    assert bad.status_code == 400 and missing.status_code == 404


async def test_replayed_answers_change_nothing(make_instance):
    a, b, remix, before = await _authorized_remix(make_instance)
    accept = await b.pool.fetchval("SELECT body FROM inbox_activities WHERE type = 'Accept'")
    alice_id = await a.pool.fetchval("SELECT id FROM actors WHERE uri = $1", f"{a.base_url}/users/alice")
    alice_keys = await signing.signing_keys(a.instance.fed, alice_id)

    async def post_as_alice(activity):
        body = json.dumps(activity).encode()
        headers = {"Content-Type": AP}
        headers.update(httpsig.sign_cavage("POST", f"{b.base_url}/inbox", headers, body,
                                           key_id=alice_keys.rsa_key_id, private_key=alice_keys.rsa))
        async with b.client() as client:
            return await client.post("/inbox", content=body, headers=headers)

    # The same Accept again is a duplicate; under a new id, or turned into a Reject, it answers a
    # request that is answered already.
    assert (await post_as_alice(accept)).status_code == 202
    assert (await post_as_alice({**accept, "id": accept["id"] + "-again"})).status_code == 202
    reject = {k: v for k, v in accept.items() if k != "result"}
    assert (await post_as_alice({**reject, "id": accept["id"] + "-reject", "type": "Reject"})
            ).status_code == 202
    await eventually(lambda: b.pool.fetchval(
        "SELECT count(*) = 0 FROM inbox_activities WHERE state = 'pending'"))
    after = await _state(b, "bob", remix["id"])
    assert (after["state"], after["cameos"]) == (before["state"], before["cameos"])
    assert await b.pool.fetchval("SELECT count(*) FROM inbox_activities WHERE type = 'Accept'") == 2


async def test_b_renders_only_after_consent_and_c_shows_the_result(make_instance, tiny_model):
    a, b, c = await _three(make_instance)
    cameo = await _cameo(a, "alice", permission="everyone", approval="manual")
    response = await _remix(b, "bob", [cameo["uri"]], "alice juggling oranges")
    assert response.status_code == 201, response.text
    remix = response.json()
    # The render is queued with the remix but waits for alice.
    assert remix["generation"]["state"] == "waiting"
    no_draft = await b.api("bob", "POST", f"/api/v1/remixes/{remix['id']}/publish", json={})
    assert no_draft.status_code == 409

    async def asked():
        return (await a.api("alice", "GET", "/api/v1/remix_requests")).json()

    request_id = (await eventually(asked))[0]["id"]
    assert (await _state(b, "bob", remix["id"]))["generation"]["state"] == "waiting"
    assert (await a.api("alice", "POST", f"/api/v1/remix_requests/{request_id}/approve")).status_code == 200

    async def rendered():
        generation = (await _state(b, "bob", remix["id"]))["generation"]
        assert generation["state"] not in ("failed", "cancelled"), generation
        return generation if generation["state"] == "succeeded" else None

    generation = await eventually(rendered, timeout=60)
    assert generation["generator"] == tiny_model.name and generation["result"]["type"] == "video"
    # B rendered with alice's reference images, fetched from A under bob's authorization (which
    # told alice, draft and all) and kept nowhere on B.
    used = await a.pool.fetch(
        "SELECT n.type, f.uri FROM notifications n JOIN users u ON u.id = n.user_id"
        " JOIN actors f ON f.id = n.from_actor_id WHERE u.username = 'alice' AND n.type = 'cameo_used'")
    assert [(r["type"], r["uri"]) for r in used] == [("cameo_used", f"{b.base_url}/users/bob")]
    assert await b.pool.fetchval("SELECT count(*) FROM cameo_references") == 0
    response = await b.api("bob", "POST", f"/api/v1/remixes/{remix['id']}/publish",
                           json={"status": "juggling"})
    assert response.status_code == 201, response.text

    shown = await eventually(lambda: _status_on(c, "carol", remix["post_uri"]))
    assert shown["media_attachments"][0]["type"] == "video"
    async with b.client() as client:
        note = (await client.get(remix["post_uri"], headers={"Accept": AP})).json()
    assert note["generator"] == {"type": "Application", "name": tiny_model.name}
    assert note["cameos"][0]["cameo"] == cameo["uri"]
    # C keeps the model's name with its copy.
    assert await c.pool.fetchval("SELECT generator FROM posts WHERE uri = $1", remix["post_uri"]) \
        == tiny_model.name


async def test_asking_again_for_a_remix_render(make_instance, tiny_model):
    a = await make_instance("a")
    b = await make_instance("b", generation=dataclasses.replace(
        TEST_GENERATION, model_dir=tiny_model, max_jobs_per_day=1))
    await a.signup("alice")
    await b.signup("bob")
    await b.signup("eve")
    cameo = await _cameo(a, "alice", permission="everyone", approval="manual")
    first = (await _remix(b, "bob", [cameo["uri"]], "one")).json()
    assert first["generation"]["state"] == "waiting" and first["generation_error"] is None
    # Asking again while the render is on the way returns the same one.
    again = await b.api("bob", "POST", f"/api/v1/remixes/{first['id']}/generation", json={})
    assert again.status_code == 202 and again.json()["generation"]["id"] == first["generation"]["id"]

    # Over the daily quota the remix is still asked for, and its render is refused with a reason.
    second = await _remix(b, "bob", [cameo["uri"]], "two")
    assert second.status_code == 201, second.text
    assert second.json()["generation"] is None and "per day" in second.json()["generation_error"]
    path = f"/api/v1/remixes/{second.json()['id']}/generation"
    refused = await b.api("bob", "POST", path, json={})
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 0
    for user, target, body, status in [
        ("bob", path, {"duration_s": 99}, 422),
        ("bob", path, {"duration_s": "long"}, 422),
        ("eve", path, {}, 404),
        ("bob", "/api/v1/remixes/999/generation", {}, 404),
        ("bob", "/api/v1/remixes/x/generation", {}, 404),
    ]:
        response = await b.api(user, "POST", target, json=body)
        assert response.status_code == status, (user, target, body, response.text)
    assert await b.pool.fetchval("SELECT count(*) FROM generation_jobs") == 1


async def test_remote_reference_images_come_only_from_the_cameo_origin(make_instance, peer):
    from federation import fetch, remix

    b = await make_instance("b")
    await b.signup("bob")
    bob = await b.pool.fetchval("SELECT id FROM actors WHERE username = 'bob' AND local")
    cameo = f"{peer.base}/cameos/1"
    cases = {
        "elsewhere": [f"{b.base_url}/media/x.png"],
        "too many": [f"{cameo}/references/{n}" for n in range(6)],
        "none": [],
        "not a list": f"{cameo}/references/0",
    }
    for references in cases.values():
        peer.objects[cameo] = {"id": cameo, "type": "Cameo", "attributedTo": peer.actor_id("alice"),
                               "references": references}
        with pytest.raises(fetch.FetchError, match="reference images"):
            await remix.fetch_references(b.instance.fed, cameo, bob)
    # Only the first `most` are asked for: none, no request (the peer would refuse any).
    peer.objects[cameo] = {"id": cameo, "type": "Cameo", "attributedTo": peer.actor_id("alice"),
                           "references": [f"{cameo}/references/{n}" for n in range(3)]}
    assert await remix.fetch_references(b.instance.fed, cameo, bob, 0) == []
    # The owner's instance refuses (no live authorization): no image, a retry later.
    peer.objects[cameo] = {"id": cameo, "type": "Cameo", "attributedTo": peer.actor_id("alice"),
                           "references": [f"{cameo}/references/0"]}
    with pytest.raises(fetch.FetchError, match="404"):
        await remix.fetch_references(b.instance.fed, cameo, bob)
    with pytest.raises(fetch.FetchError, match="not here"):
        await remix.fetch_references(b.instance.fed, f"{b.base_url}/users/bob/cameos/1", bob)
