"""Web Push over real HTTP: a push service of our own (a server on a free port, as a browser's
vendor runs one) receives what the worker sends, decrypts it with the subscription's private key
as the browser would, and checks the VAPID signature against the instance's `server_key`."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import socket
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import http_ece
import pytest
import uvicorn
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from mastodon import Mastodon
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tests.conftest import PASSWORD, eventually

OOB = "urn:ietf:wg:oauth:2.0:oob"
ENDPOINT = "/push/device-1"


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass
class Browser:
    """What a browser makes when it subscribes: a P-256 key pair and a 16-byte auth secret."""

    key: ec.EllipticCurvePrivateKey = field(default_factory=lambda: ec.generate_private_key(ec.SECP256R1()))
    auth: bytes = field(default_factory=lambda: os.urandom(16))

    @property
    def p256dh(self) -> str:
        return b64url(self.key.public_key().public_bytes(serialization.Encoding.X962,
                                                         serialization.PublicFormat.UncompressedPoint))

    def decrypt(self, body: bytes) -> dict[str, Any]:
        return json.loads(http_ece.decrypt(body, private_key=self.key, auth_secret=self.auth,
                                           version="aes128gcm"))


@dataclass
class PushService:
    """A push service on loopback: keeps every push it is sent, and answers `status`."""

    url: str
    received: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    status: int = 201


    async def wait_for(self, count: int) -> None:
        async def arrived() -> bool:
            return len(self.received) >= count

        await eventually(arrived)


@pytest.fixture
async def push_service() -> AsyncIterator[PushService]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    service = PushService(url=f"http://127.0.0.1:{sock.getsockname()[1]}{ENDPOINT}")

    async def receive(request: Request) -> Response:
        service.received.append((dict(request.headers), await request.body()))
        return Response(status_code=service.status)

    server = uvicorn.Server(uvicorn.Config(Starlette(routes=[Route(ENDPOINT, receive, methods=["POST"])]),
                                           log_level="warning", lifespan="off"))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        yield service
    finally:
        server.should_exit = True
        await task


def check_vapid(headers: dict[str, str], server_key: str, endpoint: str) -> None:
    """RFC 8292: `vapid t=<JWT>, k=<key>`, the key the instance publishes, its JWT signed by it
    for the push service's origin and not yet expired."""
    scheme, _, params = headers["authorization"].partition(" ")
    assert scheme == "vapid"
    fields = dict(part.strip().split("=", 1) for part in params.split(","))
    assert fields["k"] == server_key
    header, claims, signature = fields["t"].split(".")
    raw = unb64url(signature)
    public = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), unb64url(server_key))
    public.verify(encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big")),
                  f"{header}.{claims}".encode(), ec.ECDSA(hashes.SHA256()))
    assert json.loads(unb64url(header))["alg"] == "ES256"
    body = json.loads(unb64url(claims))
    parts = urlsplit(endpoint)
    assert body["aud"] == f"{parts.scheme}://{parts.netloc}" and body["exp"] > time.time()


async def _account_id(a: Any, username: str) -> str:
    return (await a.api(username, "GET", "/api/v1/accounts/lookup", params={"acct": username})).json()["id"]


async def _all_taken(a: Any) -> bool:
    return await a.pool.fetchval("SELECT NOT EXISTS (SELECT FROM notifications WHERE NOT push_queued)")


