"""Domain blocks and allow-list mode between real instances on loopback: what a suspended,
silenced or media-rejecting server can still do, remix requests refused by the admins, and an
instance that federates only with the servers it lists."""

from __future__ import annotations

from tests.conftest import eventually
from tests.peers import AP
from tests.test_cameos import _form
from tests.test_federation_e2e import _upload_video
from tests.videos import make_mp4


async def _admin(instance, name: str = "root_admin") -> None:
    await instance.signup(name)
    await instance.set_role(name, "admin")


async def _block(instance, domain: str, **fields) -> dict:
    response = await instance.api("root_admin", "POST", "/api/v1/admin/domain_blocks",
                                  json={"domain": domain, **fields})
    assert response.status_code == 200, response.text
    return response.json()


async def _find(instance, user: str, handle: str) -> str | None:
    response = await instance.api(user, "GET", "/api/v2/search",
                                  params={"q": f"@{handle}", "resolve": "true"})
    assert response.status_code == 200, response.text
    accounts = response.json()["accounts"]
    return accounts[0]["id"] if accounts else None


async def _relationship(instance, user: str, account_id: str) -> dict:
    response = await instance.api(user, "GET", "/api/v1/accounts/relationships",
                                  params={"id[]": account_id})
    return response.json()[0]


async def _follow(instance, user: str, handle: str) -> str:
    account_id = await _find(instance, user, handle)
    assert account_id is not None, handle
    response = await instance.api(user, "POST", f"/api/v1/accounts/{account_id}/follow")
    assert response.status_code == 200, response.text

    async def following() -> bool:
        return (await _relationship(instance, user, account_id))["following"]

    await eventually(following)
    return account_id


async def _post(instance, user: str, text: str, **fields) -> dict:
    response = await instance.api(user, "POST", "/api/v1/statuses", json={"status": text, **fields})
    assert response.status_code == 200, response.text
    return response.json()


async def _in_home(instance, user: str, uri: str) -> dict | None:
    timeline = (await instance.api(user, "GET", "/api/v1/timelines/home")).json()
    return next((s for s in timeline if s["uri"] == uri), None)


async def _public_uris(instance, user: str | None = None) -> set[str]:
    return {s["uri"] for s in (await instance.api(user, "GET", "/api/v1/timelines/public")).json()}


async def _delivery_outcome(instance, activity_uri: str) -> tuple[str, str | None] | None:
    row = await instance.pool.fetchrow(
        "SELECT d.state, d.last_error FROM deliveries d JOIN outbox_activities o"
        " ON o.id = d.activity_id WHERE o.uri = $1", activity_uri)
    return (row["state"], row["last_error"]) if row and row["state"] != "queued" else None


async def _refused_by_peer(instance, activity_uri: str) -> None:
    async def finished():
        return await _delivery_outcome(instance, activity_uri)

    assert await eventually(finished) == ("failed", "HTTP 403")


async def _local_follow_uri(instance) -> str:
    """The id of the Follow a local account of `instance` sent last."""
    return await instance.pool.fetchval(
        "SELECT f.uri FROM follows f JOIN actors a ON a.id = f.follower_id WHERE a.local"
        " ORDER BY f.id DESC LIMIT 1")


async def _signed_by(instance, peer, after: int) -> int:
    return await instance.pool.fetchval(
        "SELECT count(*) FROM inbox_activities WHERE id > $1 AND signer_uri LIKE $2",
        after, f"{peer.base_url}/%")


