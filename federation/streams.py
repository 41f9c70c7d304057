"""What the streaming API streams: small messages on Redis pub/sub channels, published where
posts, notifications and deletes are written, once their transaction has committed, so that any
web process can serve any stream (server/api/streaming.py renders each event for its viewer).

Channels, each under the instance's queue name (as Mastodon's under its REDIS_NAMESPACE):
- `timeline:user:<user id>`: the events of a home timeline (`update`, `status.update`, `delete`);
- `timeline:user:<user id>:notifications`: `notification`;
- `timeline:public`, `timeline:public:local`, `timeline:hashtag:<tag>`: the public streams;
- `timeline:access_token:<token hash>`: `kill`, which ends every stream the token opened.

A message names its row (`{"event": "update", "post_id": 12}`) and never carries what a viewer
may not see: the streaming endpoint renders it for each connection through the visibility rule.
Who gets which post follows Mastodon's FanOutOnWriteService: the author and the local followers
whose home timeline shows it; the public streams for public posts that are not boosts (replies
only on the tag streams, as the public and tag timelines list them).
"""

from __future__ import annotations

import json
import logging
from typing import Any

from redis.exceptions import RedisError

from . import store
from .context import Federation

log = logging.getLogger(__name__)

POST_EVENTS = ("update", "status.update", "delete")
# The message on a token's channel that ends its streams.
KILL = "kill"


def channel(fed: Federation, name: str) -> str:
    """The Redis channel of the stream channel `name` on this instance."""
    return f"{fed.queue_name}:{name}"


def user_channel(user_id: int) -> str:
    return f"timeline:user:{user_id}"


def notifications_channel(user_id: int) -> str:
    return f"timeline:user:{user_id}:notifications"


def token_channel(token_hash: bytes) -> str:
    """The channel that ends the open streams of an access token once it is revoked (Mastodon's
    `timeline:access_token:<id>`), named by the token's stored hash, never by the token."""
    return f"timeline:access_token:{token_hash.hex()}"


def hashtag_channel(tag: str) -> str:
    """The channel of a hashtag's stream; `tag` normalised as the tags table keeps it."""
    return f"timeline:hashtag:{tag}"


async def _publish(fed: Federation, names: list[str], message: dict[str, Any]) -> None:
    """Publish `message` on each channel. A stream that misses it is only late (clients fall back
    on reloading), so a Redis failure only logs: the post or notification is written already."""
    if fed.queue is None or not names:
        return
    data = json.dumps(message)
    try:
        async with fed.queue.pipeline(transaction=False) as pipe:
            for name in names:
                pipe.publish(channel(fed, name), data)
            await pipe.execute()
    except (OSError, RedisError) as exc:
        log.warning("could not publish %s to the streams: %s", message, exc)


async def post_event(fed: Federation, event: str, post_id: int) -> None:
    """Tell the streams that show post `post_id` that it was created (`update`), edited
    (`status.update`) or deleted (`delete`). Call it after the transaction that wrote it."""
    assert event in POST_EVENTS, event
    post = await store.post_by_id(fed.pool, post_id)
    if post is None:
        return
    names = [user_channel(user_id) for user_id in await store.home_audience(fed.pool, post)]
    if post["visibility"] == "public" and post["reblog_of_id"] is None:
        if post["in_reply_to_id"] is None:
            names += ["timeline:public", *(["timeline:public:local"] if post["local"] else [])]
        names += [hashtag_channel(tag) for tag in await store.post_tags(fed.pool, post_id)]
    await _publish(fed, names, {"event": event, "post_id": post_id})


async def notification(fed: Federation, user_id: int, notification_id: int) -> None:
    """Tell user `user_id`'s notification streams of a new notification. Call it after the
    transaction that inserted it."""
    await _publish(fed, [notifications_channel(user_id)],
                   {"event": "notification", "notification_id": notification_id})


async def token_revoked(fed: Federation, token_hash: bytes) -> None:
    """End the open streams of a revoked token, in every web process. Call it after the token's
    row is deleted: a stream that misses the message still ends at its client's next reconnect."""
    await _publish(fed, [token_channel(token_hash)], {"event": KILL})
