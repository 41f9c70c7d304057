"""Accept: a remote actor accepted a local actor's Follow."""

from __future__ import annotations

from typing import Any

from .. import remix, store
from ..context import Federation
from ..errors import Ignore
from .common import follow_answered, raw_body


async def handle(fed: Federation, activity: dict[str, Any]) -> None:
    # An answer to a RemixRequest is read from the JSON as received: it may carry a signed
    # authorization, which is checked on exactly those bytes.
    if await remix.receive_answer(fed, await raw_body(fed, activity)):
        return
    row = await follow_answered(fed, activity)
    if row is None:
        raise Ignore("Accept of no Follow we sent to this actor")
    await store.accept_follow(fed.pool, row["id"])
    # Its server now lists to this one what it shows its followers' servers (their cameos):
    # the next look at the account fetches them again.
    await store.backfill_again(fed.pool, row["followed_id"])
