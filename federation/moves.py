"""Account moves, as Mastodon makes them.

The new account first lists the old one among its aliases (`alsoKnownAs`); the old one then names
the new one (`movedTo`), sends an `Update` of itself and a `Move` {actor: old, object: old,
target: new} to its followers, and posts no more. A server that receives the Move fetches the
target afresh, checks that it lists the origin, and moves its local followers' follows: a Follow
of the target, an Undo of the Follow of the origin (Mastodon's MoveWorker and
UnfollowFollowWorker). The same happens here for the local followers of a local account.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

import asyncpg

from . import actors, delivery, fetch, objects, outbox, store, streams
from .context import Federation

log = logging.getLogger(__name__)

Record = asyncpg.Record

# Mastodon's AccountMigration::COOLDOWN_PERIOD: an account moves at most once in this time.
COOLDOWN = timedelta(days=30)
# Mastodon's Move PROCESSING_COOLDOWN: another Move of the same account within this time is a
# repeat (or a loop) and is ignored.
REPEAT_WINDOW = timedelta(days=7)


class MoveError(ValueError):
    """An alias or a move refused as asked; `status` is the HTTP answer."""

    def __init__(self, message: str, status: int = 422) -> None:
        super().__init__(message)
        self.status = status


async def resolve_account(fed: Federation, name: str) -> Record:
    """The account a person names (`user@host`, `@user@host`, a local username, or an actor's
    address), fetched afresh from its server when remote: what it lists as its aliases now is
    what a move is checked against."""
    name = name.strip() if isinstance(name, str) else ""
    if not name:
        raise MoveError("name an account: user@host or its address")
    try:
        if name.startswith(("https://", "http://")):
            found = await actors.actor(fed, name, refresh=True)
        elif "@" not in name.lstrip("@"):
            found = await store.local_actor(fed.pool, name.lstrip("@"))
            if found is None:
                raise MoveError(f"no account {name!r} here", 404)
        else:
            found = await actors.resolve_handle(fed, name)
            if not found["local"]:
                found = await actors.actor(fed, found["uri"], refresh=True)
    except (fetch.FetchError, actors.ActorError) as exc:
        raise MoveError(f"no account found for {name!r}: {exc}", 404) from None
    if found["type"] == "Application" or found["deleted_at"] is not None:
        raise MoveError(f"{name!r} is not a person's account", 404)
    return found


async def add_alias(fed: Federation, actor: Record, name: str) -> tuple[Record, Record]:
    """List the account `name` among `actor`'s aliases (Mastodon's "Moving from a different
    account"), so that it can move here; its followers' servers get an `Update`. Returns the
    actor as it is now and the aliased account."""
    target = await resolve_account(fed, name)
    if target["id"] == actor["id"]:
        raise MoveError("an account cannot be its own alias")
    async with fed.pool.acquire() as conn, conn.transaction():
        updated = await store.add_alias(conn, actor["id"], target["uri"])
        ids = await outbox.queue_actor_update(conn, fed, updated)
    await delivery.start(fed, ids)
    return updated, target


async def remove_alias(fed: Federation, actor: Record, name: str) -> Record:
    """Take an alias away, named by its address or its handle (looked up here only: an account
    that is gone can still be taken off). Returns the actor as it is now."""
    name = name.strip() if isinstance(name, str) else ""
    uri = name
    if not name.startswith(("https://", "http://")):
        username, _, host = name.lstrip("@").partition("@")
        known = await store.actor_by_handle(fed.pool, username, host or fed.domain) if username else None
        uri = known["uri"] if known is not None else ""
    async with fed.pool.acquire() as conn, conn.transaction():
        updated = await store.remove_alias(conn, actor["id"], uri) if uri else None
        if updated is None:
            raise MoveError(f"{name!r} is not one of your aliases", 404)
        ids = await outbox.queue_actor_update(conn, fed, updated)
    await delivery.start(fed, ids)
    return updated


async def cooldown_until(fed: Federation, actor: Record) -> datetime | None:
    """When `actor` may move again, while its last move is within the cooldown; else None."""
    last = await store.last_migration(fed.pool, actor["id"], COOLDOWN)
    return last["created_at"] + COOLDOWN if last is not None else None


async def move_out(fed: Federation, actor: Record, name: str) -> Record:
    """Move the local `actor` to the account `name` (its owner has confirmed): refused unless
    that account lists this one among its aliases, and within the cooldown. Returns the target.

    The redirect, the `Update` and the `Move` to every follower's server commit together; the
    local followers then follow the target and leave the origin."""
    until = await cooldown_until(fed, actor)
    if until is not None:
        raise MoveError(f"this account moved less than {COOLDOWN.days} days ago; it can move again "
                        f"after {objects.iso(until)}")
    target = await resolve_account(fed, name)
    if target["id"] == actor["id"]:
        raise MoveError("an account cannot move to itself")
    if actor["moved_to_uri"] == target["uri"]:
        raise MoveError(f"this account has already moved to {actors.handle_of(target)}")
    if actor["uri"] not in target["also_known_as"]:
        raise MoveError(f"{actors.handle_of(target)} does not list this account among its aliases: add "
                        f"{actors.handle_of(actor)} as an alias on {actors.handle_of(target)} first")
    if target["moved_to_uri"]:
        raise MoveError(f"{actors.handle_of(target)} has itself moved away")
    if target["suspended"]:
        raise MoveError(f"{actors.handle_of(target)} is suspended")
    async with fed.pool.acquire() as conn, conn.transaction():
        await store.lock_actor(conn, actor["id"])
        if await store.last_migration(conn, actor["id"], COOLDOWN) is not None:
            raise MoveError("this account has just moved", 409)
        followers = await store.count_follows(conn, actor["id"], followers=True)
        await store.insert_migration(conn, actor["id"], target["id"], followers)
        moved = await store.set_moved_to(conn, actor["id"], target["uri"])
        ids = await outbox.queue_actor_update(conn, fed, moved)
        ids += await outbox.queue_move(conn, fed, moved, target)
    await delivery.start(fed, ids)
    await move_local_followers(fed, moved, target)
    await carry_mutes_and_blocks(fed, moved, target)
    return target


async def move_local_followers(fed: Federation, origin: Record, target: Record) -> int:
    """Each local follower of `origin` follows `target` (a Follow sent when it is remote) and
    unfollows `origin` (an Undo), its lists now holding `target` too, and is told (notification
    `move`). Skipped for a follower that the target blocks or that blocks it, as Mastodon's
    FollowService refuses them. Returns how many moved."""
    moved = 0
    for follower in await store.local_followers(fed.pool, origin["id"]):
        if follower["id"] == target["id"]:
            continue
        try:
            await outbox.follow(fed, follower, target)
        except outbox.ActionError as exc:
            log.info("not moving %s's follow of %s: %s", follower["uri"], origin["uri"], exc)
            continue
        async with fed.pool.acquire() as conn, conn.transaction():
            await store.carry_list_memberships(conn, follower["id"], origin["id"], target["id"])
            notification_id = await store.insert_notification(conn, follower["user_id"], "move",
                                                              origin["id"])
        await outbox.unfollow(fed, follower, origin)
        await streams.notification(fed, follower["user_id"], notification_id)
        moved += 1
    return moved


async def carry_mutes_and_blocks(fed: Federation, origin: Record, target: Record) -> None:
    """After the followers moved: the local accounts that mute `origin` mute `target`, and those
    that block it block `target` (a Block sent when it is remote), except where they already
    mute or block it or follow it, as Mastodon's MoveWorker carries them over."""
    await store.carry_mutes(fed.pool, origin["id"], target["id"])
    for blocker in await store.blockers_to_carry(fed.pool, origin["id"], target["id"]):
        await outbox.block(fed, blocker, target)


