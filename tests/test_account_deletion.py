"""Deleting an account: by its owner with their password, or by an admin once it is suspended.
Everything it made or held goes, its consents are withdrawn on every instance that holds them,
and then its actor's Delete tells the other servers to drop it; its name stays taken."""

from __future__ import annotations

import pytest

from federation import delivery
from server import accounts
from tests.conftest import PASSWORD, eventually
from tests.s3_server import stored_keys
from tests.test_federation_e2e import _account_id
from tests.test_oauth import _app
from tests.test_remix_consent import _cameo, _remix, _state
from tests.test_remix_posts import _authorized
from tests.videos import make_mp4, upload_video

AP = {"Accept": "application/activity+json"}


async def test_a_person_deletes_their_account_everywhere(make_instance, media_store, tmp_path):
    a = await make_instance("a", **media_store)  # its files in its media directory, or its bucket
    b = await make_instance("b")
    await a.signup("alice")
    await b.signup("bob")
    await a.signup("carol")
    alice_uri = f"{a.base_url}/users/alice"
    # alice has a cameo that bob used in an authorized remix, a video post, and followers here and
    # on B; carol's own things stay.
    cameo = await _cameo(a, "alice", permission="everyone", approval="automatic")
    remix = (await _remix(b, "bob", [cameo["uri"]])).json()
    await _authorized(b, "bob", remix["id"])
    media = await upload_video(a, "alice", make_mp4(tmp_path / "a.mp4", width=90, height=160))
    post = (await a.api("alice", "POST", "/api/v1/statuses",
                        json={"status": "hi", "media_ids": [media["id"]]})).json()
    alice_on_b = await _account_id(b, "bob", f"alice@{a.domain}")
    assert (await b.api("bob", "POST", f"/api/v1/accounts/{alice_on_b}/follow")).status_code == 200
    alice_id = (await a.api("carol", "GET", "/api/v1/accounts/lookup", params={"acct": "alice"})).json()["id"]
    assert (await a.api("carol", "POST", f"/api/v1/accounts/{alice_id}/follow")).status_code == 200
    carol_media = await upload_video(a, "carol", make_mp4(tmp_path / "c.mp4", width=90, height=160))

    async def bob_follows():
        return await a.pool.fetchval("SELECT count(*) FROM follows WHERE followed_id = $1 AND accepted",
                                     int(alice_id)) == 2

    await eventually(bob_follows)
    before = await stored_keys(a.instance.media)

    # Bad confirmations change nothing.
    for body, status in (({}, 422), ({"password": ""}, 422), ({"password": "not it"}, 403)):
        response = await a.api("alice", "POST", "/api/v1/account/delete", json=body)
        assert response.status_code == status, response.text
    signed_out = await a.api(None, "POST", "/api/v1/account/delete", json={"password": PASSWORD})
    assert signed_out.status_code == 401
    # A third-party app, even with the write scope and the right password, cannot.
    app = await _app(a, scopes="read write")
    async with a.client() as client:
        token = await client.post("/oauth/token", data={
            "grant_type": "password", "username": "alice", "password": PASSWORD, "scope": "read write",
            "client_id": app["client_id"], "client_secret": app["client_secret"]})
        third_party = await client.post("/api/v1/account/delete", json={"password": PASSWORD},
                                        headers={"Authorization": f"Bearer {token.json()['access_token']}"})
    assert third_party.status_code == 403 and "own app" in third_party.json()["error"]
    assert await stored_keys(a.instance.media) == before
    assert (await a.api("alice", "GET", "/api/v1/accounts/verify_credentials")).status_code == 200

    response = await a.api("alice", "POST", "/api/v1/account/delete", json={"password": PASSWORD})
    assert response.status_code == 200, response.text

    # Here: signed out, not found, the name kept, the actor and the post gone (410), every file of
    # hers deleted and carol's kept.
    assert (await a.api("alice", "GET", "/api/v1/accounts/verify_credentials")).status_code == 401
    with pytest.raises(accounts.AccountError):
        await accounts.login(a.pool, "alice", PASSWORD)
    async with a.client() as client:
        taken = await client.post("/api/v1/accounts", json={"username": "alice", "email": "new@example.com",
                                                            "password": PASSWORD})
        assert taken.status_code == 409
        assert (await client.get(alice_uri, headers=AP)).status_code == 410
        assert (await client.get(post["uri"], headers=AP)).status_code == 410
        assert (await client.get("/.well-known/webfinger",
                                 params={"resource": f"acct:alice@{a.domain}"})).status_code == 404
    assert (await a.api("carol", "GET", f"/api/v1/accounts/{alice_id}")).status_code == 404
    assert await a.pool.fetchval("SELECT count(*) FROM follows WHERE $1 IN (follower_id, followed_id)",
                                 int(alice_id)) == 0
    assert await a.pool.fetchval("SELECT count(*) FROM media WHERE actor_id = $1", int(alice_id)) == 0
    assert await a.pool.fetchval("SELECT count(*) FROM cameo_references") == 0
    assert await stored_keys(a.instance.media) == {
        url.split("/media/")[1].partition("?")[0] for url in (carol_media["url"], carol_media["preview_url"])}

    # B: the consent alice gave is revoked at once...
    async def revoked():
        return (await _state(b, "bob", remix["id"]))["state"] == "revoked"

    await eventually(revoked)
    # ...and her actor's Delete waits for the sweeper (after the revocations), then B drops her.
    assert await b.pool.fetchval("SELECT count(*) FROM actors WHERE uri = $1", alice_uri) == 1
    queued = await a.pool.fetchval(
        "SELECT count(*) FROM deliveries d JOIN outbox_activities o ON o.id = d.activity_id"
        " WHERE o.type = 'Delete' AND o.body->>'object' = $1 AND d.state = 'queued'", alice_uri)
    assert queued >= 1
    await a.pool.execute("UPDATE deliveries SET next_attempt_at = now() - interval '2 minutes'"
                         " WHERE state = 'queued'")
    assert await delivery.sweep(a.instance.fed) >= 1

    async def dropped():
        return await b.pool.fetchval("SELECT count(*) FROM actors WHERE uri = $1", alice_uri) == 0

    await eventually(dropped)


async def test_an_admin_deletes_a_suspended_account(make_instance):
    a = await make_instance()
    for name in ("boss", "mod", "dave"):
        await a.signup(name)
    await a.set_role("boss", "admin")
    await a.set_role("mod", "moderator")
    dave = (await a.api("mod", "GET", "/api/v1/accounts/lookup", params={"acct": "dave"})).json()["id"]
    path = f"/api/v1/admin/accounts/{dave}"
    assert (await a.api("mod", "DELETE", path)).status_code == 403
    refused = await a.api("boss", "DELETE", path)
    assert refused.status_code == 422 and "suspend the account first" in refused.json()["error"]
    assert (await a.api("boss", "DELETE", "/api/v1/admin/accounts/999999")).status_code == 404
    assert (await a.api("mod", "POST", f"{path}/action", json={"type": "suspend"})).status_code == 200
    deleted = await a.api("boss", "DELETE", path)
    assert deleted.status_code == 200, deleted.text
    assert deleted.json()["suspended"] is True
    assert (await a.api("boss", "DELETE", path)).status_code == 409
    # A deleted account cannot be brought back.
    undo = await a.api("mod", "POST", f"{path}/unsuspend")
    assert undo.status_code == 422 and undo.json()["error"] == "this account was deleted"
    # An admin hands the role on before deleting their own account.
    own = await a.api("boss", "POST", "/api/v1/account/delete", json={"password": PASSWORD})
    assert own.status_code == 422 and "admin" in own.json()["error"]
