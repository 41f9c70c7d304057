"""Work started in the background of this process: the event loop keeps no reference to a task,
so the caller's set does while it runs, and a failure is logged rather than lost."""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Coroutine
from typing import Any

log = logging.getLogger(__name__)


def start(running: set[asyncio.Task[Any]], work: Coroutine[Any, Any, Any], what: str) -> None:
    """Run `work` as a task kept in `running` until it ends; `what` names it in the log."""
    task = asyncio.create_task(work)
    running.add(task)
    task.add_done_callback(functools.partial(_ended, running, what))


def _ended(running: set[asyncio.Task[Any]], what: str, task: asyncio.Task[Any]) -> None:
    running.discard(task)
    if not task.cancelled() and task.exception() is not None:
        log.error("%s failed", what, exc_info=task.exception())
