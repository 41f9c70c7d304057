"""Research section 9's consent rows, as seen by a third instance C.

A scripted peer plays the requester's server: it gets genuine authorizations from alice on A by
sending RemixRequests, then sends C posts whose `cameos` are intact, tampered or forged. C must
show the intact one and refuse every other, whoever passed it on.
"""

from __future__ import annotations

import copy
from datetime import timedelta

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from federation import consent, objects, signing
from tests.conftest import eventually
from tests.test_remix_consent import _cameo

AS = "https://www.w3.org/ns/activitystreams"
AP = "application/activity+json"


class Scene:
    """alice on A with two cameos, carol on C, and pete (and mallory) on the scripted peer."""

    def __init__(self, a, c, peer, cameos):
        self.a, self.c, self.peer, self.cameos = a, c, peer, cameos
        self.carol = f"{c.base_url}/users/carol"
        self.alice = f"{a.base_url}/users/alice"
        self.sent = 0

    async def authorization(self, cameo_uri, post_uri, prompt, actor="pete"):
        """Ask A, as the peer's actor, for consent; returns the Accept's authorization."""
        self.sent += 1
        request = {"@context": AS, "id": f"{self.peer.base}/requests/{self.sent}", "type": "RemixRequest",
                   "actor": self.peer.actor_id(actor), "object": cameo_uri,
                   "instrument": {"id": post_uri, "type": "Note", "attributedTo": self.peer.actor_id(actor),
                                  "prompt": prompt, "promptDigest": consent.prompt_digest(prompt)}}
        response = await self.peer.post(actor, f"{self.a.base_url}/inbox", request)
        assert response.status_code == 202, response.text

        async def accepted():
            return next((m["result"] for m in self.peer.received if m.get("type") == "Accept"
                         and m["object"]["id"] == request["id"]), None)

        return await eventually(accepted)

    def note(self, post_uri, entries, prompt, actor="pete"):
        return {"id": post_uri, "type": "Note", "attributedTo": self.peer.actor_id(actor),
                "to": [f"{AS}#Public"], "cc": [], "content": "<p>hi @carol</p>",
                "tag": [{"type": "Mention", "href": self.carol}], "aiGenerated": True,
                "promptDigest": consent.prompt_digest(prompt), "cameos": entries}

    async def send(self, note, actor="pete"):
        """Deliver a Create of `note` to C; returns the state C ends in and why."""
        self.sent += 1
        activity = {"@context": AS, "id": f"{self.peer.base}/creates/{self.sent}", "type": "Create",
                    "actor": self.peer.actor_id(actor), "object": note}
        response = await self.peer.post(actor, f"{self.c.base_url}/inbox", activity)
        assert response.status_code == 202, response.text

        async def processed():
            row = await self.c.pool.fetchrow(
                "SELECT state, error FROM inbox_activities WHERE activity_uri = $1", activity["id"])
            return row if row and row["state"] != "pending" else None

        row = await eventually(processed)
        shown = await self.c.pool.fetchval(
            "SELECT count(*) FROM posts WHERE uri = $1 AND deleted_at IS NULL", note["id"])
        return row["state"], row["error"] or "", shown == 1


async def _scene(make_instance, peer):
    a = await make_instance("a")
    c = await make_instance("c")
    await a.signup("alice")
    await c.signup("carol")
    peer.add_actor("pete")
    peer.add_actor("mallory")
    first = await _cameo(a, "alice", permission="everyone", approval="automatic")
    second = await _cameo(a, "alice", permission="everyone", approval="automatic", name="Alice Two")
    return Scene(a, c, peer, [first["uri"], second["uri"]])