async def accept_move(fed: Federation, origin: Record, target_uri: str) -> Record | None:
    """A remote account's `Move` to `target_uri`, once its signer is known to be `origin`: the
    target fetched afresh must list the origin among its aliases; a repeated Move within
    REPEAT_WINDOW, a target that itself moved, one that is suspended, or a move to itself is
    refused. Records the redirect and moves the local followers; returns the target, or None
    when the Move is a repeat."""
    if target_uri == origin["uri"]:
        raise MoveError("a Move to the account itself")
    target = await store.actor_by_uri(fed.pool, target_uri)
    if target is None or not target["local"]:
        target = await actors.fetch_actor(fed, target_uri)
    if origin["uri"] not in target["also_known_as"]:
        raise MoveError("the target does not list the origin among its aliases")
    if target["moved_to_uri"]:
        raise MoveError("the target has itself moved")
    if target["suspended"]:
        raise MoveError("the target is suspended")
    async with fed.pool.acquire() as conn, conn.transaction():
        await store.lock_actor(conn, origin["id"])
        if await store.last_migration(conn, origin["id"], REPEAT_WINDOW) is not None:
            return None
        followers = len(await store.local_followers(conn, origin["id"]))
        await store.insert_migration(conn, origin["id"], target["id"], followers)
        moved = await store.set_moved_to(conn, origin["id"], target["uri"])
    await move_local_followers(fed, moved, target)
    await carry_mutes_and_blocks(fed, moved, target)
    return target
