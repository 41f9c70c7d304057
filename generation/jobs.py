"""Generation jobs: a durable queue in PostgreSQL, woken through arq.

States: `waiting` (a remix whose consent is not complete) -> `queued` -> `running` ->
`succeeded` | `held` | `failed` | `cancelled`, and `held` (the output safety check flagged the
draft) -> `succeeded` | `failed` by a moderator. A draft not yet published is deleted when its
consent is withdrawn (`failed`), or when its requester discards it or its retention period ends
(`discarded`). TRANSITIONS lists every move.

A worker leases a job with an atomic claim and a token, beats its heart while it renders and only
the token holder may finish it, so a job runs to completion once. The sweeper (an arq cron)
promotes waiting remixes once authorized, deletes the drafts of revoked ones, sends again the arq
jobs Redis lost, and puts jobs whose worker went quiet back in the queue, at most `max_attempts`
times. Like PeerTube's remote runners: the database decides, the queue only wakes.
"""

from __future__ import annotations

import json
import logging
import secrets
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import asyncpg
from arq.connections import ArqRedis
from arq.constants import job_key_prefix
from redis.exceptions import RedisError

from policy.output_safety import Verdict
from policy.prompts import MAX_CAMEOS, PromptError, check_prompt

from . import store
from .config import GenerationConfig
from .fingerprint import as_signed, band_keys
from .render import compose_prompt

if TYPE_CHECKING:
    from .render import RenderResult

log = logging.getLogger(__name__)

# Every move a job's state can make. The SQL that makes one checks the state it leaves, so two
# actors racing (a cancel and a finishing worker, two moderators) make one move, not two.
TRANSITIONS: dict[str, frozenset[str]] = {
    "waiting": frozenset({"queued", "failed", "cancelled"}),
    "queued": frozenset({"running", "cancelled"}),
    # Back to queued: a retry, a stall or a worker shutting down; to waiting: consent pending.
    "running": frozenset({"queued", "waiting", "succeeded", "held", "failed", "cancelled"}),
    # Staff move a held job: released, or rejected; or its consent is withdrawn, or its
    # requester's account deleted (server.store.erase_account cancels what it had on the way).
    "held": frozenset({"succeeded", "failed", "cancelled"}),
    # Only while its draft is not published: the draft is deleted.
    "succeeded": frozenset({"failed", "discarded"}),
    "failed": frozenset(),
    "cancelled": frozenset(),
    "discarded": frozenset(),
}
TERMINAL = tuple(state for state, moves in TRANSITIONS.items() if not moves)
# States no worker will move a job out of (a held job waits for a person, maybe for days; a
# succeeded one moves only when its draft is deleted), so event streams end there too.
SETTLED = (*TERMINAL, "succeeded", "held")
# Own users' jobs are claimed before jobs asked for from elsewhere.
LOCAL_PRIORITY = 1
REMOTE_PRIORITY = 0
CONSENT_WITHDRAWN = "consent withdrawn"
CAMEO_DELETED = "a cameo in it was deleted"
STALLED = "the worker stopped responding"
# The arq function every job message calls.
FUNCTION = "generate"
# A queued row is only checked against Redis this long after its arq job was sent.
SWEEP_GRACE_S = 5.0
PROGRESS_TTL_S = 3600


class JobError(ValueError):
    """A generation that cannot be asked for as given; the message is safe to show (422)."""


