"""An arq worker that polls as soon as a job is queued, not only at its poll interval.

`federation.queue.enqueue_job` publishes on the queue's wake channel when it queues a job that is
due now; this worker listens there (one Redis connection) and starts its next poll at once. A
consent round trip passes through four queued jobs on two instances, so the wait for the poll was
most of its time. The poll interval stays as the fallback: for deferred jobs, cron jobs, and any
wake lost while Redis or the subscription was down.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from arq.worker import Worker
from redis.exceptions import RedisError

from federation.queue import wake_channel

log = logging.getLogger(__name__)

# How long the listener waits before subscribing again after losing Redis.
RESUBSCRIBE_S = 1.0


class WakingWorker(Worker):
    """arq's worker, whose wait between polls a wake cuts short.

    arq sleeps `poll_delay` between polls; here arq's own sleep is zero and the wait is ours,
    after each poll: until a wake, or `poll_delay` at most."""

    def __init__(self, *args: Any, poll_delay: float, **kwargs: Any) -> None:
        # arq's cron window is max(poll_delay, 0.5): with arq's delay at zero it stays 0.5, as for
        # any delay under half a second.
        super().__init__(*args, poll_delay=0, **kwargs)
        self.fallback_poll_s = poll_delay
        self._woken = asyncio.Event()
        self._listener: asyncio.Task[None] | None = None

    async def _poll_iteration(self) -> None:
        if self._listener is None:
            # The pool exists from arq's `main` on, which calls this.
            self._listener = asyncio.create_task(self._listen())
        # Cleared before the poll reads the queue: a wake for a job queued after that read is
        # kept for the wait below.
        self._woken.clear()
        await super()._poll_iteration()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(self.fallback_poll_s):
                await self._woken.wait()

    async def _listen(self) -> None:
        channel = wake_channel(self.queue_name)
        while True:
            try:
                async with self.pool.pubsub() as pubsub:
                    await pubsub.subscribe(channel)
                    # A job queued while no subscription was open has had no wake.
                    self._woken.set()
                    async for message in pubsub.listen():
                        if message["type"] == "message":
                            self._woken.set()
            except (OSError, RedisError) as exc:
                log.warning("no wake-ups from %s, polling every %s s meanwhile: %s", channel,
                            self.fallback_poll_s, exc)
            await asyncio.sleep(RESUBSCRIBE_S)

    async def close(self) -> None:
        if self._listener is not None:
            self._listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._listener
            self._listener = None
        await super().close()