async def test_pushes_what_the_subscription_asks_for(make_instance, push_service):
    a = await make_instance()
    await a.signup("alice")
    await a.signup("bob")
    browser = Browser()
    subscribed = await a.api("alice", "POST", "/api/v1/push/subscription", json={
        "subscription": {"endpoint": push_service.url, "standard": True,
                         "keys": {"p256dh": browser.p256dh, "auth": b64url(browser.auth)}},
        "data": {"alerts": {"mention": True, "follow": False}, "policy": "all"}})
    assert subscribed.status_code == 200, subscribed.text
    entity = subscribed.json()
    server_key = (await a.api(None, "GET", "/api/v2/instance")).json()["configuration"]["vapid"]["public_key"]
    assert len(unb64url(server_key)) == 65 and entity["server_key"] == server_key
    assert entity["endpoint"] == push_service.url and entity["policy"] == "all" and entity["standard"]
    alerts = entity["alerts"]
    assert alerts["mention"] and not alerts["follow"] and not alerts["favourite"]
    assert set(alerts) == {"mention", "status", "reblog", "follow", "follow_request", "favourite",
                                     "poll", "update", "admin.sign_up", "admin.report"}
    assert (await a.api("alice", "GET", "/api/v1/push/subscription")).json() == entity

    posted = await a.api("bob", "POST", "/api/v1/statuses", json={"status": "@alice look at this"})
    assert posted.status_code == 200, posted.text
    await push_service.wait_for(1)
    headers, body = push_service.received[0]
    assert headers["content-encoding"] == "aes128gcm" and int(headers["ttl"]) > 0
    check_vapid(headers, server_key, push_service.url)
    pushed = browser.decrypt(body)
    notification = (await a.api("alice", "GET", "/api/v1/notifications")).json()[0]
    assert pushed["notification_type"] == "mention" and str(pushed["notification_id"]) == notification["id"]
    assert pushed["access_token"] == a.tokens["alice"] and pushed["preferred_locale"] == "en"
    assert pushed["title"] == "You were mentioned by bob" and "look at this" in pushed["body"]
    assert pushed["icon"].startswith("http")

    # A follow is not asked for: the pusher takes it up and sends nothing.
    alice_id = await _account_id(a, "alice")
    assert (await a.api("bob", "POST", f"/api/v1/accounts/{alice_id}/follow")).status_code == 200
    await a.api("bob", "POST", "/api/v1/statuses", json={"status": "@alice again"})
    await push_service.wait_for(2)
    await eventually(lambda: _all_taken(a))
    await asyncio.sleep(1)
    pushed_types = [browser.decrypt(body)["notification_type"] for _, body in push_service.received]
    assert pushed_types == ["mention"] * 2

    # Only the alerts sent stay on (Mastodon replaces `data`), and `followed` lets through only
    # the people alice follows: bob is not one.
    changed = await a.api("alice", "PUT", "/api/v1/push/subscription",
                          data={"data[alerts][favourite]": "true", "data[policy]": "followed"})
    assert changed.status_code == 200, changed.text
    assert changed.json()["alerts"]["favourite"] and not changed.json()["alerts"]["mention"]
    assert changed.json()["policy"] == "followed" and changed.json()["id"] == entity["id"]
    mine = (await a.api("alice", "POST", "/api/v1/statuses", json={"status": "like me"})).json()
    await a.api("bob", "POST", f"/api/v1/statuses/{mine['id']}/favourite")
    await eventually(lambda: _all_taken(a))
    await asyncio.sleep(1)
    assert len(push_service.received) == 2

    # A push service that fails is tried again later, with the same push.
    await a.api("alice", "PUT", "/api/v1/push/subscription", json={"data": {"alerts": {"mention": True}}})
    push_service.status = 503
    await a.api("bob", "POST", "/api/v1/statuses", json={"status": "@alice busy?"})
    await push_service.wait_for(3)
    push_service.status = 201
    await push_service.wait_for(4)
    retried = [browser.decrypt(body)["notification_id"] for _, body in push_service.received[2:]]
    assert retried[0] == retried[1]

    # The push service has forgotten the device: the subscription goes.
    push_service.status = 410
    await a.api("bob", "POST", "/api/v1/statuses", json={"status": "@alice are you there"})

    async def unsubscribed() -> bool:
        return await a.pool.fetchval("SELECT count(*) FROM web_push_subscriptions") == 0

    await eventually(unsubscribed)
    assert len(push_service.received) == 5
    assert (await a.api("alice", "GET", "/api/v1/push/subscription")).status_code == 404


