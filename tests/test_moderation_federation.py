"""Moderation across servers: reports forwarded as Mastodon's `Flag` (between two Likeness
instances, and the exact JSON a Mastodon-like peer receives), remote Flags landing in the queue
or ignored, moderation deletes and suspensions federating, and a suspended remote account."""

from __future__ import annotations

from typing import Any

from tests.conftest import eventually
from tests.test_federation_e2e import _account_id

PUBLIC = "https://www.w3.org/ns/activitystreams#Public"
AP = {"Accept": "application/activity+json"}


async def _post(instance: Any, user: str, text: str) -> dict[str, Any]:
    response = await instance.api(user, "POST", "/api/v1/statuses", json={"status": text})
    assert response.status_code == 200, response.text
    return response.json()


async def _two_instances(make_instance: Any) -> tuple[Any, Any, str]:
    """A with alice and a moderator, B with bob and a moderator; bob follows alice (her id on B)."""
    a = await make_instance("a")
    b = await make_instance("b")
    for instance, user, moderator in ((a, "alice", "mod"), (b, "bob", "bmod")):
        await instance.signup(user)
        await instance.signup(moderator)
        await instance.set_role(moderator, "moderator")
    return a, b, await _follow(b, "bob", a.handle("alice"))


async def _follow(instance: Any, user: str, handle: str) -> str:
    """Follow an account of another instance, once it has accepted; its id here."""
    account_id = await _account_id(instance, user, handle)
    await instance.api(user, "POST", f"/api/v1/accounts/{account_id}/follow")

    async def followed() -> bool:
        rel = await instance.api(user, "GET", "/api/v1/accounts/relationships", params={"id[]": account_id})
        return rel.json()[0]["following"]

    await eventually(followed)
    return account_id


async def _remote_status(instance: Any, user: str, uri: str) -> dict[str, Any]:
    response = await instance.api(user, "GET", "/api/v2/search", params={"q": uri, "resolve": "true"})
    assert response.status_code == 200, response.text
    [status] = response.json()["statuses"]
    return status


