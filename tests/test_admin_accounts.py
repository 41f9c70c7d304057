"""The staff's account list (`GET /api/v1/admin/accounts`, v1 and v2 filters, paging) and setting
a role over HTTP."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from tests.conftest import PASSWORD


async def _remote(a: Any, username: str, domain: str) -> str:
    actor_id = await a.pool.fetchval(
        "INSERT INTO actors (uri, local, username, domain) VALUES ($1, false, $2, $3) RETURNING id",
        f"https://{domain}/users/{username}", username, domain)
    return str(actor_id)


async def _names(a: Any, user: str, query: str, version: int = 1) -> list[str]:
    response = await a.api(user, "GET", f"/api/v{version}/admin/accounts?{query}")
    assert response.status_code == 200, response.text
    return [f"{x['username']}@{x['domain']}" if x["domain"] else x["username"] for x in response.json()]


async def _role_changes(a: Any, account_id: str) -> list[tuple[str | None, str, str]]:
    """The role changes in the audit log of one account, as its admin view shows them."""
    response = await a.api("boss", "GET", f"/api/v1/admin/accounts/{account_id}")
    assert response.status_code == 200, response.text
    return [(x["moderator"], x["old_role"], x["new_role"]) for x in response.json()["actions"]
            if x["action"] == "change_role"]


async def test_list_filter_and_page_accounts(make_instance):
    a = await make_instance()
    for user in ("alice", "al_x", "bob", "mod", "boss"):
        await a.signup(user)
    await a.set_role("mod", "moderator")
    await a.set_role("boss", "admin")
    carol = await _remote(a, "carol", "remote.example")
    await _remote(a, "dan", "other.example")

    for user, status in ((None, 401), ("alice", 403)):
        assert (await a.api(user, "GET", "/api/v1/admin/accounts")).status_code == status
        assert (await a.api(user, "GET", "/api/v2/admin/accounts")).status_code == status

    # Everyone but this server's own actor, newest first, as Mastodon's Admin::Account.
    response = await a.api("mod", "GET", "/api/v1/admin/accounts")
    accounts = response.json()
    assert [x["username"] for x in accounts] == ["dan", "carol", "boss", "mod", "bob", "al_x", "alice"]
    boss, remote = accounts[2], accounts[1]
    assert (boss["domain"], boss["email"], boss["role"], boss["suspended"], boss["disabled"]) == (
        None, "boss@example.com", {"name": "admin"}, False, False)
    assert boss["account"]["acct"] == "boss" and boss["id"] == boss["account"]["id"]
    assert (remote["domain"], remote["email"], remote["role"]) == ("remote.example", None, None)
    assert remote["account"]["acct"] == "carol@remote.example"

    assert await _names(a, "mod", "local=true") == ["boss", "mod", "bob", "al_x", "alice"]
    assert await _names(a, "mod", "remote=true") == ["dan@other.example", "carol@remote.example"]
    assert len(await _names(a, "mod", "local=true&remote=true")) == 7
    assert await _names(a, "mod", "staff=true") == ["boss", "mod"]
    assert await _names(a, "mod", "by_domain=REMOTE.example") == ["carol@remote.example"]
    # The user name is a prefix, in any case; LIKE's wildcards are plain characters.
    assert await _names(a, "mod", "username=AL") == ["al_x", "alice"]
    assert await _names(a, "mod", "username=al_") == ["al_x"]
    assert await _names(a, "mod", "username=%25") == []

    # States follow the moderators' actions.
    assert (await a.api("mod", "POST", f"/api/v1/admin/accounts/{carol}/action",
                        json={"type": "suspend"})).status_code == 200
    bob = (await a.api("bob", "GET", "/api/v1/accounts/verify_credentials")).json()["id"]
    assert (await a.api("mod", "POST", f"/api/v1/admin/accounts/{bob}/action",
                        json={"type": "silence"})).status_code == 200
    alice = (await a.api("alice", "GET", "/api/v1/accounts/verify_credentials")).json()["id"]
    assert (await a.api("mod", "POST", f"/api/v1/admin/accounts/{alice}/action",
                        json={"type": "disable"})).status_code == 200
    assert await _names(a, "mod", "suspended=true") == ["carol@remote.example"]
    assert await _names(a, "mod", "silenced=true") == ["bob"]
    assert await _names(a, "mod", "disabled=true") == ["alice"]
    assert "carol@remote.example" not in await _names(a, "mod", "active=true")
    assert await _names(a, "mod", "remote=true&active=true") == ["dan@other.example"]

    # v2's origin, status and permissions.
    assert await _names(a, "mod", "origin=remote&status=suspended", 2) == ["carol@remote.example"]
    assert await _names(a, "mod", "origin=local&permissions=staff", 2) == ["boss", "mod"]
    assert (await a.api("mod", "GET", "/api/v2/admin/accounts?origin=mars")).status_code == 400

    # Mastodon's paging: limit, max_id and the Link header.
    first = await a.api("mod", "GET", "/api/v1/admin/accounts?limit=3")
    assert [x["username"] for x in first.json()] == ["dan", "carol", "boss"]
    next_url = first.headers["link"].split(">")[0].lstrip("<")
    assert f"max_id={first.json()[-1]['id']}" in next_url
    second = await a.api("mod", "GET", next_url.replace(a.base_url, ""))
    assert [x["username"] for x in second.json()] == ["mod", "bob", "al_x"]
    newer = await a.api("mod", "GET", f"/api/v1/admin/accounts?min_id={second.json()[0]['id']}&limit=2")
    assert [x["username"] for x in newer.json()] == ["carol", "boss"]
    assert (await a.api("mod", "GET", "/api/v1/admin/accounts?limit=0")).status_code == 400


async def test_set_role(make_instance):
    a = await make_instance()
    for user in ("alice", "bob", "mod", "boss"):
        await a.signup(user)
    await a.set_role("mod", "moderator")
    await a.set_role("boss", "admin")
    ids = {u: (await a.api(u, "GET", "/api/v1/accounts/verify_credentials")).json()["id"]
           for u in ("alice", "bob", "mod", "boss")}
    remote = await _remote(a, "carol", "remote.example")

    path = f"/api/v1/admin/accounts/{ids['bob']}/role"
    for user, status in ((None, 401), ("alice", 403), ("mod", 403)):
        assert (await a.api(user, "POST", path, json={"role": "moderator"})).status_code == status
    # Refused: no change, and nothing in the audit log.
    assert await _role_changes(a, ids["bob"]) == []
    response = await a.api("boss", "POST", path, json={"role": "moderator"})
    assert response.status_code == 200, response.text
    assert response.json()["role"] == {"name": "moderator"} and response.json()["username"] == "bob"
    # The change is in the audit log of bob's account: who, whom, both roles, when.
    [entry] = response.json()["actions"]
    assert {k: entry[k] for k in ("action", "target_type", "account_id", "moderator", "old_role",
                                  "new_role")} == {
        "action": "change_role", "target_type": "account", "account_id": ids["bob"], "moderator": "boss",
        "old_role": "user", "new_role": "moderator"}
    assert abs(datetime.now(UTC) - datetime.fromisoformat(entry["created_at"])) < timedelta(minutes=5)
    assert await _role_changes(a, ids["bob"]) == [("boss", "user", "moderator")]
    # At once: Bob's token is a moderator's now, and his account says so.
    assert (await a.api("bob", "GET", "/api/v1/admin/reports")).status_code == 200
    me = (await a.api("bob", "GET", "/api/v1/accounts/verify_credentials")).json()
    assert me["role"] == {"name": "moderator"}
    # A form body works too (Mastodon's clients send either), and back to user.
    response = await a.api("boss", "POST", path, data={"role": "user"})
    assert response.json()["role"] == {"name": "user"}
    assert (await a.api("bob", "GET", "/api/v1/admin/reports")).status_code == 403
    # The role bob has already: no change, no entry.
    assert (await a.api("boss", "POST", path, json={"role": "user"})).status_code == 200
    assert await _role_changes(a, ids["bob"]) == [("boss", "moderator", "user"),
                                                  ("boss", "user", "moderator")]

    for target, body, status, message in (
            (ids["bob"], {"role": "owner"}, 422, "role must be one of"),
            (ids["bob"], {}, 422, "role must be one of"),
            (ids["boss"], {"role": "user"}, 422, "your own role"),
            (remote, {"role": "admin"}, 422, "only an account of this server"),
            ("999999", {"role": "admin"}, 404, "no such account"),
            ("nope", {"role": "admin"}, 404, "no such account")):
        response = await a.api("boss", "POST", f"/api/v1/admin/accounts/{target}/role", json=body)
        assert response.status_code == status and message in response.json()["error"], response.text
    assert await a.pool.fetchval("SELECT count(*) FROM moderation_actions") == 2
    assert await _role_changes(a, ids["boss"]) == []
    instance_actor = await a.pool.fetchval("SELECT id FROM actors WHERE local AND type = 'Application'")
    response = await a.api("boss", "POST", f"/api/v1/admin/accounts/{instance_actor}/role",
                           json={"role": "admin"})
    assert response.status_code == 404
    # The account actions still answer beside /role.
    undo = await a.api("boss", "POST", f"/api/v1/admin/accounts/{ids['alice']}/unsilence")
    assert undo.status_code == 200
    # An admin made here signs in and is one.
    await a.api("boss", "POST", f"/api/v1/admin/accounts/{ids['alice']}/role", json={"role": "admin"})
    async with a.client() as client:
        token = await client.post("/oauth/token", data={"grant_type": "password", "username": "alice",
                                                        "password": PASSWORD})
    assert token.status_code == 200, token.text
    headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
    assert (await a.api(None, "GET", "/api/v1/admin/domain_blocks", headers=headers)).status_code == 200
