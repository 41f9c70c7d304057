"""SQL of notifications as clients see them: the list, one, the unread count against the
notifications marker, dismissing one or all."""

from __future__ import annotations

from datetime import datetime

from .common import Conn, Record
from .mutes import MUTE_LIVE

# The notifications a user is shown: none from a suspended server; from a limited one, only what
# comes from accounts the user follows, and follow requests (the user must be able to decide them);
# none from an account the user mutes with its notifications (Mastodon's `notifications` flag).
NOTIFICATION_SHOWN = f"""NOT EXISTS (SELECT 1 FROM actors na WHERE na.id = n.from_actor_id AND NOT na.local
    AND (domain_suspended(na.domain) OR n.type <> 'follow_request'
     AND domain_limited(na.domain) AND NOT EXISTS (SELECT 1 FROM follows f
      JOIN actors me ON me.id = f.follower_id
      WHERE me.user_id = n.user_id AND f.followed_id = na.id AND f.accepted)))
    AND NOT EXISTS (SELECT 1 FROM mutes mu JOIN actors me ON me.id = mu.actor_id
      WHERE me.user_id = n.user_id AND mu.target_id = n.from_actor_id AND mu.hide_notifications
      AND {MUTE_LIVE})"""


async def notifications(conn: Conn, user_id: int, *, limit: int, max_id: int | None = None,
                        since_id: int | None = None, min_id: int | None = None,
                        types: list[str] | None = None) -> list[Record]:
    """Mastodon's paging and type filter (the stored types asked for), of what the user is shown
    (NOTIFICATION_SHOWN), newest first."""
    order = "ASC" if min_id and not max_id else "DESC"
    rows = await conn.fetch(
        f"SELECT n.* FROM notifications n WHERE n.user_id = $1 AND ($3::bigint IS NULL OR n.id < $3)"
        f" AND ($4::bigint IS NULL OR n.id > $4) AND ($5::text[] IS NULL OR n.type = ANY($5))"
        f" AND {NOTIFICATION_SHOWN} ORDER BY n.id {order} LIMIT $2",
        user_id, limit, max_id, since_id or min_id, types)
    return sorted(rows, key=lambda r: r["id"], reverse=True)


async def unread_notifications(conn: Conn, user_id: int, *, types: list[str], up_to: int) -> int:
    """How many notifications of `types` the user is shown after their notifications marker
    (all, without one), counted up to `up_to`."""
    return await conn.fetchval(
        f"SELECT count(*) FROM (SELECT 1 FROM notifications n WHERE n.user_id = $1"
        f" AND n.id > coalesce((SELECT last_read_id FROM markers WHERE user_id = $1"
        f"                      AND timeline = 'notifications'), 0)"
        f" AND n.type = ANY($2::text[]) AND {NOTIFICATION_SHOWN} LIMIT $3) unread",
        user_id, types, up_to)


async def notification(conn: Conn, user_id: int, notification_id: int) -> Record | None:
    return await conn.fetchrow(
        f"SELECT n.* FROM notifications n WHERE n.id = $2 AND n.user_id = $1 AND {NOTIFICATION_SHOWN}",
        user_id, notification_id)


async def dismiss_notification(conn: Conn, user_id: int, notification_id: int) -> bool:
    status = await conn.execute("DELETE FROM notifications WHERE id = $2 AND user_id = $1",
                                user_id, notification_id)
    return status.endswith(" 1")


async def clear_notifications(conn: Conn, user_id: int) -> None:
    await conn.execute("DELETE FROM notifications WHERE user_id = $1", user_id)


async def notify_every_user(conn: Conn, kind: str, since: datetime) -> list[Record]:
    """A notification of `kind`, from nobody, to every local account in use that has none of it
    from `since` on; each (user_id, id)."""
    return await conn.fetch(
        "INSERT INTO notifications (user_id, type) SELECT u.id, $1 FROM users u"
        " JOIN actors a ON a.user_id = u.id WHERE NOT u.disabled AND a.deleted_at IS NULL"
        " AND NOT EXISTS (SELECT 1 FROM notifications n WHERE n.user_id = u.id AND n.type = $1"
        "   AND n.created_at >= $2) RETURNING user_id, id", kind, since)
