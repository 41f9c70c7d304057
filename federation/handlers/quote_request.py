"""QuoteRequest (FEP-044f, Mastodon 4.5): someone asks to quote one of our posts."""

from __future__ import annotations

from typing import Any

from .. import quotes
from ..context import Federation


async def handle(fed: Federation, activity: dict[str, Any]) -> None:
    await quotes.receive_request(fed, activity)
