"""SQL of the generation layer: jobs, their leases and the drafts they leave.

It also reads what a job depends on (remixes, cameos) and writes what a finished job leaves
behind (a media row, notifications), so that each step of a job is one transaction here.
"""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg

Conn = asyncpg.Connection | asyncpg.Pool
Record = asyncpg.Record


# --- quotas ------------------------------------------------------------------------------------

async def lock_requester(conn: asyncpg.Connection, actor_id: int) -> None:
    """Serialise one person's job creations, so that two requests at once cannot both pass a
    quota that only one fits in."""
    await conn.execute("SELECT 1 FROM actors WHERE id = $1 FOR NO KEY UPDATE", actor_id)


async def active_jobs(conn: Conn, actor_id: int) -> int:
    return await conn.fetchval(
        "SELECT count(*) FROM generation_jobs WHERE actor_id = $1 AND state IN ('queued', 'running')",
        actor_id)


async def seconds_until_day_slot(conn: Conn, actor_id: int, per_day: int) -> float | None:
    """None while fewer than `per_day` jobs were asked for in the last 24 hours; else how long
    until the oldest of the newest `per_day` leaves the window."""
    return await conn.fetchval(
        "SELECT extract(epoch FROM created_at + interval '1 day' - now())::float8"
        " FROM generation_jobs WHERE actor_id = $1 AND created_at > now() - interval '1 day'"
        " ORDER BY created_at DESC OFFSET $2 LIMIT 1", actor_id, per_day - 1)


# --- what a job depends on ---------------------------------------------------------------------

async def remix_state(conn: Conn, remix_id: int) -> str | None:
    return await conn.fetchval("SELECT state FROM remixes WHERE id = $1", remix_id)


async def cameo_instructions(conn: Conn, cameo_uris: list[str], remix_id: int | None = None
                             ) -> list[str]:
    """The owners' instructions of these cameos, in order: a cameo held here has its own; a
    remote one has what its Cameo said when the remix asked for it."""
    rows = await conn.fetch(
        "SELECT uri, instructions FROM cameos WHERE uri = ANY($1::text[])"
        " UNION ALL SELECT cameo_uri, instructions FROM remix_cameos"
        " WHERE remix_id = $2 AND cameo_uri = ANY($1::text[])"
        "   AND cameo_uri NOT IN (SELECT uri FROM cameos)", cameo_uris, remix_id)
    found = {r["uri"]: r["instructions"] for r in rows}
    return [found[uri] for uri in cameo_uris if found.get(uri)]


async def has_deleted_cameo(conn: Conn, cameo_uris: list[str]) -> bool:
    """Whether one of these cameos was held here and deleted: its images are gone, and no
    render of it may be made or kept."""
    return await conn.fetchval(
        "SELECT EXISTS (SELECT 1 FROM cameos WHERE uri = ANY($1::text[]) AND deleted_at IS NOT NULL)",
        cameo_uris)


async def reference_keys(conn: Conn, cameo_uris: list[str]) -> dict[str, list[str]]:
    """Storage keys of the reference images held here, by cameo; another instance's cameo
    (whose images are fetched for the render) is absent."""
    rows = await conn.fetch(
        "SELECT c.uri, r.storage_key FROM cameo_references r JOIN cameos c ON c.id = r.cameo_id"
        " WHERE c.uri = ANY($1::text[]) AND c.deleted_at IS NULL ORDER BY r.position", cameo_uris)
    keys: dict[str, list[str]] = {}
    for row in rows:
        keys.setdefault(row["uri"], []).append(row["storage_key"])
    return keys


async def cameo_owner_users(conn: Conn, job: Record) -> list[tuple[int, int]]:
    """(user id, actor id) of the local owners of the cameos a job used, the requester aside."""
    rows = await conn.fetch(
        "SELECT DISTINCT a.user_id, a.id FROM actors a WHERE a.user_id IS NOT NULL AND a.id <> $3"
        " AND (a.id IN (SELECT actor_id FROM cameos WHERE uri = ANY($1::text[]))"
        "   OR a.uri IN (SELECT owner_uri FROM remix_cameos WHERE remix_id = $2))",
        list(job["cameo_uris"]), job["remix_id"], job["actor_id"])
    return [(r["user_id"], r["id"]) for r in rows]


