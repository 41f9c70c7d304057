"""A remote account's profile is filled from its server: its recent public posts (its outbox) and
the cameos its server lists to this one (`cameoCollection`), fetched in the background the first
time someone here looks at it, again once someone here follows it, and never from what an
outbox may not say."""

from __future__ import annotations

from federation import store as fstore
from federation.cameos import remote_rules
from federation.vocab import PUBLIC
from policy.consent import Approval, CameoRules, Permission, interaction_policy
from tests.conftest import eventually
from tests.test_cameos import _create
from tests.test_domain_rules import _admin, _block
from tests.videos import make_mp4, upload_video

AP = "application/activity+json"


async def _account_id(instance, username: str, query: str) -> str:
    response = await instance.api(username, "GET", "/api/v2/search", params={"q": query, "resolve": "true"})
    assert response.status_code == 200 and response.json()["accounts"], response.text
    return response.json()["accounts"][0]["id"]


async def _backfilled(instance, actor_uri: str) -> bool:
    return await instance.pool.fetchval("SELECT backfilled_at IS NOT NULL AND backfilling_until IS NULL"
                                        " FROM actors WHERE uri = $1", actor_uri)


async def _cameo_names(instance, username: str | None, account_id: str) -> list[str]:
    response = await instance.api(username, "GET", f"/api/v1/accounts/{account_id}/cameos")
    assert response.status_code == 200, response.text
    return sorted(c["name"] for c in response.json())