async def test_suspend_stops_everything_both_ways_until_lifted(make_instance):
    a = await make_instance("a")
    b = await make_instance("b")
    await a.signup("alice")
    await b.signup("bob")
    await _admin(a)
    bob_on_a = await _follow(a, "alice", b.handle("bob"))
    alice_on_b = await _follow(b, "bob", a.handle("alice"))
    before = await _post(b, "bob", "before the block")
    remote = await eventually(lambda: _in_home(a, "alice", before["uri"]))
    bobs_cameo = (await b.api("bob", "POST", "/api/v1/cameos",
                              **_form(permission="everyone"))).json()
    alices_cameo = (await a.api("alice", "POST", "/api/v1/cameos",
                                **_form(permission="everyone"))).json()
    mention = await _post(a, "alice", f"@{b.handle('bob')} are you there?")
    assert (await eventually(lambda: _delivery_outcome(a, f"{mention['uri']}/activity")))[0] == "done"
    a_seen = await a.pool.fetchval("SELECT max(id) FROM inbox_activities")
    b_seen = await b.pool.fetchval("SELECT max(id) FROM inbox_activities")

    block = await _block(a, b.domain, severity="suspend", public_comment="testing")
    assert block["severity"] == "suspend" and block["domain"] == b.domain

    # Existing follows are severed both ways, and what A stored from B is hidden.
    rel = await _relationship(a, "alice", bob_on_a)
    assert (rel["following"], rel["followed_by"]) == (False, False)
    assert await a.pool.fetchval("SELECT count(*) FROM follows") == 0
    assert await _in_home(a, "alice", before["uri"]) is None
    assert (await a.api("alice", "GET", f"/api/v1/statuses/{remote['id']}")).status_code == 404
    assert (await a.api("alice", "GET", f"/api/v1/accounts/{bob_on_a}/statuses")).json() == []

    # Nothing in: B (which still thinks bob follows alice) has its Create, Undo, Follow and
    # RemixRequest refused at A's inbox, before A looks up any key.
    during = await _post(b, "bob", "during the block")
    await _refused_by_peer(b, f"{during['uri']}/activity")
    assert (await b.api("bob", "POST", f"/api/v1/accounts/{alice_on_b}/unfollow")).status_code == 200
    assert (await b.api("bob", "POST", f"/api/v1/accounts/{alice_on_b}/follow")).status_code == 200
    await _refused_by_peer(b, await _local_follow_uri(b))
    remix = await b.api("bob", "POST", "/api/v1/remixes",
                        json={"prompt": "dancing", "cameos": [alices_cameo["uri"]]})
    assert remix.status_code == 201, remix.text
    request_uri = await b.pool.fetchval("SELECT request_uri FROM remix_cameos")
    await _refused_by_peer(b, request_uri)
    assert await _signed_by(a, b, a_seen) == 0
    assert await a.pool.fetchval("SELECT count(*) FROM remix_requests") == 0
    assert await _in_home(a, "alice", during["uri"]) is None

    # Nothing out: no deliveries (the Delete of a post that mentioned bob is skipped), no
    # follows, no mentions, no WebFinger, no fetches of B's objects.
    assert (await a.api("alice", "DELETE", f"/api/v1/statuses/{mention['id']}")).status_code == 200
    state, reason = await eventually(lambda: _delivery_outcome(a, f"{mention['uri']}#delete"))
    assert state == "skipped" and "suspended" in reason
    unlinked = await _post(a, "alice", f"@{b.handle('bob')} can you hear me?")
    assert unlinked["mentions"] == []
    refused = await a.api("alice", "POST", f"/api/v1/accounts/{bob_on_a}/follow")
    assert refused.status_code == 422 and "does not federate" in refused.json()["error"]
    await b.signup("dave")
    assert await _find(a, "alice", b.handle("dave")) is None
    fetch = await a.api("alice", "POST", "/api/v1/remixes",
                        json={"prompt": "dancing", "cameos": [bobs_cameo["uri"]]})
    assert fetch.status_code == 422 and "suspended" in fetch.json()["error"]
    assert await _signed_by(b, a, b_seen) == 0

    # Lifting the block: what was hidden shows again, and federation resumes both ways.
    response = await a.api("root_admin", "DELETE", f"/api/v1/admin/domain_blocks/{block['id']}")
    assert response.status_code == 200 and response.json() == {}
    assert (await a.api("alice", "GET", f"/api/v1/statuses/{remote['id']}")).status_code == 200
    await _follow(a, "alice", b.handle("bob"))
    assert (await b.api("bob", "POST", f"/api/v1/accounts/{alice_on_b}/unfollow")).status_code == 200
    await _follow(b, "bob", a.handle("alice"))
    after = await _post(b, "bob", "after the block")
    assert await eventually(lambda: _in_home(a, "alice", after["uri"]))
    reply = await _post(a, "alice", f"@{b.handle('bob')} welcome back")

    async def bob_told() -> bool:
        notes = (await b.api("bob", "GET", "/api/v1/notifications")).json()
        return any(n.get("status") and n["status"]["uri"] == reply["uri"] for n in notes)

    await eventually(bob_told)


