"""Mastodon's mutes over real HTTP (server/api/mutes.py): muting and unmuting, what a mute hides
(posts and boosts in the home, list, public, hashtag and For You timelines and the streams;
notifications as its `notifications` says), a mute for a time, the paged list, a mute brought by
a Mastodon CSV, one carried over an account's Move; and every bad input refused."""

from __future__ import annotations

import asyncio

from tests.conftest import eventually
from tests.test_account_moves import _handled, _peer_follow
from tests.test_archives import _upload
from tests.test_for_you import _feed, _video_post
from tests.test_push import Browser, _all_taken, b64url, push_service  # noqa: F401 (a fixture)
from tests.test_streaming import _event, _socket, _started


async def _post(a, user, text, **fields):
    response = await a.api(user, "POST", "/api/v1/statuses", json={"status": text, **fields})
    assert response.status_code == 200, response.text
    return response.json()["id"]


async def _id(a, user):
    return (await a.api(user, "GET", "/api/v1/accounts/verify_credentials")).json()["id"]


async def _ids(a, user, path, **params):
    response = await a.api(user, "GET", path, params=params)
    assert response.status_code == 200, response.text
    return [s["id"] for s in response.json()]


async def _home(a, user):
    return await _ids(a, user, "/api/v1/timelines/home")


async def _notes(a, user):
    response = await a.api(user, "GET", "/api/v1/notifications")
    assert response.status_code == 200, response.text
    return [(n["type"], n["account"]["username"]) for n in response.json()]


async def _mute(a, user, account_id, **params):
    response = await a.api(user, "POST", f"/api/v1/accounts/{account_id}/mute", json=params)
    assert response.status_code == 200, response.text
    return response.json()


async def _relationship(a, user, account_id):
    response = await a.api(user, "GET", "/api/v1/accounts/relationships", params={"id[]": account_id})
    return response.json()[0]


async def test_mute_hides_posts_boosts_and_notifications_until_unmuted(make_instance):
    a = await make_instance()
    for name in ("alice", "bob", "carol"):
        await a.signup(name)
    bob, carol = await _id(a, "bob"), await _id(a, "carol")
    for target in (bob, carol):
        assert (await a.api("alice", "POST", f"/api/v1/accounts/{target}/follow")).status_code == 200
    listed = (await a.api("alice", "POST", "/api/v1/lists", json={"title": "people"})).json()
    added = await a.api("alice", "POST", f"/api/v1/lists/{listed['id']}/accounts",
                        json={"account_ids": [bob, carol]})
    assert added.status_code == 200, added.text
    by_bob = await _post(a, "bob", "bob's #cats")
    by_carol = await _post(a, "carol", "carol's #cats")
    boost_of_bob = (await a.api("carol", "POST", f"/api/v1/statuses/{by_bob}/reblog")).json()["id"]
    boost_by_bob = (await a.api("bob", "POST", f"/api/v1/statuses/{by_carol}/reblog")).json()["id"]
    mine = await _post(a, "alice", "mine")
    assert (await a.api("bob", "POST", f"/api/v1/statuses/{mine}/favourite")).status_code == 200
    await _post(a, "bob", f"hi @alice@{a.domain}")
    everything = {by_bob, by_carol, boost_of_bob, boost_by_bob}
    assert everything <= set(await _home(a, "alice"))
    assert ("favourite", "bob") in await _notes(a, "alice")
    list_path = f"/api/v1/timelines/list/{listed['id']}"

    rel = await _mute(a, "alice", bob)
    assert (rel["muting"], rel["muting_notifications"], rel["muting_expires_at"]) == (True, True, None)
    assert await _relationship(a, "alice", bob) == rel
    # Bob's posts, his boosts and boosts of his posts are gone; carol's own post stays.
    home = set(await _home(a, "alice"))
    assert by_carol in home and not home & {by_bob, boost_of_bob, boost_by_bob}, home
    listed_posts = set(await _ids(a, "alice", list_path))
    assert by_carol in listed_posts and not listed_posts & {by_bob, boost_of_bob, boost_by_bob}
    for path in ("/api/v1/timelines/public", "/api/v1/timelines/tag/cats"):
        assert by_bob not in await _ids(a, "alice", path) and by_carol in await _ids(a, "alice", path)
        # Only alice mutes bob.
        assert by_bob in await _ids(a, None, path) and by_bob in await _ids(a, "carol", path)
    assert by_bob in await _home(a, "bob")
    # His profile still shows his posts, as Mastodon's does.
    assert by_bob in await _ids(a, "alice", f"/api/v1/accounts/{bob}/statuses")
    # His notifications are hidden too, those from before the mute included, and not counted.
    assert [n for n in await _notes(a, "alice") if n[1] == "bob"] == []
    unread = await a.api("alice", "GET", "/api/v1/notifications/unread_count")
    assert unread.json()["count"] == 0, unread.text

    # Muting again without notifications: his notifications come back, his posts stay hidden.
    rel = await _mute(a, "alice", bob, notifications=False)
    assert (rel["muting"], rel["muting_notifications"]) == (True, False)
    assert {("favourite", "bob"), ("mention", "bob")} <= set(await _notes(a, "alice"))
    assert by_bob not in await _home(a, "alice")

    unmuted = await a.api("alice", "POST", f"/api/v1/accounts/{bob}/unmute")
    assert unmuted.status_code == 200, unmuted.text
    assert (unmuted.json()["muting"], unmuted.json()["muting_notifications"]) == (False, False)
    assert everything <= set(await _home(a, "alice"))
    assert {by_bob, boost_of_bob, boost_by_bob} <= set(await _ids(a, "alice", list_path))
    assert by_bob in await _ids(a, "alice", "/api/v1/timelines/public")
    # Unmuting someone not muted is no error, as Mastodon's.
    again = await a.api("alice", "POST", f"/api/v1/accounts/{bob}/unmute")
    assert again.status_code == 200 and again.json()["muting"] is False