# --- creating and reading jobs -----------------------------------------------------------------

async def active_remix_job(conn: Conn, remix_id: int) -> int | None:
    """The remix's job on the way, or held for a moderator: one at a time per remix."""
    return await conn.fetchval(
        "SELECT id FROM generation_jobs WHERE remix_id = $1"
        " AND state IN ('waiting', 'queued', 'running', 'held')", remix_id)


async def latest_remix_job(conn: Conn, remix_id: int) -> Record | None:
    return await conn.fetchrow(
        "SELECT * FROM generation_jobs WHERE remix_id = $1 ORDER BY id DESC LIMIT 1", remix_id)


async def job_by_result(conn: Conn, media_id: int) -> Record | None:
    """The job whose draft a media row is, if it is one."""
    return await conn.fetchrow("SELECT * FROM generation_jobs WHERE result_media_id = $1", media_id)


async def _insert(conn: Conn, table: str, fields: dict[str, Any]) -> int:
    """INSERT one row of `fields` into `table` (names from this module's callers, never from a
    request; the values are parameters)."""
    params = ", ".join(f"${i}" for i in range(1, len(fields) + 1))
    return await conn.fetchval(f"INSERT INTO {table} ({', '.join(fields)}) VALUES ({params}) RETURNING id",
                               *fields.values())


async def insert_job(conn: Conn, fields: dict[str, Any]) -> int:
    return await _insert(conn, "generation_jobs", fields)


async def set_arq_job(conn: Conn, job_id: int, arq_job_id: str, *, replacing: str | None = None
                      ) -> bool:
    """Record the arq job that stands for a queued row; with `replacing`, only if that one
    still does (two sweepers never both send one)."""
    status = await conn.execute(
        "UPDATE generation_jobs SET arq_job_id = $2, enqueued_at = now()"
        " WHERE id = $1 AND state = 'queued' AND arq_job_id IS NOT DISTINCT FROM $3",
        job_id, arq_job_id, replacing)
    return status.endswith(" 1")


async def job(conn: Conn, job_id: int) -> Record | None:
    return await conn.fetchrow("SELECT * FROM generation_jobs WHERE id = $1", job_id)


async def jobs_of(conn: Conn, actor_id: int, *, limit: int, max_id: int | None) -> list[Record]:
    return await conn.fetch(
        "SELECT * FROM generation_jobs WHERE actor_id = $1 AND ($3::bigint IS NULL OR id < $3)"
        " ORDER BY id DESC LIMIT $2", actor_id, limit, max_id)


async def jobs_in_state(conn: Conn, state: str, *, limit: int, max_id: int | None) -> list[Record]:
    """Everyone's jobs in one state, newest first: what staff page through."""
    return await conn.fetch(
        "SELECT * FROM generation_jobs WHERE state = $1 AND ($3::bigint IS NULL OR id < $3)"
        " ORDER BY id DESC LIMIT $2", state, limit, max_id)


async def cancel(conn: Conn, job_id: int) -> Record | None:
    """Cancel a job that has not ended; a running worker notices at its next heartbeat."""
    return await conn.fetchrow(
        "UPDATE generation_jobs SET state = 'cancelled', finished_at = now(), claim_token = NULL,"
        " eta_s = NULL WHERE id = $1 AND state IN ('waiting', 'queued', 'running') RETURNING *",
        job_id)


# --- the fair claim ----------------------------------------------------------------------------

