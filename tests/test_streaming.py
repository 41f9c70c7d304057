"""Mastodon's streaming API over real HTTP: the WebSocket (with the `websockets` client) and the
server-sent events endpoints (httpx), fed through Redis from where posts, notifications and
deletes are written, each event rendered for its viewer."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import websockets
from websockets.asyncio.client import ClientConnection

from federation import store as fstore
from federation import streams
from server import accounts
from server.api import streaming
from tests.conftest import RunningInstance, eventually

WAIT = 15.0


def _ws_url(instance: RunningInstance, query: str = "") -> str:
    return f"{instance.base_url.replace('http://', 'ws://', 1)}/api/v1/streaming{query}"


@contextlib.asynccontextmanager
async def _socket(instance: RunningInstance, token: str, query: str = "",
                  **kwargs: Any) -> AsyncIterator[ClientConnection]:
    headers = {"Authorization": f"Bearer {token}"}
    async with websockets.connect(_ws_url(instance, query), additional_headers=headers, **kwargs) as ws:
        yield ws


async def _message(ws: ClientConnection) -> dict[str, Any]:
    return json.loads(await asyncio.wait_for(ws.recv(), WAIT))


async def _event(ws: ClientConnection, event: str) -> dict[str, Any]:
    """The next message of kind `event`, its payload decoded (statuses and notifications)."""
    while True:
        message = await _message(ws)
        if message.get("event") == event:
            if event != "delete":
                message["payload"] = json.loads(message["payload"])
            return message


class EventStream:
    """A server-sent events response read event by event."""

    def __init__(self, response: httpx.Response) -> None:
        self.response = response
        self.lines = response.aiter_lines()
        self.comments: list[str] = []

    async def next(self) -> tuple[str, str]:
        async def read() -> tuple[str, str]:
            event = data = None
            async for line in self.lines:
                if line.startswith(":"):
                    self.comments.append(line)
                elif line.startswith("event: "):
                    event = line.removeprefix("event: ")
                elif line.startswith("data: "):
                    data = line.removeprefix("data: ")
                elif line == "" and event is not None:
                    return event, data or ""
            raise AssertionError("the stream ended")

        return await asyncio.wait_for(read(), WAIT)


@contextlib.asynccontextmanager
async def _sse(instance: RunningInstance, path: str, token: str, **params: str) -> AsyncIterator[EventStream]:
    async with httpx.AsyncClient(base_url=instance.base_url, timeout=WAIT) as client, \
            client.stream("GET", f"/api/v1/streaming/{path}", params=params,
                          headers={"Authorization": f"Bearer {token}"} if token else {}) as response:
        assert response.status_code == 200, await response.aread()
        assert response.headers["content-type"].startswith("text/event-stream")
        yield EventStream(response)


async def _post(instance: RunningInstance, username: str, text: str, **fields: Any) -> dict[str, Any]:
    response = await instance.api(username, "POST", "/api/v1/statuses", json={"status": text, **fields})
    assert response.status_code == 200, response.text
    return response.json()


async def _account_id(instance: RunningInstance, username: str) -> str:
    return (await instance.api(username, "GET", "/api/v1/accounts/verify_credentials")).json()["id"]


async def _follow(instance: RunningInstance, username: str, target_id: str) -> None:
    response = await instance.api(username, "POST", f"/api/v1/accounts/{target_id}/follow")
    assert response.status_code == 200, response.text


async def _app_token(instance: RunningInstance, username: str, scope: str) -> str:
    """A token of a registered app, for `scope` only."""
    app = await instance.api(None, "POST", "/api/v1/apps", json={
        "client_name": "Streamer", "redirect_uris": "urn:ietf:wg:oauth:2.0:oob", "scopes": scope})
    assert app.status_code == 200, app.text
    app_id = await instance.pool.fetchval("SELECT id FROM oauth_apps WHERE client_id = $1",
                                          app.json()["client_id"])
    user_id = await instance.pool.fetchval("SELECT id FROM users WHERE username = $1", username)
    return await accounts.issue_token(instance.pool, user_id, scope, app_id)


async def _listening(instance: RunningInstance, channel: str, count: int) -> bool:
    """Whether `count` processes listen to the stream channel on Redis."""
    fed = instance.instance.fed
    [(_, listening)] = await fed.queue.pubsub_numsub(streams.channel(fed, channel))
    return listening == count


async def _started(ws: ClientConnection) -> None:
    """Let the server finish a subscription: a malformed message is answered after it, in order."""
    await ws.send("{")
    assert (await _message(ws))["status"] == 400


async def test_user_stream_brings_home_posts_mentions_edits_and_deletes(make_instance):
    a = await make_instance()
    for name in ("alice", "bob", "carol"):
        await a.signup(name)
    bob_id = await _account_id(a, "bob")
    await _follow(a, "alice", bob_id)
    async with _socket(a, a.tokens["alice"], "?stream=user") as ws:
        await _started(ws)
        # carol's followers-only post is not for alice: the next update she gets is bob's.
        await _post(a, "carol", "for my followers only", visibility="private")
        hello = await _post(a, "bob", "hello #world")
        update = await _event(ws, "update")
        assert update["stream"] == ["user"]
        assert update["payload"]["id"] == hello["id"] and update["payload"]["account"]["id"] == bob_id
        assert "hello" in update["payload"]["content"]
        # bob's followers-only post is for her, rendered for her.
        private = await _post(a, "bob", "just followers", visibility="private")
        assert (await _event(ws, "update"))["payload"]["id"] == private["id"]

        mention = await _post(a, "bob", "@alice look")
        notification = await _event(ws, "notification")
        assert notification["stream"] == ["user"]
        assert notification["payload"]["type"] == "mention"
        assert notification["payload"]["status"]["id"] == mention["id"]
        assert notification["payload"]["account"]["id"] == bob_id

        edited = await a.api("bob", "PUT", f"/api/v1/statuses/{hello['id']}", json={"status": "hello again"})
        assert edited.status_code == 200, edited.text
        update = await _event(ws, "status.update")
        assert update["payload"]["id"] == hello["id"] and "again" in update["payload"]["content"]
        assert update["payload"]["edited_at"]

        deleted = await a.api("bob", "DELETE", f"/api/v1/statuses/{hello['id']}")
        assert deleted.status_code == 200
        assert (await _event(ws, "delete"))["payload"] == hello["id"]

        # A message naming a post she may not see (carol's) is rendered for her, so never sent.
        secret = await _post(a, "carol", "secret plan", visibility="private")
        alice_user = await a.pool.fetchval("SELECT id FROM users WHERE username = 'alice'")
        fed = a.instance.fed
        await fed.queue.publish(streams.channel(fed, streams.user_channel(alice_user)),
                                json.dumps({"event": "update", "post_id": int(secret["id"])}))
        later = await _post(a, "bob", "after the secret")
        update = await _event(ws, "update")
        assert update["payload"]["id"] == later["id"], update


async def test_likeness_notification_types_only_to_a_stream_that_names_them(make_instance):
    """As the notifications list: apps never meet a type they don't know, and a client that
    names Likeness's own types (the web app does) gets them live."""
    a = await make_instance()
    for name in ("alice", "bob"):
        await a.signup(name)
    fed = a.instance.fed
    alice_user = await a.pool.fetchval("SELECT id FROM users WHERE username = 'alice'")
    bob_actor = await a.pool.fetchval("SELECT id FROM actors WHERE username = 'bob' AND local")
    async with _socket(a, a.tokens["alice"], "?stream=user:notification") as plain, \
            _socket(a, a.tokens["alice"], "?stream=user:notification&include_types[]=remix_request") as named:
        await _started(plain)
        await _started(named)
        asked = await fstore.insert_notification(a.pool, alice_user, "remix_request", bob_actor)
        await streams.notification(fed, alice_user, asked)
        got = await _event(named, "notification")
        assert (got["payload"]["id"], got["payload"]["type"]) == (str(asked), "remix_request")
        mention = await _post(a, "bob", "@alice hello")
        # The app that named nothing skips the remix request: its next one is the mention.
        got = await _event(plain, "notification")
        assert got["payload"]["type"] == "mention" and got["payload"]["status"]["id"] == mention["id"]


