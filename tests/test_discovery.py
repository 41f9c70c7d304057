"""WebFinger, host-meta, NodeInfo, actors and collections as PROTOCOL.md fixes them."""

from __future__ import annotations

AP = "application/activity+json"


async def test_webfinger(make_instance):
    a = await make_instance()
    await a.signup("alice")
    async with a.client() as client:
        found = await client.get("/.well-known/webfinger",
                                 params={"resource": f"acct:alice@{a.domain}"})
        assert found.status_code == 200
        links = {link["rel"]: link for link in found.json()["links"]}
        assert links["self"] == {"rel": "self", "type": AP, "href": f"{a.base_url}/users/alice"}
        for resource, status in [(f"acct:nobody@{a.domain}", 404), ("acct:alice@elsewhere.example", 404),
                                 ("mailto:alice@example.com", 404), ("acct:", 400), ("", 400),
                                 ("https://elsewhere.example/users/alice", 404),
                                 (f"{a.base_url}/users/nobody", 404),
                                 # Malformed: RFC 7033 4.2 answers 400, not "no such account".
                                 ("alice", 400), (f"alice@{a.domain}", 400), ("acct:alice", 400),
                                 ("acct:alice@", 400), (f"acct:al ice@{a.domain}", 400),
                                 (f"acct:alice@{a.domain}@x", 400), ("https://", 400),
                                 ("http://[::1", 400), ("://nothing", 400), ("a\nb:c", 400)]:
            response = await client.get("/.well-known/webfinger", params={"resource": resource})
            assert response.status_code == status, resource
            assert response.json()["error"]
        missing = await client.get("/.well-known/webfinger")
        assert missing.status_code == 400


async def test_nodeinfo_and_host_meta(make_instance):
    a = await make_instance()
    await a.signup("alice")
    async with a.client() as client:
        links = (await client.get("/.well-known/nodeinfo")).json()["links"]
        info = (await client.get(links[0]["href"].removeprefix(a.base_url))).json()
        host_meta = await client.get("/.well-known/host-meta")
    assert info["software"]["name"] == "likeness" and info["protocols"] == ["activitypub"]
    assert info["usage"]["users"]["total"] == 1
    assert "generation" in info["metadata"]
    assert "lrdd" in host_meta.text


async def test_actor_documents_and_negotiation(make_instance):
    a = await make_instance()
    await a.signup("alice")
    async with a.client() as client:
        for accept in (AP, 'application/ld+json; profile="https://www.w3.org/ns/activitystreams"'):
            response = await client.get("/users/alice", headers={"Accept": accept})
            assert response.status_code == 200
            assert response.headers["content-type"].startswith(AP)
        actor = response.json()
        html = await client.get("/users/alice", headers={"Accept": "text/html"},
                                follow_redirects=True)
        instance_actor = (await client.get("/actor", headers={"Accept": AP})).json()
    assert actor["type"] == "Person" and actor["preferredUsername"] == "alice"
    assert actor["publicKey"]["owner"] == actor["id"]
    assert "BEGIN PUBLIC KEY" in actor["publicKey"]["publicKeyPem"]
    method = actor["assertionMethod"][0]
    assert method["type"] == "Multikey" and method["controller"] == actor["id"]
    assert method["publicKeyMultibase"].startswith("z6Mk")
    assert actor["endpoints"]["sharedInbox"] == f"{a.base_url}/inbox"
    assert html.status_code == 200 and "text/html" in html.headers["content-type"]
    assert "alice" in html.text
    assert instance_actor["type"] == "Application"


async def test_paged_collections(make_instance):
    a = await make_instance()
    await a.signup("alice")
    for n in range(3):
        response = await a.api("alice", "POST", "/api/v1/statuses", json={"status": f"post {n}"})
        assert response.status_code == 200
    async with a.client() as client:
        outbox = (await client.get("/users/alice/outbox", headers={"Accept": AP})).json()
        page = (await client.get(outbox["first"].removeprefix(a.base_url),
                                 headers={"Accept": AP})).json()
        followers = (await client.get("/users/alice/followers", headers={"Accept": AP})).json()
        bad = await client.get("/users/alice/outbox?page=abc", headers={"Accept": AP})
    assert outbox["type"] == "OrderedCollection" and outbox["totalItems"] == 3
    assert page["type"] == "OrderedCollectionPage" and len(page["orderedItems"]) == 3
    assert page["orderedItems"][0]["type"] == "Create"
    assert followers["totalItems"] == 0
    assert bad.status_code == 400
