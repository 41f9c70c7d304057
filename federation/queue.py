"""Queueing an arq job in one round trip, and waking the workers that wait for it.

arq's own `enqueue_job` takes four Redis commands in three round trips (WATCH, EXISTS, then
MULTI/PSETEX/ZADD/EXEC), and its workers see the job only at their next poll, up to a poll
interval later. This does the same as one Lua script, which Redis runs atomically (so the
uniqueness of a job id holds as with arq's WATCH), and which publishes on the queue's wake channel
in the same step: the workers of that queue, on any machine, poll at once (`server.queue_worker`).
A lost wake costs nothing but the wait: the workers still poll at their interval.
"""

from __future__ import annotations

import time
from typing import Any

from arq.constants import expires_extra_ms, job_key_prefix, result_key_prefix
from arq.jobs import serialize_job
from redis.commands.core import AsyncScript

# KEYS: the job's key, its result's key, the queue. ARGV: the job id, its score (when it is due,
# in ms), how long the job key lives (ms), the serialised job, the channel to wake ("" when the
# job is deferred: the poll finds it when it is due).
_ENQUEUE = AsyncScript(None, b"""
if redis.call('EXISTS', KEYS[1], KEYS[2]) > 0 then
    return 0
end
redis.call('PSETEX', KEYS[1], ARGV[3], ARGV[4])
redis.call('ZADD', KEYS[3], ARGV[2], ARGV[1])
if ARGV[5] ~= '' then
    redis.call('PUBLISH', ARGV[5], '')
end
return 1
""")


def wake_channel(queue_name: str) -> str:
    """The channel on which a queue's workers are told a job is due."""
    return f"{queue_name}:wake"


async def enqueue_job(redis: Any, queue_name: str, function: str, args: tuple[Any, ...], job_id: str,
                      *, defer_by: float | None = None) -> bool:
    """Queue `function(*args)` as arq's `enqueue_job` would (same keys, same serialised job, so
    arq's workers run it); False when a job of that id is queued, running or has a kept result."""
    now_ms = int(time.time() * 1000)
    defer_ms = round(defer_by * 1000) if defer_by else 0
    job = serialize_job(function, args, {}, None, now_ms, serializer=redis.job_serializer)
    queued = await _ENQUEUE(
        keys=[job_key_prefix + job_id, result_key_prefix + job_id, queue_name],
        args=[job_id, now_ms + defer_ms, defer_ms + expires_extra_ms, job,
              "" if defer_ms else wake_channel(queue_name)],
        client=redis)
    return bool(queued)