async def test_subscription_belongs_to_its_token_and_needs_push_scope(make_instance, push_service):
    a = await make_instance()
    await a.signup("alice")
    app = (await a.api(None, "POST", "/api/v1/apps", json={
        "client_name": "Phone", "redirect_uris": OOB, "scopes": "read write push"})).json()

    async def token(scope: str) -> dict[str, str]:
        response = await a.api(None, "POST", "/oauth/token", data={
            "grant_type": "password", "username": "alice", "password": PASSWORD, "scope": scope,
            "client_id": app["client_id"], "client_secret": app["client_secret"]})
        assert response.status_code == 200, response.text
        return {"Authorization": f"Bearer {response.json()['access_token']}"}

    browser = Browser()
    body = {"subscription": {"endpoint": push_service.url,
                             "keys": {"p256dh": browser.p256dh, "auth": b64url(browser.auth)}}}
    without_push = await token("read write")
    for method in ("POST", "GET", "PUT", "DELETE"):
        refused = await a.api(None, method, "/api/v1/push/subscription", headers=without_push, json=body)
        assert refused.status_code == 403 and "push" in refused.json()["error"], method
    assert (await a.api(None, "GET", "/api/v1/push/subscription")).status_code == 401

    phone, tablet = await token("push"), await token("read push")
    first = await a.api(None, "POST", "/api/v1/push/subscription", headers=phone, json=body)
    assert first.status_code == 200 and first.json()["standard"] is False
    assert not any(first.json()["alerts"].values()) and first.json()["policy"] == "all"
    # One per token: the tablet's token has none, and subscribing again replaces the phone's.
    assert (await a.api(None, "GET", "/api/v1/push/subscription", headers=tablet)).status_code == 404
    assert (await a.api(None, "PUT", "/api/v1/push/subscription", headers=tablet,
                        json={"data": {"alerts": {"mention": True}}})).status_code == 404
    again = await a.api(None, "POST", "/api/v1/push/subscription", headers=phone,
                        json={**body, "data": {"alerts": {"mention": True}}})
    assert again.json()["alerts"]["mention"]
    assert await a.pool.fetchval("SELECT count(*) FROM web_push_subscriptions") == 1
    assert (await a.api(None, "DELETE", "/api/v1/push/subscription", headers=phone)).json() == {}
    assert (await a.api(None, "GET", "/api/v1/push/subscription", headers=phone)).status_code == 404

    # Revoking the token takes its subscription with it.
    await a.api(None, "POST", "/api/v1/push/subscription", headers=phone, json=body)
    revoked = await a.api(None, "POST", "/oauth/revoke", data={
        "token": phone["Authorization"].split()[1], "client_id": app["client_id"],
        "client_secret": app["client_secret"]})
    assert revoked.status_code == 200, revoked.text
    assert await a.pool.fetchval("SELECT count(*) FROM web_push_subscriptions") == 0
    assert app["vapid_key"] == (await a.api(None, "GET", "/api/v2/instance")).json()[
        "configuration"]["vapid"]["public_key"]


