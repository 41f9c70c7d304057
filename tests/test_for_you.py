"""For You over real HTTP: the documented ranking (policy/ranking.py) from engagement the
triggers count, recency, follows and a person's steering; cursor paging; bad input."""

from __future__ import annotations

from policy import ranking
from server import store
from server.db import GENERIC_PLANS, create_pool, migrate
from tests.test_federation_e2e import _account_id, _upload_video
from tests.videos import make_mp4


async def _video_post(a, user, text, tmp_path, hours_ago):
    media_id = await _upload_video(a, user, make_mp4(tmp_path / f"{user}.mp4"))
    response = await a.api(user, "POST", "/api/v1/statuses", json={"status": text, "media_ids": [media_id]})
    assert response.status_code == 200, response.text
    post_id = int(response.json()["id"])
    # As if it had been posted (and first seen here) that long ago.
    await a.pool.execute("UPDATE posts SET published_at = now() - make_interval(hours => $2),"
                         " created_at = now() - make_interval(hours => $2) WHERE id = $1", post_id, hours_ago)
    return str(post_id)


async def _feed(a, user=None, **params):
    response = await a.api(user, "GET", "/api/v1/timelines/for_you", params=params)
    assert response.status_code == 200, response.text
    return [s["id"] for s in response.json()], response


async def test_ranking_and_steering(make_instance, tmp_path):
    a = await make_instance()
    for name in ("alice", "bob", "carol", "dave"):
        await a.signup(name)
    v1 = await _video_post(a, "alice", "a walk", tmp_path, 1)
    v2 = await _video_post(a, "bob", "a swim", tmp_path, 2)
    v3 = await _video_post(a, "carol", "my #Cats", tmp_path, 3)
    text_only = await a.api("bob", "POST", "/api/v1/statuses", json={"status": "no video here"})
    assert text_only.status_code == 200

    # Recency alone; a post without a video is not in a video feed.
    assert (await _feed(a))[0] == [v1, v2, v3]
    # One like is worth more than two hours (log10(2) = 0.30 > 2 / 12.5).
    assert (await a.api("dave", "POST", f"/api/v1/statuses/{v3}/favourite")).status_code == 200
    assert await a.pool.fetchval("SELECT like_count FROM posts WHERE id = $1", int(v3)) == 1
    assert (await _feed(a))[0] == [v3, v1, v2]
    assert (await _feed(a, "dave"))[0] == [v3, v1, v2]

    # Following bob lifts his video for dave only.
    bob = await _account_id(a, "dave", a.handle("bob"))
    assert (await a.api("dave", "POST", f"/api/v1/accounts/{bob}/follow")).status_code == 200
    assert (await _feed(a, "dave"))[0] == [v2, v3, v1]
    assert (await _feed(a))[0] == [v3, v1, v2]

    # Less of a topic, in any case or width of letters.
    less_cats = await a.api("dave", "POST", "/api/v1/for_you/preferences",
                            json={"tag": "#CATS", "direction": "less"})
    assert less_cats.status_code == 200, less_cats.text
    assert less_cats.json()["tag"] == "cats" and less_cats.json()["account"] is None
    assert (await _feed(a, "dave"))[0] == [v2, v1, v3]
    carol = await _account_id(a, "dave", a.handle("carol"))
    more_carol = await a.api("dave", "POST", "/api/v1/for_you/preferences",
                             json={"account_id": carol, "direction": "more"})
    assert more_carol.status_code == 200 and more_carol.json()["account"]["id"] == carol
    # -1.5 for the topic, +1.0 for the creator: still last.
    assert (await _feed(a, "dave"))[0] == [v2, v1, v3]
    deleted = await a.api("dave", "DELETE", f"/api/v1/for_you/preferences/{less_cats.json()['id']}")
    assert deleted.status_code == 200
    assert (await _feed(a, "dave"))[0] == [v3, v2, v1]
    # Asking again about carol changes the answer rather than adding a second one.
    again = await a.api("dave", "POST", "/api/v1/for_you/preferences",
                        json={"account_id": carol, "direction": "less"})
    assert again.json()["id"] == more_carol.json()["id"]
    listed = (await a.api("dave", "GET", "/api/v1/for_you/preferences")).json()
    assert [(p["direction"], p["account"]["id"]) for p in listed] == [("less", carol)]
    assert (await _feed(a, "dave"))[0] == [v2, v1, v3]

    # Cursor paging walks the same order, once each; the next page after the last is empty.
    whole = (await _feed(a, "dave"))[0]
    walked, params = [], {"limit": 1}
    for _ in range(4):
        ids, response = await _feed(a, "dave", **params)
        if not ids:
            break
        walked += ids
        params = {"limit": 1, "cursor": response.links["next"]["url"].split("cursor=")[1]}
    assert walked == whole

    # Boosts, replies and unlikes move the counters the ranking reads.
    assert (await a.api("carol", "POST", f"/api/v1/statuses/{v1}/reblog")).status_code == 200
    reply = await a.api("bob", "POST", "/api/v1/statuses", json={"status": "nice", "in_reply_to_id": v1})
    assert reply.status_code == 200
    assert (await a.api("dave", "POST", f"/api/v1/statuses/{v3}/unfavourite")).status_code == 200
    counts = await a.pool.fetchrow("SELECT like_count, boost_count, reply_count FROM posts WHERE id = $1",
                                   int(v1))
    assert tuple(counts) == (0, 1, 1)
    assert await a.pool.fetchval("SELECT like_count FROM posts WHERE id = $1", int(v3)) == 0
    assert (await _feed(a))[0] == [v1, v2, v3]
    assert (await a.api("bob", "DELETE", f"/api/v1/statuses/{reply.json()['id']}")).status_code == 200
    assert await a.pool.fetchval("SELECT reply_count FROM posts WHERE id = $1", int(v1)) == 0