async def claim_next(conn: asyncpg.Connection, token: uuid.UUID, worker: str, arq_job_id: str
                     ) -> Record | None:
    """Lease the next queued job to `worker`, or None.

    Own users first (priority), then whoever has the fewest jobs running and was served longest
    ago, then the oldest request: one person's fifty requests take turns with everyone else's.
    SKIP LOCKED lets any number of workers claim at once without waiting on each other, and the
    state check makes the claim happen once. The arq job that stood for the claimed row is handed
    to the row whose arq job this worker consumed, so every queued row keeps one.
    """
    row = await conn.fetchrow(
        "WITH pick AS ("
        " SELECT j.id, j.arq_job_id AS stood_for FROM generation_jobs j WHERE j.state = 'queued'"
        " ORDER BY j.priority DESC,"
        "  (SELECT count(*) FROM generation_jobs r WHERE r.actor_id = j.actor_id"
        "   AND r.state = 'running'),"
        "  (SELECT max(s.started_at) FROM generation_jobs s WHERE s.actor_id = j.actor_id)"
        "   NULLS FIRST,"
        "  j.id"
        " LIMIT 1 FOR UPDATE OF j SKIP LOCKED)"
        " UPDATE generation_jobs g SET state = 'running', claim_token = $1, worker = $2,"
        " attempts = g.attempts + 1, heartbeat_at = now(), started_at = now(), step = 0,"
        " total_steps = NULL, eta_s = NULL, arq_job_id = $3"
        " FROM pick WHERE g.id = pick.id RETURNING g.*, pick.stood_for", token, worker, arq_job_id)
    if row is not None and row["stood_for"] and row["stood_for"] != arq_job_id:
        await conn.execute(
            "UPDATE generation_jobs SET arq_job_id = $1 WHERE state = 'queued' AND arq_job_id = $2",
            row["stood_for"], arq_job_id)
    return row


# --- the lease holder's updates ----------------------------------------------------------------

async def heartbeat(conn: Conn, job_id: int, token: uuid.UUID, step: int, total: int | None,
                    eta_s: float | None) -> bool:
    """Renew the lease and record progress; False once the job is no longer ours (cancelled,
    or given to another worker after we went quiet)."""
    status = await conn.execute(
        "UPDATE generation_jobs SET heartbeat_at = now(), step = $3, total_steps = $4, eta_s = $5"
        " WHERE id = $1 AND claim_token = $2 AND state = 'running'", job_id, token, step, total, eta_s)
    return status.endswith(" 1")


async def lock_lease(conn: asyncpg.Connection, job_id: int, token: uuid.UUID) -> Record | None:
    """The job, locked, if `token` still holds it: what finishing it is conditional on."""
    return await conn.fetchrow(
        "SELECT * FROM generation_jobs WHERE id = $1 AND claim_token = $2 AND state = 'running'"
        " FOR UPDATE", job_id, token)


async def finish(conn: Conn, job_id: int, token: uuid.UUID, state: str, *,
                 reason: str | None = None, media_id: int | None = None,
                 generator: str | None = None) -> bool:
    status = await conn.execute(
        "UPDATE generation_jobs SET state = $3, failure_reason = $4, result_media_id = $5,"
        " generator = $6, finished_at = now(), claim_token = NULL, eta_s = NULL,"
        " step = CASE WHEN $3 = 'succeeded' THEN coalesce(total_steps, step) ELSE step END"
        " WHERE id = $1 AND claim_token = $2 AND state = 'running'",
        job_id, token, state, reason, media_id, generator)
    return status.endswith(" 1")


async def hold(conn: Conn, job_id: int, token: uuid.UUID, *, media_id: int, generator: str,
               score: float | None, frame: int | None, reason: str) -> bool:
    """End the lease with the draft kept but held for a moderator, and the check's verdict."""
    status = await conn.execute(
        "UPDATE generation_jobs SET state = 'held', result_media_id = $3, generator = $4,"
        " safety_score = $5, safety_frame = $6, held_reason = $7, finished_at = now(),"
        " claim_token = NULL, eta_s = NULL, step = coalesce(total_steps, step)"
        " WHERE id = $1 AND claim_token = $2 AND state = 'running'",
        job_id, token, media_id, generator, score, frame, reason)
    return status.endswith(" 1")