async def test_a_suspended_server_gets_no_key_fetch(make_instance, peer):
    a = await make_instance("a")
    await a.signup("alice")
    await _admin(a)
    peer.add_actor("mallory")
    await _block(a, peer.domain, severity="suspend")
    follow = {"@context": "https://www.w3.org/ns/activitystreams", "id": f"{peer.base}/follows/1",
              "type": "Follow", "actor": peer.actor_id("mallory"), "object": f"{a.base_url}/users/alice"}
    response = await peer.post("mallory", f"{a.base_url}/inbox", follow)
    assert response.status_code == 403
    assert "does not federate" in response.json()["error"]
    # The refusal came before the signature was checked: the peer's key was never fetched.
    assert await a.pool.fetchval("SELECT count(*) FROM actors WHERE domain = $1", peer.domain) == 0
    assert await a.pool.fetchval("SELECT count(*) FROM inbox_activities") == 0
    # A signed GET from the suspended server counts as anonymous: no key fetch there either.
    from federation import httpsig

    url = f"{a.base_url}/users/alice"
    headers = {"Accept": AP, **httpsig.sign_cavage("GET", url, {"Accept": AP}, None,
                                                    key_id=f"{peer.actor_id('mallory')}#main-key",
                                                    private_key=peer.keys["mallory"])}
    async with a.client() as client:
        assert (await client.get(url, headers=headers)).status_code == 200
    assert await a.pool.fetchval("SELECT count(*) FROM actors WHERE domain = $1", peer.domain) == 0


async def test_silence_keeps_posts_to_followers(make_instance):
    a = await make_instance("a")
    b = await make_instance("b")
    for name in ("alice", "carol"):
        await a.signup(name)
    await b.signup("bob")
    await _admin(a)
    await _follow(a, "alice", b.handle("bob"))
    early = await _post(b, "bob", "before the limit")
    await eventually(lambda: _in_home(a, "alice", early["uri"]))
    assert early["uri"] in await _public_uris(a)

    await _block(a, b.domain, severity="silence")
    # Out of the public timeline for everyone, also what arrived before; still home for alice.
    for viewer in (None, "carol", "alice"):
        assert early["uri"] not in await _public_uris(a, viewer)
    late = await _post(b, "bob", f"after the limit, hi @{a.handle('alice')} and @{a.handle('carol')}")
    assert await eventually(lambda: _in_home(a, "alice", late["uri"]))
    for viewer in (None, "carol", "alice"):
        assert late["uri"] not in await _public_uris(a, viewer)
    # Notifications only reach those who follow the author.
    alice_notes = (await a.api("alice", "GET", "/api/v1/notifications")).json()
    assert [n["status"]["uri"] for n in alice_notes if n["type"] == "mention"] == [late["uri"]]
    stored = await a.pool.fetchval("SELECT count(*) FROM notifications n JOIN users u"
                                   " ON u.id = n.user_id WHERE u.username = 'carol'")
    assert stored == 1  # kept, not shown: lifting the limit shows it
    assert (await a.api("carol", "GET", "/api/v1/notifications")).json() == []
    # A limited server's people can only ask to follow; the person decides.
    await b.signup("dave")
    carol_on_b = await _find(b, "dave", a.handle("carol"))
    assert (await b.api("dave", "POST", f"/api/v1/accounts/{carol_on_b}/follow")).status_code == 200

    async def asked() -> list:
        return (await a.api("carol", "GET", "/api/v1/follow_requests")).json()

    assert [r["acct"] for r in await eventually(asked)] == [b.handle("dave")]
    kinds = [n["type"] for n in (await a.api("carol", "GET", "/api/v1/notifications")).json()]
    assert kinds == ["follow_request"]
    assert not (await _relationship(b, "dave", carol_on_b))["following"]


async def test_reject_media_keeps_their_media_out(make_instance, tmp_path):
    a = await make_instance("a")
    b = await make_instance("b")
    await a.signup("alice")
    await b.signup("bob")
    await _admin(a)
    await _follow(a, "alice", b.handle("bob"))
    clip = make_mp4(tmp_path / "clip.mp4")
    first = await _post(b, "bob", "first clip", media_ids=[await _upload_video(b, "bob", clip)])
    shown = await eventually(lambda: _in_home(a, "alice", first["uri"]))
    assert len(shown["media_attachments"]) == 1

    await _block(a, b.domain, severity="noop", reject_media=True)
    # Media already stored are forgotten; the post itself stays, in public too (noop).
    shown = await _in_home(a, "alice", first["uri"])
    assert shown["media_attachments"] == [] and "first clip" in shown["content"]
    second = await _post(b, "bob", "second clip", media_ids=[await _upload_video(b, "bob", clip)])
    shown = await eventually(lambda: _in_home(a, "alice", second["uri"]))
    assert shown["media_attachments"] == [] and "second clip" in shown["content"]
    assert second["uri"] in await _public_uris(a)
    assert await a.pool.fetchval("SELECT count(*) FROM media") == 0