class QuotaError(JobError):
    """Over a per-person quota (429); `retry_after` says when the daily one frees a slot."""

    def __init__(self, message: str, retry_after: int | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class MediaSink(Protocol):
    """Where drafts go and reference images come from: the server's media store (a local
    directory or a bucket, server/media_store.py)."""

    async def read_bytes(self, key: str) -> bytes: ...

    async def put_file(self, key: str, source: Path) -> None: ...

    async def delete(self, key: str) -> None: ...


@dataclass(frozen=True)
class JobQueue:
    """What the job functions need from the running instance, passed in by the server."""

    pool: asyncpg.Pool
    redis: ArqRedis
    # The instance's arq queue for generation; its job ids and progress keys start with it.
    name: str
    config: GenerationConfig

    def progress_key(self, job_id: int) -> str:
        return f"{self.name}:progress:{job_id}"


@dataclass(frozen=True)
class Lease:
    """A claimed job: only the holder of `token` may report on it or finish it."""

    job: asyncpg.Record
    token: uuid.UUID

    @property
    def id(self) -> int:
        return self.job["id"]


def check_request(config: GenerationConfig, prompt: Any, duration_s: Any) -> tuple[str, float]:
    """The prompt and duration of a request, or JobError saying what is wrong."""
    try:
        prompt = check_prompt(prompt)
    except PromptError as exc:
        raise JobError(str(exc)) from None
    if duration_s is None:
        duration_s = config.default_duration_s
    if isinstance(duration_s, bool) or not isinstance(duration_s, int | float):
        raise JobError("duration_s must be a number of seconds")
    if not 0 < duration_s <= config.max_duration_s:
        raise JobError(f"duration_s must be more than 0 and at most {config.max_duration_s:g} seconds")
    return prompt, float(duration_s)


async def _check_quota(conn: asyncpg.Connection, config: GenerationConfig, actor_id: int) -> None:
    if config.max_jobs_per_day == 0:
        # An admin's way to pause generation: no slot ever opens, so no Retry-After.
        raise QuotaError("generation is turned off on this server")
    active = await store.active_jobs(conn, actor_id)
    if active >= config.max_active_jobs_per_user:
        raise QuotaError(f"you have {active} generations queued or running, the most at once is"
                         f" {config.max_active_jobs_per_user}: wait for one to finish or cancel one")
    wait = await store.seconds_until_day_slot(conn, actor_id, config.max_jobs_per_day)
    if wait is not None:
        raise QuotaError(f"you asked for {config.max_jobs_per_day} generations in the last 24 hours,"
                         " the most per day", retry_after=max(1, int(wait) + 1))


async def create_job(queue: JobQueue, *, actor_id: int, prompt: str, cameo_uris: Sequence[str] = (),
                     duration_s: float | None = None, remix_id: int | None = None,
                     local: bool = True, check_quota: bool = True) -> int:
    """Queue a generation (a remix's waits until its consent is complete); returns the job id.

    For a remix that already has a job on the way, that job's id: asking twice is harmless.
    Consent and cameo ownership are the caller's to check; quotas are checked here, in the
    same transaction as the insert.
    """
    prompt, duration = check_request(queue.config, prompt, duration_s)
    cameo_uris = list(dict.fromkeys(cameo_uris))
    if len(cameo_uris) > MAX_CAMEOS:
        raise JobError(f"name at most {MAX_CAMEOS} cameos")
    async with queue.pool.acquire() as conn, conn.transaction():
        await store.lock_requester(conn, actor_id)
        state = "queued"
        if remix_id is not None:
            existing = await store.active_remix_job(conn, remix_id)
            if existing is not None:
                return existing
            remix_state = await store.remix_state(conn, remix_id)
            if remix_state is None:
                raise JobError("no such remix")
            if remix_state in ("rejected", "revoked"):
                raise JobError(f"the remix was {remix_state}")
            if remix_state == "pending":
                state = "waiting"
        if check_quota:
            await _check_quota(conn, queue.config, actor_id)
        instructions = await store.cameo_instructions(conn, cameo_uris, remix_id)
        job_id = await store.insert_job(conn, {
            "actor_id": actor_id, "remix_id": remix_id, "prompt": prompt,
            "render_prompt": compose_prompt(prompt, instructions), "cameo_uris": cameo_uris,
            "duration_s": duration, "seed": secrets.randbelow(2**31), "state": state,
            "priority": LOCAL_PRIORITY if local else REMOTE_PRIORITY,
        })
    if state == "queued":
        await _send(queue, job_id, 0)
    return job_id


async def _send(queue: JobQueue, job_id: int, attempts: int, *, replacing: str | None = None) -> None:
    """Send an arq job standing for a queued row. Its id is new for every send (unique per
    attempt), and is recorded first: if Redis fails now, the sweeper sees it missing."""
    arq_job_id = f"{queue.name}:{FUNCTION}:{job_id}:{attempts}:{secrets.token_hex(4)}"
    if not await store.set_arq_job(queue.pool, job_id, arq_job_id, replacing=replacing):
        return  # started, cancelled, or another sweeper sent one
    try:
        await queue.redis.enqueue_job(FUNCTION, _job_id=arq_job_id, _queue_name=queue.name)
    except (OSError, RedisError) as exc:
        log.warning("could not queue generation job %s, the sweeper will: %s", job_id, exc)


async def cancel_job(queue: JobQueue, job_id: int) -> asyncpg.Record | None:
    """Cancel a job that has not ended (None if it had). A running worker sees it at its next
    heartbeat and stops at the following step."""
    row = await store.cancel(queue.pool, job_id)
    if row is not None:
        await publish_progress(queue, row)
    return row


# --- the worker's side -------------------------------------------------------------------------

GIVEN = "given"
PENDING = "pending"


async def _consent(conn: asyncpg.Connection, job: asyncpg.Record) -> str:
    """GIVEN when the job may render and keep its draft, PENDING while a remix waits for its
    owners, or why it may not: a cameo in it was deleted here, or its remix's consent was
    refused or withdrawn."""
    if await store.has_deleted_cameo(conn, list(job["cameo_uris"])):
        return CAMEO_DELETED
    if job["remix_id"] is None:
        return GIVEN
    state = await store.remix_state(conn, job["remix_id"])
    if state in ("authorized", "published"):
        return GIVEN
    return PENDING if state == "pending" else CONSENT_WITHDRAWN


async def _refusal(conn: asyncpg.Connection, job: asyncpg.Record) -> str | None:
    """Why a rendered job may not keep its draft, or None. (A remix cannot be pending again
    once it rendered, so PENDING is a refusal too.)"""
    consent = await _consent(conn, job)
    if consent == GIVEN:
        return None
    return CONSENT_WITHDRAWN if consent == PENDING else consent


async def claim(queue: JobQueue, arq_job_id: str, worker: str) -> Lease | None:
    """Lease the fairest queued job (not necessarily the one this arq job was sent for: any
    queued row is as good, and fairness is decided here). Consent is checked once more: a job
    whose remix's consent was withdrawn, or with a cameo deleted since, fails instead of
    rendering."""
    while True:
        token = uuid.uuid4()
        async with queue.pool.acquire() as conn, conn.transaction():
            row = await store.claim_next(conn, token, worker, arq_job_id)
            if row is None:
                return None
            consent = await _consent(conn, row)
            if consent == GIVEN:
                lease = Lease(row, token)
                break
            if consent == PENDING:
                await store.back_to_waiting(conn, row["id"], token)
            else:
                await store.finish(conn, row["id"], token, "failed", reason=consent)
        await publish_progress(queue, await store.job(queue.pool, row["id"]))
    await publish_progress(queue, lease.job)
    return lease


async def heartbeat(queue: JobQueue, lease: Lease, step: int, total: int | None,
                    eta_s: float | None) -> bool:
    """Renew the lease with the latest progress; False when the job is no longer ours."""
    alive = await store.heartbeat(queue.pool, lease.id, lease.token, step, total, eta_s)
    if alive:
        await report(queue, lease, step, total, eta_s)
    return alive


async def report(queue: JobQueue, lease: Lease, step: int, total: int | None, eta_s: float | None
                 ) -> None:
    """Progress between heartbeats, in Redis only: every step, without a write to the row."""
    await _set_progress(queue, lease.id, {"state": "running", "step": step, "total_steps": total,
                                          "eta_s": eta_s, "attempt": lease.job["attempts"]})


async def succeed(queue: JobQueue, lease: Lease, result: RenderResult, media: MediaSink,
                  new_key: Callable[[str, str], str]) -> bool:
    """Store the render as the requester's draft and tell the cameo owners, in one transaction
    that only the lease holder gets through; False (and nothing kept) otherwise."""

    async def finish(conn: asyncpg.Connection, job: asyncpg.Record, media_id: int) -> None:
        await store.finish(conn, lease.id, lease.token, "succeeded", media_id=media_id,
                           generator=result.generator)
        await _tell_cameo_owners(conn, job)

    return await _keep_draft(queue, lease, result, media, new_key, finish)


async def hold(queue: JobQueue, lease: Lease, result: RenderResult, media: MediaSink,
               new_key: Callable[[str, str], str], verdict: Verdict) -> bool:
    """The one place a job becomes held: the output safety check did not pass its draft.

    The draft is kept (staff review it) but shown to no one else, and the cameo owners are told
    only if a moderator releases it. A system report puts it in the moderators' queue, in the
    same transaction. False (and nothing kept) when the lease was lost."""

    async def finish(conn: asyncpg.Connection, job: asyncpg.Record, media_id: int) -> None:
        if await store.hold(conn, lease.id, lease.token, media_id=media_id, generator=result.generator,
                            score=verdict.score, frame=verdict.frame, reason=verdict.reason):
            await store.open_system_report(conn, generation_id=lease.id, account_id=job["actor_id"],
                                           reason=f"generation {lease.id} held: {verdict.reason}")

    held = await _keep_draft(queue, lease, result, media, new_key, finish)
    if held:
        log.warning("generation job %s held for moderation: %s", lease.id, verdict.reason)
    return held


async def _keep_draft(queue: JobQueue, lease: Lease, result: RenderResult, media: MediaSink,
                      new_key: Callable[[str, str], str],
                      finish: Callable[[asyncpg.Connection, asyncpg.Record, int], Awaitable[None]]
                      ) -> bool:
    """Store the render's files, its media row and its fingerprint, and `finish` the job, in one
    transaction that only the lease holder gets through; a job whose consent was withdrawn
    meanwhile (or whose cameo was deleted) fails instead. True when the draft was kept."""
    video_key = new_key("videos", "mp4")
    poster_key = new_key("posters", "jpg")
    await media.put_file(video_key, result.video_path)
    await media.put_file(poster_key, result.poster_path)
    kept = False
    async with queue.pool.acquire() as conn, conn.transaction():
        job = await store.lock_lease(conn, lease.id, lease.token)
        refusal = await _refusal(conn, job) if job is not None else None
        if refusal is not None:
            await store.finish(conn, lease.id, lease.token, "failed", reason=refusal)
        elif job is not None:
            media_id = await store.insert_draft_media(conn, {
                "actor_id": job["actor_id"], "kind": "video", "media_type": result.media_type,
                "storage_key": video_key, "poster_key": poster_key, "byte_size": result.byte_size,
                "width": result.width, "height": result.height, "duration": result.duration_s,
                "frame_rate": float(result.fps), "blurhash": result.blurhash,
                "description": job["prompt"][:1500],
            })
            await finish(conn, job, media_id)
            await store.insert_render_fingerprint(
                conn, job_id=lease.id, remix=job["remix_id"] is not None, sha256=result.sha256,
                duration=result.duration_s, frames=as_signed(result.fingerprint),
                band_keys=band_keys(result.fingerprint))
            kept = True
    if not kept:
        await media.delete(video_key)
        await media.delete(poster_key)
    await publish_progress(queue, await store.job(queue.pool, lease.id))
    return kept


async def _tell_cameo_owners(conn: asyncpg.Connection, job: asyncpg.Record) -> None:
    for user_id, _ in await store.cameo_owner_users(conn, job):
        await store.insert_notification(conn, user_id, "cameo_used", job["actor_id"])


async def fail(queue: JobQueue, lease: Lease, reason: str, *, retryable: bool) -> None:
    """A failed attempt: back to the queue if it may work next time and attempts are left,
    else failed for good with the reason kept."""
    attempts = lease.job["attempts"]
    if retryable and attempts < queue.config.max_attempts:
        if await store.requeue(queue.pool, lease.id, lease.token, reason, count_attempt=True):
            await _send(queue, lease.id, attempts)
    else:
        if retryable:
            reason = f"gave up after {attempts} attempts: {reason}"
        await store.finish(queue.pool, lease.id, lease.token, "failed", reason=reason)
    await publish_progress(queue, await store.job(queue.pool, lease.id))


async def release(queue: JobQueue, lease: Lease) -> None:
    """Give a job back without counting the attempt: its worker is shutting down."""
    if await store.requeue(queue.pool, lease.id, lease.token, "the worker shut down",
                           count_attempt=False):
        await _send(queue, lease.id, lease.job["attempts"] - 1)


# --- staff's decision on a held job ------------------------------------------------------------

REJECTED = "rejected by a moderator"


async def release_held(queue: JobQueue, job_id: int, reviewer: int, media: MediaSink
                       ) -> asyncpg.Record | None:
    """A moderator found the held draft fine: it becomes the requester's draft (succeeded) and
    the cameo owners are told. A job whose consent was withdrawn meanwhile (or whose cameo was
    deleted) fails instead, its draft deleted. None when the job is not held (any more)."""
    keys: list[str] = []
    async with queue.pool.acquire() as conn, conn.transaction():
        job = await store.lock_held(conn, job_id)
        if job is None:
            return None
        refusal = await _refusal(conn, job)
        if refusal is not None:
            row = await store.review_held(conn, job_id, reviewer, "failed", refusal)
            keys = await store.delete_draft_media(conn, job["result_media_id"])
        else:
            row = await store.review_held(conn, job_id, reviewer, "succeeded", None)
            await _tell_cameo_owners(conn, job)
        await store.resolve_system_reports(conn, job_id, reviewer, "released")
    for key in keys:
        await media.delete(key)
    await publish_progress(queue, row)
    return row


async def reject_held(queue: JobQueue, job_id: int, reviewer: int, media: MediaSink,
                      reason: str | None = None) -> asyncpg.Record | None:
    """A moderator refused the held draft: the job fails with the reason and the draft's media
    row and files are deleted. None when the job is not held (any more)."""
    async with queue.pool.acquire() as conn, conn.transaction():
        job = await store.lock_held(conn, job_id)
        if job is None:
            return None
        row = await store.review_held(conn, job_id, reviewer, "failed",
                                      f"{REJECTED}: {reason}" if reason else REJECTED)
        keys = await store.delete_draft_media(conn, job["result_media_id"])
        await store.resolve_system_reports(conn, job_id, reviewer, "rejected")
    for key in keys:
        await media.delete(key)
    await publish_progress(queue, row)
    return row


# --- drafts that end before they are published ------------------------------------------------

async def _end_draft(queue: JobQueue, media: MediaSink, job_id: int, *, leaving: tuple[str, ...],
                     state: str, reason: str | None) -> asyncpg.Record | None:
    """Move a job in one of the `leaving` states to `state` and delete its unpublished draft,
    rows first, then files (a held draft's system report is resolved with it). The job as it is
    left, or None when nothing moved (another state, or a post took the draft meanwhile)."""
    async with queue.pool.acquire() as conn, conn.transaction():
        keys = await store.end_draft(conn, job_id, leaving=leaving, state=state, reason=reason)
        if keys and "held" in leaving:
            await store.resolve_system_reports(conn, job_id, None, f"withdrawn: {reason}")
    if not keys:
        return None
    for key in keys:
        await media.delete(key)
    row = await store.job(queue.pool, job_id)
    await publish_progress(queue, row)
    return row


async def withdraw_drafts(queue: JobQueue, media: MediaSink, job_ids: Sequence[int], reason: str
                          ) -> int:
    """Delete these jobs' unpublished drafts, whose consent was withdrawn: each job fails with
    `reason`. A draft published meanwhile is left to its post's revocation. How many were
    withdrawn."""
    withdrawn = 0
    for job_id in job_ids:
        withdrawn += await _end_draft(queue, media, job_id, leaving=("succeeded", "held"),
                                      state="failed", reason=reason) is not None
    return withdrawn


async def remove_expired_drafts(queue: JobQueue, media: MediaSink) -> int:
    """Discard the drafts not published within the retention period (none when it is 0); how
    many. Their jobs say why."""
    days = queue.config.draft_retention_days
    if days == 0:
        return 0
    reason = f"not published within {days} day{'s' * (days > 1)}"
    removed = 0
    while expired := await store.expired_drafts(queue.pool, days):
        for job_id in expired:
            removed += await _end_draft(queue, media, job_id, leaving=("succeeded",),
                                        state="discarded", reason=reason) is not None
    return removed


def draft_expiry(config: GenerationConfig, job: asyncpg.Record, published: bool) -> datetime | None:
    """When a job's draft will be discarded unless published; None when it will not be."""
    if job["state"] != "succeeded" or published or job["result_media_id"] is None \
            or config.draft_retention_days == 0:
        return None
    return (job["reviewed_at"] or job["finished_at"]) + timedelta(days=config.draft_retention_days)


async def discard_draft(queue: JobQueue, media: MediaSink, job_id: int) -> asyncpg.Record | None:
    """The requester deletes a draft they will not publish: the job is `discarded` and the
    draft's files go. None unless the job succeeded and its draft is not published."""
    return await _end_draft(queue, media, job_id, leaving=("succeeded",), state="discarded",
                            reason=None)


# --- the sweeper and the watchdog --------------------------------------------------------------

async def sweep(queue: JobQueue, media: MediaSink) -> dict[str, int]:
    """Promote authorized remixes, delete the drafts of revoked ones, put stalled jobs back (or
    fail them after max_attempts), and send again the arq jobs Redis lost. Safe to run anywhere,
    any number of times."""
    counts = {"promoted": 0, "refused": 0, "withdrawn": 0, "requeued": 0, "failed": 0, "resent": 0}
    counts["refused"] = len(await store.fail_refused_waiting(queue.pool, CONSENT_WITHDRAWN))
    counts["withdrawn"] = await withdraw_drafts(
        queue, media, await store.drafts_of_revoked_remixes(queue.pool), CONSENT_WITHDRAWN)
    promoted = await store.promote_authorized(queue.pool)
    counts["promoted"] = len(promoted)
    for row in await store.stalled(queue.pool, queue.config.heartbeat_timeout_s):
        if row["attempts"] >= queue.config.max_attempts:
            reason = f"gave up after {row['attempts']} attempts: {STALLED}"
            if await store.fail_stalled(queue.pool, row["id"], row["claim_token"], reason):
                counts["failed"] += 1
                await publish_progress(queue, await store.job(queue.pool, row["id"]))
        elif await store.requeue_stalled(queue.pool, row["id"], row["claim_token"], STALLED):
            counts["requeued"] += 1
    rows = await store.queued_to_check(queue.pool, SWEEP_GRACE_S)
    if rows:
        async with queue.redis.pipeline(transaction=False) as pipe:
            for row in rows:
                pipe.exists(job_key_prefix + (row["arq_job_id"] or ""))
            present = await pipe.execute()
        for row, found in zip(rows, present, strict=True):
            if not found:
                await _send(queue, row["id"], row["attempts"], replacing=row["arq_job_id"])
                counts["resent"] += 1
    return counts


# --- progress ----------------------------------------------------------------------------------

def job_progress(row: asyncpg.Record, live: dict[str, Any] | None) -> dict[str, Any]:
    """State and progress of a job: the row, with Redis' fresher step count while it runs."""
    step, total, eta = row["step"], row["total_steps"], row["eta_s"]
    if row["state"] == "running" and live and live.get("attempt") == row["attempts"] \
            and live.get("state") == "running" and (live.get("step") or 0) >= step:
        step, total, eta = live["step"], live.get("total_steps"), live.get("eta_s")
    return {"state": row["state"], "step": step, "total_steps": total,
            "eta_s": None if row["state"] in SETTLED else eta}


async def live_progress(queue: JobQueue, job_id: int) -> dict[str, Any] | None:
    try:
        raw = await queue.redis.get(queue.progress_key(job_id))
    except (OSError, RedisError):
        return None
    return json.loads(raw) if raw else None


async def publish_progress(queue: JobQueue, row: asyncpg.Record | None) -> None:
    if row is not None:
        await _set_progress(queue, row["id"], {"state": row["state"], "step": row["step"],
                                               "total_steps": row["total_steps"],
                                               "eta_s": row["eta_s"], "attempt": row["attempts"]})


async def _set_progress(queue: JobQueue, job_id: int, fields: dict[str, Any]) -> None:
    """Progress in Redis for fast reads; the row stays the record (Redis may lose this)."""
    try:
        await queue.redis.set(queue.progress_key(job_id), json.dumps(fields), ex=PROGRESS_TTL_S)
    except (OSError, RedisError) as exc:
        log.warning("could not publish progress of generation job %s: %s", job_id, exc)
