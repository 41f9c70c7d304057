"""Queueing arq jobs in one round trip, and waking the workers that wait for them.

arq's own `enqueue_job` takes four Redis commands in three round trips (WATCH, EXISTS, then
MULTI/PSETEX/ZADD/EXEC), and its workers see the job only at their next poll, up to a poll
interval later. This does the same as one Lua script, which Redis runs atomically (so the
uniqueness of a job id holds as with arq's WATCH), and which publishes on the queue's wake channel
in the same step: the workers of that queue, on any machine, poll at once (`server.queue_worker`).
A lost wake costs nothing but the wait: the workers still poll at their interval.

Jobs queued while a call for their queue is in flight go together in the next call
(federation/batching.py): under load, concurrent inbox POSTs share one round trip instead of
paying one each; alone, a job goes at once.
"""

from __future__ import annotations

import functools
import time
import weakref
from dataclasses import dataclass
from typing import Any

from arq.constants import expires_extra_ms, job_key_prefix, result_key_prefix
from arq.jobs import serialize_job
from redis.commands.core import AsyncScript

from .batching import Batches

# KEYS: the queue, then each job's key and its result's key. ARGV: the channel to wake, then for
# each job its id, its score (when it is due, in ms), how long its key lives (ms), the serialised
# job, and "1" when it is due now (a deferred job wakes no one: the poll finds it when due).
# Returns 1 or 0 for each job: queued, or refused as a job of that id exists (queued, running,
# or with a kept result).
_ENQUEUE = AsyncScript(None, b"""
local queued, wake = {}, false
for i = 1, (#KEYS - 1) / 2 do
    local at = 2 + (i - 1) * 5
    if redis.call('EXISTS', KEYS[2 * i], KEYS[2 * i + 1]) > 0 then
        queued[i] = 0
    else
        redis.call('PSETEX', KEYS[2 * i], ARGV[at + 2], ARGV[at + 3])
        redis.call('ZADD', KEYS[1], ARGV[at + 1], ARGV[at])
        queued[i] = 1
        wake = wake or ARGV[at + 4] == '1'
    end
end
if wake then
    redis.call('PUBLISH', ARGV[1], '')
end
return queued
""")


def wake_channel(queue_name: str) -> str:
    """The channel on which a queue's workers are told a job is due."""
    return f"{queue_name}:wake"


@dataclass(frozen=True)
class _Job:
    job_id: str
    score: int
    ttl_ms: int
    serialised: bytes
    due_now: bool


async def _send(redis: Any, queue_name: str, jobs: list[_Job]) -> list[bool]:
    """Queue `jobs` in one call of the script; whether each was queued."""
    queued = await _ENQUEUE(
        keys=[queue_name, *(key for job in jobs for key in (
            job_key_prefix + job.job_id, result_key_prefix + job.job_id))],
        args=[wake_channel(queue_name), *(value for job in jobs for value in (
            job.job_id, job.score, job.ttl_ms, job.serialised, "1" if job.due_now else "0"))],
        client=redis)
    return [bool(result) for result in queued]


_batches: weakref.WeakKeyDictionary[Any, dict[str, Batches[_Job, bool]]] = weakref.WeakKeyDictionary()


async def enqueue_job(redis: Any, queue_name: str, function: str, args: tuple[Any, ...], job_id: str,
                      *, defer_by: float | None = None) -> bool:
    """Queue `function(*args)` as arq's `enqueue_job` would (same keys, same serialised job, so
    arq's workers run it); False when a job of that id is queued, running or has a kept result."""
    now_ms = int(time.time() * 1000)
    defer_ms = round(defer_by * 1000) if defer_by else 0
    job = _Job(job_id, now_ms + defer_ms, defer_ms + expires_extra_ms,
               serialize_job(function, args, {}, None, now_ms, serializer=redis.job_serializer),
               due_now=not defer_ms)
    queues = _batches.setdefault(redis, {})
    batches = queues.get(queue_name)
    if batches is None:
        batches = queues[queue_name] = Batches(functools.partial(_send, redis, queue_name))
    return await batches.add(job)
