"""Edits of posts, local and remote alike: each version is kept (Mastodon's status edits), and
the local accounts that boosted an edited post are told (Mastodon's `update` notification)."""

from __future__ import annotations

from typing import Any

import asyncpg

from . import store

# The media fields a version keeps: enough to show the attachment as it was.
MEDIA_FIELDS = ("id", "kind", "media_type", "storage_key", "poster_key", "remote_url",
                "remote_poster_url", "width", "height", "duration", "frame_rate", "blurhash",
                "focal_x", "focal_y", "description")


def media_snapshot(media: list[asyncpg.Record]) -> list[dict[str, Any]]:
    """Attachments as a version keeps them (plain JSON)."""
    return [{name: item[name] for name in MEDIA_FIELDS} for item in media]


def _looks(post: asyncpg.Record, media: list[asyncpg.Record]) -> tuple[Any, ...]:
    shown = [{k: v for k, v in m.items() if k != "id"} for m in media_snapshot(media)]
    return post["content"], post["summary"] or None, post["sensitive"], shown


def changed(before: asyncpg.Record, before_media: list[asyncpg.Record],
            after: asyncpg.Record, after_media: list[asyncpg.Record]) -> bool:
    """Whether a reader sees a difference: text, content warning, sensitivity or media."""
    return _looks(before, before_media) != _looks(after, after_media)


async def record(conn: asyncpg.Connection, before: asyncpg.Record, before_media: list[asyncpg.Record],
                 after: asyncpg.Record, after_media: list[asyncpg.Record]) -> None:
    """Keep the version `after` (at its `edited_at`), and the original first if this is the
    post's first edit; then tell the local accounts that boosted it. In the caller's
    transaction."""
    if not await store.post_edits(conn, before["id"]):
        await _insert(conn, before, before_media, before["published_at"])
    await _insert(conn, after, after_media, after["edited_at"])
    for booster in await store.local_boosters(conn, after["id"]):
        if booster["user_id"] is not None and booster["id"] != after["actor_id"]:
            await store.insert_notification(conn, booster["user_id"], "update", after["actor_id"],
                                            after["id"])


async def _insert(conn: asyncpg.Connection, post: asyncpg.Record, media: list[asyncpg.Record],
                  at: Any) -> None:
    await store.insert_post_edit(conn, {"post_id": post["id"], "content": post["content"],
                                        "summary": post["summary"], "sensitive": post["sensitive"],
                                        "media": media_snapshot(media), "created_at": at})
