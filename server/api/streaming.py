"""Mastodon's streaming API: the WebSocket at `/api/v1/streaming` and the server-sent events
endpoints under it, fed by the Redis channels that federation/streams.py publishes on, so that any
web process serves any stream.

Each event is rendered for the connection's own viewer, through `render_statuses` and so the
visibility rule: a followers-only post never reaches someone who may not see it. As Mastodon's
streaming server: every stream needs a valid token (the Authorization header, the `access_token`
parameter, or the Sec-WebSocket-Protocol header), refused with 401 `{"error": ...}`; the user
streams need the scopes of their routes in server/scopes.py, the public ones none.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import asyncpg
from redis.exceptions import RedisError
from starlette.requests import HTTPConnection, Request
from starlette.responses import PlainTextResponse, Response, StreamingResponse
from starlette.routing import BaseRoute, Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from federation import store as fstore
from federation import streams
from federation.html import normalised_hashtag

from .. import accounts, scopes, store
from ..http import error, parse_id, pool
from ..stream_hub import StreamHub, Subscription
from .notifications import render_notifications, stored_types
from .statuses import render_statuses

log = logging.getLogger(__name__)

# How often an idle event stream sends a comment, so that proxies keep it open (Mastodon's 15 s).
HEARTBEAT_S = 15.0

# Mastodon's stream names, each with the route whose scopes (server/scopes.py) a token needs for
# it: on the WebSocket as over server-sent events.
STREAM_ROUTES = {
    "user": "/api/v1/streaming/user",
    "user:notification": "/api/v1/streaming/user/notification",
    "public": "/api/v1/streaming/public",
    "public:local": "/api/v1/streaming/public/local",
    "hashtag": "/api/v1/streaming/hashtag",
}
PUBLIC_STREAMS = ("public", "public:local", "hashtag")


class StreamError(Exception):
    """A refused stream, with Mastodon's status and message."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _token(connection: HTTPConnection) -> tuple[str | None, bool]:
    """The request's token, and whether it came as the WebSocket's subprotocol (which the
    handshake must then name back, or browsers drop the connection)."""
    scheme, _, value = connection.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip(), False
    if connection.query_params.get("access_token"):
        return connection.query_params["access_token"], False
    protocol = connection.headers.get("sec-websocket-protocol", "").split(",")[0].strip()
    return (protocol, True) if protocol else (None, False)


async def authenticate(connection: HTTPConnection) -> asyncpg.Record:
    """The user of the connection's token; StreamError 401 without one, or for an unknown one."""
    token, _ = _token(connection)
    if token is None:
        raise StreamError(401, "Missing access token")
    user = await accounts.user_for_token(pool(connection), token)
    if user is None:
        raise StreamError(401, "Invalid access token")
    return user


def _lacks_scopes(user: asyncpg.Record, kind: str) -> bool:
    return user["app_id"] is not None and \
        scopes.refusal(user["scopes"], "GET", STREAM_ROUTES[kind], {}) is not None


@dataclass(frozen=True)
class Stream:
    """One stream a connection asked for."""

    kind: str  # Mastodon's name: user, user:notification, public, public:local, hashtag
    name: tuple[str, ...]  # as WebSocket messages name it: ("user",), ("hashtag", "Cats")
    tag: str | None  # a hashtag stream's tag, normalised as the tags table keeps it
    channels: tuple[str, ...]


def open_stream(user: asyncpg.Record, kind: Any, tag: Any) -> Stream:
    """The stream `kind` (with `tag` for a hashtag) for `user`; StreamError when there is no
    such stream (400), it lacks its tag (400), or the token lacks its scopes (401)."""
    if not isinstance(kind, str) or kind not in STREAM_ROUTES:
        raise StreamError(400, "Unknown stream type")
    if _lacks_scopes(user, kind):
        raise StreamError(401, "Access token does not have the required scopes")
    # Every stream also listens on its token's channel, which ends it when the token is revoked.
    killed = streams.token_channel(user["token_hash"])
    if kind == "hashtag":
        if not isinstance(tag, str) or not tag.strip().removeprefix("#"):
            raise StreamError(400, "Missing tag name parameter")
        normalised = normalised_hashtag(tag.strip().removeprefix("#"))
        return Stream(kind, (kind, tag), normalised, (streams.hashtag_channel(normalised), killed))
    if kind == "user":
        # As Mastodon's: the home stream carries notifications only for a token that may read them.
        channels = (streams.user_channel(user["id"]),) if _lacks_scopes(user, "user:notification") \
            else (streams.user_channel(user["id"]), streams.notifications_channel(user["id"]))
    elif kind == "user:notification":
        channels = (streams.notifications_channel(user["id"]),)
    else:
        channels = (f"timeline:{kind}",)
    return Stream(kind, (kind,), None, (*channels, killed))


