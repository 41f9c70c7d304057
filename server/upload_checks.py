"""The output safety check of uploaded videos, on the worker.

An image is checked on the upload request; a video may be ten minutes long, and decoding a
sample of its frames and scoring them takes seconds, so the upload answers 202 with the video
`pending` (Mastodon answers 202 for videos too, and clients wait for its `url`), and a worker job
checks it. Until the check is done the video can be neither published nor fetched; a refused one
is deleted and its row keeps the reason, which the uploader reads from GET /api/v1/media/:id.

Frames are sampled as for a generated draft (`policy.output_safety.sample_frames`: about one a
second plus the last, at most 32 spread evenly). The check fails closed: a file that cannot be
decoded in time, or a classifier that cannot score, refuses the upload with a reason that says so.

Before that, an upload that is a render of this instance is refused: a render is published from
its draft (a remix's through the remix, with its cameo owners' consent), never as an upload that
would outlive their revocation. A render is recognised by its SHA-256, by a C2PA manifest this
instance signed, or, for a remix's render, by a perceptual fingerprint within a few bits of it
(generation/fingerprint.py), which catches a re-encoded copy. That one is compared against every
remix's render, withdrawn or not: a copy uploaded while the remix is still authorized would
otherwise outlive its revocation too.
"""

from __future__ import annotations

import asyncio
import logging
import time
from pathlib import Path

import asyncpg

from federation import store as fstore
from federation.context import Federation
from generation import fingerprint as fp
from generation import store as gstore
from generation.provenance import C2PASigner, signed_by
from policy.output_safety import Verdict, check_images, failed, sample_frames

from . import store
from .media import CheckTimeout, file_keys, video_frames_at
from .media_store import MediaStore

log = logging.getLogger(__name__)

FUNCTION = "check_upload"
# A check that has not decided by then refuses the video; the worker's job outlives it.
CHECK_DEADLINE_S = 300.0
# The classifier looks at 224x224 pixels: decoding larger only costs time.
SAMPLE_LONG_SIDE = 448
# A pending video older than this with no job in Redis has lost its job: the sweeper queues it
# again (the job id stops it from being queued twice while it runs).
LOST_AFTER_S = 30.0
# Frames for the fingerprint are reduced to 32x32: decoding larger only costs time.
FINGERPRINT_LONG_SIDE = 128
# The most renders sharing a coarse key with an upload that are compared in full.
CANDIDATES = 200

# What the uploader reads about a refused video.
LOOKS_SEXUAL = "the video was refused by the safety check: it looks like sexual content"
UNCHECKABLE = "the video could not be checked for safety right now: upload it again later"
TOO_LONG = "the video took too long to check for safety: upload a shorter or smaller one"
RENDER_OF_THIS_SERVER = ("this video is a render of this server: publish it through its remix (or"
                         " your own generation from its draft), not as an upload")


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


def video_fingerprint(path: Path, duration: float, fps: float, *, deadline: float) -> list[int]:
    """The perceptual fingerprint of a video file, an upload or a render; blocking. Empty when it
    cannot be decoded (the safety check refuses such an upload); raises CheckTimeout past
    `deadline`."""
    try:
        frames = video_frames_at(path, fp.sample_times(duration, fps), long_side=FINGERPRINT_LONG_SIDE,
                                 deadline=deadline)
    except CheckTimeout:
        raise
    except Exception:  # a decoder error: the safety check says so
        log.info("sampling frames of %s for its fingerprint failed", path, exc_info=True)
        return []
    return fp.fingerprint(frames)


async def is_render(pool: asyncpg.Pool, path: Path, duration: float, fps: float,
                    signer: C2PASigner | None, *, deadline: float) -> bool:
    """Whether an uploaded video is a render of this instance: the same bytes, or a manifest
    it signed, or a copy of a remix's render. Cheapest first; the blocking parts in threads."""
    if await gstore.is_render(pool, await asyncio.to_thread(fp.file_sha256, path)):
        return True
    if signer is not None and await asyncio.to_thread(signed_by, path, signer):
        return True
    upload = await asyncio.to_thread(video_fingerprint, path, duration, fps, deadline=deadline)
    keys = fp.band_keys(upload)
    if not keys:
        return False
    return any(fp.similar_length(render["duration"], duration)
               and fp.is_copy(upload, fp.as_unsigned(render["frames"]))
               for render in await gstore.remix_renders_sharing_keys(pool, keys, CANDIDATES))


async def check_upload(pool: asyncpg.Pool, media: MediaStore, media_id: int, threshold: float,
                       slot: asyncio.Semaphore, signer: C2PASigner | None = None) -> str:
    """Check one pending upload and settle it; what happened, for the job's result. `signer` is
    this instance's C2PA signer, if it signs its renders."""
    row = await fstore.media_by_id(pool, media_id)
    if row is None or row["check_state"] != "pending":
        return "not pending"
    async with slot:
        deadline = time.monotonic() + CHECK_DEADLINE_S
        duration, fps = row["duration"] or 0.0, row["frame_rate"] or 30.0
        try:
            # A download while it is checked, where the files are in a bucket.
            async with media.local_file(row["storage_key"]) as path:
                if await is_render(pool, path, duration, fps, signer, deadline=deadline):
                    verdict = Verdict(False, None, None, "a render of this instance")
                    reason = RENDER_OF_THIS_SERVER
                else:
                    verdict = await asyncio.to_thread(video_verdict, path, duration, fps, threshold,
                                                      deadline=deadline)
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
