"""Delivery: one job per (activity, distinct inbox), signed, retried over about two days.

Rows in `deliveries` are the truth; the arq job carries only the row id, so a job lost from Redis
is found again by `sweep`, and a worker restart loses nothing.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import asyncpg
import httpx

from . import fetch, metrics, signing, store
from .context import Federation

log = logging.getLogger(__name__)

# Seconds to wait after each failed attempt: about two days in all, then the peer is unreachable.
BACKOFF = (30, 120, 480, 1800, 3600, 7200, 14400, 28800, 43200, 43200, 43200)
# 4xx answers that may succeed later; any other 4xx is final (as Mastodon treats them).
RETRYABLE_4XX = frozenset({401, 408, 429})
# An inbox's answer is read to its end up to this size (keep-alive), and no further.
MAX_ANSWER_BYTES = 64 * 1024
# How many of an activity's deliveries the process that queued them makes itself, at once: a
# consent answer or a reply to one person, not a post's fan-out, which the workers share.
AT_ONCE = 2


async def queue_activity(conn: asyncpg.Connection, actor_id: int, activity: dict[str, Any],
                         inboxes: list[str], *, public: bool) -> list[int]:
    """Record an activity in the sender's outbox and one delivery per distinct inbox.

    Runs in the caller's transaction, so the change and its deliveries commit together;
    `start` queues the jobs after the commit.
    """
    activity_id = await store.insert_outbox_activity(conn, activity["id"], actor_id,
                                                     activity["type"], activity, public)
    distinct = sorted({i for i in inboxes if i})
    return await store.insert_deliveries(conn, activity_id, distinct) if distinct else []


async def forward_activity(conn: asyncpg.Connection, actor_id: int, activity: dict[str, Any],
                           inboxes: list[str], *, public: bool) -> list[int]:
    """Forward an activity to more inboxes. One this instance sent itself (both sides of a
    remix are local) is in the outbox already: it gets the further deliveries."""
    known = await store.outbox_activity_id(conn, activity["id"])
    if known is None:
        return await queue_activity(conn, actor_id, activity, inboxes, public=public)
    distinct = sorted({i for i in inboxes if i})
    return await store.insert_deliveries(conn, known, distinct) if distinct else []


async def start(fed: Federation, delivery_ids: list[int]) -> None:
    """Send the deliveries just committed. A process that renews its leases (one running a
    worker) makes the first few itself at once, claimed before this returns: an answer to a
    RemixRequest waits for no worker's poll. The rest go to the queue."""
    at_once = delivery_ids[:AT_ONCE] if fed.leases.can_run() else []
    for delivery_id in delivery_ids[len(at_once):]:
        await fed.enqueue("deliver", delivery_id, job_id=f"deliver:{delivery_id}:0")
    for delivery_id in at_once:
        row = await store.claim_delivery(fed.pool, delivery_id, fed.leases.lease_s)
        if row is not None:
            fed.leases.run(_attempt_leased(fed, row))


async def deliver(fed: Federation, delivery_id: int) -> str:
    """Make one attempt at one delivery; returns the state it is left in."""
    row = await store.claim_delivery(fed.pool, delivery_id, fed.leases.lease_s)
    if row is None:
        metrics.DELIVERIES.labels("not due").inc()
        return "not due"
    return await _attempt_leased(fed, row)


async def _attempt_leased(fed: Federation, row: asyncpg.Record) -> str:
    """One attempt at a delivery claimed by this process, whose lease it renews meanwhile."""
    with fed.leases.holding("deliveries", row["id"]):
        outcome = await _attempt(fed, row)
    metrics.DELIVERIES.labels(outcome).inc()
    return outcome