async def requeue(conn: Conn, job_id: int, token: uuid.UUID, error: str, *, count_attempt: bool
                  ) -> bool:
    """Give a job back to the queue (a retryable failure, or a worker shutting down)."""
    status = await conn.execute(
        "UPDATE generation_jobs SET state = 'queued', claim_token = NULL, worker = NULL,"
        " last_error = $3, eta_s = NULL, arq_job_id = NULL,"
        " attempts = CASE WHEN $4 THEN attempts ELSE attempts - 1 END"
        " WHERE id = $1 AND claim_token = $2 AND state = 'running'", job_id, token, error, count_attempt)
    return status.endswith(" 1")


async def back_to_waiting(conn: Conn, job_id: int, token: uuid.UUID) -> None:
    await conn.execute(
        "UPDATE generation_jobs SET state = 'waiting', claim_token = NULL, worker = NULL,"
        " attempts = attempts - 1, arq_job_id = NULL"
        " WHERE id = $1 AND claim_token = $2 AND state = 'running'", job_id, token)


# --- the sweeper and the watchdog --------------------------------------------------------------

async def fail_refused_waiting(conn: Conn, reason: str) -> list[int]:
    rows = await conn.fetch(
        "UPDATE generation_jobs j SET state = 'failed', failure_reason = $1, finished_at = now()"
        " FROM remixes r WHERE r.id = j.remix_id AND j.state = 'waiting'"
        " AND r.state IN ('rejected', 'revoked') RETURNING j.id", reason)
    return [r["id"] for r in rows]


async def promote_authorized(conn: Conn) -> list[int]:
    """Waiting remix jobs whose consent is now complete go to the queue."""
    rows = await conn.fetch(
        "UPDATE generation_jobs j SET state = 'queued', arq_job_id = NULL FROM remixes r"
        " WHERE r.id = j.remix_id AND j.state = 'waiting' AND r.state IN ('authorized', 'published')"
        " RETURNING j.id")
    return [r["id"] for r in rows]


async def stalled(conn: Conn, timeout_s: float) -> list[Record]:
    return await conn.fetch(
        "SELECT id, attempts, claim_token, last_error FROM generation_jobs WHERE state = 'running'"
        " AND heartbeat_at < now() - make_interval(secs => $1)", timeout_s)


async def requeue_stalled(conn: Conn, job_id: int, token: uuid.UUID, error: str) -> bool:
    status = await conn.execute(
        "UPDATE generation_jobs SET state = 'queued', claim_token = NULL, worker = NULL,"
        " last_error = $3, eta_s = NULL, arq_job_id = NULL"
        " WHERE id = $1 AND claim_token = $2 AND state = 'running'", job_id, token, error)
    return status.endswith(" 1")


async def fail_stalled(conn: Conn, job_id: int, token: uuid.UUID, reason: str) -> bool:
    status = await conn.execute(
        "UPDATE generation_jobs SET state = 'failed', claim_token = NULL, failure_reason = $3,"
        " last_error = $3, eta_s = NULL, finished_at = now()"
        " WHERE id = $1 AND claim_token = $2 AND state = 'running'", job_id, token, reason)
    return status.endswith(" 1")


async def queued_to_check(conn: Conn, grace_s: float) -> list[Record]:
    """Queued rows old enough that their arq job, if Redis still has it, was sent."""
    return await conn.fetch(
        "SELECT id, attempts, arq_job_id FROM generation_jobs WHERE state = 'queued'"
        " AND (arq_job_id IS NULL OR enqueued_at < now() - make_interval(secs => $1))"
        " ORDER BY id", grace_s)


# --- held jobs: a moderator's decision ---------------------------------------------------------

async def lock_held(conn: asyncpg.Connection, job_id: int) -> Record | None:
    """The job, locked, if it is held: two moderators deciding at once decide once."""
    return await conn.fetchrow(
        "SELECT * FROM generation_jobs WHERE id = $1 AND state = 'held' FOR UPDATE", job_id)


