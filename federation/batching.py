"""Calls made while one is in flight go together in the next one (as a database commits a group of
transactions with one flush): under load, concurrent requests share one round trip instead of
paying one each; alone, a call goes at once. The Redis queue (federation/queue.py) and the inbox's
inserts (federation/inbox.py) batch this way.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

Item = TypeVar("Item")
Result = TypeVar("Result")


class Batches(Generic[Item, Result]):
    """`add(item)` returns `send(items)`'s result for that item; `send` gets every item added while
    the call before it was in flight, and returns one result per item, in order. An exception of
    `send` is raised to each caller of its batch."""

    def __init__(self, send: Callable[[list[Item]], Awaitable[Sequence[Result]]]) -> None:
        self.send = send
        self.waiting: list[tuple[Item, asyncio.Future[Result]]] = []
        self.sender: asyncio.Task[None] | None = None

    async def add(self, item: Item) -> Result:
        future: asyncio.Future[Result] = asyncio.get_running_loop().create_future()
        self.waiting.append((item, future))
        if self.sender is None:
            self.sender = asyncio.create_task(self._send())
        return await future

    async def _send(self) -> None:
        try:
            while self.waiting:
                batch, self.waiting = self.waiting, []
                try:
                    results = await self.send([item for item, _ in batch])
                except BaseException as exc:
                    for _, future in batch:
                        if future.done():
                            continue
                        if isinstance(exc, Exception):
                            future.set_exception(exc)
                        else:
                            future.cancel()
                    if not isinstance(exc, Exception):
                        raise
                    continue
                for (_, future), result in zip(batch, results, strict=True):
                    if not future.done():
                        future.set_result(result)
        finally:
            self.sender = None
            for _, future in self.waiting:
                future.cancel()
            self.waiting = []