async def test_bad_for_you_input(make_instance):
    a = await make_instance()
    await a.signup("alice")
    await a.signup("bob")
    me = await _account_id(a, "alice", a.handle("alice"))
    cases = [
        ("GET", "/api/v1/timelines/for_you", {"params": {"cursor": "not-a-cursor"}}, 400, "cursor"),
        ("GET", "/api/v1/timelines/for_you", {"params": {"limit": "0"}}, 400, "limit"),
        ("POST", "/api/v1/for_you/preferences", {"json": {"tag": "cats"}}, 422, "direction"),
        ("POST", "/api/v1/for_you/preferences", {"json": {"tag": "cats", "direction": "most"}}, 422,
         "direction"),
        ("POST", "/api/v1/for_you/preferences", {"json": {"direction": "more"}}, 422, "either"),
        ("POST", "/api/v1/for_you/preferences", {"json": {"direction": "more", "tag": "cats",
                                                          "account_id": me}}, 422, "either"),
        ("POST", "/api/v1/for_you/preferences", {"json": {"direction": "more", "tag": "two words"}}, 422,
         "one hashtag"),
        ("POST", "/api/v1/for_you/preferences", {"json": {"direction": "more", "tag": "#"}}, 422,
         "one hashtag"),
        ("POST", "/api/v1/for_you/preferences", {"json": {"direction": "more", "tag": ["cats"]}}, 422,
         "one hashtag"),
        ("POST", "/api/v1/for_you/preferences", {"json": {"direction": "more", "account_id": "999999"}},
         404, "no such account"),
        ("POST", "/api/v1/for_you/preferences", {"json": {"direction": "more", "account_id": "x"}}, 404,
         "no such account"),
        ("POST", "/api/v1/for_you/preferences", {"json": {"direction": "more", "account_id": me}}, 422,
         "own"),
        ("DELETE", "/api/v1/for_you/preferences/999", {}, 404, "no such choice"),
        ("DELETE", "/api/v1/for_you/preferences/x", {}, 404, "no such choice"),
    ]
    for method, path, kwargs, status, words in cases:
        response = await a.api("alice", method, path, **kwargs)
        assert response.status_code == status, (path, kwargs, response.text)
        assert words in response.json()["error"], (path, kwargs, response.text)
    assert await a.pool.fetchval("SELECT count(*) FROM feed_preferences") == 0
    # Someone else's choice is not yours to remove; the list needs a sign-in.
    mine = await a.api("alice", "POST", "/api/v1/for_you/preferences",
                       json={"tag": "cats", "direction": "less"})
    theirs = f"/api/v1/for_you/preferences/{mine.json()['id']}"
    assert (await a.api("bob", "DELETE", theirs)).status_code == 404
    assert (await a.api(None, "GET", "/api/v1/for_you/preferences")).status_code == 401
    assert (await a.api(None, "POST", "/api/v1/for_you/preferences", json={})).status_code == 401