async def test_remote_profile_shows_public_posts_then_followers_cameos(make_instance, tmp_path):
    a = await make_instance("a")
    b = await make_instance("b")
    await a.signup("alice")
    await b.signup("bob")
    media_id = (await upload_video(b, "bob", make_mp4(tmp_path / "clip.mp4")))["id"]
    public = (await b.api("bob", "POST", "/api/v1/statuses",
                          json={"status": "my public clip", "media_ids": [media_id]})).json()
    for visibility in ("private", "direct"):
        response = await b.api("bob", "POST", "/api/v1/statuses",
                               json={"status": f"secret {visibility}", "visibility": visibility})
        assert response.status_code == 200, response.text
    for name, permission in (("Bob for everyone", "everyone"), ("Bob for followers", "followers"),
                             ("Bob only", "only_me")):
        assert (await _create(b, "bob", name=name, permission=permission)).status_code == 201

    # B publishes the list of cameos from the actor; unsigned, only those open to everyone.
    async with b.client() as client:
        actor = (await client.get(f"{b.base_url}/users/bob", headers={"Accept": AP})).json()
        listed = await client.get(actor["cameoCollection"], headers={"Accept": AP})
    assert actor["cameoCollection"] == f"{b.base_url}/users/bob/cameos"
    assert listed.headers["content-type"].startswith(AP)
    assert listed.json()["type"] == "OrderedCollection"
    assert [c["name"] for c in listed.json()["orderedItems"]] == ["Bob for everyone"]
    assert listed.json()["orderedItems"][0]["attributedTo"] == actor["id"]
    async with b.client() as client:
        for nobody in ("nobody", b.domain.split(":")[0]):  # no such account; the instance actor
            assert (await client.get(f"/users/{nobody}/cameos", headers={"Accept": AP})).status_code == 404

    # alice looks bob up and opens his profile: his public post arrives, with its video.
    bob_on_a = await _account_id(a, "alice", f"@{b.handle('bob')}")
    assert (await a.api("alice", "GET", f"/api/v1/accounts/{bob_on_a}")).status_code == 200

    async def bobs_posts() -> list:
        response = await a.api("alice", "GET", f"/api/v1/accounts/{bob_on_a}/statuses")
        return response.json()

    [post] = await eventually(bobs_posts, timeout=30)
    # The cameos come right after the posts, in the same job.
    await eventually(lambda: _backfilled(a, actor["id"]))
    assert post["uri"] == public["uri"] and "my public clip" in post["content"]
    assert post["media_attachments"][0]["type"] == "video"
    account = (await a.api("alice", "GET", f"/api/v1/accounts/{bob_on_a}")).json()
    assert account["statuses_count"] == 1
    assert await _cameo_names(a, "alice", bob_on_a) == ["Bob for everyone"]
    assert await _cameo_names(a, None, bob_on_a) == ["Bob for everyone"]
    # Done once: looking again within the hour fetches nothing more.
    fetched_at = await a.pool.fetchval("SELECT backfilled_at FROM actors WHERE uri = $1", actor["id"])
    await a.api("alice", "GET", f"/api/v1/accounts/{bob_on_a}/statuses")
    assert await a.pool.fetchval("SELECT backfilled_at FROM actors WHERE uri = $1", actor["id"]) == fetched_at

    # Once she follows him, B lists his followers' cameo to A, and A shows it to her.
    response = await a.api("alice", "POST", f"/api/v1/accounts/{bob_on_a}/follow")
    assert response.status_code == 200, response.text

    async def with_followers_cameo() -> bool:
        return await _cameo_names(a, "alice", bob_on_a) == ["Bob for everyone", "Bob for followers"]

    await eventually(with_followers_cameo, timeout=40, interval=0.5)
    # Not to someone who does not follow him, nor to a visitor; never the one only he may use.
    await a.signup("carol")
    assert await _cameo_names(a, "carol", bob_on_a) == ["Bob for everyone"]
    assert await _cameo_names(a, None, bob_on_a) == ["Bob for everyone"]
    # What he did not post publicly never came.
    assert await a.pool.fetchval("SELECT count(*) FROM posts WHERE content LIKE '%secret%'") == 0

    # Asking to use it goes through the existing lookup of the cameo.
    cameo = next(c for c in (await a.api("alice", "GET", f"/api/v1/accounts/{bob_on_a}/cameos")).json()
                 if c["name"] == "Bob for followers")
    found = await a.api("alice", "GET", "/api/v1/cameos/lookup", params={"uri": cameo["uri"]})
    assert found.status_code == 200 and found.json()["name"] == "Bob for followers"

    # Once A suspends B, none of it is shown.
    await _admin(a)
    await _block(a, b.domain, severity="suspend")
    assert await _cameo_names(a, "alice", bob_on_a) == []
    assert (await a.api("alice", "GET", f"/api/v1/accounts/{bob_on_a}/statuses")).json() == []


async def test_backfill_is_claimed_once_at_a_time(make_instance, peer):
    a = await make_instance()
    mallory = peer.add_actor("mallory")
    await a.signup("alice")
    await _account_id(a, "alice", mallory)
    actor_id = await a.pool.fetchval("SELECT id FROM actors WHERE uri = $1", mallory)
    assert await fstore.claim_backfill(a.pool, actor_id, 3600, 300) is not None
    # Held: nobody else may start it, even once it is due again.
    await a.pool.execute("UPDATE actors SET backfilled_at = NULL WHERE id = $1", actor_id)
    assert await fstore.claim_backfill(a.pool, actor_id, 3600, 300) is None
    await fstore.release_backfill(a.pool, actor_id)
    assert await fstore.claim_backfill(a.pool, actor_id, 3600, 300) is not None
    await fstore.release_backfill(a.pool, actor_id)
    # Done within the hour: not due.
    assert await fstore.claim_backfill(a.pool, actor_id, 3600, 300) is None


def _create_of(peer, name: str, n: int, *, actor: str | None = None, **note) -> dict:
    obj = {"id": f"{peer.base}/notes/{name}-{n}", "type": "Note", "attributedTo": peer.actor_id(name),
           "content": f"{name} {n}", "to": [PUBLIC], "cc": [f"{peer.actor_id(name)}/followers"],
           "published": "2026-01-01T00:00:00Z", **note}
    return {"id": f"{obj['id']}/activity", "type": "Create", "actor": actor or peer.actor_id(name),
            "object": obj, "to": obj["to"], "cc": obj["cc"]}


