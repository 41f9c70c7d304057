"""Who may see a post, asked of every path that shows one (federation/visibility.py).

A signed-up stranger walks every way a post can come back to them: search, status, context,
actions, timelines, notifications, account statuses, ActivityPub objects and outbox, HTML pages,
quote stamps and the admin API. Nothing of a post they may not see may come back; the accounts
the posts are for still see them, so the walk can tell a leak from a post that never existed.
"""

from __future__ import annotations

from federation import store as fstore

AP = "application/activity+json"


async def _me(instance, user):
    return (await instance.api(user, "GET", "/api/v1/accounts/verify_credentials")).json()


async def _post(instance, user, text, visibility="public", **extra):
    response = await instance.api(user, "POST", "/api/v1/statuses",
                                  json={"status": text, "visibility": visibility, **extra})
    assert response.status_code == 200, response.text
    return response.json()


async def _world(make_instance):
    """alice posts to every audience; carol follows her, bob is mentioned, dave blocks mallory,
    a moderator hides one post and alice deletes another. Returns the instance, the posts that
    mallory must never see (text -> status) and the one public post she may see."""
    a = await make_instance()
    for name in ("alice", "bob", "carol", "dave", "mallory", "mod"):
        await a.signup(name)
    await a.set_role("mod", "moderator")
    ids = {name: (await _me(a, name))["id"] for name in ("alice", "carol", "dave", "mallory")}
    assert (await a.api("carol", "POST", f"/api/v1/accounts/{ids['alice']}/follow")).status_code == 200
    assert (await a.api("mallory", "POST", f"/api/v1/accounts/{ids['carol']}/follow")).status_code == 200
    assert (await a.api("dave", "POST", f"/api/v1/accounts/{ids['mallory']}/block")).status_code == 200

    public = await _post(a, "alice", "PUBLIC-OK #walk")
    secret = {
        "direct": await _post(a, "alice", "SECRET-direct @bob #walk", "direct"),
        "followers": await _post(a, "alice", "SECRET-followers #walk", "private"),
        "reply": await _post(a, "alice", "SECRET-reply #walk", "private", in_reply_to_id=public["id"]),
        "hidden": await _post(a, "alice", "SECRET-hidden #walk"),
        "hidden-mention": await _post(a, "alice", "SECRET-hidden-mention @mallory #walk"),
        "deleted": await _post(a, "alice", "SECRET-deleted #walk"),
        # Public, so anyone signed out sees it; mallory's account is the one dave keeps out.
        "blocked": await _post(a, "dave", "NOTFORMALLORY-blocked #walk"),
    }
    boost = await a.api("carol", "POST", f"/api/v1/statuses/{secret['hidden']['id']}/reblog")
    assert boost.status_code == 200, boost.text
    secret["boost-of-hidden"] = boost.json()
    for name in ("hidden", "hidden-mention"):
        hide = await a.api("mod", "POST", f"/api/v1/admin/statuses/{secret[name]['id']}/action",
                           json={"type": "hide"})
        assert hide.status_code == 200, hide.text
    assert (await a.api("alice", "DELETE", f"/api/v1/statuses/{secret['deleted']['id']}")).status_code == 200
    return a, secret, public


def _clean(response, label, markers=("SECRET", "NOTFORMALLORY")):
    for marker in markers:
        assert marker not in response.text, f"{label} leaked: {response.text[:500]}"