async def test_flag_delete_and_suspension_between_two_instances(make_instance, peer):
    # bob@B follows alice@A and sees her two posts.
    a, b, alice_on_b = await _two_instances(make_instance)
    rude = await _post(a, "alice", "a rude post")
    other = await _post(a, "alice", "another post")

    async def home() -> list[str]:
        return [s["uri"] for s in (await b.api("bob", "GET", "/api/v1/timelines/home")).json()]

    await eventually(lambda: _has(home, rude["uri"], other["uri"]))
    rude_on_b = await _remote_status(b, "bob", rude["uri"])

    # bob reports it on B and asks for it to be forwarded: a signed Flag reaches A's queue.
    response = await b.api("bob", "POST", "/api/v1/reports", json={
        "account_id": alice_on_b, "status_ids": [rude_on_b["id"]], "comment": "please look",
        "category": "violation", "forward": True})
    assert response.status_code == 200, response.text
    assert response.json()["forwarded"] is True
    on_b = (await b.api("bmod", "GET", "/api/v1/admin/reports")).json()
    assert [r["target_account"]["account"]["acct"] for r in on_b] == [a.handle("alice")]

    async def queue_on_a() -> list[dict[str, Any]]:
        return (await a.api("mod", "GET", "/api/v1/admin/reports")).json()

    [report] = await eventually(queue_on_a)
    assert report["origin_domain"] == b.domain and report["comment"] == "please look"
    assert report["account"]["account"]["uri"] == f"{b.base_url}/actor"  # B's instance actor, not bob
    assert report["target_account"]["username"] == "alice"
    assert [s["id"] for s in report["statuses"]] == [rude["id"]]
    flag = await a.pool.fetchrow("SELECT * FROM inbox_activities WHERE type = 'Flag'")
    assert flag["state"] == "done" and flag["signer_uri"] == f"{b.base_url}/actor"

    # A's moderator deletes the post under the report: B drops it too.
    response = await a.api("mod", "POST", f"/api/v1/admin/statuses/{rude['id']}/action",
                           json={"type": "delete", "report_id": report["id"]})
    assert response.status_code == 200, response.text

    async def gone_on_b() -> bool:
        return (await b.api("bob", "GET", f"/api/v1/statuses/{rude_on_b['id']}")).status_code == 404

    await eventually(gone_on_b)
    assert other["uri"] in await home()

    # alice follows carol on a third server, which thus holds something of hers but follows her not.
    carol = peer.add_actor("carol")
    found = await a.api("alice", "GET", "/api/v2/search", params={"q": carol, "resolve": "true"})
    carol_on_a = found.json()["accounts"][0]["id"]
    assert (await a.api("alice", "POST", f"/api/v1/accounts/{carol_on_a}/follow")).status_code == 200
    await eventually(lambda: _received(peer, "Follow"))

    # Suspending alice on A sends an Update of her actor that says `suspended` (Mastodon 3.5+),
    # to her followers' servers and to every server she sent anything to: B hides the account
    # and its posts, as the origin's decision.
    alice_uri = f"{a.base_url}/users/alice"
    other_on_b = await _remote_status(b, "bob", other["uri"])
    response = await a.api("mod", "POST", f"/api/v1/admin/accounts/{alice_account(report)}/action",
                           json={"type": "suspend", "report_id": report["id"], "text": "spam"})
    assert response.status_code == 200, response.text
    suspension = await _last_update(a)
    assert suspension["actor"] == alice_uri and suspension["object"]["id"] == alice_uri
    assert suspension["object"]["suspended"] is True
    assert suspension["@context"][-1]["suspended"] == "toot:suspended"
    assert await a.pool.fetchval("SELECT count(*) FROM outbox_activities WHERE type = 'Delete'"
                                 " AND body->>'object' = $1", alice_uri) == 0
    assert await _handled(b, suspension["id"]) == "done"
    assert other["uri"] not in await home()
    assert (await b.api("bob", "GET", f"/api/v1/statuses/{other_on_b['id']}")).status_code == 404
    statuses = await b.api("bob", "GET", f"/api/v1/accounts/{alice_on_b}/statuses")
    assert statuses.status_code == 200 and statuses.json() == []
    assert (await _admin_view(b, "bmod", alice_on_b))["suspended"] is True
    assert await b.pool.fetchval("SELECT suspended_by_origin FROM actors WHERE uri = $1", alice_uri)
    [at_carol] = await eventually(lambda: _received(peer, "Update"))
    assert at_carol["id"] == suspension["id"] and at_carol["object"]["suspended"] is True
    # B's clients are told why the account is empty; A's collections of her are empty meanwhile.
    account = await b.api("bob", "GET", f"/api/v1/accounts/{alice_on_b}")
    assert account.json()["suspended"] is True
    async with a.client() as client:
        for collection in ("outbox", "followers", "following"):
            for page in ("", "?page=1"):
                doc = (await client.get(f"{alice_uri}/{collection}{page}", headers=AP)).json()
                assert doc["totalItems"] == 0 and doc.get("orderedItems", []) == [], (collection, page)

    # Unsuspending sends her actor as it is now: B shows the account and its posts again (bob
    # still follows her: an origin's suspension severs nothing).
    response = await a.api("mod", "POST", f"/api/v1/admin/accounts/{alice_account(report)}/unsuspend")
    assert response.status_code == 200, response.text
    lifted = await _last_update(a)
    assert lifted["id"] != suspension["id"] and "suspended" not in lifted["object"]
    assert await _handled(b, lifted["id"]) == "done"
    assert other["uri"] in await home()
    assert (await b.api("bob", "GET", f"/api/v1/statuses/{other_on_b['id']}")).status_code == 200
    assert (await _admin_view(b, "bmod", alice_on_b))["suspended"] is False
    assert not await b.pool.fetchval("SELECT suspended_by_origin FROM actors WHERE uri = $1", alice_uri)
    assert "suspended" not in (await b.api("bob", "GET", f"/api/v1/accounts/{alice_on_b}")).json()
    async with a.client() as client:
        followers = (await client.get(f"{alice_uri}/followers", headers=AP)).json()
    assert followers["totalItems"] == 1


async def _last_update(instance: Any) -> dict[str, Any]:
    return await instance.pool.fetchval("SELECT body FROM outbox_activities WHERE type = 'Update'"
                                        " ORDER BY id DESC LIMIT 1")


async def _handled(instance: Any, activity_uri: str) -> str:
    """The state an incoming activity ends in, once it is handled."""
    async def state() -> str | None:
        return await instance.pool.fetchval("SELECT state FROM inbox_activities WHERE activity_uri = $1"
                                            " AND state <> 'pending'", activity_uri)

    return await eventually(state)


async def _admin_view(instance: Any, user: str, account_id: str) -> dict[str, Any]:
    response = await instance.api(user, "GET", f"/api/v1/admin/accounts/{account_id}")
    assert response.status_code == 200, response.text
    return response.json()


async def _received(peer: Any, kind: str) -> list[dict[str, Any]]:
    return [x for x in peer.received if x["type"] == kind]


