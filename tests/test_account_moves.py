"""Account moves as Mastodon makes them (issue 17), over real HTTP: aliases, a move between two
Likeness servers whose followers on a third follow along, and moves to and from a server that
knows only Mastodon's `Move` (a scripted peer); and every bad input refused."""

from __future__ import annotations

from federation import httpsig, keys
from tests.conftest import PASSWORD, eventually
from tests.peers import AP
from tests.test_federation_e2e import _account_id
from tests.test_handlers import _done_state, _first
from tests.test_jsonld_served import assert_all_terms_kept
from tests.test_remix_posts import _follow


async def _actor(instance, name):
    async with instance.client() as client:
        response = await client.get(f"{instance.base_url}/users/{name}", headers={"Accept": AP})
    assert response.status_code == 200, response.text
    return response.json()


async def _following(instance, user, account_id):
    rel = await instance.api(user, "GET", "/api/v1/accounts/relationships", params={"id[]": account_id})
    return rel.json()[0]["following"]


async def _move(instance, user, acct, password=PASSWORD):
    return await instance.api(user, "POST", "/api/v1/account/migration",
                              json={"acct": acct, "password": password})


async def test_move_between_likeness_servers_moves_followers(make_instance):
    a = await make_instance("a")
    b = await make_instance("b")
    c = await make_instance("c")
    await a.signup("alice")
    await a.signup("dan")
    await b.signup("alice")
    await c.signup("carol")
    await _follow(c, "carol", a, "alice")
    await _follow(a, "dan", a, "alice")
    old_on_c = await _account_id(c, "carol", a.handle("alice"))
    listed = (await c.api("carol", "POST", "/api/v1/lists", json={"title": "friends"})).json()
    added = await c.api("carol", "POST", f"/api/v1/lists/{listed['id']}/accounts",
                        json={"account_ids": [old_on_c]})
    assert added.status_code == 200, added.text

    # Before the alias, the move is refused: B's alice does not say she was A's.
    refused = await _move(a, "alice", b.handle("alice"))
    assert refused.status_code == 422 and "alias" in refused.json()["error"], refused.text

    alias = await b.api("alice", "POST", "/api/v1/account/aliases", json={"acct": a.handle("alice")})
    assert alias.status_code == 200, alias.text
    old_uri = f"{a.base_url}/users/alice"
    assert alias.json()["uri"] == old_uri and alias.json()["acct"] == a.handle("alice")
    assert (await _actor(b, "alice"))["alsoKnownAs"] == [old_uri]
    listed_aliases = (await b.api("alice", "GET", "/api/v1/account/aliases")).json()
    assert [x["uri"] for x in listed_aliases] == [old_uri]

    wrong = await _move(a, "alice", b.handle("alice"), password="not the password")
    assert wrong.status_code == 403, wrong.text
    assert (await a.api("alice", "GET", "/api/v1/account/migration")).json()["moved_to"] is None

    moved = await _move(a, "alice", b.handle("alice"))
    assert moved.status_code == 200, moved.text
    body = moved.json()
    new_uri = f"{b.base_url}/users/alice"
    assert body["moved_to"]["uri"] == new_uri and body["moved_to_uri"] == new_uri
    assert body["moved_at"] and body["cooldown_until"] and body["cooldown_days"] == 30
    assert (await _actor(a, "alice"))["movedTo"] == new_uri
    # A JSON-LD peer reads both terms, and the Move, under their ActivityStreams IRIs.
    sent_move = await a.pool.fetchval("SELECT body FROM outbox_activities WHERE type = 'Move'")
    for document in (await _actor(a, "alice"), await _actor(b, "alice"), sent_move):
        assert_all_terms_kept(document)

    # carol on C now follows alice on B, and no longer the old account; her list followed.
    new_on_c = await _account_id(c, "carol", b.handle("alice"))
    await eventually(lambda: _following(c, "carol", new_on_c))
    await eventually(lambda: _not(_following(c, "carol", old_on_c)))
    members = (await c.api("carol", "GET", f"/api/v1/lists/{listed['id']}/accounts")).json()
    assert new_on_c in [m["id"] for m in members]
    notes = (await c.api("carol", "GET", "/api/v1/notifications", params={"types[]": "move"})).json()
    assert [(n["type"], n["account"]["uri"]) for n in notes] == [("move", old_uri)]
    assert notes[0]["account"]["moved"]["uri"] == new_uri
    followers_on_b = await b.pool.fetchval(
        "SELECT count(*) FROM follows f JOIN actors a ON a.id = f.followed_id"
        " WHERE a.uri = $1 AND f.accepted", new_uri)
    assert followers_on_b == 2  # carol@C, and dan@A: the local follower moved too

    # Every server shows the old account redirecting.
    old_seen = (await c.api("carol", "GET", f"/api/v1/accounts/{old_on_c}")).json()
    assert old_seen["moved"]["uri"] == new_uri
    own = (await a.api("alice", "GET", "/api/v1/accounts/verify_credentials")).json()
    assert own["moved"]["acct"] == b.handle("alice")

    # The old account posts no more, and moves again only after the cooldown.
    post = await a.api("alice", "POST", "/api/v1/statuses", json={"status": "still here?"})
    assert post.status_code == 422 and f"moved to {b.handle('alice')}" in post.json()["error"], post.text
    await b.signup("other")
    await b.api("other", "POST", "/api/v1/account/aliases", json={"acct": a.handle("alice")})
    again = await _move(a, "alice", b.handle("other"))
    assert again.status_code == 422 and "30 days" in again.json()["error"], again.text


