"""Queueing a job in one round trip, and the workers woken by it (federation/queue.py,
server/queue_worker.py)."""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

import pytest
from arq import create_pool, func
from arq.connections import ArqRedis, RedisSettings
from arq.jobs import Job, JobStatus

from federation.queue import enqueue_job, wake_channel
from server.queue_worker import WakingWorker
from tests.conftest import eventually


@pytest.fixture
async def redis(redis_url: str) -> Any:
    pool = await create_pool(RedisSettings.from_dsn(redis_url))
    yield pool
    await pool.aclose()


def _queue() -> str:
    return f"test-queue:{uuid.uuid4().hex}"


async def test_a_queued_job_is_arqs_own(redis):
    """arq reads the job as one it queued itself: same keys, same serialised call."""
    queue = _queue()
    assert await enqueue_job(redis, queue, "handle", (7, "x"), f"{queue}:one") is True
    job = Job(f"{queue}:one", redis, _queue_name=queue)
    assert await job.status() == JobStatus.queued
    info = await job.info()
    assert (info.function, info.args, info.kwargs) == ("handle", (7, "x"), {})
    assert 0 < await redis.pttl(f"arq:job:{queue}:one") <= 86_400_000


async def test_a_job_id_is_queued_once(redis):
    """As with arq's enqueue_job: an id already queued, or whose result is kept, queues nothing."""
    queue = _queue()
    assert await enqueue_job(redis, queue, "handle", (1,), f"{queue}:same") is True
    assert await enqueue_job(redis, queue, "handle", (2,), f"{queue}:same") is False
    assert await redis.zcard(queue) == 1
    assert (await Job(f"{queue}:same", redis, _queue_name=queue).info()).args == (1,)
    await redis.set(f"arq:result:{queue}:done", b"kept")
    assert await enqueue_job(redis, queue, "handle", (3,), f"{queue}:done") is False
    assert await redis.zcard(queue) == 1


async def test_a_due_job_wakes_the_queue_and_a_deferred_one_does_not(redis):
    queue = _queue()
    async with redis.pubsub() as pubsub:
        await pubsub.subscribe(wake_channel(queue))
        await pubsub.get_message(timeout=1)  # the subscription's confirmation
        await enqueue_job(redis, queue, "handle", (), f"{queue}:later", defer_by=60)
        assert await pubsub.get_message(ignore_subscribe_messages=True, timeout=0.3) is None
        before = time.time() * 1000
        assert await redis.zscore(queue, f"{queue}:later") >= before + 59_000
        await enqueue_job(redis, queue, "handle", (), f"{queue}:now")
        message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=2)
        assert message is not None and message["channel"] == wake_channel(queue).encode()


def _worker(redis_url: str, queue: str, done: list[Any], poll_delay: float) -> WakingWorker:
    async def record(ctx: dict[str, Any], value: Any) -> None:
        done.append((value, time.monotonic()))

    return WakingWorker(functions=[func(record, name="record")], queue_name=queue,
                        redis_settings=RedisSettings.from_dsn(redis_url), poll_delay=poll_delay,
                        handle_signals=False, max_tries=1, log_results=False)


async def _running(worker: WakingWorker) -> asyncio.Task[None]:
    task = asyncio.create_task(worker.async_run())
    # Subscribed: the wake channel has its listener.
    await eventually(lambda: _listening(worker), timeout=10, interval=0.02)
    return task


async def _listening(worker: WakingWorker) -> bool:
    if worker._pool is None:
        return False
    [(_, count)] = await worker.pool.pubsub_numsub(wake_channel(worker.queue_name))
    return count > 0


async def _stop(worker: WakingWorker, task: asyncio.Task[None]) -> None:
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await worker.close()


async def test_a_queued_job_runs_long_before_the_next_poll(redis, redis_url):
    """Polling every 30 s, the worker still runs a job within a moment of its queueing: the wake."""
    queue, done = _queue(), []
    worker = _worker(redis_url, queue, done, poll_delay=30)
    task = await _running(worker)
    try:
        await asyncio.sleep(0.2)  # past the first poll, into the 30 s wait
        for n in range(3):
            await enqueue_job(redis, queue, "record", (n,), f"{queue}:{n}")
            await eventually(lambda n=n: asyncio.sleep(0, [v for v, _ in done].count(n)), timeout=5,
                             interval=0.01)
    finally:
        await _stop(worker, task)
    assert [v for v, _ in done] == [0, 1, 2]


async def test_a_deferred_job_runs_by_the_poll(redis, redis_url):
    """No wake for a job due later: the poll, kept as the fallback, finds it when it is due."""
    queue, done = _queue(), []
    worker = _worker(redis_url, queue, done, poll_delay=0.1)
    task = await _running(worker)
    try:
        queued = time.monotonic()
        await enqueue_job(redis, queue, "record", ("later",), f"{queue}:later", defer_by=0.3)
        await eventually(lambda: asyncio.sleep(0, done), timeout=10, interval=0.02)
    finally:
        await _stop(worker, task)
    assert done[0][0] == "later" and done[0][1] - queued >= 0.3


async def test_the_worker_closes_its_listener(redis_url):
    queue = _queue()
    worker = _worker(redis_url, queue, [], poll_delay=0.1)
    task = await _running(worker)
    listener = worker._listener
    await _stop(worker, task)
    assert listener is not None and listener.done() and worker._listener is None


async def test_jobs_queued_together_share_a_call(redis, monkeypatch):
    """Jobs queued while a call is in flight go in the next one, each with its own answer: a
    repeated id among them is refused as when they come one by one."""
    from federation import queue as queue_module

    calls = []
    script = queue_module._ENQUEUE

    async def counted(*, keys, args, client):
        calls.append((len(keys) - 1) // 2)
        return await script(keys=keys, args=args, client=client)

    monkeypatch.setattr(queue_module, "_ENQUEUE", counted)
    queue = _queue()
    ids = [f"{queue}:{n % 15}" for n in range(20)]
    results = await asyncio.gather(*(enqueue_job(redis, queue, "handle", (n,), job_id)
                                     for n, job_id in enumerate(ids)))
    assert results == [True] * 15 + [False] * 5
    assert await redis.zcard(queue) == 15
    assert sum(calls) == 20 and len(calls) < 20
    assert (await Job(f"{queue}:3", redis, _queue_name=queue).info()).args == (3,)


async def test_a_failed_call_fails_each_of_its_jobs(redis_url):
    """Redis gone: every job of the call raises, as arq's enqueue_job would (the caller logs it,
    and the sweepers queue the work again)."""
    from redis.exceptions import ConnectionError as RedisConnectionError

    gone = ArqRedis(host="127.0.0.1", port=1)
    try:
        queue = _queue()
        results = await asyncio.gather(*(enqueue_job(gone, queue, "handle", (), f"{queue}:{n}")
                                         for n in range(3)), return_exceptions=True)
    finally:
        await gone.aclose()
    assert [type(r) for r in results] == [RedisConnectionError] * 3
