"""Consent that outlives its server (issue 17): alice's consent, given on A, still verifies once
she has moved to D and A is gone, because D vouches for her old key with the Move that key
signed; she revokes it from D; new requests for her cameo go to D. A forged succession is refused.

Four instances over real HTTP: alice on A (then on D), bob on B (the remix), carol on C (who
sees it). alice moves with Mastodon's alias and move (move17), and brings her cameos and consent ledger
in her archive (archive17)."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from federation import fetch, keys, proofs, succession
from federation.vocab import SIGNED_CONTEXT
from tests.conftest import PASSWORD, eventually
from tests.test_archives import _archive_of, _upload
from tests.test_federation_e2e import _account_id
from tests.test_remix_consent import _remix, _state
from tests.test_remix_posts import _follow, _published_remix, _status_on, withdrawn_everywhere

AP = "application/activity+json"
OLD = "https://a.example/users/alice"
NEW = "https://d.example/users/alice"


def _key() -> tuple[Ed25519PrivateKey, str]:
    private = Ed25519PrivateKey.generate()
    return private, keys.encode_multikey(private.public_key())


def _move(private: Ed25519PrivateKey, multibase: str, *, old: str = OLD, new: str = NEW,
          key_id: str = f"{OLD}#ed25519-key") -> dict:
    return succession.signed_move(old, new, private_key=private, key_id=key_id,
                                  public_key_multibase=multibase)


def test_a_move_signed_by_the_old_key_proves_the_succession():
    private, multibase = _key()
    move = _move(private, multibase)
    assert move["actor"] == move["object"] == OLD and move["target"] == NEW
    assert move["proof"]["verificationMethod"] == f"{OLD}#ed25519-key"
    assert succession.check_move(move, OLD, NEW) == (f"{OLD}#ed25519-key", multibase)
    assert succession.check_move(move, OLD, NEW, pinned=multibase)[1] == multibase


@pytest.mark.parametrize("forgery, words", [
    ("wrong key", "does not verify"),
    ("key we know otherwise", "not the key we know"),
    ("other target", "target is not the new actor"),
    ("other actor", "not the old actor moving itself"),
    ("key of another actor", "no Multikey of the old actor"),
    ("key on another server", "not on the old actor's server"),
    ("tampered", "does not verify"),
    ("no proof", "no single proof"),
    ("unpinned context", "not the pinned one"),
    ("not a Move", "not a Move"),
])
def test_a_forged_succession_is_refused(forgery, words):
    private, multibase = _key()
    other, other_multibase = _key()
    move, new, pinned = _move(private, multibase), NEW, None
    if forgery == "wrong key":
        # Signed by another key than the one it embeds (and names).
        move = _move(other, multibase)
    elif forgery == "key we know otherwise":
        pinned = other_multibase
    elif forgery == "other target":
        new = "https://d.example/users/mallory"
    elif forgery == "other actor":
        move = proofs.sign({**{k: v for k, v in move.items() if k != "proof"},
                            "actor": "https://a.example/users/mallory"}, private, f"{OLD}#ed25519-key")
    elif forgery == "key of another actor":
        move = proofs.sign({**move, "instrument": {**move["instrument"],
                                                   "controller": "https://a.example/users/bob"}},
                           private, f"{OLD}#ed25519-key")
    elif forgery == "key on another server":
        move = _move(private, multibase, key_id="https://m.example/users/alice#ed25519-key")
    elif forgery == "tampered":
        move = {**move, "target": "https://m.example/users/alice"}
        new = "https://m.example/users/alice"
    elif forgery == "no proof":
        move = {k: v for k, v in move.items() if k != "proof"}
    elif forgery == "unpinned context":
        move = proofs.sign({**move, "@context": "https://www.w3.org/ns/activitystreams"}, private,
                           f"{OLD}#ed25519-key")
    elif forgery == "not a Move":
        move = {**move, "type": "Update"}
    with pytest.raises(succession.SuccessionError, match=words):
        succession.check_move(move, OLD, new, pinned=pinned)


def test_the_new_actor_must_list_the_old_one_and_publish_its_move():
    private, multibase = _key()
    move = _move(private, multibase)
    document = {"id": NEW, "alsoKnownAs": [OLD], "succession": [move]}
    assert succession.vouching_move(document, OLD) == move
    with pytest.raises(succession.SuccessionError, match="alsoKnownAs"):
        succession.vouching_move({**document, "alsoKnownAs": []}, OLD)
    with pytest.raises(succession.SuccessionError, match="publishes no Move"):
        succession.vouching_move({**document, "succession": []}, OLD)
    with pytest.raises(succession.SuccessionError, match="takenOver"):
        succession.taken_over_endpoint({**document, "endpoints": {"takenOver": "https://m.example/t"}})


async def _processed(instance, activity_id):
    async def done():
        return await instance.pool.fetchval(
            "SELECT state FROM inbox_activities WHERE activity_uri = $1 AND state <> 'pending'", activity_id)

    return await eventually(done)


async def test_consent_outlives_its_server(make_instance, peer):
    a = await make_instance("a")
    b = await make_instance("b")
    c = await make_instance("c")
    d = await make_instance("d")
    await a.signup("alice")
    await b.signup("bob")
    await c.signup("carol")
    await d.signup("alice")
    await _follow(c, "carol", b, "bob")
    await _follow(c, "carol", a, "alice")
    c.instance.fed.consent_ttl = 0.5
    cameo, published = await _published_remix(a, b)
    post_uri = published["post_uri"]
    await eventually(lambda: _status_on(c, "carol", post_uri))
    status_id = await c.pool.fetchval("SELECT id FROM posts WHERE uri = $1", post_uri)
    alice_a, alice_d = f"{a.base_url}/users/alice", f"{d.base_url}/users/alice"
    granted = await a.pool.fetchrow("SELECT authorization_uri, authorization_document FROM remix_requests")
    auth_uri = granted["authorization_uri"]

    # On D: alice@D names alice@A among her aliases, and imports her archive from A: her cameo
    # (same rules, answering for its old id) and the consent she gave with it, with its holders.
    alias = await d.api("alice", "POST", "/api/v1/account/aliases", json={"acct": a.handle("alice")})
    assert alias.status_code == 200, alias.text
    archive = await _archive_of(a, "alice")
    download = await a.api("alice", "GET", archive["download_url"])
    assert download.status_code == 200
    imported = await d.api("alice", "POST", "/api/v1/imports/archive", **_upload(download.content))
    assert imported.status_code == 200, imported.text
    [rehomed] = (await d.api("alice", "GET", "/api/v1/cameos")).json()
    [brought] = (await d.api("alice", "GET", "/api/v1/imported_authorizations")).json()
    assert (brought["uri"], brought["state"]) == (auth_uri, "live")

    # alice moves: A signs the Move with her old key, and sends it to her followers, to D and to
    # every holder of her consent (B, the requester; C, which fetched it); carol follows along.
    moved = await a.api("alice", "POST", "/api/v1/account/migration",
                        json={"acct": d.handle("alice"), "password": PASSWORD})
    assert moved.status_code == 200, moved.text
    for instance in (b, c, d):
        await eventually(lambda instance=instance: instance.pool.fetchval(
            "SELECT new_actor_uri FROM successions WHERE old_actor_uri = $1", alice_a))
    move = await d.pool.fetchval("SELECT move FROM successions WHERE old_actor_uri = $1", alice_a)
    assert move == await c.pool.fetchval("SELECT move FROM successions WHERE old_actor_uri = $1", alice_a)
    alice_d_on_c = await _account_id(c, "carol", d.handle("alice"))

    async def carol_follows_alice_on_d():
        rel = await c.api("carol", "GET", "/api/v1/accounts/relationships", params={"id[]": alice_d_on_c})
        return rel.json()[0]["following"]

    await eventually(carol_follows_alice_on_d)
    async with d.client() as client:
        document = (await client.get(alice_d, headers={"Accept": AP})).json()
        served_cameo = (await client.get(rehomed["uri"], headers={"Accept": AP})).json()
    assert document["alsoKnownAs"] == [alice_a] and document["succession"] == [move]
    assert served_cameo["alsoKnownAs"] == [cameo["uri"]]
    assert move["instrument"]["id"] == granted["authorization_document"]["proof"]["verificationMethod"]

    # A is stopped for good.
    a.server.should_exit = True
    await a.task

    # carol still sees bob's remix: its next check verifies alice's old key through D, and D
    # answers for the authorization.
    await c.pool.execute("UPDATE posts SET consent_checked_at = now() - interval '1 hour' WHERE id = $1",
                         status_id)
    assert (await c.api("carol", "GET", f"/api/v1/statuses/{status_id}")).status_code == 200
    assert await c.pool.fetchval("SELECT consent_checked_at > now() - interval '1 minute' FROM posts"
                                 " WHERE id = $1", status_id)
    assert await _status_on(c, "carol", post_uri) is not None
    # D answers only for what it took over.
    moved = await c.pool.fetchrow("SELECT * FROM successions WHERE old_actor_uri = $1", alice_a)
    with pytest.raises(fetch.GoneError):
        await succession.taken_over(c.instance.fed, moved, f"{alice_a}/remix_authorizations/999")

    # A forged successor (its Move signed by another key than alice's) can revoke nothing.
    mallory = peer.add_actor("mallory")
    forger, forger_multibase = _key()
    forged = succession.signed_move(alice_a, mallory, private_key=forger,
                                    key_id=f"{alice_a}#ed25519-key", public_key_multibase=forger_multibase)
    peer.actor_extras["mallory"] = {"alsoKnownAs": [alice_a], "succession": [forged]}
    forged_delete = proofs.sign({
        "@context": SIGNED_CONTEXT, "id": f"{peer.base}/deletes/1", "type": "Delete",
        "actor": mallory, "to": ["https://www.w3.org/ns/activitystreams#Public"],
        "object": {"id": auth_uri, "type": "RemixAuthorization"}}, forger, f"{mallory}#ed25519-key")
    for instance in (b, c):
        response = await peer.post("mallory", f"{instance.base_url}/inbox", forged_delete)
        assert response.status_code == 202, response.text
        assert await _processed(instance, forged_delete["id"]) == "ignored"
    assert (await _state(b, "bob", published["id"]))["state"] == "published"
    assert (await c.api("carol", "GET", f"/api/v1/statuses/{status_id}")).status_code == 200
    assert await c.pool.fetchval("SELECT new_actor_uri FROM successions") == alice_d

    # Only alice revokes it; she does so from D, and it disappears on B and on C.
    await d.signup("eve")
    path = f"/api/v1/imported_authorizations/{brought['id']}/revoke"
    assert (await d.api("eve", "POST", path)).status_code == 404
    response = await d.api("alice", "POST", path)
    assert response.status_code == 200, response.text
    again = await d.api("alice", "POST", path)
    assert again.status_code == 409
    await withdrawn_everywhere(b, c, post_uri)
    assert (await _state(b, "bob", published["id"]))["state"] == "revoked"
    assert (await c.api("carol", "GET", f"/api/v1/statuses/{status_id}")).status_code == 404
    async with d.client() as client:
        asked = await client.get(f"{alice_d}/taken_over", params={"id": auth_uri}, headers={"Accept": AP})
    assert asked.status_code == 410 and asked.json()["formerType"] == "RemixAuthorization"

    # A new remix request for her cameo goes to D, under D's rules for it.
    remix = (await _remix(c, "carol", [cameo["uri"]], "alice waving")).json()
    assert remix["cameos"][0]["cameo"] == rehomed["uri"] and remix["cameos"][0]["owner"] == alice_d

    async def authorized():
        state = await _state(c, "carol", remix["id"])
        return state if state["state"] == "authorized" else None

    done = await eventually(authorized)
    assert done["cameos"][0]["authorization"].startswith(f"{alice_d}/remix_authorizations/")


async def test_the_taken_over_endpoint_and_the_revoke_refuse_bad_input(make_instance):
    d = await make_instance("d")
    await d.signup("alice")
    base = f"{d.base_url}/users/alice/taken_over"
    async with d.client() as client:
        for params, status in [({}, 400), ({"id": "not a url"}, 400), ({"id": f"{d.base_url}/x"}, 400),
                               ({"id": "https://a.example/users/alice/remix_authorizations/1"}, 404),
                               ({"id": "https://a.example/users/alice/cameos/1"}, 404)]:
            response = await client.get(base, params=params, headers={"Accept": AP})
            assert response.status_code == status, (params, response.text)
        missing = await client.get(f"{d.base_url}/users/nobody/taken_over",
                                   params={"id": "https://a.example/x"}, headers={"Accept": AP})
    assert missing.status_code == 404
    assert (await d.api("alice", "GET", "/api/v1/imported_authorizations")).json() == []
    for path, user, status in [("/api/v1/imported_authorizations/999/revoke", "alice", 404),
                               ("/api/v1/imported_authorizations/abc/revoke", "alice", 404),
                               ("/api/v1/imported_authorizations/1/revoke", None, 401)]:
        response = await d.api(user, "POST", path)
        assert response.status_code == status, (path, response.text)

