"""Mastodon's lists over real HTTP: CRUD, accounts (only followed ones), the lists holding an
account, the list timeline with its replies policy and paging, exclusive lists leaving home,
and every bad input refused with nothing written."""

from __future__ import annotations

from tests.test_client_api import _follow, _people
from tests.test_reports import _post


async def test_lists_crud_accounts_and_bad_input(make_instance):
    a = await make_instance()
    ids = await _people(a, ["alice", "bob", "carol", "dave"])
    for name in ("bob", "carol"):
        await a.api("alice", "POST", f"/api/v1/accounts/{ids[name]}/follow")
    created = await a.api("alice", "POST", "/api/v1/lists", json={"title": "friends"})
    assert created.status_code == 200, created.text
    friends = created.json()
    assert friends == {"id": friends["id"], "title": "friends", "replies_policy": "list", "exclusive": False}
    form = await a.api("alice", "POST", "/api/v1/lists", data={"title": "work", "replies_policy": "none",
                                                               "exclusive": "true"})
    work = form.json()
    assert work["replies_policy"] == "none" and work["exclusive"] is True
    assert [x["title"] for x in (await a.api("alice", "GET", "/api/v1/lists")).json()] == ["friends", "work"]
    assert (await a.api("bob", "GET", "/api/v1/lists")).json() == []
    assert (await a.api("bob", "GET", f"/api/v1/lists/{friends['id']}")).status_code == 404

    renamed = await a.api("alice", "PUT", f"/api/v1/lists/{friends['id']}", json={"title": "pals"})
    assert renamed.json() == {**friends, "title": "pals"}

    path = f"/api/v1/lists/{friends['id']}/accounts"
    added = await a.api("alice", "POST", path, data={"account_ids[]": [ids["bob"], ids["carol"]]})
    assert added.status_code == 200 and added.json() == {}
    first = await a.api("alice", "GET", path, params={"limit": 1})
    assert [x["username"] for x in first.json()] == ["carol"]
    assert [x["username"] for x in (await _follow(a, "alice", first)).json()] == ["bob"]
    assert len((await a.api("alice", "GET", path, params={"limit": 0})).json()) == 2
    held = (await a.api("alice", "GET", f"/api/v1/accounts/{ids['bob']}/lists")).json()
    assert [x["id"] for x in held] == [friends["id"]]

    before = await a.pool.fetchval("SELECT count(*) FROM list_accounts")
    refused = [
        await a.api("alice", "POST", "/api/v1/lists", json={"title": " "}),
        await a.api("alice", "POST", "/api/v1/lists", json={"title": "x" * 300}),
        await a.api("alice", "POST", "/api/v1/lists", json={"title": "x", "replies_policy": "all"}),
        await a.api("alice", "PUT", f"/api/v1/lists/{friends['id']}", json={"title": ""}),
        # dave is not followed: neither he nor carol (followed) is added.
        await a.api("alice", "POST", path, json={"account_ids": [ids["carol"], ids["dave"]]}),
        await a.api("alice", "POST", path, json={"account_ids": ["x"]}),
        await a.api("alice", "POST", path, json={"account_ids": []}),
    ]
    for response in refused:
        assert response.status_code == 422 and response.json()["error"], response.text
    assert await a.pool.fetchval("SELECT count(*) FROM list_accounts") == before
    assert (await a.api("alice", "GET", f"/api/v1/lists/{friends['id']}")).json()["title"] == "pals"
    assert (await a.api("alice", "POST", "/api/v1/lists", json={"title": "x", "exclusive": "perhaps"})
            ).status_code == 400
    assert (await a.api("bob", "POST", path, json={"account_ids": [ids["alice"]]})).status_code == 404
    assert (await a.api(None, "GET", "/api/v1/lists")).status_code == 401

    removed = await a.api("alice", "DELETE", path, data={"account_ids[]": ids["bob"]})
    assert removed.status_code == 200
    assert [x["username"] for x in (await a.api("alice", "GET", path)).json()] == ["carol"]
    # Unfollowed, carol leaves what the list shows.
    await a.api("alice", "POST", f"/api/v1/accounts/{ids['carol']}/unfollow")
    assert (await a.api("alice", "GET", path)).json() == []
    assert (await a.api("alice", "DELETE", f"/api/v1/lists/{friends['id']}")).json() == {}
    assert (await a.api("alice", "DELETE", f"/api/v1/lists/{friends['id']}")).status_code == 404
    assert await a.pool.fetchval("SELECT count(*) FROM list_accounts") == 0


async def test_list_timelines(make_instance):
    a = await make_instance()
    ids = await _people(a, ["alice", "bob", "carol", "dave"])
    for name in ("bob", "carol", "dave"):
        await a.api("alice", "POST", f"/api/v1/accounts/{ids[name]}/follow")
    lists = {}
    for policy in ("list", "followed", "none"):
        made = (await a.api("alice", "POST", "/api/v1/lists", json={"title": policy, "replies_policy": policy,
                                                                     "exclusive": policy == "none"})).json()
        lists[policy] = made["id"]
        await a.api("alice", "POST", f"/api/v1/lists/{made['id']}/accounts", json={"account_ids": ids["bob"]})
    mixed = f"/api/v1/lists/{lists['list']}/accounts"
    await a.api("alice", "POST", mixed, data={"account_ids[]": ids["carol"]})

    carols = await _post(a, "carol", "by carol")
    daves = await _post(a, "dave", "by dave")
    bobs = await _post(a, "bob", "by bob")
    to_carol = await _post(a, "bob", "@carol yes", in_reply_to_id=carols["id"])
    to_dave = await _post(a, "bob", "@dave no", in_reply_to_id=daves["id"])
    to_himself = await _post(a, "bob", "and more", in_reply_to_id=bobs["id"])
    secret = await _post(a, "bob", "followers", visibility="private")

    async def timeline(policy: str, **params: str) -> list[str]:
        response = await a.api("alice", "GET", f"/api/v1/timelines/list/{lists[policy]}", params=params)
        assert response.status_code == 200, response.text
        return [s["id"] for s in response.json()]

    assert await timeline("list") == [secret["id"], to_himself["id"], to_carol["id"], bobs["id"],
                                      carols["id"]]
    assert await timeline("followed") == [secret["id"], to_himself["id"], to_dave["id"], to_carol["id"],
                                          bobs["id"]]
    assert await timeline("none") == [secret["id"], to_himself["id"], bobs["id"]]
    assert await timeline("list", limit="2") == [secret["id"], to_himself["id"]]
    assert await timeline("list", max_id=to_himself["id"]) == [to_carol["id"], bobs["id"], carols["id"]]
    # bob is on an exclusive list: his posts leave alice's home timeline.
    home = [s["id"] for s in (await a.api("alice", "GET", "/api/v1/timelines/home")).json()]
    assert bobs["id"] not in home and daves["id"] in home
    assert (await a.api("bob", "GET", f"/api/v1/timelines/list/{lists['list']}")).status_code == 404
    assert (await a.api("alice", "GET", f"/api/v1/timelines/list/{lists['list']}?limit=x")).status_code == 400
