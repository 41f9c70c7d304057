"""OAuth 2 as Mastodon clients use it, over real HTTP: app registration, the authorization-code
flow with PKCE, password and client-credentials grants, scopes on app tokens, and bad input."""

from __future__ import annotations

import base64
import hashlib
import re

import pytest

from server import scopes
from server.config import ConfigError, Settings
from tests.conftest import PASSWORD

OOB = "urn:ietf:wg:oauth:2.0:oob"
CALLBACK = "https://app.example/callback"


async def _app(a, scopes="read write", redirect_uris=f"{OOB}\n{CALLBACK}", json=True):
    body = {"client_name": "Test app", "redirect_uris": redirect_uris, "scopes": scopes,
            "website": "https://app.example"}
    response = await a.api(None, "POST", "/api/v1/apps", **({"json": body} if json else {"data": body}))
    assert response.status_code == 200, response.text
    return response.json()


async def _authorize(a, app, *, redirect_uri=OOB, scope="read", decision="allow", password=PASSWORD,
                     **extra):
    params = {"response_type": "code", "client_id": app["client_id"], "redirect_uri": redirect_uri,
              "scope": scope, **extra}
    async with a.client() as client:
        page = await client.get("/oauth/authorize", params=params)
        assert page.status_code == 200, page.text
        assert "Test app" in page.text and 'name="password"' in page.text
        return await client.post("/oauth/authorize", data={**params, "username": "alice",
                                                           "password": password, "decision": decision})


def _code(response) -> str:
    if response.status_code == 303:
        return re.search(r"code=([^&]+)", response.headers["location"]).group(1)
    return re.search(r"<code>([^<]+)</code>", response.text).group(1)


async def test_authorization_code_flow_with_pkce(make_instance):
    a = await make_instance()
    await a.signup("alice")
    app = await _app(a)
    assert app["redirect_uris"] == [OOB, CALLBACK] and app["scopes"] == ["read", "write"]
    assert app["client_secret"] and app["client_secret_expires_at"] == 0

    verifier = "v" * 64
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")
    back = await _authorize(a, app, redirect_uri=CALLBACK, scope="read write", state="xyz",
                            code_challenge=challenge, code_challenge_method="S256")
    assert back.status_code == 303 and back.headers["location"].startswith(f"{CALLBACK}?code=")
    assert "state=xyz" in back.headers["location"]
    code = _code(back)
    exchange = {"grant_type": "authorization_code", "code": code, "client_id": app["client_id"],
                "client_secret": app["client_secret"], "redirect_uri": CALLBACK}
    async with a.client() as client:
        wrong_verifier = await client.post("/oauth/token", data={**exchange, "code_verifier": "w" * 64})
        assert wrong_verifier.status_code == 400 and wrong_verifier.json()["error"] == "invalid_grant"
        # A failed exchange used the code up: a code is tried once.
        again = await client.post("/oauth/token", data={**exchange, "code_verifier": verifier})
        assert again.json()["error"] == "invalid_grant"

    code = _code(await _authorize(a, app, redirect_uri=CALLBACK, scope="read write",
                                  code_challenge=challenge))
    async with a.client() as client:
        exchange = {**exchange, "code": code, "code_verifier": verifier}
        granted = await client.post("/oauth/token", json=exchange)
        assert granted.status_code == 200, granted.text
        body = granted.json()
        assert body["scope"] == "read write" and body["token_type"] == "Bearer"
        headers = {"Authorization": f"Bearer {body['access_token']}"}
        me = await client.get("/api/v1/accounts/verify_credentials", headers=headers)
        assert me.json()["username"] == "alice"
        mine = await client.get("/api/v1/apps/verify_credentials", headers=headers)
        assert mine.json()["name"] == "Test app" and "client_secret" not in mine.json()
        replay = await client.post("/oauth/token", json=exchange)
        assert replay.json()["error"] == "invalid_grant"
        revoked = await client.post("/oauth/revoke", data={
            "token": body["access_token"], "client_id": app["client_id"],
            "client_secret": app["client_secret"]})
        assert revoked.status_code == 200 and revoked.json() == {}
        assert (await client.get("/api/v1/accounts/verify_credentials", headers=headers)).status_code == 401


