"""A post's Update and Delete reach every server that holds it (Mastodon's reach and forwarding):
bob@B posts, carol@C boosts it, dave@D follows carol only. D learns of the post through carol's
boost, and of its edit and deletion through C, which forwards bob's signed activities."""

from __future__ import annotations

from typing import Any

from tests.conftest import eventually


async def _resolve(instance, username: str, query: str, kind: str = "statuses") -> dict[str, Any]:
    response = await instance.api(username, "GET", "/api/v2/search", params={"q": query, "resolve": "true"})
    assert response.status_code == 200, response.text
    found = response.json()[kind]
    assert found, f"{query} not found on {instance.base_url}"
    return found[0]


async def _follow(instance, username: str, handle: str) -> None:
    account = await _resolve(instance, username, f"@{handle}", "accounts")
    response = await instance.api(username, "POST", f"/api/v1/accounts/{account['id']}/follow")
    assert response.status_code == 200, response.text

    async def following() -> bool:
        rel = await instance.api(username, "GET", "/api/v1/accounts/relationships",
                                 params={"id[]": account["id"]})
        return rel.json()[0]["following"]

    await eventually(following)


async def _home(instance, username: str) -> list[dict[str, Any]]:
    response = await instance.api(username, "GET", "/api/v1/timelines/home")
    assert response.status_code == 200, response.text
    return response.json()


async def _three(make_instance) -> tuple[Any, Any, Any, dict[str, Any], dict[str, Any]]:
    """B, C, D as above, once dave sees carol's boost of bob's post; returns the post as B and
    the boost as D show them."""
    b, c, d = await make_instance("b"), await make_instance("c"), await make_instance("d")
    await b.signup("bob")
    await c.signup("carol")
    await d.signup("dave")
    await _follow(d, "dave", c.handle("carol"))
    response = await b.api("bob", "POST", "/api/v1/statuses", json={"status": "the first #take"})
    assert response.status_code == 200, response.text
    post = response.json()
    on_c = await _resolve(c, "carol", post["uri"])
    response = await c.api("carol", "POST", f"/api/v1/statuses/{on_c['id']}/reblog")
    assert response.status_code == 200, response.text

    async def boost_on_d() -> dict[str, Any] | None:
        return next((s for s in await _home(d, "dave")
                     if s["reblog"] and s["reblog"]["uri"] == post["uri"]), None)

    boost = await eventually(boost_on_d)
    assert "the first" in boost["reblog"]["content"]
    return b, c, d, post, boost


async def test_a_delete_reaches_the_followers_of_those_who_boosted(make_instance):
    b, c, d, post, boost = await _three(make_instance)
    response = await b.api("bob", "DELETE", f"/api/v1/statuses/{post['id']}")
    assert response.status_code == 200, response.text

    # B sent its Delete to C (carol boosted); C forwarded it, as received, to dave's server.
    async def gone_on_d() -> bool:
        home = await _home(d, "dave")
        shown = await d.api("dave", "GET", f"/api/v1/statuses/{boost['reblog']['id']}")
        return all(s["id"] != boost["id"] for s in home) and shown.status_code == 404

    await eventually(gone_on_d)
    on_c = await c.api("carol", "GET", "/api/v1/accounts/verify_credentials")
    assert on_c.json()["statuses_count"] == 0  # carol's boost went with the post
    forwarded = await d.pool.fetchrow(
        "SELECT signer_uri, body FROM inbox_activities WHERE type = 'Delete'")
    assert forwarded["body"]["actor"] == f"{b.base_url}/users/bob"
    assert forwarded["body"]["proof"]["verificationMethod"].startswith(f"{b.base_url}/users/bob")
    assert forwarded["signer_uri"] == f"{b.base_url}/users/bob"  # the proof, not the forwarder
    deliveries = await d.pool.fetchval("SELECT count(*) FROM deliveries")
    assert deliveries == 1  # dave's Follow, and nothing forwarded back


async def test_an_edit_reaches_the_followers_of_those_who_boosted(make_instance):
    b, c, d, post, boost = await _three(make_instance)
    response = await b.api("bob", "PUT", f"/api/v1/statuses/{post['id']}",
                           json={"status": "the second #take", "spoiler_text": "spoilers"})
    assert response.status_code == 200, response.text
    assert response.json()["edited_at"] is not None

    async def edited_on_d() -> dict[str, Any] | None:
        home = await _home(d, "dave")
        shown = next((s["reblog"] for s in home if s["id"] == boost["id"]), None)
        return shown if shown and "the second" in shown["content"] else None

    shown = await eventually(edited_on_d)
    assert shown["edited_at"] is not None and shown["spoiler_text"] == "spoilers"
    history = (await d.api("dave", "GET", f"/api/v1/statuses/{shown['id']}/history")).json()
    assert ["the first" in v["content"] for v in history] == [True, False]
    assert ["the second" in v["content"] for v in history] == [False, True]
    assert [v["spoiler_text"] for v in history] == ["", "spoilers"]
    # carol, who boosted it, is told on C (Mastodon's `update` notification).
    notifications = (await c.api("carol", "GET", "/api/v1/notifications")).json()
    assert [n["type"] for n in notifications] == ["update", "follow"]
    assert notifications[0]["account"]["acct"] == b.handle("bob")
    assert "the second" in notifications[0]["status"]["content"]


async def test_the_followers_of_a_local_booster_get_the_edit_and_the_delete(make_instance):
    # eve boosts bob's post on their own server B; dave@D follows eve only, so B itself must
    # send D the Update and the Delete (the followers of those who boosted it, known here).
    b, d = await make_instance("b"), await make_instance("d")
    await b.signup("bob")
    await b.signup("eve")
    await d.signup("dave")
    await _follow(d, "dave", b.handle("eve"))
    post = (await b.api("bob", "POST", "/api/v1/statuses", json={"status": "as first said"})).json()
    response = await b.api("eve", "POST", f"/api/v1/statuses/{post['id']}/reblog")
    assert response.status_code == 200, response.text

    async def shown_on_d() -> dict[str, Any] | None:
        return next((s["reblog"] for s in await _home(d, "dave")
                     if s["reblog"] and s["reblog"]["uri"] == post["uri"]), None)

    assert "as first said" in (await eventually(shown_on_d))["content"]
    response = await b.api("bob", "PUT", f"/api/v1/statuses/{post['id']}", json={"status": "as said now"})
    assert response.status_code == 200, response.text

    async def edited_on_d() -> bool:
        shown = await shown_on_d()
        return shown is not None and "as said now" in shown["content"]

    await eventually(edited_on_d)
    # eve was told of the edit; bob, who wrote it, was not.
    told = [n["type"] for n in (await b.api("eve", "GET", "/api/v1/notifications")).json()]
    assert told == ["update", "follow"]  # and dave's follow
    assert "update" not in [n["type"] for n in (await b.api("bob", "GET", "/api/v1/notifications")).json()]
    assert (await b.api("bob", "DELETE", f"/api/v1/statuses/{post['id']}")).status_code == 200

    async def gone_on_d() -> bool:
        return await shown_on_d() is None

    await eventually(gone_on_d)
