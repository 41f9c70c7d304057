"""RemixRequest: someone asks to use a local cameo (PROTOCOL.md step 1)."""

from __future__ import annotations

from typing import Any

from .. import remix
from ..context import Federation


async def handle(fed: Federation, activity: dict[str, Any]) -> None:
    await remix.receive_request(fed, activity)
