"""The one subscriber of a web process to the streams' Redis channels (federation/streams.py):
one pub/sub connection, shared by every open stream, as Mastodon's streaming server shares its
own among its clients."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.client import PubSub
from redis.exceptions import RedisError

log = logging.getLogger(__name__)

# Messages a connection may lag behind before it is ended (its client reconnects and reloads):
# a stalled client must not hold the process's memory.
BACKLOG = 500


class Subscription:
    """The messages of some channels for one open stream, in order: `(channel name, message)`,
    then None once it ended (the client was too slow, or Redis went away)."""

    def __init__(self, names: list[str]) -> None:
        self.names = names
        self._queue: asyncio.Queue[tuple[str, dict[str, Any]] | None] = asyncio.Queue(BACKLOG + 1)
        self.ended = False

    def deliver(self, item: tuple[str, dict[str, Any]] | None) -> None:
        if self.ended:
            return
        if item is None or self._queue.qsize() >= BACKLOG:
            self.ended = True
            self._queue.put_nowait(None)
            return
        self._queue.put_nowait(item)

    async def next(self) -> tuple[str, dict[str, Any]] | None:
        return await self._queue.get()


class StreamHub:
    """Channels (names as federation/streams.py gives them, under `prefix`) to the open
    subscriptions that listen to them."""

    def __init__(self, redis: Redis, prefix: str) -> None:
        self._redis = redis
        self._prefix = prefix
        self._listeners: dict[str, set[Subscription]] = {}
        self._pubsub: PubSub | None = None
        self._reader: asyncio.Task[None] | None = None
        self._unsubscribing: set[asyncio.Task[None]] = set()
        self._lock = asyncio.Lock()

    async def subscribe(self, names: list[str]) -> Subscription:
        """A subscription to the channels `names`; RedisError or OSError when Redis cannot be reached."""
        subscription = Subscription(names)
        async with self._lock:
            new = [name for name in names if name not in self._listeners]
            if new:
                if self._pubsub is None:
                    self._pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
                await self._pubsub.subscribe(*(f"{self._prefix}:{name}" for name in new))
            for name in names:
                self._listeners.setdefault(name, set()).add(subscription)
            if self._reader is None:
                self._reader = asyncio.create_task(self._read())
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        """End a subscription. Synchronous, since it runs where a response was cancelled (a
        client gone); Redis is told in the background of the channels no one listens to now."""
        unused = []
        for name in subscription.names:
            listeners = self._listeners.get(name, set())
            listeners.discard(subscription)
            if not listeners:
                self._listeners.pop(name, None)
                unused.append(name)
        if unused:
            task = asyncio.create_task(self._unsubscribe(unused))
            self._unsubscribing.add(task)
            task.add_done_callback(self._unsubscribing.discard)

    async def _unsubscribe(self, names: list[str]) -> None:
        async with self._lock:
            # One subscribed again meanwhile stays.
            unused = [f"{self._prefix}:{name}" for name in names if name not in self._listeners]
            if unused and self._pubsub is not None:
                with contextlib.suppress(OSError, RedisError):
                    await self._pubsub.unsubscribe(*unused)

    async def _read(self) -> None:
        assert self._pubsub is not None
        prefix = f"{self._prefix}:"
        try:
            while True:
                message = await self._pubsub.get_message(timeout=5.0)
                if message is None or message["type"] != "message":
                    continue
                channel = message["channel"]
                name = (channel.decode() if isinstance(channel, bytes) else channel).removeprefix(prefix)
                try:
                    data = json.loads(message["data"])
                except ValueError:
                    log.warning("not JSON on stream channel %s", name)
                    continue
                for subscription in list(self._listeners.get(name, ())):
                    subscription.deliver((name, data))
        except (OSError, RedisError) as exc:
            log.warning("the streams lost Redis, ending every open stream: %s", exc)
            await self._reset()

    async def _reset(self) -> None:
        """End every subscription (their clients reconnect) and start afresh on the next one."""
        async with self._lock:
            for listeners in self._listeners.values():
                for subscription in listeners:
                    subscription.deliver(None)
            self._listeners.clear()
            pubsub, self._pubsub, self._reader = self._pubsub, None, None
        if pubsub is not None:
            with contextlib.suppress(OSError, RedisError):
                await pubsub.aclose()

    async def stop(self) -> None:
        """End every stream and close the connection."""
        for task in [self._reader, *self._unsubscribing]:
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        await self._reset()