async def test_hashtag_and_public_local_streams(make_instance):
    a = await make_instance()
    await a.signup("alice")
    await a.signup("bob")
    async with _socket(a, a.tokens["alice"]) as ws, \
            _sse(a, "public/local", a.tokens["alice"]) as local:
        await ws.send(json.dumps({"type": "subscribe", "stream": "hashtag", "tag": "Cats"}))
        await _started(ws)
        await _post(a, "bob", "no tag here")
        await _post(a, "bob", "unlisted #cats", visibility="unlisted")
        tagged = await _post(a, "bob", "look at my #cats")
        update = await _event(ws, "update")
        assert update["stream"] == ["hashtag", "Cats"] and update["payload"]["id"] == tagged["id"]

        event, data = await local.next()
        assert event == "update" and json.loads(data)["content"] and "no tag" in json.loads(data)["content"]
        event, data = await local.next()
        assert event == "update" and json.loads(data)["id"] == tagged["id"]
        assert local.comments[0] == ":)"

        await ws.send(json.dumps({"type": "unsubscribe", "stream": "hashtag", "tag": "cats"}))
        await _started(ws)
        await eventually(lambda: _listening(a, streams.hashtag_channel("cats"), 0))
        await _post(a, "bob", "more #cats")
        await ws.send("[]")
        assert (await _message(ws))["status"] == 400  # no update came before the answer