async def _not(value):
    return not await value


async def test_alias_and_move_bad_input(make_instance):
    a = await make_instance("a")
    await a.signup("alice")
    await a.signup("bob")
    for acct, status in (("", 422), ("nobody", 404), ("nobody@" + a.domain, 404), ("alice", 422),
                         ("not a handle@@", 404)):
        response = await a.api("alice", "POST", "/api/v1/account/aliases", json={"acct": acct})
        assert response.status_code == status, (acct, response.text)
    removed = await a.api("alice", "DELETE", "/api/v1/account/aliases", json={"acct": "bob"})
    assert removed.status_code == 404, removed.text
    assert (await a.api("alice", "GET", "/api/v1/account/aliases")).json() == []

    assert (await _move(a, "alice", "alice")).status_code == 422          # to itself
    assert (await _move(a, "alice", "nobody")).status_code == 404         # unknown handle
    assert (await _move(a, "alice", "bob")).status_code == 422            # bob lists no alias
    missing = await a.api("alice", "POST", "/api/v1/account/migration", json={"acct": "bob"})
    assert missing.status_code == 422 and "password" in missing.json()["error"]
    assert await a.pool.fetchval("SELECT count(*) FROM account_migrations") == 0

    # Within one server: bob lists alice, alice moves, and the alias comes off again.
    assert (await a.api("bob", "POST", "/api/v1/account/aliases", json={"acct": "alice"})).status_code == 200
    assert (await _move(a, "alice", "bob")).status_code == 200
    assert (await _move(a, "alice", "bob")).status_code == 422            # cooldown
    gone = await a.api("bob", "DELETE", "/api/v1/account/aliases", json={"acct": a.handle("alice")})
    assert gone.status_code == 200 and gone.json() == [], gone.text
    no_token = await a.api(None, "GET", "/api/v1/account/migration")
    assert no_token.status_code == 401


async def _peer_follow(a, user, peer, name):
    """`user`@A follows `name`@peer, which accepts; the account's id on A."""
    uri = peer.actor_id(name)
    found = (await a.api(user, "GET", "/api/v2/search", params={"q": uri, "resolve": "true"})).json()
    account_id = found["accounts"][0]["id"]
    await a.api(user, "POST", f"/api/v1/accounts/{account_id}/follow")
    follow = await eventually(lambda: _follow_of(peer, uri, f"{a.base_url}/users/{user}"))
    await peer.post(name, f"{a.base_url}/inbox", {
        "id": f"{uri}#accepts/{user}", "type": "Accept", "actor": uri, "object": follow})
    await eventually(lambda: _following(a, user, account_id))
    return account_id


async def _follow_of(peer, uri, actor=None):
    return next((x for x in peer.received if x["type"] == "Follow" and x["object"] == uri
                 and actor in (None, x["actor"])), None)


async def _undo_of_follow(peer, uri):
    return next((x for x in peer.received if x["type"] == "Undo" and isinstance(x["object"], dict)
                 and x["object"]["type"] == "Follow" and x["object"]["object"] == uri), None)


async def _handled(a, activity_id):
    return await eventually(lambda: _done_state(a, activity_id))