def test_cursors_round_trip_and_refuse_forgeries():
    cursor = ranking.next_cursor(12.345, 678)
    assert ranking.read_cursor(cursor) == (12.345, 678)
    for bad in ("", "abc", cursor + "AAAA", ranking.next_cursor(float("nan"), 1)):
        try:
            ranking.read_cursor(bad)
        except ValueError:
            continue
        raise AssertionError(f"{bad!r} was read")


async def _remote_video(a, domain: str) -> str:
    """A public video by an account on `domain`, as if it had arrived from there."""
    actor = await a.pool.fetchval(
        "INSERT INTO actors (uri, local, username, domain, inbox) VALUES ($1, false, 'u', $2, $3)"
        " RETURNING id", f"https://{domain}/users/u", domain, f"https://{domain}/inbox")
    post = await a.pool.fetchval(
        "INSERT INTO posts (uri, actor_id, local, visibility, content, ai_generated)"
        " VALUES ($1, $2, false, 'public', '<p>far</p>', true) RETURNING id", f"https://{domain}/p/1", actor)
    await a.pool.execute(
        "INSERT INTO media (post_id, actor_id, kind, media_type, remote_url)"
        " VALUES ($1, $2, 'video', 'video/mp4', $3)", post, actor, f"https://{domain}/v.mp4")
    return str(post)


async def test_for_you_leaves_out_what_moderation_took_out_of_view(make_instance, tmp_path):
    a = await make_instance()
    for name in ("alice", "bob", "carol", "dave", "mod"):
        await a.signup(name)
    await a.set_role("mod", "admin")
    posts = {name: await _video_post(a, name, f"by {name}", tmp_path, 1)
             for name in ("alice", "bob", "carol", "dave")}
    for domain in ("spam.example", "loud.example", "fine.example"):
        posts[domain] = await _remote_video(a, domain)
    assert set((await _feed(a))[0]) == set(posts.values())

    for target, action in (("alice", "suspend"), ("bob", "silence")):
        account = await _account_id(a, "mod", a.handle(target))
        response = await a.api("mod", "POST", f"/api/v1/admin/accounts/{account}/action",
                               json={"type": action})
        assert response.status_code == 200, response.text
    hidden = await a.api("mod", "POST", f"/api/v1/admin/statuses/{posts['carol']}/action",
                         json={"type": "hide"})
    assert hidden.status_code == 200, hidden.text
    for domain, severity in (("spam.example", "suspend"), ("loud.example", "silence")):
        blocked = await a.api("mod", "POST", "/api/v1/admin/domain_blocks",
                              json={"domain": domain, "severity": severity})
        assert blocked.status_code == 200, blocked.text
    # A suspended or silenced author, a hidden post, a suspended or limited server: none of them.
    for viewer in (None, "dave"):
        assert set((await _feed(a, viewer))[0]) == {posts["dave"], posts["fine.example"]}