async def _attempt(fed: Federation, row: asyncpg.Record) -> str:
    delivery_id = row["id"]
    host = urlsplit(row["inbox"]).netloc.lower()
    refusal = await fed.rules.refusal(host)
    if refusal is not None:
        # Checked when sent, not when queued: a block made since then stops what is still due.
        await store.finish_delivery(fed.pool, delivery_id, "skipped", refusal)
        return "skipped"
    peer = await store.peer(fed.pool, host)
    if peer is not None and peer["unreachable_since"] is not None:
        await store.finish_delivery(fed.pool, delivery_id, "skipped", "peer is unreachable")
        return "skipped"
    keys = await signing.signing_keys(fed, row["actor_id"])
    body = json.dumps(row["body"]).encode()
    scheme = signing.scheme_of(peer)
    try:
        status = await _post(fed, keys, row["inbox"], body, scheme)
        if status == 401:
            # Double knock: the other scheme once, and remember whichever worked.
            other = signing.RFC9421_RSA if scheme == signing.CAVAGE else signing.CAVAGE
            retry = await _post(fed, keys, row["inbox"], body, other)
            if retry < 400:
                scheme, status = other, retry
    except (fetch.FetchError, httpx.HTTPError) as exc:
        return await _failed(fed, row, host, f"{type(exc).__name__}: {exc}")
    if status < 300:
        await store.peer_answered(fed.pool, host, scheme)
        await store.finish_delivery(fed.pool, delivery_id, "done")
        return "done"
    if status == 410:
        await store.delete_actors_with_inbox(fed.pool, row["inbox"])
        await store.finish_delivery(fed.pool, delivery_id, "failed", "410 Gone")
        return "failed"
    if 400 <= status < 500 and status not in RETRYABLE_4XX:
        await store.finish_delivery(fed.pool, delivery_id, "failed", f"HTTP {status}")
        return "failed"
    return await _failed(fed, row, host, f"HTTP {status}")


async def _post(fed: Federation, keys: signing.SigningKeys, inbox: str, body: bytes, scheme: str) -> int:
    """POST to an inbox; its status. The answer's body says nothing we use: a short one is read
    to its end, so that the connection serves the next delivery, and a long one is left unread."""
    headers = {"Content-Type": 'application/activity+json', "Accept": "application/activity+json"}
    headers.update(keys.sign(scheme, "POST", inbox, headers, body))
    async with fed.client.stream("POST", inbox, content=body, headers=headers) as response:
        read = 0
        async for chunk in response.aiter_bytes():
            read += len(chunk)
            if read > MAX_ANSWER_BYTES:
                break
        return response.status_code


async def _failed(fed: Federation, row: asyncpg.Record, host: str, error: str) -> str:
    attempt = row["attempts"]
    if attempt >= len(BACKOFF):
        await store.finish_delivery(fed.pool, row["id"], "failed", error)
        await store.peer_unreachable(fed.pool, host)
        # The next request from this peer must clear the mark (other processes: within a minute).
        fed.peers_seen.pop(host, None)
        return "failed"
    delay = BACKOFF[attempt]
    await store.reschedule_delivery(fed.pool, row["id"],
                                    datetime.now(UTC) + timedelta(seconds=delay), error)
    await fed.enqueue("deliver", row["id"], job_id=f"deliver:{row['id']}:{attempt + 1}",
                      defer_by=delay)
    return "retry"


async def sweep(fed: Federation) -> int:
    """Queue again what Redis may have lost: due deliveries and unhandled inbox activities."""
    due = await store.due_deliveries(fed.pool)
    for delivery_id, attempts in due:
        await fed.enqueue("deliver", delivery_id, job_id=f"deliver:{delivery_id}:{attempts}:sweep")
    pending = await store.pending_inbox_activities(fed.pool, older_than_seconds=120)
    for row_id, attempts in pending:
        await fed.enqueue("process_inbox", row_id, job_id=f"inbox:{row_id}:{attempts}:sweep")
    return len(due) + len(pending)


async def resume_abandoned(fed: Federation) -> int:
    """Queue again the deliveries and inbox activities whose lease ran out: their worker died (or
    hung) while handling them. Run every few seconds, so that such work resumes about a lease's
    length after the crash. Each expiry gets a job id of its own: the dead worker's job may still
    hold the row's usual one in Redis."""
    released = 0
    for delivery_id, attempts, expired in await store.release_expired_leases(fed.pool, "deliveries"):
        await fed.enqueue("deliver", delivery_id,
                          job_id=f"deliver:{delivery_id}:{attempts}:lease:{expired.timestamp()}")
        released += 1
    for row_id, attempts, expired in await store.release_expired_leases(fed.pool, "inbox_activities"):
        await fed.enqueue("process_inbox", row_id,
                          job_id=f"inbox:{row_id}:{attempts}:lease:{expired.timestamp()}")
        released += 1
    return released
