"""Published remixes across three instances (PROTOCOL.md steps 4-6): the owner on A, the requester
on B, a follower of the requester on C. C verifies every cameo's consent before it shows a post,
and hides it when the owner revokes, whether the Delete reaches C or not."""

from __future__ import annotations

from tests.conftest import eventually
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


async def _published_remix(a, b, tmp_path, prompt="alice dancing in the rain"):
    cameo = await _cameo(a, "alice", permission="everyone", approval="automatic")
    remix = (await _remix(b, "bob", [cameo["uri"]], prompt)).json()
    await _authorized(b, "bob", remix["id"])
    media_id = await _upload_video(b, "bob", make_mp4(tmp_path / "remix.mp4"))
    response = await b.api("bob", "POST", f"/api/v1/remixes/{remix['id']}/publish",
                           json={"media_id": media_id, "status": "look who it is"})
    assert response.status_code == 201, response.text
    published = response.json()
    assert published["state"] == "published" and published["post_uri"] == remix["post_uri"]
    return cameo, published


async def _status_on(instance, user, uri):
    timeline = (await instance.api(user, "GET", "/api/v1/timelines/home")).json()
    return next((s for s in timeline if s["uri"] == uri), None)


async def test_publish_verify_show_and_revoke(make_instance, tmp_path):
    a, b, c = await _three(make_instance)
    cameo, published = await _published_remix(a, b, tmp_path)
    post_uri = published["post_uri"]

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

    async def gone_on_b():
        async with b.client() as client:
            return (await client.get(post_uri, headers={"Accept": AP})).status_code == 410

    await eventually(gone_on_b)

    async def hidden_on_c():
        return await _status_on(c, "carol", post_uri) is None

    await eventually(hidden_on_c)
    status_id = await c.pool.fetchval("SELECT id FROM posts WHERE uri = $1", post_uri)
    assert (await c.api("carol", "GET", f"/api/v1/statuses/{status_id}")).status_code == 404
    assert (await _state(b, "bob", published["id"]))["state"] == "revoked"


async def test_a_missed_delete_hides_the_post_at_the_next_check(make_instance, tmp_path):
    a, b, c = await _three(make_instance)
    c.instance.fed.consent_ttl = 0.5
    _, published = await _published_remix(a, b, tmp_path)
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
    _, published = await _published_remix(a, b, tmp_path)
    post_uri = published["post_uri"]
    await eventually(lambda: _status_on(c, "carol", post_uri))
    await a.pool.execute("UPDATE remix_requests SET state = 'revoked', revoked_at = now()")

    async def hidden():
        return await _status_on(c, "carol", post_uri) is None

    await eventually(hidden)
