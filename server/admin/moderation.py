"""Moderation actions, report moves and role changes, shared by the admin API and the CLI.

Each action changes its target, is written to the audit log and tells the owner (a
`moderation_warning`), in one transaction; what it federates (a post's `Delete`, a suspended or
unsuspended actor's `Update`) is queued in that transaction and sent after it.
policy/moderation.py says which action applies where and how a report moves. `moderator_id` is
None for the admin command line.
"""

from __future__ import annotations

import asyncpg

from federation import delivery, outbox
from federation import store as fstore
from federation.context import Federation
from policy.moderation import UNDO, ModerationError, check_action, report_move, report_state, warning

from .. import moderation_store as mstore
from .. import store
from ..api.cameos import forget_deleted_cameo
from ..runtime import Instance

Record = asyncpg.Record


async def act_on_account(fed: Federation, *, moderator_id: int | None, target: Record, action: str,
                         report_id: int | None = None, text: str = "") -> int:
    """Take an account action (or undo one). With a report, the report is resolved too, as
    Mastodon's admin API does. Returns the audit entry's id."""
    check_action("account", action, local=target["local"])
    if target.get("deleted_at") is not None:
        raise ModerationError("this account was deleted")
    async with fed.pool.acquire() as conn, conn.transaction():
        report = await _report_for(conn, report_id, target["id"])
        deliveries = await _account_effect(conn, fed, target, action)
        action_id = await mstore.insert_action(conn, moderator_id=moderator_id, action=action,
                                               target_kind="account", account_id=target["id"],
                                               report_id=report_id, text=text)
        await _warn(conn, target["id"], "account", action, action_id)
        if report is not None and report["resolved_at"] is None:
            await _move(conn, report, "resolve", moderator_id)
    await delivery.start(fed, deliveries)
    return action_id


async def _account_effect(conn: asyncpg.Connection, fed: Federation, target: Record, action: str
                          ) -> list[int]:
    if action == "none":
        return []
    undone = UNDO.get(action)
    kind, on = (undone, False) if undone else (action, True)
    if kind == "disable":
        await mstore.set_user_disabled(conn, target["user_id"], on)
        return []
    await mstore.set_account_flag(conn, target["id"], kind, on)
    if kind != "suspend":
        return []
    if target["local"]:
        # Other servers hide the account (its actor says `suspended`) and show it again when
        # an unsuspend sends the actor as it is now.
        return await outbox.queue_actor_update(conn, fed, await fstore.actor_by_id(conn, target["id"]))
    if on:
        return await outbox.queue_follows_ended(conn, target, await mstore.sever_follows(conn, target["id"]))
    return []


async def act_on_status(fed: Federation, *, moderator_id: int | None, post: Record, action: str,
                        report_id: int | None = None, text: str = "") -> int:
    """Hide, unhide, delete or mark sensitive one post. A delete is the author's own deletion,
    federated; a remote post is deleted here only."""
    check_action("status", action, local=post["local"])
    async with fed.pool.acquire() as conn, conn.transaction():
        await _report_for(conn, report_id, post["actor_id"])
        deliveries: list[int] = []
        if action in ("hide", "unhide"):
            await mstore.set_post_hidden(conn, post["id"], action == "hide")
        elif action == "sensitive":
            await mstore.mark_post_sensitive(conn, post["id"])
        elif post["local"]:
            author = await fstore.actor_by_id(conn, post["actor_id"])
            deliveries = await outbox.queue_post_delete(conn, fed, author, post)
        else:
            await fstore.soft_delete_post(conn, post["id"])
        action_id = await mstore.insert_action(conn, moderator_id=moderator_id, action=action,
                                               target_kind="status", account_id=post["actor_id"],
                                               post_id=post["id"], report_id=report_id, text=text)
        await _warn(conn, post["actor_id"], "status", action, action_id)
    await delivery.start(fed, deliveries)
    return action_id


