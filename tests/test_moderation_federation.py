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


async def _remote_status(instance: Any, user: str, uri: str) -> dict[str, Any]:
    response = await instance.api(user, "GET", "/api/v2/search", params={"q": uri, "resolve": "true"})
    assert response.status_code == 200, response.text
    [status] = response.json()["statuses"]
    return status


async def test_flag_delete_and_suspension_between_two_instances(make_instance):
    a = await make_instance("a")
    b = await make_instance("b")
    await a.signup("alice")
    await a.signup("mod")
    await a.set_role("mod", "moderator")
    await b.signup("bob")
    await b.signup("bmod")
    await b.set_role("bmod", "moderator")

    # bob@B follows alice@A and sees her two posts.
    alice_on_b = await _account_id(b, "bob", a.handle("alice"))
    await b.api("bob", "POST", f"/api/v1/accounts/{alice_on_b}/follow")

    async def followed() -> bool:
        rel = await b.api("bob", "GET", "/api/v1/accounts/relationships", params={"id[]": alice_on_b})
        return rel.json()[0]["following"]

    await eventually(followed)
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

    # Suspending alice on A sends a Delete of the actor: B drops the account and its posts.
    response = await a.api("mod", "POST", f"/api/v1/admin/accounts/{alice_account(report)}/action",
                           json={"type": "suspend", "report_id": report["id"], "text": "spam"})
    assert response.status_code == 200, response.text

    async def dropped_on_b() -> bool:
        return await b.pool.fetchval("SELECT count(*) FROM actors WHERE uri = $1",
                                     f"{a.base_url}/users/alice") == 0

    await eventually(dropped_on_b)
    assert other["uri"] not in await home()
    assert (await b.api("bob", "GET", f"/api/v1/accounts/{alice_on_b}")).status_code == 404
    delete = await a.pool.fetchrow("SELECT body FROM outbox_activities WHERE type = 'Delete'"
                                   " AND body->>'object' = $1", f"{a.base_url}/users/alice")
    assert delete is not None and delete["body"]["actor"] == f"{a.base_url}/users/alice"


def alice_account(report: dict[str, Any]) -> str:
    return report["target_account"]["id"]


async def _has(check: Any, *uris: str) -> bool:
    found = await check()
    return all(uri in found for uri in uris)


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

    async def flagged() -> list[dict[str, Any]]:
        return [x for x in peer.received if x["type"] == "Flag"]

    [flag] = await eventually(flagged)
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
