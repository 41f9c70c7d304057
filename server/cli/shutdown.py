"""`likeness admin shutdown-notice`: close the server down properly (server/shutdown.py)."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from functools import partial
from typing import Any

from ..shutdown import give_notice
from .common import WithInstance, fail

MAX_MESSAGE = 1000


def closing_date(text: str) -> datetime:
    """An ISO 8601 date or date and time; a date alone closes at its midnight, UTC."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date: {text!r} (write 2027-01-31 or"
                                         " 2027-01-31T18:00+01:00)") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


async def shutdown_notice(args: argparse.Namespace, instance: Any) -> int:
    if len(args.message) > MAX_MESSAGE:
        return fail(f"the message must be at most {MAX_MESSAGE} characters")
    try:
        given = await give_notice(instance.fed, args.until, args.message.strip())
    except ValueError as exc:
        return fail(str(exc))
    print(f"this server closes on {given.notice['until']} (announced {given.notice['announced']});"
          f" {given.notified} accounts notified, {given.archives} archives asked for")
    return 0


def add_commands(admin: Any, run: WithInstance) -> None:
    """Add `likeness admin shutdown-notice`; `run` starts an instance for it."""
    p = admin.add_parser("shutdown-notice", help="announce that this server closes: every account is"
                         " told and gets its archive, every known server gets an Update")
    p.add_argument("--until", type=closing_date, required=True,
                   help="when the server closes (ISO 8601; a date alone is its midnight UTC)")
    p.add_argument("--message", default="", help="what to tell people, besides when")
    p.set_defaults(func=lambda args: run(partial(shutdown_notice, args)))
