"""OAuth scopes as Mastodon defines them (server/scopes.py), over real HTTP: every route has a
scope or is public, each endpoint lets in a token with its scope and refuses one without it, and
a refused request changes nothing."""

from __future__ import annotations

import re
from typing import Any

from starlette.routing import Mount, Route, WebSocketRoute

from server import accounts, scopes
from server.app import create_app
from server.config import Settings
from tests.conftest import PASSWORD

OOB = "urn:ietf:wg:oauth:2.0:oob"
# Endpoints whose handler refuses every app's token whatever its scopes.
FIRST_PARTY_ONLY = {"POST /api/v1/account/delete"}


def _entries() -> list[tuple[str, str, str]]:
    """(method, path with made-up ids, scopes needed) for every endpoint and action in the table."""
    cases = []
    for key, entry in scopes.ENDPOINTS.items():
        method, template = key.split(" ", 1)
        filled = re.sub(r"\{[^}]+\}", "999999", template)
        if isinstance(entry, dict):
            base = filled.rsplit("/", 1)[0]
            cases += [(method, f"{base}/{action}", need) for action, need in entry.items()]
        else:
            cases.append((method, filled, entry))
    return cases


def test_every_route_has_a_scope_or_is_public():
    app = create_app(Settings())
    seen: set[str] = set()
    for route in app.routes:
        assert isinstance(route, Route | Mount | WebSocketRoute)
        if route.path in scopes.PUBLIC:
            seen.add(route.path)
            continue
        if isinstance(route, WebSocketRoute):  # its handshake is a GET
            assert f"GET {route.path}" in scopes.ENDPOINTS, f"{route.path} has no scope"
            seen.add(f"GET {route.path}")
            continue
        assert isinstance(route, Route) and route.methods, f"{route.path} is neither public nor in the table"
        for method in route.methods - {"HEAD"}:
            key = f"{method} {route.path}"
            assert key in scopes.ENDPOINTS, f"{key} has no scope in server/scopes.py ENDPOINTS"
            seen.add(key)
    # No entry outlives its route, and every scope named is one of Mastodon's.
    assert seen == set(scopes.ENDPOINTS) | scopes.PUBLIC
    for _, _, need in _entries():
        assert set(need.split()) <= set(scopes.KNOWN), need


def test_scope_table_rules():
    assert scopes.needed("HEAD", "/api/v1/timelines/home", {}) == ("read:statuses",)
    assert scopes.needed("GET", "/users/{username}", {}) == ()
    assert scopes.needed("POST", "/api/v1/statuses/{status_id:id}/{action}", {"action": "explode"}) is None
    assert scopes.needed("GET", "/api/v1/unheard_of", {}) is None
    assert scopes.needed("GET", "/api/v1/streaming/public", {}) == ()
    assert scopes.refusal("write:media", "GET", "/api/v1/streaming/hashtag", {}) is None
    assert scopes.refusal("read:statuses", "GET", "/api/v1/streaming/user/notification", {}) is not None
    follow = scopes.refusal("read", "POST", "/api/v1/accounts/{account_id:id}/{action}", {"action": "follow"})
    assert follow == ("this app's token lacks the write:follows scope:"
                      " this needs write:follows or write or follow")
    assert scopes.refusal("follow", "GET", "/api/v1/accounts/relationships", {}) is not None
    assert scopes.refusal("profile", "GET", "/api/v1/accounts/verify_credentials", {}) is None
    assert scopes.refusal("push", "GET", "/api/v1/accounts/verify_credentials", {}) is not None
    assert scopes.allows_staff("admin:read:reports", "GET") and not scopes.allows_staff("admin:read", "POST")


async def test_only_mastodon_scopes_are_granted(make_instance):
    a = await make_instance()
    for asked in ("read:everything", "admin:read:secrets", "write:", "follow:all"):
        response = await a.api(None, "POST", "/api/v1/apps",
                                json={"client_name": "x", "redirect_uris": OOB, "scopes": asked})
        assert response.status_code == 422 and "unknown scope" in response.json()["error"], asked
    assert await a.pool.fetchval("SELECT count(*) FROM oauth_apps") == 0
    meta = (await a.api(None, "GET", "/.well-known/oauth-authorization-server")).json()
    assert meta["scopes_supported"] == list(scopes.KNOWN) and "write:media" in meta["scopes_supported"]


async def _setup(a: Any) -> tuple[dict[str, Any], int]:
    """alice (an admin) and an app registered with every scope; returns the app and alice's id."""
    await a.signup("alice")
    await a.set_role("alice", "admin")
    body = {"client_name": "Scoped app", "redirect_uris": OOB, "scopes": " ".join(scopes.KNOWN)}
    app = await a.api(None, "POST", "/api/v1/apps", json=body)
    assert app.status_code == 200, app.text
    user_id = await a.pool.fetchval("SELECT id FROM users WHERE username = 'alice'")
    return app.json(), user_id