async def test_mastodon_move_received_moves_local_followers(make_instance, peer):
    a = await make_instance("a")
    await a.signup("carol")
    await a.signup("dave")
    old, new, other = (peer.add_actor(n) for n in ("old", "new", "other"))
    peer.actor_extras["new"] = {"alsoKnownAs": [old]}
    old_id = await _peer_follow(a, "carol", peer, "old")
    # dave follows the old account too, and blocks the new one: his follow stays as it is.
    await _peer_follow(a, "dave", peer, "old")
    new_id = (await a.api("dave", "GET", "/api/v2/search", params={"q": new, "resolve": "true"})).json()
    blocked = await a.api("dave", "POST", f"/api/v1/accounts/{new_id['accounts'][0]['id']}/block")
    assert blocked.status_code == 200, blocked.text

    def move(n, *, actor=old, obj=old, target=new):
        return {"@context": "https://www.w3.org/ns/activitystreams", "id": f"{old}#moves/{n}",
                "type": "Move", "actor": actor, "object": obj, "target": target}

    # Signed by another actor than the Move's: refused at the door.
    forged = await peer.post("other", f"{a.base_url}/inbox", move(1))
    assert forged.status_code == 401, forged.text
    # Moving someone else, a target that does not list the origin, a move to itself: ignored.
    for activity in (move(2, obj=other), move(3, target=other), move(4, target=old)):
        assert (await peer.post("old", f"{a.base_url}/inbox", activity)).status_code == 202
        assert await _handled(a, activity["id"]) == "ignored", activity
    assert await _following(a, "carol", old_id)
    assert not [x for x in peer.received if x["type"] == "Follow" and x["object"] == new]

    assert (await peer.post("old", f"{a.base_url}/inbox", move(5))).status_code == 202
    assert await _handled(a, move(5)["id"]) == "done"
    follow_new = await eventually(lambda: _follow_of(peer, new))
    assert follow_new["actor"] == f"{a.base_url}/users/carol"
    undo = await eventually(lambda: _undo_of_follow(peer, old))
    assert undo["actor"] == f"{a.base_url}/users/carol"
    assert not await _following(a, "carol", old_id)
    assert await _following(a, "dave", old_id)
    assert [x["actor"] for x in peer.received if x["type"] == "Follow" and x["object"] == new] == [
        f"{a.base_url}/users/carol"]
    notes = (await a.api("carol", "GET", "/api/v1/notifications", params={"types[]": "move"})).json()
    assert [n["account"]["uri"] for n in notes] == [old]
    seen = (await a.api("carol", "GET", f"/api/v1/accounts/{old_id}")).json()
    assert seen["moved"]["uri"] == new

    # The same move again (a repeat, or a loop back): nothing more is sent.
    follows = len([x for x in peer.received if x["type"] == "Follow"])
    assert (await peer.post("old", f"{a.base_url}/inbox", move(6))).status_code == 202
    assert await _handled(a, move(6)["id"]) == "ignored"
    # And back (the new account moving to the old one, which moved away): a loop, ignored.
    peer.actor_extras["old"] = {"alsoKnownAs": [new], "movedTo": new}
    back = {**move(7, actor=new, obj=new, target=old), "id": f"{new}#moves/1"}
    assert (await peer.post("new", f"{a.base_url}/inbox", back)).status_code == 202
    assert await _handled(a, back["id"]) == "ignored"
    assert len([x for x in peer.received if x["type"] == "Follow"]) == follows


async def test_move_to_a_mastodon_account_sends_signed_move_and_update(make_instance, peer):
    a = await make_instance("a")
    await a.signup("alice")
    alice = f"{a.base_url}/users/alice"
    pete, new = peer.add_actor("pete"), peer.add_actor("newalice")
    follow = {"id": f"{pete}#follows/1", "type": "Follow", "actor": pete, "object": alice}
    assert (await peer.post("pete", f"{a.base_url}/inbox", follow)).status_code == 202
    await eventually(lambda: _first(peer, "Accept"))

    refused = await _move(a, "alice", new)
    assert refused.status_code == 422 and "alias" in refused.json()["error"]
    peer.actor_extras["newalice"] = {"alsoKnownAs": [alice]}
    moved = await _move(a, "alice", new)
    assert moved.status_code == 200, moved.text

    move = await eventually(lambda: _first(peer, "Move"))
    assert (move["actor"], move["object"], move["target"]) == (alice, alice, new)
    update = await eventually(lambda: _first(peer, "Update"))
    assert update["object"]["movedTo"] == new
    # Both signed with alice's key, as the peer checks them.
    public = (await _actor(a, "alice"))["publicKey"]["publicKeyPem"]
    for activity in (move, update):
        index = peer.received.index(activity)
        headers = peer.received_headers[index]
        path, _ = peer.received_at[index]
        info = httpsig.parse_signature("POST", f"{peer.base}{path}", headers)
        assert info.key_id == f"{alice}#main-key"
        httpsig.verify_signature(info, "POST", f"{peer.base}{path}", headers,
                                 peer.received_bodies[index], keys.load_public_key(public))


async def test_mastodon_account_moving_here(make_instance, peer):
    """A Mastodon account moves to an account on this server: its local followers follow the
    new local account directly, which lists the old one as its alias."""
    a = await make_instance("a")
    await a.signup("carol")
    await a.signup("newpat")
    pat = peer.add_actor("pat")
    old_id = await _peer_follow(a, "carol", peer, "pat")
    newpat = f"{a.base_url}/users/newpat"
    move = {"@context": "https://www.w3.org/ns/activitystreams", "id": f"{pat}#moves/1", "type": "Move",
            "actor": pat, "object": pat, "target": newpat}
    assert (await peer.post("pat", f"{a.base_url}/inbox", move)).status_code == 202
    assert await _handled(a, move["id"]) == "ignored"  # newpat does not list pat yet

    alias = await a.api("newpat", "POST", "/api/v1/account/aliases", json={"acct": pat})
    assert alias.status_code == 200 and alias.json()["uri"] == pat, alias.text
    again = {**move, "id": f"{pat}#moves/2"}
    assert (await peer.post("pat", f"{a.base_url}/inbox", again)).status_code == 202
    assert await _handled(a, again["id"]) == "done"
    newpat_id = await _account_id(a, "carol", "newpat")
    assert await _following(a, "carol", newpat_id)
    assert not await _following(a, "carol", old_id)
    assert await eventually(lambda: _undo_of_follow(peer, pat))
