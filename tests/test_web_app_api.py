"""What the web app reads besides the existing API: the cameos of an account and a cameo by its
URL, a status's hashtags and cameos, whether a draft is published; and that a token travels only
in the Authorization header."""

from __future__ import annotations

from tests.conftest import eventually
from tests.test_remix_consent import _cameo, _remix, _state


async def test_an_accounts_cameos_and_a_cameo_by_its_url(make_instance):
    a = await make_instance("a")
    b = await make_instance("b")
    await a.signup("alice")
    await a.signup("amos")
    await b.signup("bob")
    private = await _cameo(a, "alice", name="Just me")
    public = await _cameo(a, "alice", name="Alice", instructions="in a hat", permission="everyone",
                          approval="manual")
    alice = (await a.api(None, "GET", "/api/v1/accounts/lookup?acct=alice")).json()

    # Others (and visitors) see the cameos they may ask for; the owner sees them all.
    for viewer in ("amos", None):
        listed = (await a.api(viewer, "GET", f"/api/v1/accounts/{alice['id']}/cameos")).json()
        assert [c["name"] for c in listed] == ["Alice"]
    own = (await a.api("alice", "GET", f"/api/v1/accounts/{alice['id']}/cameos")).json()
    assert [c["name"] for c in own] == ["Just me", "Alice"]
    shown = listed[0]
    assert shown == {**shown, "id": public["id"], "uri": public["uri"], "instructions": "in a hat",
                     "permission": "everyone", "approval": "manual", "paused": False,
                     "preview_url": public["preview_url"]}
    assert shown["account"]["acct"] == "alice" and "references" not in shown
    assert (await a.api(None, "GET", "/api/v1/accounts/999999/cameos")).status_code == 404

    # By its URL: here from the database, on another server fetched from the cameo's origin.
    here = await a.api("amos", "GET", "/api/v1/cameos/lookup", params={"uri": public["uri"]})
    assert here.status_code == 200 and here.json()["name"] == "Alice"
    # One only its owner may use is no cameo to anyone else (test_media_privacy).
    here = await a.api("amos", "GET", "/api/v1/cameos/lookup", params={"uri": private["uri"]})
    assert here.status_code == 404
    there = await b.api("bob", "GET", "/api/v1/cameos/lookup", params={"uri": public["uri"]})
    assert there.status_code == 200, there.text
    remote = there.json()
    assert (remote["id"], remote["uri"], remote["name"], remote["instructions"]) == (
        None, public["uri"], "Alice", "in a hat")
    assert remote["permission"] is None and remote["preview_url"] == public["preview_url"]
    assert remote["account"]["acct"] == f"alice@{a.domain}"
    # Another server publishes no list of its cameos.
    assert (await b.api("bob", "GET", f"/api/v1/accounts/{remote['account']['id']}/cameos")).json() == []

    refusals = [
        (await a.api("amos", "GET", "/api/v1/cameos/lookup", params={"uri": "alice"}), 422),
        (await a.api("amos", "GET", "/api/v1/cameos/lookup",
                     params={"uri": f"{a.base_url}/users/alice/cameos/999"}), 404),
        (await b.api("bob", "GET", "/api/v1/cameos/lookup",
                     params={"uri": f"{a.base_url}/users/alice"}), 404),
        (await a.api(None, "GET", "/api/v1/cameos/lookup", params={"uri": public["uri"]}), 401),
    ]
    for response, status in refusals:
        assert response.status_code == status, response.text
    await a.api("alice", "DELETE", f"/api/v1/cameos/{public['id']}")
    gone = await a.api("amos", "GET", "/api/v1/cameos/lookup", params={"uri": public["uri"]})
    assert gone.status_code == 404


async def test_a_remix_on_one_instance_from_draft_to_revoked(make_instance):
    a = await make_instance()
    await a.signup("alice")
    await a.signup("bob")
    cameo = await _cameo(a, "alice", permission="everyone", approval="automatic")
    remix = (await _remix(a, "bob", [cameo["uri"]])).json()

    async def rendered():
        job = (await _state(a, "bob", remix["id"]))["generation"]
        return job if job["state"] == "succeeded" else None

    job = await eventually(rendered, timeout=60)
    assert (job["published"], job["status_id"]) == (False, None)
    [listed] = (await a.api("bob", "GET", "/api/v1/generations")).json()
    assert listed["published"] is False and listed["result"]["id"] == job["result"]["id"]
    published = await a.api("bob", "POST", f"/api/v1/remixes/{remix['id']}/publish",
                            json={"status": "Rain with @alice #Rain #dance"})
    assert published.status_code == 201, published.text
    status_id = published.json()["status_id"]
    after = (await a.api("bob", "GET", f"/api/v1/generations/{job['id']}")).json()
    assert (after["published"], after["status_id"]) == (True, status_id)

    status = (await a.api(None, "GET", f"/api/v1/statuses/{status_id}")).json()
    assert status["tags"] == [{"name": "dance", "url": f"{a.base_url}/tags/dance"},
                              {"name": "rain", "url": f"{a.base_url}/tags/rain"}]
    assert status["cameos"] == [{"cameo": cameo["uri"], "owner": f"{a.base_url}/users/alice"}]
    [timeline_status] = (await a.api(None, "GET", "/api/v1/timelines/public?local=true")).json()
    assert timeline_status["cameos"] == status["cameos"] and timeline_status["tags"] == status["tags"]

    # The owner withdraws consent while both sides are on this instance: the post goes.
    [request] = (await a.api("alice", "GET", "/api/v1/remix_requests")).json()
    assert request["published"] is True
    revoked = await a.api("alice", "POST", f"/api/v1/remix_requests/{request['id']}/revoke")
    assert revoked.status_code == 200, revoked.text
    assert (await a.api(None, "GET", f"/api/v1/statuses/{status_id}")).status_code == 404
    assert (await _state(a, "bob", remix["id"]))["state"] == "revoked"


async def test_a_token_counts_only_in_the_authorization_header(make_instance):
    a = await make_instance()
    token = await a.signup("alice")
    async with a.client() as client:
        by_cookie = await client.get("/api/v1/accounts/verify_credentials",
                                     headers={"Cookie": f"likeness_token={token}"})
        by_header = await client.get("/api/v1/accounts/verify_credentials",
                                     headers={"Authorization": f"Bearer {token}"})
    assert by_cookie.status_code == 401 and by_header.status_code == 200