async def test_a_stranger_sees_nothing_of_a_post_they_may_not_see(make_instance):
    a, secret, public = await _world(make_instance)
    alice = await fstore.local_actor(a.pool, "alice")
    stamps = {}
    for name in ("hidden", "followers"):
        stamps[name] = await fstore.insert_quote_authorization(
            a.pool, int(secret[name]["id"]), f"https://q.example/{name}", f"https://q.example/n/{name}",
            alice["id"], "approved")
    stamps["public"] = await fstore.insert_quote_authorization(
        a.pool, int(public["id"]), "https://q.example/ok", "https://q.example/n/ok", alice["id"], "approved")

    for name, status in secret.items():
        sid = status["id"]
        for method, path in (("GET", f"/api/v1/statuses/{sid}"), ("GET", f"/api/v1/statuses/{sid}/context"),
                             ("POST", f"/api/v1/statuses/{sid}/favourite"),
                             ("POST", f"/api/v1/statuses/{sid}/reblog")):
            response = await a.api("mallory", method, path)
            assert response.status_code == 404, (name, path, response.text)
        for query in (status["uri"], status["url"]):
            found = await a.api("mallory", "GET", "/api/v2/search", params={"q": query, "resolve": "true"})
            assert found.status_code == 200 and found.json()["statuses"] == [], (name, found.text)
            _clean(found, f"search for {name}")
        reply = await a.api("mallory", "POST", "/api/v1/statuses",
                            json={"status": "hi", "in_reply_to_id": sid})
        assert reply.status_code == 404, (name, reply.text)
        report = await a.api("mallory", "POST", "/api/v1/reports",
                             json={"account_id": status["account"]["id"], "status_ids": [sid]})
        assert report.status_code == 404, (name, report.text)
        if name == "blocked":
            continue
        async with a.client() as client:
            for path in (status["uri"], f"{status['uri']}/activity"):
                response = await client.get(path, headers={"Accept": AP})
                assert response.status_code in (404, 410), (name, path, response.text)
                _clean(response, f"{name} as ActivityPub")
            page = await client.get(status["url"])
            assert page.status_code in (404, 410), (name, page.text)
            _clean(page, f"{name}'s page")

    ids = {name: (await _me(a, name))["id"] for name in ("alice", "carol", "dave")}
    walk = [f"/api/v1/timelines/{t}" for t in ("home", "public", "public?local=true", "tag/walk",
                                                "for_you")]
    walk += ["/api/v1/notifications", f"/api/v1/statuses/{public['id']}/context"]
    walk += [f"/api/v1/accounts/{i}/statuses" for i in ids.values()]
    for path in walk:
        response = await a.api("mallory", "GET", path)
        assert response.status_code == 200, (path, response.text)
        _clean(response, path)
    async with a.client() as client:
        for path in ("/", "/@alice", "/@carol", "/users/alice/outbox?page=1", "/users/carol/outbox?page=1"):
            response = await client.get(path, headers={"Accept": AP} if "outbox" in path else {})
            assert response.status_code == 200, (path, response.text)
            _clean(response, path, markers=("SECRET",))
        for name in ("hidden", "followers"):
            stamp = await client.get(f"/users/alice/quote_authorizations/{stamps[name]}")
            assert stamp.status_code == 404, (name, stamp.text)
        assert (await client.get(f"/users/alice/quote_authorizations/{stamps['public']}")).status_code == 200
    for path in ("/api/v1/admin/reports", "/api/v1/admin/accounts", f"/api/v1/admin/accounts/{ids['alice']}"):
        response = await a.api("mallory", "GET", path)
        assert response.status_code == 403, (path, response.text)

    # The same walk finds what mallory may see, and the audience of each post still sees it.
    timeline = (await a.api("mallory", "GET", "/api/v1/timelines/public")).json()
    assert any(s["id"] == public["id"] for s in timeline)
    assert (await a.api("mallory", "GET", f"/api/v1/statuses/{public['id']}")).status_code == 200
    found = await a.api("mallory", "GET", "/api/v2/search", params={"q": public["uri"]})
    assert [s["id"] for s in found.json()["statuses"]] == [public["id"]]
    for viewer, name in (("carol", "followers"), ("carol", "reply"), ("bob", "direct"), ("alice", "hidden"),
                         ("mod", "hidden"), ("alice", "blocked"), ("carol", "blocked")):
        response = await a.api(viewer, "GET", "/api/v2/search", params={"q": secret[name]["uri"]})
        assert [s["id"] for s in response.json()["statuses"]] == [secret[name]["id"]], (viewer, name)
    context = (await a.api("carol", "GET", f"/api/v1/statuses/{public['id']}/context")).json()
    assert [s["id"] for s in context["descendants"]] == [secret["reply"]["id"]]
    assert (await a.api("mod", "GET", f"/api/v1/statuses/{secret['direct']['id']}")).status_code == 404
    report = await a.api("bob", "POST", "/api/v1/reports", json={
        "account_id": ids["alice"], "status_ids": [secret["direct"]["id"]]})
    assert report.status_code == 200, report.text
    shown = await a.api("mod", "GET", f"/api/v1/admin/reports/{report.json()['id']}")
    assert [s["id"] for s in shown.json()["statuses"]] == [secret["direct"]["id"]]


async def test_counting_through_ids_by_search_finds_only_what_the_viewer_may_see(make_instance):
    a, secret, public = await _world(make_instance)
    top = await a.pool.fetchval("SELECT max(id) FROM posts")
    found = set()
    for post_id in range(1, top + 3):
        for author in ("alice", "carol", "dave"):
            response = await a.api("mallory", "GET", "/api/v2/search", params={
                "q": f"{a.base_url}/users/{author}/statuses/{post_id}", "resolve": "true"})
            assert response.status_code == 200, response.text
            found |= {s["id"] for s in response.json()["statuses"]}
        if (await a.api("mallory", "GET", f"/api/v1/statuses/{post_id}")).status_code == 200:
            found.add(str(post_id))
    assert found == {public["id"]}