async def act_on_cameo(instance: Instance, *, moderator_id: int | None, cameo: Record, action: str,
                       report_id: int | None = None, text: str = "") -> int:
    """Pause a cameo (no one can use it until its owner resumes it) or delete it and its
    reference images, withdrawing every consent given with it (federation.remix.withdraw_cameo)."""
    check_action("cameo", action, local=cameo["local"])
    assert instance.pool is not None
    keys: list[str] = []
    async with instance.pool.acquire() as conn, conn.transaction():
        await _report_for(conn, report_id, cameo["actor_id"])
        if action == "pause":
            await mstore.pause_cameo(conn, cameo["id"])
        else:
            keys = await fstore.delete_cameo(conn, cameo["id"])
        action_id = await mstore.insert_action(conn, moderator_id=moderator_id, action=action,
                                               target_kind="cameo", account_id=cameo["actor_id"],
                                               cameo_id=cameo["id"], report_id=report_id, text=text)
        await _warn(conn, cameo["actor_id"], "cameo", action, action_id)
    if action == "delete":
        await forget_deleted_cameo(instance, cameo, keys)
    return action_id


async def change_role(pool: asyncpg.Pool, *, moderator_id: int | None, username: str, role: str
                      ) -> Record | None:
    """Give a local account another role (checked by the caller) and write who did it, and the
    roles before and after, to the audit log, in one transaction. Returns the user as they were,
    or None when there is no such user; a role they already have is no change and no entry."""
    async with pool.acquire() as conn, conn.transaction():
        user = await mstore.lock_user(conn, username)
        if user is not None and user["role"] != role:
            await store.set_role(conn, user["username"], role)
            await mstore.insert_action(conn, moderator_id=moderator_id, action="change_role",
                                       target_kind="account", account_id=user["actor_id"],
                                       old_role=user["role"], new_role=role)
    return user


async def move_report(pool: asyncpg.Pool, *, moderator_id: int | None, report_id: int, move: str
                      ) -> Record | None:
    """Assign, unassign, resolve or reopen a report; None when there is no such report."""
    async with pool.acquire() as conn, conn.transaction():
        report = await mstore.lock_report(conn, report_id)
        if report is None:
            return None
        await _move(conn, report, move, moderator_id)
    return await mstore.report(pool, report_id)


async def _move(conn: asyncpg.Connection, report: Record, move: str, moderator_id: int | None) -> None:
    state = report_move(report_state(report["resolved_at"] is not None), move)
    if move in ("assign_to_self", "unassign"):
        await mstore.assign_report(conn, report["id"], moderator_id if move == "assign_to_self" else None)
    else:
        await mstore.resolve_report(conn, report["id"], moderator_id, state == "resolved")
    await mstore.insert_action(conn, moderator_id=moderator_id, action=move, target_kind="report",
                               account_id=report["target_id"], report_id=report["id"])
    if move == "resolve":
        reporter = await mstore.user_of_actor(conn, report["reporter_id"])
        if reporter is not None:
            await mstore.notify(conn, reporter, "report_resolved", report_id=report["id"])


async def _report_for(conn: asyncpg.Connection, report_id: int | None, account_id: int) -> Record | None:
    """The report an action is taken under, which must be about the target's account."""
    if report_id is None:
        return None
    report = await mstore.lock_report(conn, report_id)
    if report is None:
        raise ModerationError(f"there is no report {report_id}")
    if report["target_id"] != account_id:
        raise ModerationError(f"report {report_id} is about another account")
    return report


async def _warn(conn: asyncpg.Connection, account_id: int, kind: str, action: str, action_id: int) -> None:
    """Tell a local owner what was done, as Mastodon's `moderation_warning` (never for `none` or
    for undoing an action)."""
    if warning(kind, action) is None:
        return
    user_id = await mstore.user_of_actor(conn, account_id)
    if user_id is not None:
        await mstore.notify(conn, user_id, "moderation_warning", action_id=action_id)