async def test_sse_user_stream_and_keepalive(make_instance, monkeypatch):
    monkeypatch.setattr(streaming, "HEARTBEAT_S", 0.2)
    a = await make_instance()
    await a.signup("alice")
    await a.signup("bob")
    await _follow(a, "alice", await _account_id(a, "bob"))
    async with _sse(a, "user", a.tokens["alice"]) as stream:
        post = await _post(a, "bob", "over server-sent events")
        event, data = await stream.next()
        assert (event, json.loads(data)["id"]) == ("update", post["id"])
        await asyncio.sleep(0.5)
        await _post(a, "bob", "@alice hi")
        assert (await stream.next())[0] == "update"
        event, data = await stream.next()
        assert event == "notification" and json.loads(data)["type"] == "mention"
        assert ":thump" in stream.comments
    async with _sse(a, "user/notification", a.tokens["bob"]) as notifications:
        await _post(a, "alice", "@bob back at you")
        event, data = await notifications.next()
        assert event == "notification" and json.loads(data)["status"]["content"]
    # A client gone, its channels are let go of on Redis.
    bob_user = await a.pool.fetchval("SELECT id FROM users WHERE username = 'bob'")
    await eventually(lambda: _listening(a, streams.notifications_channel(bob_user), 0))


async def test_scopes_and_tokens_as_mastodon(make_instance):
    a = await make_instance()
    await a.signup("alice")
    await a.signup("bob")
    statuses_only = await _app_token(a, "alice", "read:statuses")
    async with httpx.AsyncClient(base_url=a.base_url, timeout=WAIT) as client:
        refused = await client.get("/api/v1/streaming/user/notification",
                                   headers={"Authorization": f"Bearer {statuses_only}"})
        assert refused.status_code == 401
        assert refused.json() == {"error": "Access token does not have the required scopes"}
        for path, token, status, message in (
                ("user", None, 401, "Missing access token"),
                ("user", "not-a-token", 401, "Invalid access token"),
                ("public", await _app_token(a, "alice", "write:media"), None, None),
                ("hashtag", a.tokens["alice"], 400, "Missing tag name parameter"),
                ("direct", a.tokens["alice"], 400, "Unknown channel requested"),
                ("nonsense/deeper", a.tokens["alice"], 400, "Unknown channel requested")):
            headers = {"Authorization": f"Bearer {token}"} if token else {}
            if status is None:  # any token may read a public stream (no scope needed)
                async with client.stream("GET", f"/api/v1/streaming/{path}", headers=headers) as ok:
                    assert ok.status_code == 200
                continue
            response = await client.get(f"/api/v1/streaming/{path}", headers=headers)
            assert (response.status_code, response.json()) == (status, {"error": message}), path
        health = await client.get("/api/v1/streaming/health")
        assert (health.status_code, health.text) == (200, "OK")

    # The access_token parameter, and on the WebSocket the Sec-WebSocket-Protocol header.
    async with _sse(a, "public", "", access_token=statuses_only):
        pass
    async with websockets.connect(_ws_url(a, "?stream=user"), subprotocols=[a.tokens["alice"]]) as ws:
        assert ws.subprotocol == a.tokens["alice"]
        await ws.send(json.dumps({"type": "subscribe", "stream": "user"}))
        await _started(ws)
    with pytest.raises(websockets.InvalidStatus) as refused_ws:
        async with websockets.connect(_ws_url(a, "?stream=user")):
            pass
    assert refused_ws.value.response.status_code == 401
    assert json.loads(refused_ws.value.response.body) == {"error": "Missing access token"}

    # On the WebSocket the scopes are checked per stream; the user stream of a read:statuses
    # token carries no notifications, as Mastodon's.
    async with _socket(a, statuses_only, "?stream=user:notification") as ws:
        assert await _message(ws) == {"error": "Access token does not have the required scopes",
                                      "status": 401}
        await ws.send(json.dumps({"type": "subscribe", "stream": "user"}))
        await _started(ws)
        await _post(a, "bob", "@alice you will not hear of this here")
        await _post(a, "alice", "my own post")
        assert (await _message(ws))["event"] == "update"
        await ws.send("{")
        assert (await _message(ws))["status"] == 400