def alice_account(report: dict[str, Any]) -> str:
    return report["target_account"]["id"]


async def _has(check: Any, *uris: str) -> bool:
    found = await check()
    return all(uri in found for uri in uris)


async def test_an_origin_unsuspend_leaves_a_moderators_suspension(make_instance):
    a, b, alice_on_b = await _two_instances(make_instance)
    post = await _post(a, "alice", "hello")
    post_on_b = await eventually(lambda: _known(b, post["uri"]))
    alice_uri = f"{a.base_url}/users/alice"
    alice_on_a = (await a.api("alice", "GET", "/api/v1/accounts/verify_credentials")).json()["id"]

    async def shown_on_b() -> int:
        return (await b.api("bob", "GET", f"/api/v1/statuses/{post_on_b}")).status_code

    assert await shown_on_b() == 200
    # B's moderator suspends alice first; A's suspension then arrives and changes nothing of
    # whose it is (what a suspended account sends is ignored, but an Update of itself is read).
    response = await b.api("bmod", "POST", f"/api/v1/admin/accounts/{alice_on_b}/action",
                           json={"type": "suspend"})
    assert response.status_code == 200, response.text
    assert await shown_on_b() == 404
    for action in ("action", "unsuspend"):
        response = await a.api("mod", "POST", f"/api/v1/admin/accounts/{alice_on_a}/{action}",
                               json={"type": "suspend"})
        assert response.status_code == 200, response.text
        assert await _handled(b, (await _last_update(a))["id"]) == "done"
        row = await b.pool.fetchrow("SELECT suspended, suspended_by_origin FROM actors WHERE uri = $1",
                                    alice_uri)
        assert (row["suspended"], row["suspended_by_origin"]) == (True, False)
        assert await shown_on_b() == 404
        assert (await _admin_view(b, "bmod", alice_on_b))["suspended"] is True
    # Only B's moderator lifts B's suspension.
    assert (await b.api("bmod", "POST", f"/api/v1/admin/accounts/{alice_on_b}/unsuspend")).status_code == 200
    assert await shown_on_b() == 200

    # The other way round: A suspends first (the origin's), then B's moderator does too, which
    # makes it B's; A's unsuspend leaves it.
    await a.api("mod", "POST", f"/api/v1/admin/accounts/{alice_on_a}/action", json={"type": "suspend"})
    assert await _handled(b, (await _last_update(a))["id"]) == "done"
    assert await b.pool.fetchval("SELECT suspended_by_origin FROM actors WHERE uri = $1", alice_uri)
    await b.api("bmod", "POST", f"/api/v1/admin/accounts/{alice_on_b}/action", json={"type": "suspend"})
    await a.api("mod", "POST", f"/api/v1/admin/accounts/{alice_on_a}/unsuspend")
    assert await _handled(b, (await _last_update(a))["id"]) == "done"
    assert await shown_on_b() == 404
    assert (await _admin_view(b, "bmod", alice_on_b))["suspended"] is True


async def _known(instance: Any, uri: str) -> int | None:
    return await instance.pool.fetchval("SELECT id FROM posts WHERE uri = $1", uri)


async def test_a_forged_suspension_is_refused(make_instance, peer):
    a, b, alice_on_b = await _two_instances(make_instance)
    mallory = peer.add_actor("mallory")
    victim = peer.add_actor("victim")
    found = await b.api("bob", "GET", "/api/v2/search", params={"q": victim, "resolve": "true"})
    victim_on_b = found.json()["accounts"][0]["id"]
    alice_doc = (await a.api(None, "GET", "/users/alice", headers=AP)).json()

    def update(n: int, actor: dict[str, Any]) -> dict[str, Any]:
        return {"@context": "https://www.w3.org/ns/activitystreams", "id": f"{peer.base}/updates/{n}",
                "type": "Update", "actor": mallory, "object": {**actor, "suspended": True}}

    # mallory cannot speak for an actor of another server, nor for another actor of her own.
    for n, actor, reason in ((1, alice_doc, "object id is on another host"),
                             (2, peer.actor_document("victim"), "attributed to another actor")):
        response = await peer.post("mallory", f"{b.base_url}/inbox", update(n, actor))
        assert response.status_code == 403 and reason in response.json()["error"], response.text
    assert await b.pool.fetchval("SELECT count(*) FROM inbox_activities WHERE type = 'Update'") == 0
    for account in (alice_on_b, victim_on_b):
        assert (await _admin_view(b, "bmod", account))["suspended"] is False


