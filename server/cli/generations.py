"""`likeness admin held`: drafts the output safety check held, reviewed from a shell.

Release and reject go through the same operations as the staff API (generation/jobs.py), and
the moderator named with `--as` is recorded as the reviewer, as a signed-in one would be."""

from __future__ import annotations

import argparse
from functools import partial
from typing import Any

from generation import jobs
from generation import store as gstore

from .. import store
from ..admin.generations import review_reason
from .common import WithInstance, fail


async def held_list(args: argparse.Namespace, instance: Any) -> int:
    rows = await gstore.jobs_in_state(instance.pool, "held", limit=args.limit, max_id=None)
    if not rows:
        print("no generation is held")
    for row in rows:
        score = f"{row['safety_score']:.2f}" if row["safety_score"] is not None else "-"
        print(f"{row['id']}\tscore {score}\t{row['held_reason'] or ''}\t{row['prompt'][:80]}")
    return 0


async def _review(args: argparse.Namespace, instance: Any, *, action: str) -> int:
    reviewer = await store.user_by_login(instance.pool, args.reviewer)
    if reviewer is None or reviewer["role"] not in ("admin", "moderator"):
        return fail(f"{args.reviewer!r} is not a moderator or admin here")
    if action == "release":
        done = await jobs.release_held(instance.jobs, args.id, reviewer["id"], instance.media)
    else:
        try:
            reason = review_reason(args.reason)
        except ValueError as exc:
            return fail(str(exc))
        done = await jobs.reject_held(instance.jobs, args.id, reviewer["id"], instance.media, reason)
    if done is None:
        row = await gstore.job(instance.pool, args.id)
        return fail("no such generation" if row is None else f"generation {args.id} is {row['state']},"
                     f" not held")
    print(f"generation {args.id} is now {done['state']}")
    return 0


def add_commands(admin: Any, run: WithInstance) -> None:
    """Add `likeness admin held ...`; `run` starts an instance for each command."""
    held = admin.add_parser("held", help="generations the output safety check held for review"
                            ).add_subparsers(dest="held_command", required=True)
    p = held.add_parser("list", help="the held generations, newest first")
    p.add_argument("--limit", type=int, default=40)
    p.set_defaults(func=lambda args: run(partial(held_list, args)))
    for action, text in (("release", "give the draft to its requester"),
                         ("reject", "fail the job and delete the draft")):
        p = held.add_parser(action, help=text)
        p.add_argument("id", type=int)
        p.add_argument("--as", dest="reviewer", required=True, help="the reviewing moderator's user name")
        if action == "reject":
            p.add_argument("--reason", help="shown to the requester")
        p.set_defaults(func=lambda args, action=action: run(partial(_review, args, action=action)))