async def is_held_draft(conn: Conn, media_id: int) -> bool:
    return await conn.fetchval(
        "SELECT EXISTS (SELECT 1 FROM generation_jobs WHERE result_media_id = $1 AND state = 'held')",
        media_id)


async def review_held(conn: Conn, job_id: int, reviewer: int, state: str, reason: str | None
                      ) -> Record:
    """A held job released (succeeded, its draft kept) or refused (failed: the draft goes, and
    `reason` says why)."""
    return await conn.fetchrow(
        "UPDATE generation_jobs SET state = $3, failure_reason = $4, reviewed_by = $2,"
        " reviewed_at = now(),"
        " result_media_id = CASE WHEN $3 = 'succeeded' THEN result_media_id END"
        " WHERE id = $1 AND state = 'held' RETURNING *", job_id, reviewer, state, reason)


# --- drafts whose consent was withdrawn ---------------------------------------------------------

async def drafts_of_revoked_remixes(conn: Conn) -> list[int]:
    """Jobs whose unpublished draft a revoked consent no longer allows. A remix renders only once
    authorized, and leaves `authorized` only to be published or revoked, so the revoked remixes
    (few, and indexed) are where to look."""
    return [r["id"] for r in await conn.fetch(
        "SELECT j.id FROM remixes r JOIN generation_jobs j ON j.remix_id = r.id"
        " JOIN media m ON m.id = j.result_media_id"
        " WHERE r.state = 'revoked' AND j.state IN ('succeeded', 'held') AND m.post_id IS NULL")]


async def drafts_with_cameo(conn: Conn, owner_id: int, cameo_uri: str) -> list[int]:
    """Jobs of a cameo's owner whose unpublished draft shows that cameo (others' drafts rest on
    a remix, whose consent is withdrawn with the cameo)."""
    return [r["id"] for r in await conn.fetch(
        "SELECT j.id FROM generation_jobs j JOIN media m ON m.id = j.result_media_id"
        " WHERE j.actor_id = $1 AND $2 = ANY (j.cameo_uris) AND j.state IN ('succeeded', 'held')"
        " AND m.post_id IS NULL", owner_id, cameo_uri)]


async def expired_drafts(conn: Conn, days: int, limit: int = 500) -> list[int]:
    """Jobs whose draft nobody published within `days` of its being shown to its requester
    (made, or released by a moderator)."""
    return [r["id"] for r in await conn.fetch(
        "SELECT j.id FROM generation_jobs j JOIN media m ON m.id = j.result_media_id"
        " WHERE j.state = 'succeeded' AND m.post_id IS NULL"
        " AND coalesce(j.reviewed_at, j.finished_at) < now() - make_interval(days => $1)"
        " ORDER BY j.id LIMIT $2", days, limit)]


async def end_draft(conn: asyncpg.Connection, job_id: int, *, leaving: tuple[str, ...], state: str,
                    reason: str | None) -> list[str]:
    """Move a job in one of the `leaving` states to `state` (with `reason`) and delete its draft,
    unless a post took the draft meanwhile (then nothing changes: a post is deleted as a post).
    The storage keys of the draft's files, to delete after the commit; empty when nothing moved."""
    job = await conn.fetchrow(
        "SELECT result_media_id FROM generation_jobs WHERE id = $1 AND state = ANY ($2::text[])"
        " AND result_media_id IS NOT NULL FOR UPDATE", job_id, list(leaving))
    keys = await delete_draft_media(conn, job["result_media_id"]) if job else []
    if keys:
        await conn.execute(
            "UPDATE generation_jobs SET state = $2, failure_reason = $3, result_media_id = NULL"
            " WHERE id = $1", job_id, state, reason)
    return keys


async def delete_draft_media(conn: Conn, media_id: int) -> list[str]:
    """Delete an unpublished draft's media row; the storage keys of its files, to delete after
    the commit."""
    row = await conn.fetchrow(
        "DELETE FROM media WHERE id = $1 AND post_id IS NULL RETURNING storage_key, poster_key",
        media_id)
    return [key for key in (row["storage_key"], row["poster_key"]) if key] if row else []