async def _grant(a: Any, app: dict[str, Any], scope: str, username: str = "alice") -> dict[str, str]:
    """A token for `scope` through the password grant, as an app gets one."""
    response = await a.api(None, "POST", "/oauth/token", data={
        "grant_type": "password", "username": username, "password": PASSWORD, "scope": scope,
        "client_id": app["client_id"], "client_secret": app["client_secret"]})
    assert response.status_code == 200 and response.json()["scope"] == scope, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


async def test_each_endpoint_needs_its_scope(make_instance):
    """Endpoint by endpoint: a token with only the scope named gets past the scope check; a token
    with every other scope of Mastodon's gets 403 naming the one it lacks."""
    a = await make_instance()
    _, user_id = await _setup(a)
    app_id = await a.pool.fetchval("SELECT id FROM oauth_apps")
    tokens: dict[str, str] = {}

    async def call(method: str, path: str, granted: str) -> Any:
        if granted not in tokens:
            tokens[granted] = await accounts.issue_token(a.pool, user_id, granted, app_id)
        return await a.api(None, method, path, headers={"Authorization": f"Bearer {tokens[granted]}"},
                           **({} if method in ("GET", "DELETE") else {"json": {}}))

    for method, path, need in _entries():
        if path.startswith("/api/v1/streaming"):
            # Refused with Mastodon's streaming 401, and let in to a stream that never ends:
            # tests/test_streaming.py checks these.
            continue
        options = need.split()
        lacking = " ".join(s for s in scopes.KNOWN if not any(scopes.covered(o, (s,)) for o in options))
        refused = await call(method, path, lacking)
        assert refused.status_code == 403, (method, path, refused.text)
        assert f"lacks the {options[0]} scope" in refused.json()["error"], (method, path, refused.text)
        for option in options:
            allowed = await call(method, path, option)
            assert allowed.status_code != 403 or f"{method} {path}" in FIRST_PARTY_ONLY, \
                (method, path, option, allowed.text)
    assert await a.pool.fetchval("SELECT count(*) FROM posts") == 0


async def test_issue_examples(make_instance):
    """A read:notifications token cannot read a DM through /api/v1/statuses/:id; `read follow`
    and `write:favourites` tokens cannot post; each refusal changes nothing."""
    a = await make_instance()
    app, _ = await _setup(a)
    await a.signup("bob")
    dm = (await a.api("bob", "POST", "/api/v1/statuses",
                      json={"status": "@alice the secret plan", "visibility": "direct"})).json()
    public = (await a.api("bob", "POST", "/api/v1/statuses", json={"status": "hello world"})).json()
    path = f"/api/v1/statuses/{dm['id']}"

    notifications = await _grant(a, app, "read:notifications")
    read = await a.api(None, "GET", path, headers=notifications)
    assert read.status_code == 403 and "read:statuses" in read.json()["error"]
    assert "secret" not in read.text
    assert (await a.api(None, "GET", f"{path}/context", headers=notifications)).status_code == 403
    assert (await a.api(None, "GET", "/api/v1/notifications", headers=notifications)).status_code == 200
    statuses = await _grant(a, app, "read:statuses")
    shown = await a.api(None, "GET", path, headers=statuses)
    assert shown.status_code == 200 and "secret plan" in shown.json()["content"]

    posts = await a.pool.fetchval("SELECT count(*) FROM posts")
    for scope in ("read follow", "write:favourites", "write:media", "push"):
        refused = await a.api(None, "POST", "/api/v1/statuses", json={"status": "not allowed"},
                              headers=await _grant(a, app, scope))
        assert refused.status_code == 403, (scope, refused.text)
        assert "write:statuses" in refused.json()["error"]
    assert await a.pool.fetchval("SELECT count(*) FROM posts") == posts

    favourites = await _grant(a, app, "write:favourites")
    liked = await a.api(None, "POST", f"/api/v1/statuses/{public['id']}/favourite", headers=favourites)
    assert liked.status_code == 200 and liked.json()["favourited"] is True
    boost = await a.api(None, "POST", f"/api/v1/statuses/{public['id']}/reblog", headers=favourites)
    assert boost.status_code == 403 and "write:statuses" in boost.json()["error"]
    assert await a.pool.fetchval("SELECT count(*) FROM posts WHERE reblog_of_id IS NOT NULL") == 0
    # An action the table does not know is refused to apps too, before its handler.
    unknown = await a.api(None, "POST", f"/api/v1/statuses/{public['id']}/explode", headers=favourites)
    assert unknown.status_code == 403

    for scope in ("write:statuses", "write"):
        posted = await a.api(None, "POST", "/api/v1/statuses", json={"status": f"by {scope}"},
                             headers=await _grant(a, app, scope))
        assert posted.status_code == 200, posted.text
    # Sign-up's token keeps the account's full rights.
    assert (await a.api("alice", "POST", "/api/v1/statuses", json={"status": "mine"})).status_code == 200
    assert await a.pool.fetchval("SELECT count(*) FROM posts") == posts + 3