async def test_c_shows_only_posts_whose_consent_holds(make_instance, peer):
    s = await _scene(make_instance, peer)
    cameo, other_cameo = s.cameos
    prompt = "alice surfing a wave"
    post = f"{peer.base}/users/pete/statuses/1"
    auth = await s.authorization(cameo, post, prompt)
    entry = [{"cameo": cameo, "remixAuthorization": auth}]

    alice_keys = await signing.signing_keys(
        s.a.instance.fed, await s.a.pool.fetchval("SELECT id FROM actors WHERE uri = $1", s.alice))

    def resigned(**changes):
        document = {k: v for k, v in auth.items() if k != "proof"}
        document.update(changes)
        return consent.authorization(
            id=document["id"], owner=document["attributedTo"], post=document["interactingObject"],
            cameo=document["interactionTarget"], grantee=document["grantee"],
            digest=document["promptDigest"], published=objects.now(),
            end_time=objects.parse_time(document["endTime"]), private_key=alice_keys.ed25519,
            key_id=alice_keys.ed25519_key_id)

    def tampered(**changes):
        document = copy.deepcopy(auth)
        document.update(changes)
        return document

    past = objects.now() - timedelta(days=40)
    expired = consent.authorization(
        id=auth["id"], owner=s.alice, post=post, cameo=cameo, grantee=peer.actor_id("pete"),
        digest=consent.prompt_digest(prompt), published=past, end_time=past + timedelta(days=30),
        private_key=alice_keys.ed25519, key_id=alice_keys.ed25519_key_id)
    stranger = Ed25519PrivateKey.generate()
    cases = {
        "a prompt other than the one consented to":
            {**s.note(post, entry, prompt), "promptDigest": consent.prompt_digest("something else")},
        "another post than the one consented to":
            s.note(f"{peer.base}/users/pete/statuses/2", entry, prompt),
        "the cameo swapped for another of alice's":
            s.note(post, [{"cameo": other_cameo, "remixAuthorization": auth}], prompt),
        "a tampered field under the old proof":
            s.note(post, [{"cameo": cameo, "remixAuthorization": tampered(
                endTime=objects.iso(objects.now() + timedelta(days=3650)))}], prompt),
        "an authorization hosted by someone else":
            s.note(post, [{"cameo": cameo, "remixAuthorization": tampered(
                id=f"{peer.base}/authorizations/1")}], prompt),
        "the wrong type":
            s.note(post, [{"cameo": cameo, "remixAuthorization": tampered(type="QuoteAuthorization")}],
                   prompt),
        "an expired authorization": s.note(post, [{"cameo": cameo, "remixAuthorization": expired}], prompt),
        "a proof by a key alice does not list":
            s.note(post, [{"cameo": cameo, "remixAuthorization": consent.authorization(
                id=auth["id"], owner=s.alice, post=post, cameo=cameo, grantee=peer.actor_id("pete"),
                digest=consent.prompt_digest(prompt), published=objects.now(),
                end_time=objects.now() + timedelta(days=1), private_key=stranger,
                key_id=f"{s.alice}#other-key")}], prompt),
        "a proof by a stranger's key under alice's key id":
            s.note(post, [{"cameo": cameo, "remixAuthorization": consent.authorization(
                id=auth["id"], owner=s.alice, post=post, cameo=cameo, grantee=peer.actor_id("pete"),
                digest=consent.prompt_digest(prompt), published=objects.now(),
                end_time=objects.now() + timedelta(days=1), private_key=stranger,
                key_id=alice_keys.ed25519_key_id)}], prompt),
        "someone else's cameo with no authorization": s.note(post, [{"cameo": cameo}], prompt),
        "too many cameos": s.note(post, entry * 5, prompt),
        "an authorization id alice never issued":
            s.note(post, [{"cameo": cameo, "remixAuthorization": resigned(
                id=f"{s.alice}/remix_authorizations/999")}], prompt),
    }
    for reason, note in cases.items():
        state, error, shown = await s.send(note)
        assert (state, shown) == ("ignored", False), f"{reason}: {state} {error}"
        assert "consent does not hold" in error, f"{reason}: {error}"

    # Someone else on the same server presenting pete's authorization as their own.
    state, error, shown = await s.send(s.note(post, entry, prompt, actor="mallory"), actor="mallory")
    assert (state, shown) == ("ignored", False) and "grantee" in error

    # The intact post is shown: the refusals above were for their faults, not for everything.
    state, error, shown = await s.send(s.note(post, entry, prompt))
    assert (state, shown) == ("done", True), error
    status = (await s.c.api("carol", "GET", "/api/v1/notifications")).json()
    assert any(n["type"] == "mention" for n in status)


