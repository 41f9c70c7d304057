"""The arq worker: inbox handling, delivery and the sweeper that re-queues what Redis lost.

`likeness worker` runs it as its own process (any number, on any machine that reaches the
instance's PostgreSQL and Redis); on the embedded default `serve` runs one in-process.
"""

from __future__ import annotations

import asyncio
from typing import Any

from arq import cron
from arq.worker import Worker

from federation import delivery, inbox

from .config import Settings
from .runtime import Instance


async def process_inbox(ctx: dict[str, Any], row_id: int) -> str:
    return await inbox.process(ctx["fed"], row_id)


async def deliver(ctx: dict[str, Any], delivery_id: int) -> str:
    return await delivery.deliver(ctx["fed"], delivery_id)


async def sweep(ctx: dict[str, Any]) -> int:
    return await delivery.sweep(ctx["fed"])


def make_worker(instance: Instance, *, handle_signals: bool) -> Worker:
    assert instance.fed is not None and instance.redis is not None
    queue = instance.fed.queue_name
    return Worker(
        functions=[process_inbox, deliver],
        cron_jobs=[cron(sweep, name=f"{queue}:sweep", second={0, 30},
                        run_at_startup=True, unique=True)],
        queue_name=queue,
        redis_pool=instance.redis,
        ctx={"fed": instance.fed},
        handle_signals=handle_signals,
        poll_delay=0.05,
        max_jobs=20,
        job_timeout=120,
        keep_result=60,
        # Retries are ours (rows in PostgreSQL say what is due), not arq's.
        max_tries=1,
        log_results=False,
    )


def in_process_worker(instance: Instance) -> Worker:
    return make_worker(instance, handle_signals=False)


async def run_worker(settings: Settings) -> None:
    instance = Instance(settings)
    await instance.start(workers=False)
    worker = make_worker(instance, handle_signals=True)
    try:
        await worker.async_run()
    except asyncio.CancelledError:
        # SIGTERM/SIGINT: arq cancelled its jobs (their rows stay due) and its main task.
        pass
    finally:
        await instance.stop()


def main(settings: Settings) -> None:
    asyncio.run(run_worker(settings))
