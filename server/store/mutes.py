"""SQL of mutes, as Mastodon's: whom a person mutes, until when, and whether their notifications
too. What a mute hides is left out by the timelines' and notifications' own queries (`not_muted`,
`MUTE_LIVE`), so that a page comes out full in one round trip."""

from __future__ import annotations

from .common import Conn, Record
from .interactions import LISTABLE, newest_first, page_bounds

# A mute holds until its `expires_at` (migrations/0034_mute_expiry.sql) and counts as gone after
# it: every query compares with now(), so no job has to delete it. `mu` is the mutes row.
MUTE_LIVE = "(mu.expires_at IS NULL OR mu.expires_at > now())"


def not_muted(viewer: str, post: str = "p") -> str:
    """SQL, true unless `viewer` mutes the author of `post` (a row alias of `posts`) or, for a
    boost, the author of the boosted post. `viewer` is a parameter such as `$1`, NULL for a
    visitor, who mutes no one."""
    return (f"NOT EXISTS (SELECT 1 FROM mutes mu WHERE mu.actor_id = {viewer} AND {MUTE_LIVE}"
            f" AND mu.target_id IN ({post}.actor_id,"
            f"  (SELECT mb.actor_id FROM posts mb WHERE mb.id = {post}.reblog_of_id)))")


async def mute(conn: Conn, actor_id: int, target_id: int, hide_notifications: bool,
               duration_s: int | None = None) -> None:
    """Mute, or change a mute: for `duration_s` seconds from now, or until unmuted (None)."""
    await conn.execute(
        "INSERT INTO mutes (actor_id, target_id, hide_notifications, expires_at)"
        " VALUES ($1, $2, $3, now() + make_interval(secs => $4::bigint))"
        " ON CONFLICT (actor_id, target_id) DO UPDATE SET hide_notifications = EXCLUDED.hide_notifications,"
        " expires_at = EXCLUDED.expires_at",
        actor_id, target_id, hide_notifications, duration_s)


async def unmute(conn: Conn, actor_id: int, target_id: int) -> None:
    await conn.execute("DELETE FROM mutes WHERE actor_id = $1 AND target_id = $2", actor_id, target_id)


async def muting(conn: Conn, actor_id: int, target_id: int) -> Record | None:
    """The mute of `target_id` by `actor_id`, if there is one that has not expired."""
    return await conn.fetchrow(
        f"SELECT * FROM mutes mu WHERE mu.actor_id = $1 AND mu.target_id = $2 AND {MUTE_LIVE}",
        actor_id, target_id)


async def muted_account_page(conn: Conn, actor_id: int, *, limit: int, max_id: int | None = None,
                             since_id: int | None = None, min_id: int | None = None) -> list[Record]:
    """The accounts `actor_id` mutes, by mute, newest first, each with its `mute_expires_at`."""
    where, order = page_bounds("mu.id", max_id, min_id)
    return newest_first(await conn.fetch(
        f"SELECT mu.id AS page_id, mu.expires_at AS mute_expires_at, a.* FROM mutes mu"
        f" JOIN actors a ON a.id = mu.target_id"
        f" WHERE mu.actor_id = $1 AND {MUTE_LIVE} AND {LISTABLE}{where} ORDER BY mu.id {order} LIMIT $2",
        actor_id, limit, max_id, since_id or min_id))
