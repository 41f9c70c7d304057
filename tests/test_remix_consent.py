"""Remix consent across two instances (PROTOCOL.md steps 1-3): automatic and manual approval,
rejection, refusals, and the signed authorization served at its id and checked by B."""

from __future__ import annotations

import pytest

from federation import consent, fetch, keys, proofs, signing
from tests.conftest import eventually
from tests.test_cameos import _form

AP = "application/activity+json"


async def _cameo(instance, user, **fields):
    response = await instance.api(user, "POST", "/api/v1/cameos", **_form(**fields))
    assert response.status_code == 201, response.text
    return response.json()


async def _remix(instance, user, cameos, prompt="dancing in the rain"):
    return await instance.api(user, "POST", "/api/v1/remixes", json={"prompt": prompt, "cameos": cameos})


async def _state(instance, user, remix_id):
    return (await instance.api(user, "GET", f"/api/v1/remixes/{remix_id}")).json()


async def _two(make_instance):
    a = await make_instance("a")
    b = await make_instance("b")
    await a.signup("alice")
    await b.signup("bob")
    return a, b


async def test_automatic_approval_across_instances(make_instance):
    a, b = await _two(make_instance)
    cameo = await _cameo(a, "alice", permission="everyone", approval="automatic")
    response = await _remix(b, "bob", [cameo["uri"]])
    assert response.status_code == 201, response.text
    remix = response.json()
    assert remix["state"] == "pending" and remix["post_uri"].startswith(f"{b.base_url}/users/bob/")

    async def authorized():
        state = await _state(b, "bob", remix["id"])
        return state if state["state"] == "authorized" else None

    done = await eventually(authorized)
    auth_uri = done["cameos"][0]["authorization"]
    assert auth_uri.startswith(f"{a.base_url}/users/alice/remix_authorizations/")
    # The authorization is live at its id on A, byte-for-byte what B stored.
    async with a.client() as client:
        served = await client.get(auth_uri, headers={"Accept": AP})
    assert served.status_code == 200 and served.headers["content-type"].startswith(AP)
    stored = await b.pool.fetchval("SELECT authorization_document FROM remix_cameos")
    assert served.json() == stored
    assert stored["grantee"] == f"{b.base_url}/users/bob"
    assert stored["promptDigest"] == consent.prompt_digest("dancing in the rain")
    assert stored["proof"]["verificationMethod"] == f"{a.base_url}/users/alice#ed25519-key"
    # A lists the use for the owner; B tells bob.
    uses = (await a.api("alice", "GET", "/api/v1/remix_requests")).json()
    assert [(u["state"], u["post_uri"]) for u in uses] == [("approved", remix["post_uri"])]
    # (Likeness's own types, which only a client that names them is shown.)
    kinds = [n["type"] for n in (await b.api("bob", "GET", "/api/v1/notifications",
                                             params={"include_types[]": "remix_authorized"})).json()]
    assert "remix_authorized" in kinds
    kinds = [n["type"] for n in (await a.api("alice", "GET", "/api/v1/notifications",
                                             params={"include_types[]": "remix_use"})).json()]
    assert kinds == ["remix_use"]


async def test_manual_approval_and_rejection(make_instance):
    a, b = await _two(make_instance)
    cameo = await _cameo(a, "alice", permission="everyone", approval="manual")
    first = (await _remix(b, "bob", [cameo["uri"]], "one")).json()
    second = (await _remix(b, "bob", [cameo["uri"]], "two")).json()

    async def both_waiting():
        uses = (await a.api("alice", "GET", "/api/v1/remix_requests")).json()
        return uses if len(uses) == 2 and all(u["state"] == "pending" for u in uses) else None

    uses = await eventually(both_waiting)
    notes = (await a.api("alice", "GET", "/api/v1/notifications", params={"types[]": "remix_request"})).json()
    assert [n["type"] for n in notes].count("remix_request") == 2
    by_prompt = {u["prompt"]: u["id"] for u in uses}
    for prompt, action in (("one", "approve"), ("two", "reject")):
        path = f"/api/v1/remix_requests/{by_prompt[prompt]}/{action}"
        assert (await a.api("alice", "POST", path)).status_code == 200
    await a.signup("carol")
    assert (await a.api("carol", "POST", f"/api/v1/remix_requests/{by_prompt['one']}/reject")
            ).status_code == 404  # only the cameo's owner answers
    again = await a.api("alice", "POST", f"/api/v1/remix_requests/{by_prompt['one']}/reject")
    assert again.status_code == 409  # answered already

    async def settled():
        states = [(await _state(b, "bob", r["id"]))["state"] for r in (first, second)]
        return states if states == ["authorized", "rejected"] else None

    await eventually(settled)