async def test_has_video_follows_the_posts_media(make_instance):
    """`posts.has_video` (migration 0027), which For You reads instead of `media`, follows a video
    attached, detached, moved, turned into an image or deleted, whichever path writes."""
    a = await make_instance()
    remote = await _remote_video(a, "far.example")
    has_video = "SELECT has_video FROM posts WHERE id = $1"
    assert await a.pool.fetchval(has_video, int(remote)) is True
    assert (await _feed(a))[0] == [remote]
    actor = await a.pool.fetchval("SELECT actor_id FROM posts WHERE id = $1", int(remote))
    other = await a.pool.fetchval(
        "INSERT INTO posts (uri, actor_id, local, visibility, content, ai_generated)"
        " VALUES ('https://far.example/p/2', $1, false, 'public', '<p>two</p>', true) RETURNING id", actor)
    await a.pool.execute("UPDATE media SET post_id = $1 WHERE post_id = $2", other, int(remote))
    assert [await a.pool.fetchval(has_video, p) for p in (int(remote), other)] == [False, True]
    assert (await _feed(a))[0] == [str(other)]
    await a.pool.execute("UPDATE media SET kind = 'image' WHERE post_id = $1", other)
    assert await a.pool.fetchval(has_video, other) is False
    assert (await _feed(a))[0] == []
    await a.pool.execute("UPDATE media SET kind = 'video' WHERE post_id = $1", other)
    assert await a.pool.fetchval(has_video, other) is True
    await a.pool.execute("DELETE FROM media WHERE post_id = $1", other)
    assert await a.pool.fetchval(has_video, other) is False
    assert (await _feed(a))[0] == []


async def test_for_you_runs_on_a_generic_plan_and_leaves_the_setting_behind(database):
    """The For You statement is run on its generic plan (server/store/feed.py), on a pool's
    connection and on a caller's, and neither keeps the setting for what runs next."""
    pool = await create_pool(database, min_size=1, max_size=1)
    try:
        async with pool.acquire() as conn:
            await migrate(conn)
        page = {"limit": 20, "cursor": None, "candidates": ranking.CANDIDATES,
                "followed_candidates": ranking.FOLLOWED_CANDIDATES}
        for _ in range(3):
            assert await store.for_you(pool, None, ranking.Weights(), **page) == []
        async with pool.acquire() as conn:
            assert await conn.fetchval("SHOW plan_cache_mode") == "auto"
            plans = await conn.fetchrow("SELECT generic_plans, custom_plans FROM pg_prepared_statements"
                                        " WHERE statement LIKE 'WITH prefs AS%'")
            assert dict(plans) == {"generic_plans": 3, "custom_plans": 0}
            assert await store.for_you(conn, None, ranking.Weights(), **page) == []
            assert await conn.fetchval("SHOW plan_cache_mode") == "auto"
    finally:
        await pool.close()


async def test_for_you_pool_runs_the_statement_on_its_generic_plan_in_one_go(make_instance):
    """The instance's For You pool sets the generic plan once per connection, so that a page's
    statement runs as it is, and no other pool's connections take that setting."""
    a = await make_instance()
    page = {"limit": 20, "cursor": None, "candidates": ranking.CANDIDATES,
            "followed_candidates": ranking.FOLLOWED_CANDIDATES}
    pool = a.instance.feed_pool
    for _ in range(3):
        assert await store.for_you(pool, None, ranking.Weights(), on_generic_plans=True, **page) == []
    async with pool.acquire() as conn:
        assert await conn.fetchval("SHOW plan_cache_mode") == GENERIC_PLANS["plan_cache_mode"]
        assert not conn.is_in_transaction()
        plans = await conn.fetchrow("SELECT generic_plans, custom_plans FROM pg_prepared_statements"
                                    " WHERE statement LIKE 'WITH prefs AS%'")
        assert plans["custom_plans"] == 0 and plans["generic_plans"] >= 1
    async with a.instance.read_pool.acquire() as conn:
        assert await conn.fetchval("SHOW plan_cache_mode") == "auto"
    assert (await _feed(a))[0] == []