async def test_profile_reads_only_who_signed_in(make_instance):
    a = await make_instance()
    app, _ = await _setup(a)
    profile = await _grant(a, app, "profile")
    me = await a.api(None, "GET", "/api/v1/accounts/verify_credentials", headers=profile)
    assert me.status_code == 200 and me.json()["username"] == "alice"
    for method, path in (("GET", f"/api/v1/accounts/{me.json()['id']}"), ("GET", "/api/v1/timelines/home"),
                         ("GET", "/api/v1/notifications"), ("GET", "/api/v1/accounts/relationships")):
        assert (await a.api(None, method, path, headers=profile)).status_code == 403, path
    renamed = await a.api(None, "PATCH", "/api/v1/accounts/update_credentials",
                          json={"display_name": "Mallory"}, headers=profile)
    assert renamed.status_code == 403 and "write:accounts" in renamed.json()["error"]
    after = (await a.api("alice", "GET", "/api/v1/accounts/verify_credentials")).json()
    assert after["display_name"] != "Mallory"


async def test_follow_covers_only_following(make_instance):
    """Mastodon's legacy `follow`: following, blocking and follow requests, nothing else."""
    a = await make_instance()
    app, _ = await _setup(a)
    await a.signup("bob")
    bob = (await a.api("bob", "GET", "/api/v1/accounts/verify_credentials")).json()
    follow = await _grant(a, app, "follow")
    followed = await a.api(None, "POST", f"/api/v1/accounts/{bob['id']}/follow", headers=follow)
    assert followed.status_code == 200, followed.text
    assert await a.pool.fetchval("SELECT count(*) FROM follows") == 1
    assert (await a.api(None, "GET", "/api/v1/follow_requests", headers=follow)).status_code == 200
    for action in ("block", "unblock", "unfollow"):
        done = await a.api(None, "POST", f"/api/v1/accounts/{bob['id']}/{action}", headers=follow)
        assert done.status_code == 200, (action, done.text)
    assert await a.pool.fetchval("SELECT count(*) FROM follows") == 0
    # Not relationships: Mastodon asks read:follows there, and `follow` does not give it.
    for method, path, body in (("POST", "/api/v1/statuses", {"status": "no"}),
                               ("GET", "/api/v1/accounts/relationships", None),
                               ("GET", "/api/v1/timelines/home", None),
                               ("PATCH", "/api/v1/accounts/update_credentials", {"note": "no"})):
        refused = await a.api(None, method, path, headers=follow, json=body)
        assert refused.status_code == 403, (path, refused.text)
    assert await a.pool.fetchval("SELECT count(*) FROM posts") == 0


async def test_admin_scopes(make_instance):
    """A staff member's app token acts as staff only with the admin scope of the endpoint: reading
    reports does not resolve them, and without an admin scope a hidden post stays hidden."""
    a = await make_instance()
    app, _ = await _setup(a)
    await a.signup("bob")
    await a.signup("carol")
    bob = (await a.api("bob", "GET", "/api/v1/accounts/verify_credentials")).json()
    post = (await a.api("bob", "POST", "/api/v1/statuses", json={"status": "reported"})).json()
    report = (await a.api("carol", "POST", "/api/v1/reports", json={"account_id": bob["id"]})).json()
    resolve = f"/api/v1/admin/reports/{report['id']}/resolve"

    reader = await _grant(a, app, "admin:read:reports")
    assert (await a.api(None, "GET", "/api/v1/admin/reports", headers=reader)).status_code == 200
    refused = await a.api(None, "POST", resolve, headers=reader)
    assert refused.status_code == 403 and "admin:write:reports" in refused.json()["error"]
    assert (await a.api(None, "GET", "/api/v1/admin/accounts", headers=reader)).status_code == 403
    assert await a.pool.fetchval("SELECT resolved_at FROM reports") is None
    resolved = await a.api(None, "POST", resolve, headers=await _grant(a, app, "admin:write:reports"))
    assert resolved.status_code == 200 and await a.pool.fetchval("SELECT resolved_at FROM reports")

    hide = f"/api/v1/admin/statuses/{post['id']}/action"
    hidden = await a.api("alice", "POST", hide, json={"type": "hide"})
    assert hidden.status_code == 200, hidden.text
    path = f"/api/v1/statuses/{post['id']}"
    for scope, status in (("read write", 404), ("read admin:read", 200)):
        shown = await a.api(None, "GET", path, headers=await _grant(a, app, scope))
        assert shown.status_code == status, (scope, shown.text)