async def test_refusals(make_instance):
    a, b = await _two(make_instance)
    private = await _cameo(a, "alice")  # only me: to anyone else it does not exist
    paused = await _cameo(a, "alice", permission="everyone")
    await a.api("alice", "PATCH", f"/api/v1/cameos/{paused['id']}", json={"paused": True})
    response = await _remix(b, "bob", [private["uri"]])
    assert response.status_code == 422 and "could not be fetched" in response.json()["error"]
    remix = (await _remix(b, "bob", [paused["uri"]])).json()

    async def rejected():
        return (await _state(b, "bob", remix["id"]))["state"] == "rejected"

    await eventually(rejected)
    reasons = {u["reason"] for u in (await a.api("alice", "GET", "/api/v1/remix_requests")).json()}
    assert reasons == {"this cameo is paused or deleted"}
    for body, words in [
        ({"prompt": "", "cameos": [private["uri"]]}, "prompt"),
        ({"prompt": "x" * 2001, "cameos": [private["uri"]]}, "longer"),
        ({"prompt": "a\x1bb", "cameos": [private["uri"]]}, "control"),
        ({"prompt": "ok", "cameos": []}, "1 to 4"),
        ({"prompt": "ok", "cameos": [private["uri"]] * 2}, "different"),
        ({"prompt": "ok", "cameos": "nope"}, "list"),
        ({"prompt": "ok", "cameos": [f"{a.base_url}/users/alice/cameos/999"]}, "fetched"),
        ({"prompt": "ok", "cameos": [f"{a.base_url}/users/alice"]}, "not a cameo"),
    ]:
        response = await b.api("bob", "POST", "/api/v1/remixes", json=body)
        assert response.status_code == 422, (body, response.text)
        assert words in response.json()["error"]
    # Refused authorizations are not served.
    async with a.client() as client:
        assert (await client.get(f"{a.base_url}/users/alice/remix_authorizations/1",
                                 headers={"Accept": AP})).status_code == 404


async def test_own_cameo_needs_no_request(make_instance):
    a = await make_instance("a")
    await a.signup("alice")
    cameo = await _cameo(a, "alice")
    remix = (await _remix(a, "alice", [cameo["uri"]])).json()
    assert remix["state"] == "authorized" and remix["cameos"][0]["authorization"] is None
    assert (await a.api("alice", "GET", "/api/v1/remix_requests")).json() == []


async def test_same_instance_remix(make_instance):
    a = await make_instance("a")
    await a.signup("alice")
    await a.signup("bob")
    cameo = await _cameo(a, "alice", permission="everyone", approval="automatic")
    remix = (await _remix(a, "bob", [cameo["uri"]])).json()
    assert remix["state"] == "authorized"
    assert remix["cameos"][0]["authorization"].startswith(f"{a.base_url}/users/alice/")


async def test_revocation_reaches_the_requester_and_every_fetcher(make_instance, peer):
    a, b = await _two(make_instance)
    c = await make_instance("c")
    cameo = await _cameo(a, "alice", permission="everyone", approval="automatic")
    remix = (await _remix(b, "bob", [cameo["uri"]])).json()

    async def authorization():
        state = await _state(b, "bob", remix["id"])
        return state["cameos"][0]["authorization"] if state["state"] == "authorized" else None

    auth_uri = await eventually(authorization)
    # C fetches it with a signed GET (as it will to verify a post): A remembers C.
    fetched = await fetch.fetch_document(c.instance.fed.client, auth_uri,
                                         sign=await signing.instance_signer(c.instance.fed))
    assert fetched.document["id"] == auth_uri
    assert await a.pool.fetchval("SELECT inbox FROM authorization_fetches") == f"{c.base_url}/inbox"

    # Someone else's server cannot revoke it: the Delete is refused at A's door... and at B's.
    peer.add_actor("mallory")
    forged = {"id": f"{peer.base}/deletes/1", "type": "Delete", "actor": peer.actor_id("mallory"),
              "object": {"id": auth_uri, "type": "RemixAuthorization"}}
    assert (await peer.post("mallory", f"{b.base_url}/inbox", forged)).status_code == 403

    request_id = (await a.api("alice", "GET", "/api/v1/remix_requests")).json()[0]["id"]
    assert (await b.api("bob", "POST", f"/api/v1/remix_requests/{request_id}/revoke")).status_code == 404
    response = await a.api("alice", "POST", f"/api/v1/remix_requests/{request_id}/revoke")
    assert response.status_code == 200, response.text
    again = await a.api("alice", "POST", f"/api/v1/remix_requests/{request_id}/revoke")
    assert again.status_code == 409
    # The ledger no longer gives the approval's reason ("approved by the owner") for a revoked use.
    [ledger] = (await a.api("alice", "GET", "/api/v1/remix_requests")).json()
    assert (ledger["state"], ledger["reason"]) == ("revoked", None)

    async with a.client() as client:
        gone = await client.get(auth_uri, headers={"Accept": AP})
    assert gone.status_code == 410 and gone.json()["formerType"] == "RemixAuthorization"

    async def revoked_on_b():
        return (await _state(b, "bob", remix["id"]))["state"] == "revoked"

    await eventually(revoked_on_b)
    kinds = [n["type"] for n in (await b.api("bob", "GET", "/api/v1/notifications",
                                             params={"types[]": "remix_revoked"})).json()]
    assert "remix_revoked" in kinds

    async def reached_c():
        return await c.pool.fetchval("SELECT body FROM inbox_activities WHERE type = 'Delete'")

    delete = await eventually(reached_c)
    assert delete["object"]["id"] == auth_uri and delete["proof"]["cryptosuite"] == "eddsa-jcs-2022"
    # The Delete proves itself: anyone holding alice's Multikey can check it, forwarded or not.
    multikey = await a.pool.fetchval("SELECT public_pem FROM public_keys WHERE key_id = $1",
                                     f"{a.base_url}/users/alice#ed25519-key")
    proofs.verify(delete, keys.decode_multikey(multikey))


