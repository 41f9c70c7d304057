"""The generation worker: arq functions that claim a job, render it on this process's device
and store the draft.

One pipeline per process, loaded on the first job; the render runs in a thread so that the
heartbeat keeps flowing, and the step callback is where a cancel or a lost lease stops it.
The server builds a `GenerationWorker` (it owns settings, the media store and the arq pool)
and passes it in the arq context as `generation`.
"""

from __future__ import annotations

import asyncio
import io
import logging
import os
import secrets
import socket
import tempfile
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, TypeVar

from PIL import Image

from policy.output_safety import Scorer, failed, score_images

from . import jobs, metrics, store
from .jobs import JobQueue, Lease, MediaSink
from .pipeline import Cancelled, GenerationError, GenerationRequest, VideoPipeline
from .provenance import C2PASigner, ProvenanceError
from .render import render_video
from .safety import CheckedPipeline

T = TypeVar("T")

log = logging.getLogger(__name__)

# Redis gets every step, a quarter second apart at most; the row gets the heartbeat.
PROGRESS_INTERVAL_S = 0.25


@dataclass
class GenerationWorker:
    queue: JobQueue
    media: MediaSink
    # Makes a storage key such as "videos/ab/cd/<token>.mp4" (the server's key layout).
    new_key: Callable[[str, str], str]
    # Load the pipeline and the C2PA signer (None: provenance is off). Blocking; called in a
    # thread on the first job, and again on the next job if they failed.
    load_pipeline: Callable[[], VideoPipeline]
    load_signer: Callable[[], C2PASigner | None]
    tmp_dir: Path
    generator_name: str
    # Another instance's cameo's first reference images (cameo URI, requester's actor id, how
    # many at most), fetched by the server with the requester's signature; raises
    # GenerationError when they can't be had.
    remote_references: Callable[[str, int, int], Awaitable[list[bytes]]] | None = None
    # Scores sampled frames for the output safety check (the NSFW classifier, loaded on first use).
    score_frames: Scorer = score_images
    # The perceptual fingerprint of a video file (path, duration, fps), as the server computes it
    # for uploads (generation/fingerprint.py); blocking. None: renders keep only their hash.
    fingerprint: Callable[[Path, float, float], list[int]] | None = None
    # Who holds a lease, for people reading the table.
    name: str = field(default_factory=lambda: f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}")
    _loaded: tuple[VideoPipeline, C2PASigner | None] | None = None
    _loading: asyncio.Lock = field(default_factory=asyncio.Lock)

    @property
    def heartbeat_every_s(self) -> float:
        """Often enough that a cancel stops the render within a couple of seconds, and that the
        watchdog never mistakes a slow step for a dead worker."""
        return min(2.0, self.queue.config.heartbeat_timeout_s / 5)

    async def renderer(self) -> tuple[VideoPipeline, C2PASigner | None]:
        """The pipeline and signer, loaded once per process: loading weights takes long."""
        async with self._loading:
            if self._loaded is None:
                try:
                    signer = await asyncio.to_thread(self.load_signer)
                except ProvenanceError as exc:
                    raise GenerationError(str(exc)) from exc
                self._loaded = (await asyncio.to_thread(self.load_pipeline), signer)
            return self._loaded


class _Progress:
    """The step callback, called in the render thread: records the step and its timing, wakes
    the heartbeat, and raises Cancelled once the job is no longer ours."""

    def __init__(self, loop: asyncio.AbstractEventLoop, wake: asyncio.Event) -> None:
        self.stop = threading.Event()
        self.step = 0
        self.total: int | None = None
        self.eta_s: float | None = None
        self._loop = loop
        self._wake = wake
        self._started = self._last_step = time.monotonic()

    def __call__(self, step: int, total: int) -> None:
        if self.stop.is_set():
            raise Cancelled()
        now = time.monotonic()
        self.step, self.total = step, total
        if step > 0:
            metrics.STEP_SECONDS.observe(now - self._last_step)
            mean = (now - self._started) / step
            self.eta_s = round(mean * max(0, total - step), 2)
        self._last_step = now
        self._loop.call_soon_threadsafe(self._wake.set)


async def _beat(worker: GenerationWorker, lease: Lease, progress: _Progress, wake: asyncio.Event
                ) -> None:
    """Heartbeat and progress while the render runs; stops the render when the lease is lost."""
    queue = worker.queue
    last_beat = time.monotonic()
    reported = 0
    while True:
        try:
            await asyncio.wait_for(wake.wait(), PROGRESS_INTERVAL_S)
        except TimeoutError:
            pass
        wake.clear()
        if time.monotonic() - last_beat >= worker.heartbeat_every_s:
            last_beat = time.monotonic()
            reported = progress.step
            if not await jobs.heartbeat(queue, lease, progress.step, progress.total, progress.eta_s):
                progress.stop.set()
                return
        elif progress.step != reported:
            reported = progress.step
            await jobs.report(queue, lease, progress.step, progress.total, progress.eta_s)


def _decoded(source: io.BytesIO) -> Image.Image:
    try:
        with Image.open(source) as image:
            return image.convert("RGB")
    except (OSError, ValueError, Image.DecompressionBombError):
        raise GenerationError("a cameo reference image could not be read") from None