async def test_forwarded_flag_is_mastodon_shaped(make_instance, peer):
    a = await make_instance()
    await a.signup("alice")
    mallory = peer.add_actor("mallory")
    note = {"@context": "https://www.w3.org/ns/activitystreams", "id": f"{peer.base}/notes/1",
            "type": "Note", "attributedTo": mallory, "content": "<p>buy now</p>", "to": [PUBLIC],
            "published": "2026-11-25T00:00:00Z"}
    peer.objects[note["id"]] = note
    status = await _remote_status(a, "alice", note["id"])
    response = await a.api("alice", "POST", "/api/v1/reports", json={
        "account_id": status["account"]["id"], "status_ids": [status["id"]], "comment": "spam",
        "category": "spam", "forward": "true"})
    assert response.status_code == 200, response.text

    [flag] = await eventually(lambda: _received(peer, "Flag"))
    assert {k: v for k, v in flag.items() if k not in ("@context", "id")} == {
        "type": "Flag", "actor": f"{a.base_url}/actor", "object": [mallory, note["id"]], "content": "spam"}
    assert flag["id"].startswith(f"{a.base_url}/actor#flags/")
    # To the shared inbox, signed by the instance actor.
    inbox = await a.pool.fetchval("SELECT inbox FROM deliveries d JOIN outbox_activities o"
                                  " ON o.id = d.activity_id WHERE o.type = 'Flag'")
    assert inbox == f"{peer.base}/inbox"
    headers = peer.received_headers[peer.received.index(flag)]
    assert f'keyId="{a.base_url}/actor#main-key"' in headers["signature"]
    # Not forwarded unless asked.
    await a.api("alice", "POST", "/api/v1/reports", json={"account_id": status["account"]["id"]})
    assert await a.pool.fetchval("SELECT count(*) FROM outbox_activities WHERE type = 'Flag'") == 1