async def test_revocations_on_c(make_instance, peer):
    s = await _scene(make_instance, peer)
    cameo = s.cameos[0]
    post = f"{peer.base}/users/pete/statuses/10"
    auth = await s.authorization(cameo, post, "one")
    state, error, shown = await s.send(s.note(post, [{"cameo": cameo, "remixAuthorization": auth}], "one"))
    assert shown, error

    # A Delete of the authorization from anyone but alice changes nothing.
    fake = {"@context": AS, "id": f"{peer.base}/deletes/1", "type": "Delete",
            "actor": peer.actor_id("mallory"), "object": {"id": auth["id"], "type": "RemixAuthorization"}}
    assert (await peer.post("mallory", f"{s.c.base_url}/inbox", fake)).status_code == 403
    assert await s.c.pool.fetchval("SELECT count(*) FROM posts WHERE deleted_at IS NULL AND uri = $1", post)

    # alice revokes; A sends its signed Delete to the requester (the peer), which forwards it to C
    # under its own HTTP signature: C takes it on alice's proof and hides the post at once.
    requests = (await s.a.api("alice", "GET", "/api/v1/remix_requests")).json()
    assert (await s.a.api("alice", "POST", f"/api/v1/remix_requests/{requests[0]['id']}/revoke")
            ).status_code == 200

    async def delete_reached_peer():
        return next((m for m in s.peer.received if m.get("type") == "Delete"
                     and m["object"]["id"] == auth["id"]), None)

    delete = await eventually(delete_reached_peer)
    forged = {**delete, "id": f"{s.alice}/remix_authorizations/0#delete"}
    assert (await peer.post("pete", f"{s.c.base_url}/inbox", forged)).status_code == 401
    assert (await peer.post("pete", f"{s.c.base_url}/inbox", delete)).status_code == 202

    async def hidden():
        return await s.c.pool.fetchval(
            "SELECT deleted_at IS NOT NULL FROM posts WHERE uri = $1", post)

    await eventually(hidden)
    # The same post sent again, or any post citing the revoked authorization, is refused.
    state, error, shown = await s.send(s.note(post, [{"cameo": cameo, "remixAuthorization": auth}], "one"))
    assert (state, shown) == ("ignored", False) and "revoked" in error

    # A Delete that arrives before the post it revokes: the post is refused when it comes.
    early_post = f"{peer.base}/users/pete/statuses/11"
    early = await s.authorization(cameo, early_post, "two")
    requests = (await s.a.api("alice", "GET", "/api/v1/remix_requests")).json()
    pending = next(r for r in requests if r["post_uri"] == early_post)
    assert (await s.a.api("alice", "POST", f"/api/v1/remix_requests/{pending['id']}/revoke")
            ).status_code == 200

    async def second_delete():
        return next((m for m in s.peer.received if m.get("type") == "Delete"
                     and m["object"]["id"] == early["id"]), None)

    assert (await peer.post("pete", f"{s.c.base_url}/inbox", await eventually(second_delete))
            ).status_code == 202
    await eventually(lambda: s.c.pool.fetchval(
        "SELECT count(*) FROM revoked_authorizations WHERE uri = $1", early["id"]))
    state, error, shown = await s.send(
        s.note(early_post, [{"cameo": cameo, "remixAuthorization": early}], "two"))
    assert (state, shown) == ("ignored", False) and "revoked" in error


