"""Sign-up, login, tokens and roles over the HTTP API: good paths and every bad input."""

from __future__ import annotations

import asyncio
import re

from tests.conftest import PASSWORD


async def _count(instance, table: str) -> int:
    return await instance.pool.fetchval(f"SELECT count(*) FROM {table}")


async def test_signup_login_and_token(make_instance):
    a = await make_instance()
    token = await a.signup("alice")
    me = await a.api("alice", "GET", "/api/v1/accounts/verify_credentials")
    assert me.status_code == 200
    assert me.json()["username"] == "alice" and me.json()["role"]["name"] == "user"
    # Both form and JSON bodies log in, by username or email.
    async with a.client() as client:
        by_form = await client.post("/oauth/token", data={
            "grant_type": "password", "username": "alice", "password": PASSWORD})
        by_json = await client.post("/oauth/token", json={
            "grant_type": "password", "username": "ALICE@example.com", "password": PASSWORD})
    assert by_form.status_code == 200 and by_json.status_code == 200
    assert by_form.json()["access_token"] not in (token, by_json.json()["access_token"])
    # The password is stored as an argon2 hash, never in clear.
    stored = await a.pool.fetchval("SELECT password_hash FROM users WHERE username = 'alice'")
    assert stored.startswith("$argon2") and PASSWORD not in stored
    # The actor exists with both keys.
    keys = await a.pool.fetch("SELECT kind FROM public_keys WHERE owner_uri = $1",
                              f"{a.base_url}/users/alice")
    assert sorted(k["kind"] for k in keys) == ["ed25519", "rsa"]


async def test_bad_signups_leave_nothing_behind(make_instance):
    a = await make_instance()
    await a.signup("alice")
    users, actors = await _count(a, "users"), await _count(a, "actors")
    cases = [
        ({"username": "alice", "email": "other@example.com", "password": PASSWORD}, 409, "taken"),
        ({"username": "ALICE", "email": "other@example.com", "password": PASSWORD}, 409, "taken"),
        ({"username": "bob", "email": "alice@example.com", "password": PASSWORD}, 409, "email"),
        ({"username": "bob", "email": "not-an-email", "password": PASSWORD}, 422, "email"),
        ({"username": "bob", "email": "bob@example.com", "password": "short"}, 422, "password"),
        ({"username": "bob smith", "email": "bob@example.com", "password": PASSWORD}, 422, "username"),
        ({"username": "", "email": "bob@example.com", "password": PASSWORD}, 422, "username"),
        ({"username": "admin", "email": "bob@example.com", "password": PASSWORD}, 422, "reserved"),
        ({"username": ["x"], "email": "bob@example.com", "password": PASSWORD}, 422, "username"),
    ]
    async with a.client() as client:
        for body, status, words in cases:
            response = await client.post("/api/v1/accounts", json=body)
            assert response.status_code == status, (body, response.text)
            assert words in response.json()["error"], response.json()
        bad_json = await client.post("/api/v1/accounts", content=b"{oops",
                                     headers={"Content-Type": "application/json"})
        assert bad_json.status_code == 400
    assert (await _count(a, "users"), await _count(a, "actors")) == (users, actors)


async def test_simultaneous_signups_for_one_name(make_instance):
    a = await make_instance()
    async with a.client() as client:
        responses = await asyncio.gather(*(client.post("/api/v1/accounts", json={
            "username": "carol", "email": f"carol{n}@example.com", "password": PASSWORD})
            for n in range(4)))
    assert sorted(r.status_code for r in responses) == [200, 409, 409, 409]
    assert await _count(a, "users") == 1


async def test_wrong_password_and_bad_tokens(make_instance):
    a = await make_instance()
    await a.signup("alice")
    async with a.client() as client:
        wrong = await client.post("/oauth/token", data={
            "grant_type": "password", "username": "alice", "password": "wrong password"})
        unknown = await client.post("/oauth/token", data={
            "grant_type": "password", "username": "nobody", "password": PASSWORD})
        grant = await client.post("/oauth/token", data={"grant_type": "magic"})
        no_token = await client.get("/api/v1/accounts/verify_credentials")
        bad_token = await client.get("/api/v1/accounts/verify_credentials",
                                     headers={"Authorization": "Bearer nonsense"})
    assert wrong.status_code == 401 and unknown.status_code == 401
    assert wrong.json()["error"] == unknown.json()["error"]
    assert grant.status_code == 400
    assert no_token.status_code == 401 and bad_token.status_code == 401
    assert await _count(a, "access_tokens") == 1


async def test_closed_signup(make_instance):
    a = await make_instance(registrations_open=False)
    async with a.client() as client:
        response = await client.post("/api/v1/accounts", json={
            "username": "dave", "email": "dave@example.com", "password": PASSWORD})
    assert response.status_code == 403 and "closed" in response.json()["error"]
    assert await _count(a, "users") == 0


async def test_followers_and_following_page_by_follow(make_instance):
    a = await make_instance()
    for name in ("alice", "bob", "carol", "dave"):
        await a.signup(name)
    alice = (await a.api("alice", "GET", "/api/v1/accounts/verify_credentials")).json()
    for name in ("bob", "carol", "dave"):
        assert (await a.api(name, "POST", f"/api/v1/accounts/{alice['id']}/follow")).status_code == 200
    first = await a.api("alice", "GET", f"/api/v1/accounts/{alice['id']}/followers", params={"limit": 2})
    assert [account["acct"] for account in first.json()] == ["dave", "carol"]
    older = re.search(r'<([^>]+)>; rel="next"', first.headers["link"]).group(1)
    assert [account["acct"] for account in (await a.api("alice", "GET", older)).json()] == ["bob"]
    bob = (await a.api("bob", "GET", "/api/v1/accounts/verify_credentials")).json()
    following = await a.api(None, "GET", f"/api/v1/accounts/{bob['id']}/following")
    assert [account["acct"] for account in following.json()] == ["alice"]
    # Someone the account blocks sees an empty list, as on Mastodon.
    assert (await a.api("alice", "POST", f"/api/v1/accounts/{bob['id']}/block")).status_code == 200
    assert (await a.api("bob", "GET", f"/api/v1/accounts/{alice['id']}/followers")).json() == []
    assert (await a.api("carol", "GET", f"/api/v1/accounts/{alice['id']}/followers",
                        params={"limit": 80})).status_code == 200
    # Bad input: an unknown account, a limit that is not a number; one past Mastodon's 80 is
    # capped, as Mastodon caps it.
    assert (await a.api("alice", "GET", "/api/v1/accounts/999999/followers")).status_code == 404
    bad = await a.api("alice", "GET", f"/api/v1/accounts/{alice['id']}/followers", params={"limit": "many"})
    assert bad.status_code == 400
    too_many = await a.api("alice", "GET", f"/api/v1/accounts/{alice['id']}/followers", params={"limit": 81})
    assert too_many.status_code == 200 and len(too_many.json()) == 2