async def test_incoming_flags_and_a_suspended_remote_account(make_instance, peer):
    a = await make_instance()
    await a.signup("alice")
    await a.signup("bob")
    await a.signup("mod")
    await a.set_role("mod", "moderator")
    alice_post = await _post(a, "alice", "alice's post")
    bob_post = await _post(a, "bob", "bob's post")
    instance = peer.add_actor("instance")
    mallory = peer.add_actor("mallory")
    alice_uri = f"{a.base_url}/users/alice"

    def flag(n: int, *objects: str) -> dict[str, Any]:
        return {"@context": "https://www.w3.org/ns/activitystreams", "id": f"{peer.base}/flags/{n}",
                "type": "Flag", "actor": instance, "object": list(objects), "content": f"flag {n}"}

    for n, objects in ((1, [alice_uri, alice_post["uri"]]),
                       (2, [f"{peer.base}/users/someone", f"{peer.base}/notes/9"]),
                       (3, [alice_uri, bob_post["uri"]]),
                       (4, [bob_post["uri"]])):
        response = await peer.post("instance", f"{a.base_url}/inbox", flag(n, *objects))
        assert response.status_code == 202, response.text

    async def settled() -> list[Any]:
        rows = await a.pool.fetch("SELECT activity_uri, state, error FROM inbox_activities"
                                  " WHERE type = 'Flag' ORDER BY id")
        return rows if len(rows) == 4 and all(r["state"] != "pending" for r in rows) else []

    rows = await eventually(settled)
    assert [r["state"] for r in rows] == ["done", "ignored", "ignored", "done"]
    assert "nothing local" in rows[1]["error"] and "not by the flagged account" in rows[2]["error"]
    queue = (await a.api("mod", "GET", "/api/v1/admin/reports")).json()
    found = [(r["target_account"]["username"], r["comment"], [s["id"] for s in r["statuses"]]) for r in queue]
    assert found == [("bob", "flag 4", [bob_post["id"]]), ("alice", "flag 1", [alice_post["id"]])]
    assert all(r["origin_domain"] == peer.domain for r in queue)

    # A domain block that rejects reports: the peer's next Flag is kept but acted on by no one.
    await a.signup("boss")
    await a.set_role("boss", "admin")
    block = await a.api("boss", "POST", "/api/v1/admin/domain_blocks",
                        json={"domain": peer.domain, "severity": "noop", "reject_reports": True})
    assert block.status_code == 200, block.text
    assert (await peer.post("instance", f"{a.base_url}/inbox", flag(5, alice_uri))).status_code == 202

    async def fifth() -> Any:
        return await a.pool.fetchrow("SELECT state, error FROM inbox_activities WHERE activity_uri = $1"
                                     " AND state <> 'pending'", f"{peer.base}/flags/5")

    ignored = await eventually(fifth)
    assert ignored["state"] == "ignored" and "reports are ignored" in ignored["error"]
    assert len((await a.api("mod", "GET", "/api/v1/admin/reports")).json()) == 2
    lifted = await a.api("boss", "DELETE", f"/api/v1/admin/domain_blocks/{block.json()['id']}")
    assert lifted.status_code == 200

    # mallory and alice follow each other, and mallory posts; suspending mallory hides the post,
    # severs the follows both ways, and what mallory sends next is ignored.
    follow = {"@context": "https://www.w3.org/ns/activitystreams", "id": f"{peer.base}/follows/1",
              "type": "Follow", "actor": mallory, "object": alice_uri}
    assert (await peer.post("mallory", f"{a.base_url}/users/alice/inbox", follow)).status_code == 202
    found = await a.api("alice", "GET", "/api/v2/search", params={"q": mallory, "resolve": "true"})
    mallory_on_a = found.json()["accounts"][0]["id"]
    assert (await a.api("alice", "POST", f"/api/v1/accounts/{mallory_on_a}/follow")).status_code == 200
    note = {"@context": "https://www.w3.org/ns/activitystreams", "id": f"{peer.base}/notes/1", "type": "Note",
            "attributedTo": mallory, "content": "<p>hi</p>", "to": [PUBLIC],
            "published": "2026-11-25T00:00:00Z"}
    peer.objects[note["id"]] = note

    def create(n: int, obj: dict[str, Any]) -> dict[str, Any]:
        return {"@context": "https://www.w3.org/ns/activitystreams", "id": f"{peer.base}/creates/{n}",
                "type": "Create", "actor": mallory, "object": obj["id"], "to": [PUBLIC]}

    assert (await peer.post("mallory", f"{a.base_url}/inbox", create(1, note))).status_code == 202

    async def arrived() -> Any:
        return await a.pool.fetchrow("SELECT * FROM posts WHERE uri = $1", note["id"])

    post = await eventually(arrived)
    assert await a.pool.fetchval("SELECT count(*) FROM follows") == 2
    mallory_id = post["actor_id"]
    assert (await a.api(None, "GET", f"/api/v1/statuses/{post['id']}")).status_code == 200
    response = await a.api("mod", "POST", f"/api/v1/admin/accounts/{mallory_id}/action",
                           json={"type": "suspend"})
    assert response.status_code == 200 and response.json()["suspended"] is True
    assert response.json()["domain"] == peer.domain
    assert await a.pool.fetchval("SELECT count(*) FROM follows") == 0
    # mallory's server hears that both follows ended, as from alice: a Reject of mallory's Follow
    # and an Undo of alice's.

    async def told() -> list[tuple[str, str, str, str]]:
        ended = [(r["type"], r["actor"], r["object"]["actor"], r["object"]["object"]) for r in peer.received
                 if r["type"] in ("Reject", "Undo") and r["object"]["type"] == "Follow"]
        return ended if len(ended) == 2 else []

    ended = sorted(await eventually(told))
    assert ended == [("Reject", alice_uri, mallory, alice_uri), ("Undo", alice_uri, alice_uri, mallory)]
    reject = next(r for r in peer.received if r["type"] == "Reject")
    assert reject["object"]["id"] == follow["id"] and reject["to"] == [mallory]
    assert (await a.api(None, "GET", f"/api/v1/statuses/{post['id']}")).status_code == 404
    assert post["id"] not in [s["id"] for s in (await a.api(None, "GET", "/api/v1/timelines/public")).json()]
    # A remote account cannot be disabled (it has no login here).
    response = await a.api("mod", "POST", f"/api/v1/admin/accounts/{mallory_id}/action",
                           json={"type": "disable"})
    assert response.status_code == 422

    second = {**note, "id": f"{peer.base}/notes/2"}
    peer.objects[second["id"]] = second
    assert (await peer.post("mallory", f"{a.base_url}/inbox", create(2, second))).status_code == 202

    async def ignored() -> Any:
        return await a.pool.fetchrow("SELECT state, error FROM inbox_activities WHERE activity_uri = $1"
                                     " AND state <> 'pending'", f"{peer.base}/creates/2")

    row = await eventually(ignored)
    assert row["state"] == "ignored" and "suspended" in row["error"]
    assert await a.pool.fetchval("SELECT count(*) FROM posts WHERE uri = $1", second["id"]) == 0
    # Unsuspended: the post shows again (the follow stays severed).
    await a.api("mod", "POST", f"/api/v1/admin/accounts/{mallory_id}/unsuspend")
    assert (await a.api(None, "GET", f"/api/v1/statuses/{post['id']}")).status_code == 200