async def test_home_pages_skip_no_post_for_boosts_of_a_muted_account(make_instance):
    """Each followed account's page is read without the boosts a mute hides: carol's boosts of bob
    do not push her own post off alice's first page (nor, paging on, off every page)."""
    a = await make_instance()
    for name in ("alice", "bob", "carol", "dave"):
        await a.signup(name)
    bob, carol, dave = await _id(a, "bob"), await _id(a, "carol"), await _id(a, "dave")
    for target in (carol, dave):
        assert (await a.api("alice", "POST", f"/api/v1/accounts/{target}/follow")).status_code == 200
    by_dave = await _post(a, "dave", "older")
    by_carol = await _post(a, "carol", "newer")
    for n in range(2):
        boosted = await _post(a, "bob", f"bob {n}")
        assert (await a.api("carol", "POST", f"/api/v1/statuses/{boosted}/reblog")).status_code == 200
    await _mute(a, "alice", bob)
    assert await _ids(a, "alice", "/api/v1/timelines/home", limit=2) == [by_carol, by_dave]


async def _alice_follows_bob(make_instance, text):
    """An instance where alice follows bob, who posted `text`: it, bob's id and the post's."""
    a = await make_instance()
    for name in ("alice", "bob"):
        await a.signup(name)
    bob = await _id(a, "bob")
    assert (await a.api("alice", "POST", f"/api/v1/accounts/{bob}/follow")).status_code == 200
    return a, bob, await _post(a, "bob", text)


async def test_mute_for_a_duration_ends_by_itself(make_instance):
    a, bob, post = await _alice_follows_bob(make_instance, "soon back")
    rel = await _mute(a, "alice", bob, duration=2)
    assert rel["muting"] and rel["muting_expires_at"], rel
    [listed] = (await a.api("alice", "GET", "/api/v1/mutes")).json()
    assert listed["id"] == bob and listed["mute_expires_at"] == rel["muting_expires_at"]
    assert post not in await _home(a, "alice")

    async def back():
        return post in await _home(a, "alice")

    await eventually(back, timeout=10)
    # Expired, the mute is gone everywhere, though nothing deleted its row.
    rel = await _relationship(a, "alice", bob)
    assert (rel["muting"], rel["muting_expires_at"]) == (False, None)
    assert (await a.api("alice", "GET", "/api/v1/mutes")).json() == []
    assert await a.pool.fetchval("SELECT count(*) FROM mutes") == 1
    # Duration 0 is until unmuted.
    assert (await _mute(a, "alice", bob, duration=0))["muting_expires_at"] is None
    assert post not in await _home(a, "alice")


