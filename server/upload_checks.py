"""The output safety check of uploaded videos, on the worker.

An image is checked on the upload request; a video may be ten minutes long, and decoding a
sample of its frames and scoring them takes seconds, so the upload answers 202 with the video
`pending` (Mastodon answers 202 for videos too, and clients wait for its `url`), and a worker job
checks it. Until the check is done the video can be neither published nor fetched; a refused one
is deleted and its row keeps the reason, which the uploader reads from GET /api/v1/media/:id.

Frames are sampled as for a generated draft (`policy.output_safety.sample_frames`: about one a
second plus the last, at most 32 spread evenly). The check fails closed: a file that cannot be
decoded in time, or a classifier that cannot score, refuses the upload with a reason that says so.
"""

from __future__ import annotations

import asyncio
import logging
import time
from pathlib import Path

import asyncpg

from federation import store as fstore
from federation.context import Federation
from policy.output_safety import Verdict, check_images, failed, sample_frames

from . import store
from .media import CheckTimeout, LocalMediaStore, file_keys, video_frames_at

log = logging.getLogger(__name__)

FUNCTION = "check_upload"
# A check that has not decided by then refuses the video; the worker's job outlives it.
CHECK_DEADLINE_S = 300.0
# The classifier looks at 224x224 pixels: decoding larger only costs time.
SAMPLE_LONG_SIDE = 448
# A pending video older than this with no job in Redis has lost its job: the sweeper queues it
# again (the job id stops it from being queued twice while it runs).
LOST_AFTER_S = 30.0

# What the uploader reads about a refused video.
LOOKS_SEXUAL = "the video was refused by the safety check: it looks like sexual content"
UNCHECKABLE = "the video could not be checked for safety right now: upload it again later"
TOO_LONG = "the video took too long to check for safety: upload a shorter or smaller one"


async def queue_check(fed: Federation, media_id: int) -> None:
    await fed.enqueue(FUNCTION, media_id, job_id=f"upload-check:{media_id}")


def video_verdict(path: Path, duration: float, fps: float, threshold: float, *, deadline: float) -> Verdict:
    """The classifier's verdict on a video file from its sampled frames; blocking. Raises
    CheckTimeout past `deadline`."""
    indices = sample_frames(max(1, round(duration * fps)), fps)
    try:
        frames = video_frames_at(path, [index / fps for index in indices], long_side=SAMPLE_LONG_SIDE,
                                 deadline=deadline)
    except CheckTimeout:
        raise
    except Exception as exc:  # a decoder error: the file passed the upload's own checks
        log.exception("sampling frames of %s failed", path)
        return failed(f"the video could not be decoded ({type(exc).__name__})")
    return check_images(frames, threshold, positions=indices[: len(frames)])


async def check_upload(pool: asyncpg.Pool, media: LocalMediaStore, media_id: int, threshold: float,
                       slot: asyncio.Semaphore) -> str:
    """Check one pending upload and settle it; what happened, for the job's result."""
    row = await fstore.media_by_id(pool, media_id)
    if row is None or row["check_state"] != "pending":
        return "not pending"
    async with slot:
        deadline = time.monotonic() + CHECK_DEADLINE_S
        try:
            verdict = await asyncio.to_thread(
                video_verdict, media.path(row["storage_key"]), row["duration"] or 0.0,
                row["frame_rate"] or 30.0, threshold, deadline=deadline)
            reason = LOOKS_SEXUAL if verdict.frame is not None else UNCHECKABLE
        except CheckTimeout as exc:
            verdict, reason = failed(str(exc)), TOO_LONG
        except (OSError, ValueError) as exc:
            verdict, reason = failed(str(exc)), UNCHECKABLE
    if verdict.allowed:
        await store.settle_upload_check(pool, media_id, "ready", None)
        return "ready"
    settled = await store.settle_upload_check(pool, media_id, "refused", reason)
    for key in file_keys([settled] if settled else []):
        await media.delete(key)
    log.info("upload %d refused: %s", media_id, verdict.reason)
    return "refused"


async def sweep(fed: Federation) -> int:
    """Queue again the checks that Redis lost."""
    lost = await store.pending_upload_checks(fed.pool, LOST_AFTER_S)
    for media_id in lost:
        await queue_check(fed, media_id)
    return len(lost)
