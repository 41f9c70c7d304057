"""Mastodon's markers API over real HTTP: where a person stopped reading, kept per person, each
save a new version, and bad input refused with what was wrong."""

from __future__ import annotations

from server import store


async def test_markers_are_kept_per_person(make_instance):
    a = await make_instance()
    for user in ("ana", "ben"):
        await a.signup(user)
    ask = "/api/v1/markers?timeline[]=notifications&timeline[]=home"
    assert (await a.api("ana", "GET", ask)).json() == {}

    saved = await a.api("ana", "POST", "/api/v1/markers", json={"notifications": {"last_read_id": "41"}})
    assert saved.status_code == 200, saved.text
    assert saved.json()["notifications"]["last_read_id"] == "41"
    assert saved.json()["notifications"]["version"] == 1
    # A form, as some Mastodon apps send it, moves the same marker on.
    again = await a.api("ana", "POST", "/api/v1/markers", data={"notifications[last_read_id]": "42"})
    assert again.json()["notifications"]["last_read_id"] == "42"
    assert again.json()["notifications"]["version"] == 2

    mine = (await a.api("ana", "GET", ask)).json()
    assert list(mine) == ["notifications"] and mine["notifications"]["last_read_id"] == "42"
    assert (await a.api("ana", "GET", "/api/v1/markers?timeline[]=home")).json() == {}
    assert (await a.api("ben", "GET", ask)).json() == {}
    assert (await a.api(None, "GET", ask)).status_code == 401


async def test_markers_refuse_bad_input(make_instance):
    a = await make_instance()
    await a.signup("ana")
    for body in ({}, {"notifications": {"last_read_id": "-1"}}, {"notifications": {"last_read_id": "x"}},
                 {"notifications": {}}, {"notifications": {"last_read_id": True}},
                 {"direct": {"last_read_id": "5"}}):
        response = await a.api("ana", "POST", "/api/v1/markers", json=body)
        assert response.status_code == 422, (body, response.text)
        assert response.json()["error"], body
    # A refused save keeps nothing, even beside a good timeline.
    mixed = await a.api("ana", "POST", "/api/v1/markers",
                        json={"home": {"last_read_id": "3"}, "lists": {"last_read_id": "4"}})
    assert mixed.status_code == 422 and "lists" in mixed.json()["error"]
    assert (await a.api("ana", "GET", "/api/v1/markers?timeline[]=home&timeline[]=x")).json() == {}
    assert await a.pool.fetchval("SELECT count(*) FROM markers") == 0


async def test_deleting_an_account_forgets_its_markers(make_instance):
    a = await make_instance()
    await a.signup("ana")
    await a.api("ana", "POST", "/api/v1/markers", json={"home": {"last_read_id": "7"}})
    user_id = await a.pool.fetchval("SELECT id FROM users WHERE username = 'ana'")
    actor_id = await a.pool.fetchval("SELECT id FROM actors WHERE user_id = $1", user_id)
    async with a.pool.acquire() as conn:
        await store.erase_account(conn, user_id, actor_id)
    assert await a.pool.fetchval("SELECT count(*) FROM markers") == 0
