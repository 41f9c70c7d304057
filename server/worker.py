"""The arq workers: inbox handling, delivery and the sweepers that re-queue what Redis lost;
and generation, one process per device.

`likeness worker` runs them as their own processes (any number, on any machine that reaches the
instance's PostgreSQL and Redis); on the embedded default `serve` runs both in-process.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import uvicorn
from arq import cron, func
from arq.worker import Worker

from federation import backfill, delivery, fetch, inbox, post_consent, push, remix
from generation import jobs
from generation.pipeline import GenerationError, VideoPipeline
from generation.provenance import C2PASigner, ProvenanceError, signer_for
from generation.worker import GenerationWorker, generate, sweep_generation

from . import archive, media_cleanup, upload_checks
from .config import Settings
from .media_store import new_key
from .metrics import metrics_app
from .queue_worker import WakingWorker
from .runtime import Instance, close_worker

log = logging.getLogger(__name__)

# The `generation` extra's packages, imported only when a worker loads its pipeline.
GENERATION_PACKAGES = frozenset({"torch", "diffusers", "transformers", "tokenizers", "accelerate", "ftfy"})

# A render may take many minutes on a busy GPU; the heartbeat, not this, notices a dead worker.
GENERATION_TIMEOUT_S = 6 * 3600


async def process_inbox(ctx: dict[str, Any], row_id: int) -> str:
    return await inbox.process(ctx["fed"], row_id)


async def deliver(ctx: dict[str, Any], delivery_id: int) -> str:
    return await delivery.deliver(ctx["fed"], delivery_id)


async def deliver_batch(ctx: dict[str, Any], delivery_ids: list[int], share: bool) -> dict[str, int]:
    return await delivery.deliver_batch(ctx["fed"], delivery_ids, share)


async def expand_deliveries(ctx: dict[str, Any], activity_id: int) -> dict[str, int]:
    return await delivery.expand(ctx["fed"], activity_id)


async def push_notification(ctx: dict[str, Any], notification_id: int, subscription_id: int) -> str:
    return await push.push(ctx["fed"], notification_id, subscription_id, ctx["job_try"])


async def queue_pushes(ctx: dict[str, Any]) -> int:
    return await push.queue_pending(ctx["fed"])


async def recheck_consent(ctx: dict[str, Any], post_id: int) -> bool:
    return await post_consent.recheck(ctx["fed"], post_id)


async def backfill_actor(ctx: dict[str, Any], actor_id: int) -> str:
    return await backfill.run(ctx["fed"], actor_id)


async def check_upload(ctx: dict[str, Any], media_id: int) -> str:
    return await upload_checks.check_upload(ctx["fed"].pool, ctx["media"], media_id, ctx["nsfw_threshold"],
                                            ctx["upload_check_slot"], ctx["render_signer"])


def render_signer(settings: Settings) -> C2PASigner | None:
    """The signer of this instance's renders, whose manifest an upload may not carry: None when
    provenance is off, or when its chain cannot be read (the generation worker then fails its
    jobs saying why; uploads are still checked by hash and fingerprint)."""
    try:
        return signer_for(settings.generation, settings.data_dir, settings.instance_name)
    except (ProvenanceError, OSError, ValueError) as exc:
        log.warning("uploads are not checked for this instance's C2PA manifest: %s", exc)
        return None


async def build_archive(ctx: dict[str, Any], archive_id: int) -> str:
    return await archive.build(ctx["fed"], ctx["media"], ctx["tmp_dir"], archive_id)


async def remove_unused_media(ctx: dict[str, Any]) -> int:
    """Hourly: uploads never posted, and drafts not published within the retention period."""
    return (await media_cleanup.remove_unposted_uploads(ctx["fed"].pool, ctx["media"])
            + await jobs.remove_expired_drafts(ctx["generation_queue"], ctx["media"])
            + await archive.remove_expired(ctx["fed"], ctx["media"]))


async def sweep(ctx: dict[str, Any]) -> int:
    fed = ctx["fed"]
    return (await delivery.sweep(fed) + await upload_checks.sweep(fed)
            + await media_cleanup.remove_deleted_posts_media(fed.pool, ctx["media"])
            + await archive.requeue_unfinished(fed))


async def resume_abandoned(ctx: dict[str, Any]) -> int:
    return await delivery.resume_abandoned(ctx["fed"])


async def start_renewing_leases(ctx: dict[str, Any]) -> None:
    ctx["lease_renewal"] = asyncio.create_task(ctx["fed"].leases.keep_renewing())


async def stop_renewing_leases(ctx: dict[str, Any]) -> None:
    """Stops the renewals and the work done outside jobs (`Leases.run`), before the pool closes."""
    task = ctx.pop("lease_renewal", None)
    if task is not None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def make_worker(instance: Instance, *, handle_signals: bool) -> Worker:
    assert instance.fed is not None and instance.redis_settings is not None
    queue = instance.fed.queue_name
    return WakingWorker(
        functions=[process_inbox, deliver, func(deliver_batch, name=delivery.BATCH_FUNCTION),
                   func(expand_deliveries, name=delivery.EXPAND_FUNCTION), recheck_consent,
                   func(push_notification, name=push.FUNCTION, max_tries=push.MAX_TRIES),
                   func(backfill_actor, name=backfill.FUNCTION),
                   func(check_upload, name=upload_checks.FUNCTION,
                        timeout=upload_checks.CHECK_DEADLINE_S + 60),
                   func(build_archive, name=archive.FUNCTION, timeout=archive.BUILD_TIMEOUT_S)],
        cron_jobs=[cron(sweep, name=f"{queue}:sweep", second={0, 30},
                        run_at_startup=True, unique=True),
                   # Every few seconds: a dead worker's deliveries and inbox activities resume
                   # as soon as their lease runs out.
                   cron(resume_abandoned, name=f"{queue}:resume-abandoned",
                        second=set(range(0, 60, 5)), run_at_startup=True, unique=True),
                   # Here rather than on the generation queue, whose workers may all be busy
                   # rendering: the watchdog must run while they are (or while they are dead).
                   cron(sweep_generation, name=f"{queue}:generation-sweep",
                        second=set(range(0, 60, 2)), run_at_startup=True, unique=True),
                   # Every second: a notification reaches a phone about as soon as the app's list.
                   cron(queue_pushes, name=f"{queue}:queue-pushes", second=set(range(60)),
                        run_at_startup=True, unique=True),
                   cron(remove_unused_media, name=f"{queue}:unused-media", minute=17, second=0,
                        unique=True)],
        queue_name=queue,
        redis_settings=instance.redis_settings,
        ctx={"fed": instance.fed, "generation_queue": instance.jobs, "media": instance.media,
             "nsfw_threshold": instance.settings.generation.nsfw_threshold,
             # One video check at a time: each takes a core for seconds, and inbox and delivery
             # jobs share this worker.
             "upload_check_slot": asyncio.Semaphore(1),
             # Loaded here, before the generation worker's first job would make the instance's CA.
             "render_signer": render_signer(instance.settings),
             "tmp_dir": instance.settings.tmp_dir},
        on_startup=start_renewing_leases,
        on_shutdown=stop_renewing_leases,
        handle_signals=handle_signals,
        # Woken when a job is queued; the poll is the fallback.
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


def generation_worker(instance: Instance, device: str) -> GenerationWorker:
    """The renderer of this process: the configured model on `device`, or the instance's tiny
    model when none is configured (its output is noise)."""
    assert instance.jobs is not None and instance.media is not None
    settings = instance.settings
    config = replace(settings.generation, device=device)

    def load() -> VideoPipeline:
        from generation.diffusers_pipeline import load_pipeline
        from generation.tiny import ensure_tiny_model

        try:
            return load_pipeline(config, config.model_dir or ensure_tiny_model(settings.data_dir))
        except ModuleNotFoundError as exc:
            if exc.name not in GENERATION_PACKAGES:
                raise
            raise GenerationError(f"this worker cannot render: {exc.name} is not installed (install"
                                  " likeness[generation] where generation workers run)") from None

    def load_signer() -> C2PASigner | None:
        return signer_for(config, settings.data_dir, settings.instance_name)

    async def remote_references(cameo_uri: str, requester_id: int, most: int) -> list[bytes]:
        try:
            return await remix.fetch_references(instance.fed, cameo_uri, requester_id, most)
        except fetch.FetchError as exc:
            # The owner's instance may be down for a while: the job goes back to the queue.
            raise GenerationError(f"the cameo owner's instance did not give its reference images: {exc}",
                                  retryable=True) from None

    def fingerprint(path: Path, duration: float, fps: float) -> list[int]:
        return upload_checks.video_fingerprint(path, duration, fps,
                                               deadline=time.monotonic() + upload_checks.CHECK_DEADLINE_S)

    name = config.model_dir.name if config.model_dir else "Likeness tiny model"
    return GenerationWorker(queue=instance.jobs, media=instance.media, new_key=new_key,
                            load_pipeline=load, load_signer=load_signer,
                            tmp_dir=settings.tmp_dir, generator_name=name,
                            remote_references=remote_references, fingerprint=fingerprint)


def make_generation_worker(instance: Instance, generation: GenerationWorker, *,
                           handle_signals: bool) -> Worker:
    """One job at a time: a worker owns its device, and the next job waits in the queue for
    whichever worker is free."""
    assert instance.jobs is not None and instance.redis_settings is not None
    return Worker(
        functions=[func(generate, name=jobs.FUNCTION, timeout=GENERATION_TIMEOUT_S)],
        queue_name=instance.jobs.name,
        redis_settings=instance.redis_settings,
        ctx={"generation": generation},
        handle_signals=handle_signals,
        poll_delay=0.1,
        max_jobs=1,
        keep_result=60,
        max_tries=1,
        log_results=False,
    )


def in_process_generation_worker(instance: Instance) -> Worker:
    return make_generation_worker(instance, generation_worker(instance, "cpu"), handle_signals=False)


class _MetricsServer(uvicorn.Server):
    """uvicorn's server, leaving SIGINT and SIGTERM to the worker, which stops it."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