async def _references(worker: GenerationWorker, job: Any) -> tuple[Image.Image, ...]:
    """The cameos' reference images the model sees: files for cameos held here, fetched (and
    kept in memory only) for another instance's; at most `max_reference_images`, the first of
    each cameo in the job's order, then the second of each, and so on."""
    local = await store.reference_keys(worker.queue.pool, list(job["cameo_uris"]))
    limit = worker.queue.config.max_reference_images
    # The most one cameo can give when every other gives one: no more is fetched from afar.
    most = max(1, limit - len(job["cameo_uris"]) + 1)
    sources: list[list[io.BytesIO]] = []
    for uri in job["cameo_uris"]:
        if uri in local:
            # Read from the media store, which may be a bucket: the worker needs no shared disk.
            try:
                sources.append([io.BytesIO(await worker.media.read_bytes(key)) for key in local[uri]])
            except FileNotFoundError:
                raise GenerationError("a cameo reference image could not be read") from None
        elif worker.remote_references is None:
            raise GenerationError("this worker cannot fetch another instance's cameo")
        else:
            fetched = await worker.remote_references(uri, job["actor_id"], most)
            sources.append([io.BytesIO(data) for data in fetched])
    return tuple(_decoded(source) for source in round_robin(sources, limit))


def round_robin(groups: list[list[T]], limit: int) -> list[T]:
    """Up to `limit` items: the first of each group, then the second of each, and so on."""
    picked: list[T] = []
    for rank in range(max((len(group) for group in groups), default=0)):
        picked += [group[rank] for group in groups if rank < len(group)]
    return picked[:limit]


async def _render(worker: GenerationWorker, lease: Lease, pipeline: VideoPipeline,
                  signer: C2PASigner | None) -> None:
    queue, config, job = worker.queue, worker.queue.config, lease.job
    wake = asyncio.Event()
    progress = _Progress(asyncio.get_running_loop(), wake)
    beat = asyncio.create_task(_beat(worker, lease, progress, wake))
    started = time.monotonic()
    outcome = "failed"
    try:
        request = GenerationRequest(
            prompt=job["render_prompt"], reference_images=await _references(worker, job),
            width=config.width, height=config.height, fps=config.fps, duration_s=job["duration_s"],
            steps=config.steps, seed=job["seed"])
        worker.tmp_dir.mkdir(parents=True, exist_ok=True)
        checked = CheckedPipeline(pipeline, config.nsfw_threshold, worker.score_frames)
        with tempfile.TemporaryDirectory(dir=worker.tmp_dir) as out:
            result = await asyncio.to_thread(
                render_video, checked, request, progress, Path(out),
                provenance=signer, generator_name=worker.generator_name)
            if worker.fingerprint is not None:
                prints = await asyncio.to_thread(worker.fingerprint, result.video_path, result.duration_s,
                                                 float(result.fps))
                result = replace(result, fingerprint=prints)
            beat.cancel()
            # The last step's progress, in the row: a short render may end between heartbeats.
            await jobs.heartbeat(queue, lease, progress.step, progress.total, 0.0)
            verdict = checked.verdict or failed("the frames were never scored")
            metrics.CLIP_SECONDS.observe(time.monotonic() - started)
            if verdict.allowed:
                await jobs.succeed(queue, lease, result, worker.media, worker.new_key)
                outcome = "done"
            else:
                await jobs.hold(queue, lease, result, worker.media, worker.new_key, verdict)
                outcome = "held"
    except Cancelled:
        outcome = "cancelled"
        log.info("generation job %s stopped: cancelled or taken over", lease.id)
    except GenerationError as exc:
        log.info("generation job %s failed: %s", lease.id, exc.reason)
        await jobs.fail(queue, lease, exc.reason, retryable=exc.retryable)
    except asyncio.CancelledError:
        # The worker is shutting down: stop the render at its next step, give the job back.
        outcome = "released"
        progress.stop.set()
        await asyncio.shield(jobs.release(queue, lease))
        raise
    except Exception as exc:
        log.exception("generation job %s failed", lease.id)
        await jobs.fail(queue, lease, f"internal error ({type(exc).__name__})", retryable=False)
    finally:
        metrics.RENDERS.labels(outcome).inc()
        metrics.record_gpu_memory(config.device)
        progress.stop.set()
        beat.cancel()


async def generate(ctx: dict[str, Any]) -> str:
    """One arq job: claim the fairest queued job and render it; "idle" if none was left.

    The pipeline is loaded before the claim, so that a slow first load (importing torch holds the
    interpreter for seconds) never looks like a dead worker; a load that fails fails the job it
    would have rendered, with the reason."""
    worker: GenerationWorker = ctx["generation"]
    failure: GenerationError | None = None
    try:
        pipeline, signer = await worker.renderer()
    except GenerationError as exc:
        failure = exc
    except Exception as exc:
        log.exception("the generation pipeline could not be loaded")
        failure = GenerationError(f"internal error ({type(exc).__name__})")
    lease = await jobs.claim(worker.queue, ctx["job_id"], worker.name)
    if lease is None:
        return "idle"
    if failure is not None:
        await jobs.fail(worker.queue, lease, failure.reason, retryable=failure.retryable)
        return f"job {lease.id} failed"
    await _render(worker, lease, pipeline, signer)
    return f"job {lease.id}"


async def sweep_generation(ctx: dict[str, Any]) -> dict[str, int]:
    return await jobs.sweep(ctx["generation_queue"], ctx["media"])
