"""Move: an account moved to another server. One that carries its old key's proof is a
succession (PROTOCOL.md "Succession"), kept so that the consent it gave still verifies once
its old server is gone."""

from __future__ import annotations

from typing import Any

from .. import succession
from ..context import Federation
from ..errors import Ignore
from .common import raw_body


async def handle(fed: Federation, activity: dict[str, Any]) -> None:
    if not await succession.receive_move(fed, await raw_body(fed, activity)):
        raise Ignore("a Move that proves no succession")