async def test_mutes_list_pages_with_link_headers(make_instance):
    a = await make_instance()
    names = ("bob", "carol", "dave")
    for name in ("alice", *names):
        await a.signup(name)
    ids = [await _id(a, name) for name in names]
    for account_id in ids:
        await _mute(a, "alice", account_id)
    first = await a.api("alice", "GET", "/api/v1/mutes", params={"limit": 2})
    assert [x["id"] for x in first.json()] == [ids[2], ids[1]]
    assert all(x["mute_expires_at"] is None for x in first.json())
    assert 'rel="next"' in first.headers["link"] and 'rel="prev"' in first.headers["link"]
    after = first.headers["link"].split(">")[0].lstrip("<")
    second = await a.api("alice", "GET", after.removeprefix(a.base_url))
    assert [x["id"] for x in second.json()] == [ids[0]]
    # The last page, not full, leads no further.
    assert 'rel="next"' not in second.headers["link"]
    # Nobody else sees alice's mutes.
    assert (await a.api("bob", "GET", "/api/v1/mutes")).json() == []
    assert (await a.api(None, "GET", "/api/v1/mutes")).status_code == 401


async def test_bad_mute_input(make_instance):
    a = await make_instance()
    for name in ("alice", "bob"):
        await a.signup(name)
    me, bob = await _id(a, "alice"), await _id(a, "bob")
    cases = [
        (me, {}, 422, "yourself"),
        ("999999", {}, 404, "no such account"),
        (bob, {"duration": -5}, 422, "duration"),
        (bob, {"duration": "soon"}, 422, "duration"),
        (bob, {"duration": 1.5}, 422, "duration"),
        (bob, {"duration": True}, 422, "duration"),
        (bob, {"duration": 2**31}, 422, "at most"),
        (bob, {"notifications": "maybe"}, 400, "notifications"),
    ]
    for account_id, params, status, words in cases:
        response = await a.api("alice", "POST", f"/api/v1/accounts/{account_id}/mute", json=params)
        assert response.status_code == status and words in response.json()["error"], (params, response.text)
    assert (await a.api("alice", "POST", "/api/v1/accounts/999999/unmute")).status_code == 404
    assert (await a.api("alice", "POST", "/api/v1/accounts/x/mute")).status_code == 404
    assert (await a.api(None, "POST", f"/api/v1/accounts/{bob}/mute")).status_code == 401
    assert await a.pool.fetchval("SELECT count(*) FROM mutes") == 0
    assert (await a.api("alice", "GET", "/api/v1/mutes", params={"limit": "x"})).status_code == 400


async def test_streams_and_for_you_leave_out_a_muted_account(make_instance, tmp_path):
    a = await make_instance()
    for name in ("alice", "bob", "carol"):
        await a.signup(name)
    bob, carol = await _id(a, "bob"), await _id(a, "carol")
    for target in (bob, carol):
        await a.api("alice", "POST", f"/api/v1/accounts/{target}/follow")
    bob_video = await _video_post(a, "bob", "bob's video", tmp_path, 1)
    carol_video = await _video_post(a, "carol", "carol's video", tmp_path, 2)
    await _mute(a, "alice", bob)
    assert (await _feed(a, "alice"))[0] == [carol_video]
    assert (await _feed(a))[0] == [bob_video, carol_video]

    for query in ("?stream=user", "?stream=public"):
        async with _socket(a, a.tokens["alice"], query) as ws:
            await _started(ws)
            await _post(a, "bob", "not for alice")
            await a.api("bob", "POST", f"/api/v1/statuses/{carol_video}/reblog")
            shown = await _post(a, "carol", "for alice")
            # Events come in order: the first alice is shown is carol's, after bob's two.
            assert (await _event(ws, "update"))["payload"]["id"] == shown, query
    # A muted account's notification stays off the stream; another's comes through.
    mine = await _post(a, "alice", "like me")
    async with _socket(a, a.tokens["alice"], "?stream=user:notification") as ws:
        await _started(ws)
        await a.api("bob", "POST", f"/api/v1/statuses/{mine}/favourite")
        await a.api("carol", "POST", f"/api/v1/statuses/{mine}/favourite")
        note = await _event(ws, "notification")
        assert note["payload"]["account"]["username"] == "carol"
        assert await _notes(a, "alice") == [("favourite", "carol")]