def _outbox(peer, name: str, items: list) -> None:
    """An outbox whose first page, served apart, holds `items`."""
    uri = f"{peer.actor_id(name)}/outbox"
    peer.objects[uri] = {"@context": "https://www.w3.org/ns/activitystreams", "id": uri,
                         "type": "OrderedCollection", "totalItems": len(items), "first": f"{uri}/page"}
    peer.objects[f"{uri}/page"] = {"@context": "https://www.w3.org/ns/activitystreams", "id": f"{uri}/page",
                                   "type": "OrderedCollectionPage", "partOf": uri, "orderedItems": items}


async def test_hostile_outboxes_store_nothing_wrong(make_instance, peer):
    a = await make_instance()
    await a.signup("alice")
    names = ("mallory", "many", "huge", "notcoll", "embedded", "foreign", "cameos")
    for name in names:
        peer.add_actor(name)
    eve = peer.add_actor("eve")

    # One honest post among posts attributed to someone else, on another origin, not public,
    # not embedded, and activities that are not a Create.
    stolen = _create_of(peer, "mallory", 2)
    stolen["object"]["attributedTo"] = eve
    elsewhere = _create_of(peer, "mallory", 3)
    elsewhere["object"]["id"] = f"{a.base_url}/users/alice/statuses/1"
    followers_only = _create_of(peer, "mallory", 4, to=[f"{peer.actor_id('mallory')}/followers"], cc=[])
    direct = _create_of(peer, "mallory", 5, to=[f"{a.base_url}/users/alice"], cc=[])
    by_eve = _create_of(peer, "eve", 6, actor=peer.actor_id("mallory"))
    bare = {**_create_of(peer, "mallory", 7), "object": f"{peer.base}/notes/mallory-7"}
    announce = {"id": f"{peer.base}/announces/1", "type": "Announce", "actor": peer.actor_id("mallory"),
                "object": f"{peer.base}/notes/other", "to": [PUBLIC]}
    _outbox(peer, "mallory", [_create_of(peer, "mallory", 1), stolen, elsewhere, followers_only, direct,
                              by_eve, bare, announce, "not an object", 7, None, [1, 2]])
    # 50 posts: one page of at most 20 is read.
    _outbox(peer, "many", [_create_of(peer, "many", n) for n in range(50)])
    # A page over the document limit.
    _outbox(peer, "huge", [_create_of(peer, "huge", n, content="x" * 100_000) for n in range(12)])
    # An outbox that is a post, not a collection.
    note = _create_of(peer, "notcoll", 1)["object"]
    not_a_collection = f"{peer.actor_id('notcoll')}/outbox"
    peer.objects[not_a_collection] = {"@context": "https://www.w3.org/ns/activitystreams", **note,
                                      "id": not_a_collection}
    # A first page embedded in the outbox is read; one that says it is on another server is not.
    for name, page_id in (("embedded", None), ("foreign", "https://elsewhere.example/outbox?page=1")):
        uri = f"{peer.actor_id(name)}/outbox"
        page = {"type": "OrderedCollectionPage", "orderedItems": [_create_of(peer, name, 1)]}
        if page_id:
            page["id"] = page_id
        peer.objects[uri] = {"@context": "https://www.w3.org/ns/activitystreams", "id": uri,
                             "type": "OrderedCollection", "first": page}
    # A cameo collection with cameos of someone else, on another origin, and only its owner's.
    cameos_uri = f"{peer.actor_id('cameos')}/cameos"
    peer.actor_extras["cameos"] = {"cameoCollection": cameos_uri}
    owner = peer.actor_id("cameos")

    def cameo(n: int, **extra) -> dict:
        return {"id": f"{peer.base}/cameos/{n}", "type": "Cameo", "attributedTo": owner, "name": f"Cameo {n}",
                "interactionPolicy": {"canRemix": {"automaticApproval": [owner, PUBLIC]}}, **extra}

    peer.objects[cameos_uri] = {"@context": "https://www.w3.org/ns/activitystreams", "id": cameos_uri,
                                "type": "OrderedCollection", "orderedItems": [
                                    cameo(1, icon={"type": "Image", "url": "javascript:alert(1)"}),
                                    cameo(2, attributedTo=eve), cameo(3, id="https://elsewhere.example/c/3"),
                                    cameo(4, interactionPolicy={"canRemix": {"automaticApproval": [owner]}}),
                                    cameo(5, type="Note"), cameo(6, name=["x"]), "nonsense"]}

    for name in names:
        account_id = await _account_id(a, "alice", peer.actor_id(name))
        response = await a.api("alice", "GET", f"/api/v1/accounts/{account_id}")
        assert response.status_code == 200, response.text
        await eventually(lambda name=name: _backfilled(a, peer.actor_id(name)), timeout=30)

    async def contents(name: str) -> list[str]:
        return [r["content"] for r in await a.pool.fetch(
            "SELECT p.content FROM posts p JOIN actors a ON a.id = p.actor_id WHERE a.uri = $1 ORDER BY p.id",
            peer.actor_id(name))]

    assert [c.removeprefix("<p>").removesuffix("</p>") for c in await contents("mallory")] == ["mallory 1"]
    assert await contents("eve") == []
    assert await a.pool.fetchval("SELECT count(*) FROM posts WHERE visibility <> 'public'") == 0
    assert len(await contents("many")) == 20
    assert await contents("huge") == []
    assert await contents("notcoll") == []
    assert len(await contents("embedded")) == 1
    assert await contents("foreign") == []
    rows = await a.pool.fetch("SELECT c.uri, c.name, c.preview_url, c.local, c.permission FROM cameos c"
                              " JOIN actors a ON a.id = c.actor_id WHERE a.uri = $1 ORDER BY c.uri", owner)
    assert [tuple(r) for r in rows] == [(f"{peer.base}/cameos/1", "Cameo 1", None, False, "everyone"),
                                        (f"{peer.base}/cameos/6", "", None, False, "everyone")]
    # Shown to the people here it is open to, unless a moderator here suspended its owner.
    cameos_account = await _account_id(a, "alice", owner)
    assert await _cameo_names(a, "alice", cameos_account) == ["", "Cameo 1"]
    await a.pool.execute("UPDATE actors SET suspended = true WHERE uri = $1", owner)
    assert await _cameo_names(a, "alice", cameos_account) == []
    # Nothing refused was half kept: no actor was made up for the posts' false authors.
    assert await a.pool.fetchval("SELECT count(*) FROM actors WHERE uri = $1", eve) == 0


def test_remote_rules_read_back_what_a_cameo_advertises():
    owner = {"uri": "https://b.example/users/bob", "followers_url": "https://b.example/users/bob/followers"}
    for permission in Permission:
        for approval in Approval:
            approved = frozenset({"https://c.example/users/carol"}) \
                if permission is Permission.APPROVED else frozenset()
            rules = CameoRules(permission, approval, approved=approved)
            policy = interaction_policy(rules, owner=owner["uri"], followers=owner["followers_url"],
                                        mutuals=f"{owner['uri']}/mutuals", public=PUBLIC)
            read = remote_rules({"interactionPolicy": policy}, owner)
            if permission is Permission.ONLY_ME:
                assert read is None
            else:
                assert (read.permission, read.approval, read.approved) == (permission, approval, approved)
    for policy in (None, "x", {"canRemix": [PUBLIC]}, {"canRemix": {"automaticApproval": [owner["uri"], 7]}}):
        assert remote_rules({"interactionPolicy": policy}, owner) is None
