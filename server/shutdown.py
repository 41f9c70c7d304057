"""A server that closes down properly (`likeness admin shutdown-notice`): every local account is
told (a notification, and a banner in the web app from Mastodon's announcements), every known
server hears it from an `Update` of the instance actor (federation/shutdown.py), and every local
account's archive is built and kept until the server closes. The server keeps answering until
then: nothing here stops it. Giving the same notice again changes nothing."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from federation import shutdown, streams
from federation.context import Federation
from federation.objects import now, parse_time

from . import archive, store

NOTIFICATION = "shutdown_notice"


@dataclass(frozen=True)
class NoticeGiven:
    notice: dict[str, Any]
    notified: int
    archives: int


async def give_notice(fed: Federation, until: datetime, message: str) -> NoticeGiven:
    """Raise ValueError for a date that is not in the future. Each step is done once however
    often it runs (a run cut short completes on the next)."""
    if until <= now():
        raise ValueError("the closing date must be in the future")
    notice = await shutdown.announce(fed, until, message)
    notified = await store.notify_every_user(fed.pool, NOTIFICATION, parse_time(notice["announced"]))
    for row in notified:
        await streams.notification(fed, row["user_id"], row["id"])
    return NoticeGiven(notice, len(notified), await build_every_archive(fed))


async def build_every_archive(fed: Federation) -> int:
    """Ask for the archive of every local account that has none of late (a worker builds them);
    how many were asked for."""
    queued = 0
    cooldown = archive.ARCHIVE_COOLDOWN.total_seconds()
    for user_id in await store.users_without_recent_archive(fed.pool, cooldown):
        async with fed.pool.acquire() as conn, conn.transaction():
            archive_id = await store.insert_archive(conn, user_id, cooldown)
        if archive_id is not None:
            await archive.queue_build(fed, archive_id)
            queued += 1
    return queued