async def test_reference_images_only_for_a_live_authorization(make_instance, media_store):
    # A's references in its media directory or in its bucket: relayed by A alike.
    a = await make_instance("a", **media_store)
    b = await make_instance("b")
    await a.signup("alice")
    await b.signup("bob")
    c = await make_instance("c")
    cameo = await _cameo(a, "alice", permission="everyone", approval="automatic")
    remix = (await _remix(b, "bob", [cameo["uri"]])).json()

    async def authorized():
        return (await _state(b, "bob", remix["id"]))["state"] == "authorized"

    await eventually(authorized)
    reference = f"{cameo['uri']}/references/0"
    bob = await b.pool.fetchval("SELECT id FROM actors WHERE username = 'bob' AND local")
    bob_signer = signing.signer(b.instance.fed, await signing.signing_keys(b.instance.fed, bob))

    async def fetch_as(signer, client):
        headers = {"Accept": "image/*"}
        if signer is not None:
            headers.update(await signer("GET", reference, headers, None))
        return await client.get(reference, headers=headers)

    client = b.instance.fed.client  # the instance's own client, kept open by the instance
    granted = await fetch_as(bob_signer, client)
    assert granted.status_code == 200 and granted.headers["content-type"] == "image/jpeg"
    assert granted.headers["cache-control"] == "private, no-store"
    stored = await a.pool.fetchval("SELECT storage_key FROM cameo_references ORDER BY position LIMIT 1")
    assert granted.content == await a.instance.media.read_bytes(stored)
    assert (await fetch_as(None, client)).status_code == 403
    # Another instance's actor holds no authorization.
    other = await fetch_as(await signing.instance_signer(c.instance.fed), client)
    assert other.status_code == 403 and "live authorization" in other.json()["error"]
    request_id = (await a.api("alice", "GET", "/api/v1/remix_requests")).json()[0]["id"]
    await a.api("alice", "POST", f"/api/v1/remix_requests/{request_id}/revoke")
    assert (await fetch_as(bob_signer, client)).status_code == 403


@pytest.mark.parametrize("deleted_by", ["owner", "moderator"])
async def test_deleting_a_cameo_withdraws_every_consent_given_with_it(make_instance, deleted_by):
    # Each granted authorization is revoked (410 at its id, a signed Delete to the requester) and
    # each request still waiting is refused.
    a, b = await _two(make_instance)
    await a.signup("mod")
    await a.set_role("mod", "moderator")
    cameo = await _cameo(a, "alice", permission="everyone", approval="manual")
    granted = (await _remix(b, "bob", [cameo["uri"]], "granted")).json()
    waiting = (await _remix(b, "bob", [cameo["uri"]], "waiting")).json()

    async def both_asked():
        uses = (await a.api("alice", "GET", "/api/v1/remix_requests")).json()
        return {u["prompt"]: u["id"] for u in uses} if len(uses) == 2 else None

    asked = await eventually(both_asked)
    assert (await a.api("alice", "POST", f"/api/v1/remix_requests/{asked['granted']}/approve")
            ).status_code == 200

    async def authorized():
        state = await _state(b, "bob", granted["id"])
        return state["cameos"][0]["authorization"] if state["state"] == "authorized" else None

    auth_uri = await eventually(authorized)
    if deleted_by == "owner":
        response = await a.api("alice", "DELETE", f"/api/v1/cameos/{cameo['id']}")
    else:
        response = await a.api("mod", "POST", f"/api/v1/admin/cameos/{cameo['id']}/action",
                               json={"type": "delete"})
    assert response.status_code == 200, response.text

    async def withdrawn():
        states = [(await _state(b, "bob", r["id"]))["state"] for r in (granted, waiting)]
        return states if states == ["revoked", "rejected"] else None

    await eventually(withdrawn)
    async with a.client() as client:
        assert (await client.get(auth_uri, headers={"Accept": AP})).status_code == 410
    rows = await a.pool.fetch("SELECT prompt, state, reason FROM remix_requests")
    by_prompt = {r["prompt"]: (r["state"], r["reason"]) for r in rows}
    assert by_prompt["granted"] == ("revoked", "the cameo was deleted")
    assert by_prompt["waiting"] == ("rejected", "the cameo was deleted")