async def test_no_push_for_a_muted_accounts_notification(make_instance, push_service):  # noqa: F811
    a = await make_instance()
    for name in ("alice", "bob", "carol"):
        await a.signup(name)
    browser = Browser()
    subscribed = await a.api("alice", "POST", "/api/v1/push/subscription", json={
        "subscription": {"endpoint": push_service.url, "standard": True,
                         "keys": {"p256dh": browser.p256dh, "auth": b64url(browser.auth)}},
        "data": {"alerts": {"mention": True}}})
    assert subscribed.status_code == 200, subscribed.text
    await _mute(a, "alice", await _id(a, "bob"))
    await _post(a, "bob", f"@alice@{a.domain} muted")
    await _post(a, "carol", f"@alice@{a.domain} heard")
    await push_service.wait_for(1)
    await eventually(lambda: _all_taken(a))
    await asyncio.sleep(1)
    assert [browser.decrypt(body)["title"] for _, body in push_service.received] == [
        "You were mentioned by carol"]


async def test_a_mute_imported_from_csv_takes_effect(make_instance):
    a, bob, post = await _alice_follows_bob(make_instance, "imported away")
    csv = f"Account address,Hide notifications\nbob@{a.domain},true\n".encode()
    report = await a.api("alice", "POST", "/api/v1/imports/muting", **_upload(csv, "m.csv", "text/csv"))
    assert report.status_code == 200 and report.json()["imported"] == 1, report.text
    assert post not in await _home(a, "alice")
    assert [x["id"] for x in (await a.api("alice", "GET", "/api/v1/mutes")).json()] == [bob]


async def test_mutes_and_blocks_carried_over_a_move(make_instance, peer):
    a = await make_instance("a")
    for name in ("carol", "dave", "erin"):
        await a.signup(name)
    old, new = peer.add_actor("old"), peer.add_actor("new")
    peer.actor_extras["new"] = {"alsoKnownAs": [old]}
    old_id = await _peer_follow(a, "carol", peer, "old")
    new_id = (await a.api("carol", "GET", "/api/v2/search",
                          params={"q": new, "resolve": "true"})).json()["accounts"][0]["id"]
    # carol follows and mutes the old account, dave mutes it for a day without its
    # notifications, erin blocks it.
    await _mute(a, "carol", old_id)
    await _mute(a, "dave", old_id, notifications=False, duration=86400)
    blocked = await a.api("erin", "POST", f"/api/v1/accounts/{old_id}/block")
    assert blocked.status_code == 200, blocked.text
    dave_before = await _relationship(a, "dave", old_id)

    move = {"@context": "https://www.w3.org/ns/activitystreams", "id": f"{old}#moves/1",
            "type": "Move", "actor": old, "object": old, "target": new}
    assert (await peer.post("old", f"{a.base_url}/inbox", move)).status_code == 202
    assert await _handled(a, move["id"]) == "done"
    carol = await _relationship(a, "carol", new_id)
    assert (carol["muting"], carol["muting_notifications"], carol["muting_expires_at"]) == (True, True, None)
    dave = await _relationship(a, "dave", new_id)
    assert (dave["muting"], dave["muting_notifications"]) == (True, False)
    assert dave["muting_expires_at"] == dave_before["muting_expires_at"]
    assert (await _relationship(a, "erin", new_id))["blocking"] is True
    block = await eventually(lambda: _received(peer, "Block", new))
    assert block["actor"] == f"{a.base_url}/users/erin"
    # The old mutes and block stay as they were.
    assert (await _relationship(a, "carol", old_id))["muting"] is True
    assert (await _relationship(a, "erin", old_id))["blocking"] is True


async def _received(peer, kind, obj):
    return next((x for x in peer.received if x["type"] == kind and x["object"] == obj), None)
