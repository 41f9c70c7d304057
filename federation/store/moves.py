"""SQL of account moves (migrations 0030 and 0031): aliases, where an account moved, and the
record of each move."""

from __future__ import annotations

from datetime import timedelta

from .common import Conn, Record


async def add_alias(conn: Conn, actor_id: int, uri: str) -> Record:
    """Add `uri` to a local actor's aliases (`alsoKnownAs`), once; the actor as it is now."""
    return await conn.fetchrow(
        "UPDATE actors SET also_known_as = CASE WHEN $2 = ANY(also_known_as) THEN also_known_as"
        " ELSE array_append(also_known_as, $2) END WHERE id = $1 AND local RETURNING *", actor_id, uri)


async def remove_alias(conn: Conn, actor_id: int, uri: str) -> Record | None:
    """Take `uri` out of a local actor's aliases; the actor as it is now, None when it was not one."""
    return await conn.fetchrow(
        "UPDATE actors SET also_known_as = array_remove(also_known_as, $2)"
        " WHERE id = $1 AND local AND $2 = ANY(also_known_as) RETURNING *", actor_id, uri)


async def lock_actor(conn: Conn, actor_id: int) -> Record | None:
    """The actor, locked for the caller's transaction: one move of an account at a time."""
    return await conn.fetchrow("SELECT * FROM actors WHERE id = $1 FOR UPDATE", actor_id)


async def set_moved_to(conn: Conn, actor_id: int, target_uri: str) -> Record:
    """Record that an actor moved to `target_uri` (its `movedTo`); `moved_at` is kept when it
    had already named the same account."""
    return await conn.fetchrow(
        "UPDATE actors SET moved_at = CASE WHEN moved_to_uri IS NOT DISTINCT FROM $2 AND moved_at"
        " IS NOT NULL THEN moved_at ELSE now() END, moved_to_uri = $2 WHERE id = $1 RETURNING *",
        actor_id, target_uri)


async def last_migration(conn: Conn, origin_id: int, within: timedelta) -> Record | None:
    """The latest move of an account made less than `within` ago, if any."""
    return await conn.fetchrow(
        "SELECT * FROM account_migrations WHERE origin_id = $1 AND created_at > now() - $2::interval"
        " ORDER BY created_at DESC LIMIT 1", origin_id, within)


async def insert_migration(conn: Conn, origin_id: int, target_id: int, followers_count: int) -> Record:
    return await conn.fetchrow(
        "INSERT INTO account_migrations (origin_id, target_id, followers_count) VALUES ($1, $2, $3)"
        " RETURNING *", origin_id, target_id, followers_count)


async def local_followers(conn: Conn, actor_id: int) -> list[Record]:
    """The local accounts that follow an actor (accepted follows), oldest follow first."""
    return await conn.fetch(
        "SELECT a.* FROM follows f JOIN actors a ON a.id = f.follower_id"
        " WHERE f.followed_id = $1 AND f.accepted AND a.local AND a.user_id IS NOT NULL"
        " AND a.deleted_at IS NULL ORDER BY f.id", actor_id)


async def carry_list_memberships(conn: Conn, owner_id: int, origin_id: int, target_id: int) -> int:
    """Put `target_id` in each of `owner_id`'s lists that hold `origin_id` (Mastodon's MoveWorker
    carries list memberships over); how many lists it joined."""
    result = await conn.execute(
        "INSERT INTO list_accounts (list_id, actor_id) SELECT la.list_id, $3 FROM list_accounts la"
        " JOIN lists l ON l.id = la.list_id WHERE l.actor_id = $1 AND la.actor_id = $2"
        " ON CONFLICT (list_id, actor_id) DO NOTHING", owner_id, origin_id, target_id)
    return int(result.rsplit(" ", 1)[-1])


async def carry_mutes(conn: Conn, origin_id: int, target_id: int) -> int:
    """Each local account that mutes `origin_id` mutes `target_id` too, notifications as it chose,
    unless it follows the target or already mutes it (Mastodon's MoveWorker carry_mutes_over!).
    A mute that has expired is gone; one for a time keeps its end. How many it carried."""
    result = await conn.execute(
        "INSERT INTO mutes (actor_id, target_id, hide_notifications, expires_at)"
        " SELECT mu.actor_id, $2, mu.hide_notifications, mu.expires_at FROM mutes mu"
        " JOIN actors a ON a.id = mu.actor_id"
        " WHERE mu.target_id = $1 AND a.local AND a.user_id IS NOT NULL AND mu.actor_id <> $2"
        " AND (mu.expires_at IS NULL OR mu.expires_at > now())"
        " AND NOT EXISTS (SELECT 1 FROM follows f WHERE f.follower_id = mu.actor_id"
        "  AND f.followed_id = $2 AND f.accepted)"
        " ON CONFLICT (actor_id, target_id) DO UPDATE SET hide_notifications = EXCLUDED.hide_notifications,"
        " expires_at = EXCLUDED.expires_at WHERE mutes.expires_at <= now()", origin_id, target_id)
    return int(result.rsplit(" ", 1)[-1])


async def blockers_to_carry(conn: Conn, origin_id: int, target_id: int) -> list[Record]:
    """The local accounts that block `origin_id` and neither block nor follow `target_id`: those
    whose block Mastodon's MoveWorker carries over (carry_blocks_over!)."""
    return await conn.fetch(
        "SELECT a.* FROM blocks b JOIN actors a ON a.id = b.actor_id"
        " WHERE b.target_id = $1 AND a.local AND a.user_id IS NOT NULL AND a.deleted_at IS NULL"
        " AND a.id <> $2"
        " AND NOT EXISTS (SELECT 1 FROM blocks tb WHERE tb.actor_id = a.id AND tb.target_id = $2)"
        " AND NOT EXISTS (SELECT 1 FROM follows f WHERE f.follower_id = a.id AND f.followed_id = $2"
        "  AND f.accepted) ORDER BY b.id", origin_id, target_id)
