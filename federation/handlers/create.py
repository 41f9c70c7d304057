"""Create: a new remote post (a Note or Question, an Article, Page, Event, Image, Audio or PeerTube
Video; see objects.incoming_post_fields)."""

from __future__ import annotations

from typing import Any

from .. import posts
from ..context import Federation
from ..errors import Ignore
from ..vocab import POST_TYPES
from .common import raw_object


async def handle(fed: Federation, activity: dict[str, Any]) -> None:
    obj = activity.get("object")
    if not isinstance(obj, dict):
        # A bare id: the post is fetched from its origin, whose id the inbox already checked.
        await posts.post(fed, str(obj))
        return
    if obj.get("type") not in POST_TYPES:
        raise Ignore(f"Create of unsupported type {obj.get('type')!r}")
    if not await posts.is_relevant(fed, obj, activity["actor"]):
        raise Ignore("post from an actor nobody here follows, mentioning nobody here")
    await posts.ingest(fed, obj, await raw_object(fed, activity))