async def run_worker(settings: Settings, *, federation: bool = True, generation: bool = False,
                     device: str | None = None) -> None:
    instance = Instance(settings)
    await instance.start(workers=False)
    workers = []
    if federation:
        workers.append(make_worker(instance, handle_signals=False))
    if generation:
        renderer = generation_worker(instance, device or settings.generation.device)
        workers.append(make_generation_worker(instance, renderer, handle_signals=False))
    metrics_server = metrics_task = None
    if settings.metrics_port is not None:
        # A worker on another machine than the web server is scraped on its own port.
        metrics_server = _MetricsServer(uvicorn.Config(
            metrics_app(instance), host=settings.metrics_host, port=settings.metrics_port,
            lifespan="off", log_level="warning", access_log=False))
        metrics_task = asyncio.create_task(metrics_server.serve())
    main_task = asyncio.current_task()
    assert main_task is not None
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, main_task.cancel)
    try:
        await asyncio.gather(*(worker.async_run() for worker in workers))
    except asyncio.CancelledError:
        # SIGTERM/SIGINT: closing cancels the jobs in flight (their rows stay due, a running
        # generation is given back to the queue). The signal's cancellation is handled here:
        # uncancelled, so that close_worker tells it from a cancellation of its own.
        main_task.uncancel()
    finally:
        if metrics_server is not None and metrics_task is not None:
            metrics_server.should_exit = True
            await metrics_task
        for worker in workers:
            await close_worker(worker)
        await instance.stop()


def main(settings: Settings, *, federation: bool = True, generation: bool = False,
         device: str | None = None) -> None:
    asyncio.run(run_worker(settings, federation=federation, generation=generation, device=device))
