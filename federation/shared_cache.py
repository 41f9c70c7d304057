"""A value that each process keeps in memory and that every process reloads when one changes it:
rules read on hot paths (every inbox POST, every prompt) that admins change rarely, through any
web server, worker or CLI command of the instance, on any machine.

A change bumps a counter in Redis; a process looks at the counter at most once every `poll_s`
and reloads when it has moved, so another machine sees a change within about a second. Without
Redis (or while it is unreachable) a process still reloads every `reload_s`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any, Generic, TypeVar

from redis.exceptions import RedisError

log = logging.getLogger(__name__)

T = TypeVar("T")

VERSION_POLL_SECONDS = 1.0


class SharedCache(Generic[T]):
    """`load()`'s result, kept until another process (or this one) announces a change."""

    def __init__(self, load: Callable[[], Awaitable[T]], *, reload_s: float, redis: Any = None,
                 version_key: str | None = None, poll_s: float = VERSION_POLL_SECONDS) -> None:
        self._load = load
        self.reload_s = reload_s
        self.redis = redis
        self.version_key = version_key
        self.poll_s = poll_s
        self._value: T | None = None
        self._loaded_at = 0.0
        self._checked_at = 0.0
        self._version: Any = None
        self._lock = asyncio.Lock()

    def _fresh(self) -> bool:
        return self._value is not None and time.monotonic() - self._checked_at < self.poll_s

    async def get(self) -> T:
        if self._fresh():
            return self._value  # type: ignore[return-value]
        async with self._lock:
            if self._fresh():
                return self._value  # type: ignore[return-value]
            version = await self._read_version()
            if self._value is None or version != self._version \
                    or time.monotonic() - self._loaded_at > self.reload_s:
                self._value = await self._load()
                self._loaded_at = time.monotonic()
            self._version = version
            self._checked_at = time.monotonic()
            return self._value

    async def changed(self) -> None:
        """Drop this process's copy and tell the others (through Redis) to drop theirs."""
        self._value = None
        if self.redis is None or self.version_key is None:
            return
        try:
            await self.redis.incr(self.version_key)
        except (OSError, RedisError) as exc:
            log.warning("could not announce a change of %s, other processes see it within %.0f s: %s",
                        self.version_key, self.reload_s, exc)

    async def _read_version(self) -> Any:
        if self.redis is None or self.version_key is None:
            return None
        try:
            return await self.redis.get(self.version_key)
        except (OSError, RedisError):
            return self._version
