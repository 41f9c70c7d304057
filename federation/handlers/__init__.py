"""One handler per activity type, dispatched by type (as Mastodon's activity/ folder does)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from ..context import Federation
from . import (
               accept,
               announce,
               block,
               create,
               delete,
               flag,
               follow,
               like,
               move,
               quote_request,
               reject,
               remix_request,
               undo,
               update,
)

Handler = Callable[[Federation, dict[str, Any]], Awaitable[None]]

HANDLERS: dict[str, Handler] = {
    "Accept": accept.handle,
    "Announce": announce.handle,
    "Block": block.handle,
    "Create": create.handle,
    "Delete": delete.handle,
    "Flag": flag.handle,
    "Follow": follow.handle,
    "Like": like.handle,
    "Move": move.handle,
    "QuoteRequest": quote_request.handle,
    "Reject": reject.handle,
    "RemixRequest": remix_request.handle,
    "Undo": undo.handle,
    "Update": update.handle,
}