async def test_quote_requests_are_answered_by_the_quote_policy(make_instance, peer):
    b = await make_instance("b")
    await b.signup("bob")
    peer.add_actor("pete")
    public = (await b.api("bob", "POST", "/api/v1/statuses", json={"status": "quote me"})).json()
    private = (await b.api("bob", "POST", "/api/v1/statuses",
                           json={"status": "only followers", "visibility": "private"})).json()
    async with b.client() as client:
        note = (await client.get(public["uri"], headers={"Accept": AP})).json()
    assert note["interactionPolicy"]["canQuote"]["automaticApproval"] == [f"{AS}#Public"]

    def quote_request(n, target):
        return {"@context": AS, "id": f"{peer.base}/quote_requests/{n}", "type": "QuoteRequest",
                "actor": peer.actor_id("pete"), "object": target,
                "instrument": {"id": f"{peer.base}/users/pete/statuses/{n}", "type": "Note",
                               "attributedTo": peer.actor_id("pete"), "content": "look"}}

    for n, target in ((1, public["uri"]), (2, private["uri"])):
        assert (await peer.post("pete", f"{b.base_url}/inbox", quote_request(n, target))).status_code == 202

    async def answers():
        found = {m["object"]["id"]: m for m in peer.received if m.get("type") in ("Accept", "Reject")}
        return found if len(found) == 2 else None

    found = await eventually(answers)
    accept = found[f"{peer.base}/quote_requests/1"]
    assert accept["type"] == "Accept"
    assert found[f"{peer.base}/quote_requests/2"]["type"] == "Reject"
    async with b.client() as client:
        stamp = await client.get(accept["result"], headers={"Accept": AP})
    assert stamp.status_code == 200
    fields = ("type", "attributedTo", "interactingObject", "interactionTarget")
    assert {k: stamp.json()[k] for k in fields} == {
        "type": "QuoteAuthorization", "attributedTo": f"{b.base_url}/users/bob",
        "interactingObject": f"{peer.base}/users/pete/statuses/1", "interactionTarget": public["uri"]}

    # A replayed request is not answered twice; a quoting post on another host is refused.
    replay = await peer.post("pete", f"{b.base_url}/inbox", quote_request(1, public["uri"]))
    assert replay.status_code == 202
    bad = quote_request(3, public["uri"])
    bad["instrument"]["id"] = "https://elsewhere.example/statuses/3"
    assert (await peer.post("pete", f"{b.base_url}/inbox", bad)).status_code == 202
    await eventually(lambda: b.pool.fetchval(
        "SELECT count(*) = 0 FROM inbox_activities WHERE state = 'pending'"))
    assert await b.pool.fetchval("SELECT count(*) FROM quote_authorizations") == 2
    # Once the quoted post is deleted the stamp is gone.
    assert (await b.api("bob", "DELETE", f"/api/v1/statuses/{public['id']}")).status_code == 200
    async with b.client() as client:
        assert (await client.get(accept["result"], headers={"Accept": AP})).status_code == 404


async def test_bad_remix_requests_are_ignored_and_replays_are_no_ops(make_instance, peer):
    s = await _scene(make_instance, peer)
    cameo = s.cameos[0]
    pete = peer.actor_id("pete")

    def request(n, **instrument):
        body = {"id": f"{pete}/statuses/{n}", "type": "Note", "attributedTo": pete,
                "prompt": "p", "promptDigest": consent.prompt_digest("p"), **instrument}
        return {"@context": AS, "id": f"{peer.base}/bad-requests/{n}", "type": "RemixRequest",
                "actor": pete, "object": cameo, "instrument": body}

    bad = {
        "the pending post on another host": request(1, id="https://elsewhere.example/statuses/1"),
        "a pending post that is not http(s)": request(2, id="ftp://127.0.0.1/statuses/2"),
        "someone else's pending post": request(3, attributedTo=peer.actor_id("mallory")),
        "a prompt that does not match its digest": request(4, prompt="other"),
        "no digest at all": request(5, promptDigest=None),
        "a cameo that is not alice's": {**request(6), "object": f"{s.a.base_url}/users/alice/cameos/999"},
    }
    for reason, activity in bad.items():
        assert (await peer.post("pete", f"{s.a.base_url}/inbox", activity)).status_code == 202, reason

    async def all_handled():
        return await s.a.pool.fetchval(
            "SELECT count(*) = 0 FROM inbox_activities WHERE state = 'pending'")

    await eventually(all_handled)
    states = {r["activity_uri"]: r["state"] for r in await s.a.pool.fetch(
        "SELECT activity_uri, state FROM inbox_activities WHERE type = 'RemixRequest'")}
    for reason, activity in bad.items():
        assert states[activity["id"]] == "ignored", reason
    assert await s.a.pool.fetchval("SELECT count(*) FROM remix_requests") == 0

    # A request replayed under its own id is a no-op; one answer, one row.
    good = request(7)
    for _ in range(2):
        assert (await peer.post("pete", f"{s.a.base_url}/inbox", good)).status_code == 202
    async def answered():
        return any(m.get("type") == "Accept" for m in peer.received)

    await eventually(answered)
    await eventually(all_handled)
    assert await s.a.pool.fetchval("SELECT count(*) FROM remix_requests") == 1
    assert sum(m.get("type") == "Accept" for m in peer.received) == 1
