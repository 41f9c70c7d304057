"""`likeness admin reports|report|suspend|unsuspend|delete-account`: the moderators' queue from a
shell.

The commands act through server/admin/moderation.py and server/admin/account_deletion.py, as the admin API
does; the audit log records them with no moderator (the command line).
"""

from __future__ import annotations

import argparse
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any

import asyncpg

from federation import store as fstore
from policy.moderation import ACTIONS, MAX_TEXT, ModerationError, check_text

from .. import moderation_store as mstore
from .. import store
from ..admin import moderation
from ..admin.account_deletion import delete_account, suspended_deletion_refusal
from .common import WithInstance, fail


def _handle(actor: asyncpg.Record | None) -> str:
    if actor is None:
        return "(deleted account)"
    return f"@{actor['username']}" if actor["local"] else f"@{actor['username']}@{actor['domain']}"


def _source(report: asyncpg.Record, reporter: asyncpg.Record | None) -> str:
    if report["reporter_id"] is None:
        return "the system"
    if report["origin_domain"]:
        return f"{report['origin_domain']} ({_handle(reporter)})"
    return _handle(reporter)


def _state(report: asyncpg.Record) -> str:
    return "resolved" if report["resolved_at"] else "open"


async def _list(instance: Any, args: argparse.Namespace) -> int:
    rows = await mstore.reports(instance.pool, resolved=None if args.all else False, account_id=None,
                                limit=args.limit, max_id=None)
    actors = await store.actors_by_ids(instance.pool, [a for r in rows
                                                       for a in (r["reporter_id"], r["target_id"]) if a])
    for row in rows:
        comment = row["comment"].splitlines()[0][:60] if row["comment"] else ""
        print(f"#{row['id']}\t{_state(row)}\t{row['created_at']:%Y-%m-%d %H:%M}\t{row['category']}"
              f"\t{_handle(actors.get(row['target_id']))}\tby {_source(row, actors.get(row['reporter_id']))}"
              f"\t{comment}")
    if not rows:
        print("no reports" if args.all else "no open reports")
    return 0


async def _show(instance: Any, report: asyncpg.Record) -> None:
    pool = instance.pool
    actors = await store.actors_by_ids(pool, [a for a in (report["reporter_id"], report["target_id"]) if a])
    print(f"report #{report['id']} ({_state(report)}) on {_handle(actors.get(report['target_id']))}")
    print(f"category: {report['category']}")
    print(f"reported by {_source(report, actors.get(report['reporter_id']))}"
          f" at {report['created_at']:%Y-%m-%d %H:%M}")
    if report["assigned_to"]:
        print(f"assigned to: {(await store.user_by_id(pool, report['assigned_to']))['username']}")
    if report["generation_id"]:
        print(f"held generation: {report['generation_id']}")
    post_ids = (await mstore.report_posts(pool, [report["id"]])).get(report["id"], [])
    posts = await store.posts_by_ids(pool, post_ids)
    for post in posts.values():
        print(f"post {post['id']}: {post['uri']}")
    for cameo in (await mstore.report_cameos(pool, [report["id"]])).get(report["id"], []):
        print(f"cameo {cameo['id']}: {cameo['name']} ({cameo['uri']})")
    if report["comment"]:
        print("comment:")
        for line in report["comment"].splitlines():
            print(f"  {line}")
    actions = (await mstore.report_actions(pool, [report["id"]])).get(report["id"], [])
    if actions:
        print("actions:")
    for action in actions:
        who = action["moderator"] or "(command line)"
        text = f": {action['text']}" if action["text"] else ""
        print(f"  {action['created_at']:%Y-%m-%d %H:%M} {action['action']} by {who}{text}")


async def _report(instance: Any, args: argparse.Namespace) -> int:
    report = await mstore.report(instance.pool, args.id)
    if report is None:
        return fail(f"there is no report {args.id}")
    if args.move is None:
        await _show(instance, report)
        return 0
    try:
        text = check_text(args.text, "--text", MAX_TEXT)
        if report["resolved_at"] is not None:
            raise ModerationError(f"report {args.id} is resolved already")
        if args.action is None:
            await moderation.move_report(instance.pool, moderator_id=None, report_id=args.id, move="resolve")
        else:
            target = await fstore.actor_by_id(instance.pool, report["target_id"])
            await moderation.act_on_account(instance.fed, moderator_id=None, target=target,
                                            action=args.action, report_id=args.id, text=text)
    except ModerationError as exc:
        return fail(str(exc))
    print(f"report #{args.id} resolved" + (f" ({args.action})" if args.action else ""))
    return 0


async def _suspend(instance: Any, args: argparse.Namespace, *, action: str) -> int:
    username, _, domain = args.name.lstrip("@").partition("@")
    actor = await fstore.actor_by_handle(instance.pool, username, domain or instance.settings.domain)
    if actor is None or actor["type"] == "Application":
        return fail(f"no account {args.name!r} known here")
    try:
        await moderation.act_on_account(instance.fed, moderator_id=None, target=actor, action=action,
                                        text=check_text(args.text, "--text", MAX_TEXT))
    except ModerationError as exc:
        return fail(str(exc))
    print(f"{_handle(actor)} is {'now suspended' if action == 'suspend' else 'no longer suspended'}")
    return 0


async def _delete_account(instance: Any, args: argparse.Namespace) -> int:
    actor = await fstore.actor_by_handle(instance.pool, args.name.lstrip("@"), instance.settings.domain)
    if actor is None:
        return fail(f"no account {args.name!r} here")
    refusal = suspended_deletion_refusal(actor)
    if refusal is not None:
        return fail(refusal[1])
    await delete_account(instance, actor["user_id"])
    print(f"{_handle(actor)} is deleted: its posts, cameos and media are gone, and other servers"
          " are told")
    return 0


def _command(with_instance: WithInstance, command: Callable[..., Awaitable[int]],
             args: argparse.Namespace, **kwargs: Any) -> int:
    return with_instance(lambda instance: command(instance, args, **kwargs))


def add_commands(admin: Any, with_instance: WithInstance) -> None:
    """Register the commands under `likeness admin`."""
    p = admin.add_parser("reports", help="list open reports (--all: resolved ones too), newest first")
    p.add_argument("--all", action="store_true", help="resolved reports too")
    p.add_argument("--limit", type=int, default=40)
    p.set_defaults(func=partial(_command, with_instance, _list))
    p = admin.add_parser("report", help="show report N, or resolve it (with an action on the reported"
                                        " account)")
    p.add_argument("id", type=int, metavar="N")
    p.add_argument("move", nargs="?", choices=("resolve",))
    p.add_argument("--action", choices=ACTIONS["account"],
                   help="take this action on the reported account as it is resolved")
    p.add_argument("--text", help="the moderator's note, which the account's owner is shown")
    p.set_defaults(func=partial(_command, with_instance, _report))
    for action in ("suspend", "unsuspend"):
        p = admin.add_parser(action, help=f"{action} an account (a local name, or user@domain)")
        p.add_argument("name")
        p.add_argument("--text", help="the moderator's note, which the account's owner is shown")
        p.set_defaults(func=partial(_command, with_instance, _suspend, action=action))
    p = admin.add_parser("delete-account", help="delete a suspended local account for good (its posts,"
                                                " cameos and media; other servers are told)")
    p.add_argument("name")
    p.set_defaults(func=partial(_command, with_instance, _delete_account))