def _killed(item: tuple[str, dict[str, Any]]) -> bool:
    """Whether a stream's message says that its token was revoked."""
    return item[0].startswith("timeline:access_token:") and item[1].get("event") == streams.KILL


async def render_event(connection: HTTPConnection, user: asyncpg.Record, stream: Stream,
                       message: dict[str, Any]) -> tuple[str, str] | None:
    """The event and its payload (a JSON string, or a deleted status's id) that `message` makes
    on `stream` for `user`; None when there is nothing this viewer may be shown."""
    event = message.get("event")
    if event == "notification":
        notification_id = parse_id(message.get("notification_id"))
        if notification_id is None:
            return None
        # The notifications list's own filters (limited and suspended servers) apply, and its
        # types: Mastodon's, and Likeness's own only to a client that opened the stream naming
        # them in `include_types[]`, as it would ask the list.
        row = await store.notification(pool(connection), user["id"], notification_id)
        if row is None or row["type"] not in stored_types(connection):
            return None
        rendered = await render_notifications(connection, [row], user["actor_id"], staff=False)
        return ("notification", json.dumps(rendered[0])) if rendered else None
    post_id = parse_id(message.get("post_id"))
    if post_id is None or event not in streams.POST_EVENTS:
        return None
    if event == "delete":
        return "delete", str(post_id)
    if stream.kind in PUBLIC_STREAMS:
        post = await store.in_public_timeline(pool(connection), post_id, user["actor_id"],
                                              local_only=stream.kind == "public:local", tag=stream.tag)
    else:
        post = await fstore.post_by_id(pool(connection), post_id)
    if post is None:
        return None
    rendered = await render_statuses(connection, [post], user["actor_id"], staff=False)
    return (event, json.dumps(rendered[0])) if rendered else None


def _hub(connection: HTTPConnection) -> StreamHub:
    return connection.app.state.instance.streams


# --- server-sent events ------------------------------------------------------------------------

_SSE_STREAMS = {path: kind for kind, path in STREAM_ROUTES.items()}


async def event_stream(request: Request) -> Response:
    """`GET /api/v1/streaming/<stream>`: the stream as server-sent events, `event: <name>` and
    `data: <payload>` each, with a comment every `HEARTBEAT_S` seconds."""
    try:
        user = await authenticate(request)
        stream = open_stream(user, _SSE_STREAMS[request.url.path], request.query_params.get("tag"))
        subscription = await _hub(request).subscribe(list(stream.channels))
    except StreamError as exc:
        return error(exc.status, exc.message)
    except (OSError, RedisError):
        return error(503, "the streaming API is unavailable: try again in a moment")
    return StreamingResponse(_events(request, user, stream, subscription),
                             media_type="text/event-stream", headers={"cache-control": "no-store"})


async def _events(request: Request, user: asyncpg.Record, stream: Stream,
                  subscription: Subscription) -> AsyncIterator[str]:
    waiting: asyncio.Task[Any] | None = None
    try:
        yield ":)\n"
        while True:
            # The same wait goes on across heartbeats, so that no message is lost to a timeout.
            waiting = waiting or asyncio.ensure_future(subscription.next())
            done, _ = await asyncio.wait({waiting}, timeout=HEARTBEAT_S)
            if not done:
                yield ":thump\n"
                continue
            item, waiting = waiting.result(), None
            if item is None or _killed(item):
                # This stream lagged too far behind, or Redis went away: the client reconnects;
                # or its token was revoked, and it is refused when it does.
                return
            rendered = await render_event(request, user, stream, item[1])
            if rendered is not None:
                yield f"event: {rendered[0]}\ndata: {rendered[1]}\n\n"
    finally:
        if waiting is not None:
            waiting.cancel()
        _hub(request).unsubscribe(subscription)


# --- WebSocket ---------------------------------------------------------------------------------