async def test_bad_messages_leave_the_socket_working(make_instance):
    a = await make_instance()
    await a.signup("alice")
    async with _socket(a, a.tokens["alice"], "?stream=nonsense") as ws:
        assert await _message(ws) == {"error": "Unknown stream type", "status": 400}
        for bad, answer in (
                ("{not json", "Malformed message: not JSON"),
                ('"subscribe"', 'Unknown message: type must be "subscribe" or "unsubscribe"'),
                ('{"type": "shout"}', 'Unknown message: type must be "subscribe" or "unsubscribe"'),
                ('{"type": "subscribe"}', "Unknown stream type"),
                ('{"type": "subscribe", "stream": ["user"]}', "Unknown stream type"),
                ('{"type": "subscribe", "stream": "hashtag"}', "Missing tag name parameter"),
                ('{"type": "subscribe", "stream": "hashtag", "tag": 7}', "Missing tag name parameter"),
                ('{"type": "unsubscribe", "stream": "nowhere"}', "Error unsubscribing from channel")):
            await ws.send(bad)
            assert (await _message(ws))["error"] == answer, bad
        await ws.send(json.dumps({"type": "subscribe", "stream": "public:local"}))
        await _started(ws)
        post = await _post(a, "alice", "still streaming")
        assert (await _event(ws, "update"))["payload"]["id"] == post["id"]
        await ws.send(b"\x00binary")
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await asyncio.wait_for(ws.recv(), WAIT)
        assert closed.value.rcvd.code == 1003


async def test_remote_post_through_the_inbox_reaches_the_stream(make_instance):
    a = await make_instance("a")
    b = await make_instance("b")
    await a.signup("alice")
    await b.signup("bob")
    found = await a.api("alice", "GET", "/api/v2/search",
                        params={"q": f"@{b.handle('bob')}", "resolve": "true"})
    bob_on_a = found.json()["accounts"][0]["id"]
    await _follow(a, "alice", bob_on_a)

    async def following() -> bool:
        rel = await a.api("alice", "GET", "/api/v1/accounts/relationships", params={"id[]": bob_on_a})
        return rel.json()[0]["following"]

    await eventually(following)
    async with _socket(a, a.tokens["alice"], "?stream=user") as ws, \
            _sse(a, "public", a.tokens["alice"]) as public:
        await _started(ws)
        await _post(b, "bob", f"hello from afar @{a.handle('alice')}")
        update = await _event(ws, "update")
        assert update["payload"]["account"]["id"] == bob_on_a and "afar" in update["payload"]["content"]
        notification = await _event(ws, "notification")
        assert notification["payload"]["type"] == "mention"
        event, data = await public.next()
        assert event == "update" and json.loads(data)["id"] == update["payload"]["id"]


async def test_instance_names_the_streaming_url(make_instance):
    a = await make_instance()
    v1 = (await a.api(None, "GET", "/api/v1/instance")).json()
    v2 = (await a.api(None, "GET", "/api/v2/instance")).json()
    assert v1["urls"]["streaming_api"] == v2["configuration"]["urls"]["streaming"] == f"ws://{a.domain}"