async def test_bad_subscriptions_are_refused(make_instance, push_service):
    a = await make_instance()
    await a.signup("alice")
    browser = Browser()
    keys = {"p256dh": browser.p256dh, "auth": b64url(browser.auth)}
    good = {"endpoint": push_service.url, "keys": keys}
    not_on_curve = b64url(b"\x04" + b"\x01" * 64)
    for body in ({}, {"subscription": {"endpoint": push_service.url}},
                 {"subscription": {"keys": keys}},
                 {"subscription": {**good, "keys": {"p256dh": browser.p256dh}}},
                 {"subscription": {**good, "keys": {"auth": b64url(browser.auth)}}},
                 {"subscription": {**good, "keys": {**keys, "p256dh": "not base64!"}}},
                 {"subscription": {**good, "keys": {**keys, "auth": "%%%"}}},
                 {"subscription": {**good, "keys": {**keys, "auth": b64url(b"short")}}},
                 {"subscription": {**good, "keys": {**keys, "p256dh": not_on_curve}}},
                 {"subscription": {**good, "keys": {**keys, "p256dh": 12}}},
                 {"subscription": {**good, "endpoint": "ftp://127.0.0.1/push"}},
                 {"subscription": {**good, "endpoint": "not a url"}},
                 {"subscription": {**good, "endpoint": "https://" + "x" * 3000 + ".example"}},
                 {"subscription": {**good, "standard": "maybe"}},
                 {"subscription": good, "data": {"policy": "everyone"}},
                 {"subscription": good, "data": {"alerts": {"mention": "sometimes"}}},
                 {"subscription": good, "data": {"alerts": ["mention"]}},
                 {"subscription": good, "data": "all"},
                 {"subscription": "https://example.com"}):
        response = await a.api("alice", "POST", "/api/v1/push/subscription", json=body)
        assert response.status_code == 422, (body, response.text)
        assert response.json()["error"], body
    form = await a.api("alice", "POST", "/api/v1/push/subscription", data={
        "subscription[endpoint]": push_service.url, "subscription[keys][p256dh]": browser.p256dh,
        "subscription[keys][auth]": b64url(browser.auth), "data[policy]": "nobody"})
    assert form.status_code == 422 and "policy" in form.json()["error"]
    assert await a.pool.fetchval("SELECT count(*) FROM web_push_subscriptions") == 0

    # A bad change keeps the subscription as it was.
    assert (await a.api("alice", "POST", "/api/v1/push/subscription",
                        json={"subscription": good, "data": {"alerts": {"follow": True}}})).status_code == 200
    bad = await a.api("alice", "PUT", "/api/v1/push/subscription", json={"data": {"policy": "x"}})
    assert bad.status_code == 422
    assert (await a.api("alice", "GET", "/api/v1/push/subscription")).json()["alerts"]["follow"]

    # Outside tests and private federations, push services are reached over https only.
    b = await make_instance("b", allow_private_fetch=False)
    await b.signup("alice")
    refused = await b.api("alice", "POST", "/api/v1/push/subscription", json={"subscription": good})
    assert refused.status_code == 422 and "https" in refused.json()["error"]
    https = await b.api("alice", "POST", "/api/v1/push/subscription",
                        json={"subscription": {**good, "endpoint": "https://push.example/device"}})
    assert https.status_code == 200, https.text


async def test_mastodon_py_subscribes_and_decrypts(make_instance, push_service):
    """Mastodon.py's push helpers: its keys, its subscription calls, and its decryption of the
    draft aesgcm pushes Mastodon sends to subscriptions that are not `standard`."""
    a = await make_instance()
    await a.signup("bob")
    await a.signup("alice")
    client_id, client_secret = await asyncio.to_thread(
        Mastodon.create_app, "Push client", scopes=["read", "push"], redirect_uris=OOB,
        api_base_url=a.base_url)
    api = Mastodon(api_base_url=a.base_url, version_check_mode="none", request_timeout=30,
                   client_id=client_id, client_secret=client_secret)
    token = await asyncio.to_thread(api.log_in, "alice", PASSWORD, scopes=["read", "push"], allow_http=True)
    private, public = await asyncio.to_thread(api.push_subscription_generate_keys)
    subscription = await asyncio.to_thread(api.push_subscription_set, push_service.url, public,
                                           mention_events=True, follow_events=False, policy="all")
    assert subscription["endpoint"] == push_service.url and subscription["alerts"]["mention"]
    assert not subscription["alerts"]["follow"]
    assert (await asyncio.to_thread(api.push_subscription))["id"] == subscription["id"]

    await a.api("bob", "POST", "/api/v1/statuses", json={"status": "@alice hello from bob"})
    await push_service.wait_for(1)
    headers, body = push_service.received[0]
    assert headers["content-encoding"] == "aesgcm" and headers["authorization"].startswith("WebPush ")
    pushed = await asyncio.to_thread(api.push_subscription_decrypt_push, body, private,
                                     headers["encryption"], headers["crypto-key"])
    assert pushed["notification_type"] == "mention" and pushed["access_token"] == token
    assert "hello from bob" in pushed["body"]

    updated = await asyncio.to_thread(api.push_subscription_update, favourite_events=True, policy=None)
    assert updated["alerts"]["favourite"] and not updated["alerts"]["mention"]
    await asyncio.to_thread(api.push_subscription_delete)
    assert await a.pool.fetchval("SELECT count(*) FROM web_push_subscriptions") == 0