async def test_revoke_takes_only_the_apps_own_tokens(make_instance):
    """As Mastodon's Doorkeeper: a token issued to an app is revoked by that app's credentials
    only; another app's, a wrong secret or none at all get 403 unauthorized_client."""
    a = await make_instance()
    await a.signup("alice")
    app, other = await _app(a), await _app(a)
    mine = {"client_id": app["client_id"], "client_secret": app["client_secret"]}
    async with a.client() as client:
        issued = await client.post("/oauth/token", data={
            "grant_type": "password", "username": "alice", "password": PASSWORD, **mine})
        token = issued.json()["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        basic = base64.b64encode(f"{other['client_id']}:{other['client_secret']}".encode()).decode()
        for data, extra in [
                ({"client_id": other["client_id"], "client_secret": other["client_secret"]}, {}),
                ({}, {"Authorization": f"Basic {basic}"}),
                ({"client_id": app["client_id"], "client_secret": "wrong"}, {}),
                ({"client_id": app["client_id"]}, {}),
                ({"client_id": "nope", "client_secret": "nope"}, {}),
                ({}, {})]:
            refused = await client.post("/oauth/revoke", data={"token": token, **data}, headers=extra)
            assert refused.status_code == 403, (data, refused.text)
            assert refused.json()["error"] == "unauthorized_client", (data, refused.text)
            still = await client.get("/api/v1/accounts/verify_credentials", headers=headers)
            assert still.status_code == 200
        # Unknown tokens and no token at all answer 200, to the right app or to none.
        for data in ({"token": "made-up", **mine}, {"token": "made-up"}, mine, {"token": ["x"], **mine}):
            assert (await client.post("/oauth/revoke", data=data)).status_code == 200, data
        mine_basic = base64.b64encode(f"{app['client_id']}:{app['client_secret']}".encode()).decode()
        revoked = await client.post("/oauth/revoke", data={"token": token},
                                    headers={"Authorization": f"Basic {mine_basic}"})
        assert revoked.status_code == 200 and revoked.json() == {}
        assert (await client.get("/api/v1/accounts/verify_credentials", headers=headers)).status_code == 401
    # A token issued to no app (this server's own app signs in so) is its bearer's to revoke.
    own = {"Authorization": f"Bearer {a.tokens['alice']}"}
    assert (await a.api(None, "POST", "/oauth/revoke", json={"token": a.tokens["alice"]})).status_code == 200
    assert (await a.api(None, "GET", "/api/v1/accounts/verify_credentials", headers=own)).status_code == 401


async def test_denied_and_wrong_password_and_oob(make_instance):
    a = await make_instance()
    await a.signup("alice")
    app = await _app(a)
    denied = await _authorize(a, app, redirect_uri=CALLBACK, decision="deny", state="s1")
    assert denied.status_code == 303 and "error=access_denied" in denied.headers["location"]
    wrong = await _authorize(a, app, password="not it")
    assert wrong.status_code == 401 and "wrong username or password" in wrong.text
    assert await a.pool.fetchval("SELECT count(*) FROM oauth_codes") == 0
    shown = await _authorize(a, app)
    assert shown.status_code == 200 and _code(shown)


async def test_app_tokens_carry_only_their_scopes(make_instance):
    a = await make_instance()
    await a.signup("alice")
    await a.set_role("alice", "admin")
    app = await _app(a, scopes="read write admin:read")
    async with a.client() as client:
        token = await client.post("/oauth/token", data={
            "grant_type": "password", "username": "alice", "password": PASSWORD, "scope": "read",
            "client_id": app["client_id"], "client_secret": app["client_secret"]})
        assert token.json()["scope"] == "read"
        headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
        assert (await client.get("/api/v1/timelines/home", headers=headers)).status_code == 200
        post = await client.post("/api/v1/statuses", headers=headers, json={"status": "hi"})
        assert post.status_code == 403 and "scope" in post.json()["error"]
        escalate = await client.post("/oauth/token", data={
            "grant_type": "password", "username": "alice", "password": PASSWORD, "scope": "read follow",
            "client_id": app["client_id"], "client_secret": app["client_secret"]})
        assert escalate.status_code == 400 and escalate.json()["error"] == "invalid_scope"
        # An app token acts as its app alone: no person behind it.
        app_only = await client.post("/oauth/token", data={
            "grant_type": "client_credentials", "client_id": app["client_id"],
            "client_secret": app["client_secret"]})
        assert app_only.json()["scope"] == "read write admin:read"
        app_headers = {"Authorization": f"Bearer {app_only.json()['access_token']}"}
        person = await client.get("/api/v1/accounts/verify_credentials", headers=app_headers)
        assert person.status_code == 401
        assert (await client.get("/api/v1/apps/verify_credentials", headers=app_headers)).status_code == 200


def test_scope_rules():
    from server import scopes

    # A staff member's app token reaches the admin API only with admin scopes.
    assert "admin:read:reports" in scopes.refusal("read write", "GET", "/api/v1/admin/reports", {})
    assert scopes.refusal("admin:read", "GET", "/api/v1/admin/reports", {}) is None
    move = "/api/v1/admin/reports/{report_id}/{move}"
    resolve = {"report_id": "1", "move": "resolve"}
    assert "admin:write:reports" in scopes.refusal("admin:read", "POST", move, resolve)
    assert scopes.refusal("read:statuses", "GET", "/api/v1/timelines/home", {}) is None
    assert scopes.covered("read:statuses", ("read",)) and not scopes.covered("read", ("read:statuses",))
    assert scopes.covered("admin:read:reports", ("admin:read",))
    assert not scopes.covered("admin:read", ("read",))
    assert scopes.parse("read  write read") == ("read", "write") and scopes.parse(None) == ("read",)


async def test_bad_oauth_input(make_instance):
    a = await make_instance()
    await a.signup("alice")
    app = await _app(a, json=False)
    cases = [
        ({"redirect_uris": OOB}, "client_name"),
        ({"client_name": "x" * 201, "redirect_uris": OOB}, "client_name"),
        ({"client_name": "x"}, "redirect_uris"),
        ({"client_name": "x", "redirect_uris": "javascript:alert(1)"}, "redirect URI"),
        ({"client_name": "x", "redirect_uris": "https://a.example/cb#frag"}, "redirect URI"),
        ({"client_name": "x", "redirect_uris": OOB, "scopes": "read everything"}, "scope"),
        ({"client_name": "x", "redirect_uris": OOB, "website": "ftp://x"}, "website"),
    ]
    for body, words in cases:
        response = await a.api(None, "POST", "/api/v1/apps", json=body)
        assert response.status_code == 422 and words in response.json()["error"], (body, response.text)
    assert await a.pool.fetchval("SELECT count(*) FROM oauth_apps") == 1

    base = {"response_type": "code", "client_id": app["client_id"], "redirect_uri": OOB, "scope": "read"}
    async with a.client() as client:
        for params, words in [({**base, "client_id": "nope"}, "client_id"),
                              ({**base, "redirect_uri": "https://evil.example/"}, "redirect_uri"),
                              ({**base, "response_type": "token"}, "response_type"),
                              ({**base, "scope": "admin:write"}, "scopes"),
                              ({**base, "code_challenge": "c", "code_challenge_method": "plain"}, "S256")]:
            page = await client.get("/oauth/authorize", params=params)
            assert page.status_code == 400 and words in page.text, (params, page.text)
            posted = await client.post("/oauth/authorize", data={**params, "username": "alice",
                                                                 "password": PASSWORD, "decision": "allow"})
            assert posted.status_code == 400 and "location" not in posted.headers
        for body, error in [({"grant_type": "magic"}, "unsupported_grant_type"),
                            ({}, "unsupported_grant_type"),
                            ({"grant_type": "client_credentials", "client_id": app["client_id"],
                              "client_secret": "wrong"}, "invalid_client"),
                            ({"grant_type": "authorization_code", "client_id": app["client_id"],
                              "client_secret": app["client_secret"], "code": "made-up",
                              "redirect_uri": OOB}, "invalid_grant"),
                            ({"grant_type": "password", "username": "alice", "password": "no"},
                             "invalid_grant")]:
            response = await client.post("/oauth/token", data=body)
            assert response.status_code in (400, 401), (body, response.text)
            assert response.json()["error"] == error, (body, response.text)
        basic = base64.b64encode(f"{app['client_id']}:{app['client_secret']}".encode()).decode()
        by_basic = await client.post("/oauth/token", data={"grant_type": "client_credentials"},
                                     headers={"Authorization": f"Basic {basic}"})
        assert by_basic.status_code == 200
    assert await a.pool.fetchval("SELECT count(*) FROM oauth_codes") == 0


async def test_source_url_is_a_setting(make_instance):
    assert Settings.from_env({}).source_url == "https://likeness.social/source"
    for bad in ("git.example/likeness", "ftp://git.example/x", "https://", "javascript:alert(1)"):
        with pytest.raises(ConfigError, match="LIKENESS_SOURCE_URL"):
            Settings.from_env({"LIKENESS_SOURCE_URL": bad})
    source = Settings.from_env({"LIKENESS_SOURCE_URL": " https://git.example/likeness "}).source_url
    assert source == "https://git.example/likeness"
    a = await make_instance(source_url=source)
    async with a.client() as client:
        assert (await client.get("/api/v2/instance")).json()["source_url"] == source
        assert (await client.get("/nodeinfo/2.1")).json()["software"]["repository"] == source


async def test_server_metadata_and_instance_entities(make_instance):
    a = await make_instance()
    async with a.client() as client:
        meta = (await client.get("/.well-known/oauth-authorization-server")).json()
        assert meta["token_endpoint"] == f"{a.base_url}/oauth/token"
        assert "S256" in meta["code_challenge_methods_supported"]
        v1 = await client.get("/api/v1/instance")
        slash = await client.get("/api/v1/instance/")
        assert v1.status_code == slash.status_code == 200 and v1.json() == slash.json()
        assert v1.json()["version"].startswith("4.3.0") and "Likeness" in v1.json()["version"]
        v2 = (await client.get("/api/v2/instance")).json()
        assert v2["api_versions"] == {"mastodon": 2} and v2["domain"] == a.domain
        assert v2["source_url"] == "https://likeness.social/source"  # the code, not this server's /about
        assert v2["configuration"]["media_attachments"]["supported_mime_types"][0] == "video/mp4"


async def test_sign_in_page_names_this_server_and_what_the_app_asks(make_instance):
    a = await make_instance(instance_name="Likeness")
    await a.signup("alice")
    hostile = '<script>alert(1)</script>"Ivory'
    asked = "read:notifications write:statuses follow"
    app = (await a.api(None, "POST", "/api/v1/apps", json={
        "client_name": hostile, "redirect_uris": OOB, "scopes": asked})).json()
    params = {"response_type": "code", "client_id": app["client_id"], "redirect_uri": OOB, "scope": asked}
    async with a.client() as client:
        page = await client.get("/oauth/authorize", params=params)
        wrong = await client.post("/oauth/authorize", data={**params, "username": "alice",
                                                           "password": "not it", "decision": "allow"})
    assert page.status_code == 200
    title = re.search(r"<title>([^<]*)</title>", page.text).group(1)
    assert title == (f"Sign in to Likeness ({a.domain}) — &lt;script&gt;alert(1)&lt;/script&gt;"
                     "&quot;Ivory wants access")
    assert "<h1>Sign in to Likeness</h1>" in page.text and f"<strong>{a.domain}</strong>" in page.text
    for scope in ("read:notifications", "write:statuses", "follow"):
        assert f"<li>{scopes.WORDS[scope]}</li>" in page.text, scope
    assert "<script>" not in page.text and 'href="/static/app/app.css"' in page.text
    policy = page.headers["content-security-policy"]
    assert "default-src 'none'" in policy and "frame-ancestors 'none'" in policy
    assert "script-src" not in policy and "set-cookie" not in page.headers
    assert page.headers["cache-control"] == "no-store"
    # A wrong password shows the same page, with the error, and still sets no cookie.
    assert wrong.status_code in (401, 403, 422) and 'role="alert"' in wrong.text
    assert "Sign in to Likeness" in wrong.text and "set-cookie" not in wrong.headers


def test_every_scope_has_words():
    assert set(scopes.WORDS) == set(scopes.KNOWN)
    assert scopes.in_words(("read", "read", "follow")) == [scopes.WORDS["read"], scopes.WORDS["follow"]]