class Session:
    """One WebSocket and the streams subscribed on it, each forwarded by a task of its own."""

    def __init__(self, websocket: WebSocket, user: asyncpg.Record) -> None:
        self.websocket = websocket
        self.user = user
        self.forwarding: dict[tuple[str, ...], tuple[Subscription, asyncio.Task[None]]] = {}
        self._sending = asyncio.Lock()

    async def send(self, message: dict[str, Any]) -> None:
        async with self._sending:
            await self.websocket.send_text(json.dumps(message))

    async def handle(self, text: str) -> None:
        """A client's message: `{"type": "subscribe" | "unsubscribe", "stream": ..., "tag": ...}`."""
        try:
            message = json.loads(text)
        except ValueError:
            await self.send({"error": "Malformed message: not JSON", "status": 400})
            return
        if not isinstance(message, dict) or message.get("type") not in ("subscribe", "unsubscribe"):
            await self.send({"error": 'Unknown message: type must be "subscribe" or "unsubscribe"',
                             "status": 400})
            return
        if message["type"] == "subscribe":
            await self.subscribe(message.get("stream"), message.get("tag"))
        else:
            await self.unsubscribe(message.get("stream"), message.get("tag"))

    async def subscribe(self, kind: Any, tag: Any) -> None:
        try:
            stream = open_stream(self.user, kind, tag)
        except StreamError as exc:
            await self.send({"error": exc.message, "status": exc.status})
            return
        if stream.channels in self.forwarding:
            return
        try:
            subscription = await _hub(self.websocket).subscribe(list(stream.channels))
        except (OSError, RedisError):
            await self.send({"error": "the streaming API is unavailable: try again in a moment",
                             "status": 503})
            return
        task = asyncio.create_task(self._forward(stream, subscription))
        self.forwarding[stream.channels] = (subscription, task)

    async def unsubscribe(self, kind: Any, tag: Any) -> None:
        try:
            stream = open_stream(self.user, kind, tag)
        except StreamError:
            await self.send({"error": "Error unsubscribing from channel", "status": 400})
            return
        if stream.channels in self.forwarding:
            await self._stop(stream.channels)

    async def _stop(self, channels: tuple[str, ...]) -> None:
        subscription, task = self.forwarding.pop(channels)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        _hub(self.websocket).unsubscribe(subscription)

    async def _forward(self, stream: Stream, subscription: Subscription) -> None:
        try:
            while (item := await subscription.next()) is not None:
                if _killed(item):
                    with contextlib.suppress(RuntimeError, OSError):
                        await self.websocket.close(1000, "the access token was revoked")
                    return
                rendered = await render_event(self.websocket, self.user, stream, item[1])
                if rendered is not None:
                    await self.send({"stream": list(stream.name), "event": rendered[0],
                                     "payload": rendered[1]})
        except (OSError, asyncpg.PostgresError, WebSocketDisconnect) as exc:
            log.warning("a stream ended: %s", exc)
        # The stream lagged too far behind or lost Redis: the client reconnects and reloads.
        with contextlib.suppress(RuntimeError, OSError):
            await self.websocket.close(1011, "stream interrupted: reconnect")

    async def close(self) -> None:
        for channels in list(self.forwarding):
            await self._stop(channels)


async def websocket_stream(websocket: WebSocket) -> None:
    """`/api/v1/streaming`: Mastodon's multiplexed WebSocket, `?stream=` to start with one."""
    try:
        user = await authenticate(websocket)
    except StreamError as exc:
        await websocket.send_denial_response(error(exc.status, exc.message))
        return
    _, by_protocol = _token(websocket)
    await websocket.accept(subprotocol=websocket.headers["sec-websocket-protocol"].split(",")[0].strip()
                           if by_protocol else None)
    session = Session(websocket, user)
    try:
        if "stream" in websocket.query_params:
            await session.subscribe(websocket.query_params["stream"], websocket.query_params.get("tag"))
        while True:
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                break
            if message.get("text") is None:
                await websocket.close(1003, "binary messages are not supported")
                break
            await session.handle(message["text"])
    except WebSocketDisconnect:
        pass
    finally:
        await session.close()


async def health(request: Request) -> Response:
    return PlainTextResponse("OK")


async def unknown_stream(request: Request) -> Response:
    return error(400, "Unknown channel requested")


routes: list[BaseRoute] = [
    WebSocketRoute("/api/v1/streaming", websocket_stream),
    Route("/api/v1/streaming/health", health, methods=["GET", "HEAD"]),
    *(Route(path, event_stream) for path in STREAM_ROUTES.values()),
    Route("/api/v1/streaming/{stream:path}", unknown_stream),
]