# --- what a finished job leaves ----------------------------------------------------------------

async def insert_draft_media(conn: Conn, fields: dict[str, Any]) -> int:
    return await _insert(conn, "media", fields)


async def insert_notification(conn: Conn, user_id: int, type: str, from_actor_id: int) -> None:
    await conn.execute(
        "INSERT INTO notifications (user_id, type, from_actor_id) VALUES ($1, $2, $3)",
        user_id, type, from_actor_id)


async def resolve_system_reports(conn: Conn, generation_id: int, reviewer: int | None, outcome: str
                                 ) -> None:
    """A reviewed held generation's system report leaves the open queue, with the review in its
    audit log: releasing or rejecting the draft is what the report asked for."""
    rows = await conn.fetch(
        "UPDATE reports SET resolved_at = now(), resolved_by = $2, updated_at = now()"
        " WHERE generation_id = $1 AND reporter_id IS NULL AND origin_domain IS NULL"
        " AND resolved_at IS NULL RETURNING id, target_id", generation_id, reviewer)
    await conn.executemany(
        "INSERT INTO moderation_actions (moderator_id, action, target_kind, account_id, report_id, text)"
        " VALUES ($1, 'resolve', 'report', $2, $3, $4)",
        [(reviewer, row["target_id"], row["id"], f"the held generation was {outcome}") for row in rows])


async def open_system_report(conn: Conn, *, generation_id: int, account_id: int, reason: str) -> int:
    """A report with no reporter on the account whose generation was held, so that the held video
    waits in the moderators' queue (migrations/0012_moderation.sql); staff are told, as of any new
    report. Here rather than in the server's store: generation does not import the server."""
    report_id = await conn.fetchval(
        "INSERT INTO reports (target_id, category, comment, generation_id)"
        " VALUES ($1, 'other', $2, $3) RETURNING id", account_id, reason, generation_id)
    await conn.execute(
        "INSERT INTO notifications (user_id, type, report_id)"
        " SELECT id, 'admin.report', $1 FROM users WHERE role IN ('admin', 'moderator') AND NOT disabled",
        report_id)
    return report_id


# --- what a render looks like, kept after its draft -------------------------------------------

async def insert_render_fingerprint(conn: Conn, *, job_id: int, remix: bool, sha256: bytes,
                                    duration: float, frames: list[int], band_keys: list[int]) -> None:
    """`frames` as signed 64-bit integers (fingerprint.as_signed)."""
    await conn.execute(
        "INSERT INTO render_fingerprints (job_id, remix, sha256, duration, frames, band_keys)"
        " VALUES ($1, $2, $3, $4, $5, $6)", job_id, remix, sha256, duration, frames, band_keys)


async def is_render(conn: Conn, sha256: bytes) -> bool:
    """Whether a file with this SHA-256 is a render of this instance."""
    return await conn.fetchval("SELECT EXISTS (SELECT 1 FROM render_fingerprints WHERE sha256 = $1)",
                               sha256)


async def remix_renders_sharing_keys(conn: Conn, band_keys: list[int], limit: int) -> list[Record]:
    """The remixes' renders that share a coarse key with a fingerprint (found through the GIN
    index), those sharing the most first, at most `limit`."""
    return await conn.fetch(
        "SELECT id, job_id, duration, frames FROM render_fingerprints"
        " WHERE remix AND band_keys && $1::int[]"
        " ORDER BY cardinality(ARRAY(SELECT unnest(band_keys) INTERSECT SELECT unnest($1::int[]))) DESC,"
        " id DESC LIMIT $2", band_keys, limit)


async def jobs_by_state(conn: Conn) -> dict[str, int]:
    """How many jobs are in each state (what /metrics reports)."""
    rows = await conn.fetch("SELECT state, count(*) AS n FROM generation_jobs GROUP BY state")
    return {row["state"]: row["n"] for row in rows}