async def test_remix_requests_refused_by_the_admins(make_instance):
    a = await make_instance("a")
    b = await make_instance("b")
    await a.signup("alice")
    await b.signup("bob")
    await _admin(a)
    cameo = (await a.api("alice", "POST", "/api/v1/cameos",
                         **_form(permission="everyone", approval="automatic"))).json()

    async def remix_state(prompt: str) -> dict:
        response = await b.api("bob", "POST", "/api/v1/remixes",
                               json={"prompt": prompt, "cameos": [cameo["uri"]]})
        assert response.status_code == 201, response.text
        remix_id = response.json()["id"]

        async def answered():
            state = (await b.api("bob", "GET", f"/api/v1/remixes/{remix_id}")).json()
            return state if state["state"] != "pending" else None

        return await eventually(answered)

    assert (await remix_state("allowed first"))["state"] == "authorized"
    await _block(a, b.domain, severity="noop", reject_remix_requests=True)
    refused = await remix_state("refused now")
    assert refused["state"] == "rejected"
    assert refused["cameos"][0]["reason"] == f"{a.domain} does not take remix requests from {b.domain}"
    # Nobody on A heard of it: nothing listed for the owner, no notification, nothing stored.
    uses = (await a.api("alice", "GET", "/api/v1/remix_requests")).json()
    assert [u["prompt"] for u in uses] == ["allowed first"]
    kinds = [n["type"] for n in (await a.api("alice", "GET", "/api/v1/notifications", params={
        "include_types[]": ["remix_use", "cameo_used"]})).json()]
    # (B's render of the allowed remix may have fetched alice's references by now: cameo_used.)
    assert kinds.count("remix_use") == 1 and set(kinds) <= {"remix_use", "cameo_used"}


async def test_allowlist_mode_federates_only_with_listed_domains(make_instance):
    a = await make_instance("a")
    b = await make_instance("b")
    c = await make_instance("c")
    await a.signup("alice")
    await b.signup("bob")
    await c.signup("carl")
    await _admin(a)
    alice_on_c = await _follow(c, "carl", a.handle("alice"))

    response = await a.api("root_admin", "POST", "/api/v1/admin/domain_allows", json={"domain": b.domain})
    assert response.status_code == 200, response.text
    allow = response.json()
    response = await a.api("root_admin", "PUT", "/api/v1/admin/federation_mode", json={"mode": "allowlist"})
    assert response.json() == {"mode": "allowlist"}
    # Switching severs the follows of servers not on the list; listed ones federate both ways.
    assert await a.pool.fetchval("SELECT count(*) FROM follows") == 0
    await _follow(b, "bob", a.handle("alice"))
    assert await _find(a, "alice", b.handle("bob")) is not None
    # Everyone else behaves as suspended: refused at the inbox, not looked up.
    assert (await c.api("carl", "POST", f"/api/v1/accounts/{alice_on_c}/unfollow")).status_code == 200
    assert (await c.api("carl", "POST", f"/api/v1/accounts/{alice_on_c}/follow")).status_code == 200
    await _refused_by_peer(c, await _local_follow_uri(c))
    assert await _find(a, "alice", c.handle("carl")) is None
    # Taking a server off the list severs it too.
    response = await a.api("root_admin", "DELETE", f"/api/v1/admin/domain_allows/{allow['id']}")
    assert response.status_code == 200
    assert await a.pool.fetchval("SELECT count(*) FROM follows") == 0
    # Back to open federation: C is heard again.
    await a.api("root_admin", "PUT", "/api/v1/admin/federation_mode", json={"mode": "open"})
    assert (await c.api("carl", "POST", f"/api/v1/accounts/{alice_on_c}/unfollow")).status_code == 200
    await _follow(c, "carl", a.handle("alice"))
