"""Accept: a remote actor accepted a local actor's Follow."""

from __future__ import annotations

from typing import Any

from .. import store
from ..context import Federation
from ..errors import Ignore
from .common import follow_answered


async def handle(fed: Federation, activity: dict[str, Any]) -> None:
    row = await follow_answered(fed, activity)
    if row is None:
        raise Ignore("Accept of no Follow we sent to this actor")
    await store.accept_follow(fed.pool, row["id"])
