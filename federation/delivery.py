"""Delivery: one row per (activity, distinct inbox), signed, retried over about two days.

Rows in `deliveries` are the truth; an arq job carries only row ids (a batch of them when an
activity is first sent, one for a retry), so a job lost from Redis is found again by `sweep`, and
a worker restart loses nothing.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections import Counter
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
# The job that sends an activity's deliveries. Up to DRAINERS such jobs (on any workers) share a
# large fan-out: few, since arq looks at every queued job, running ones included, at each poll.
# Each claims BATCH deliveries at a time, keeps up to WINDOW in flight (the HTTP client holds
# each host to its limit and queues past its pool's size), and hands over after DRAIN_S, well
# within the worker's job timeout (server/worker.py).
BATCH_FUNCTION = "deliver_batch"
# The job that turns a post's followers into its deliveries (`expand`).
EXPAND_FUNCTION = "expand_deliveries"
DRAINERS = 4
BATCH = 25
WINDOW = 100
DRAIN_S = 60.0
# How many of an activity's deliveries the process that queued them makes itself, at once: a
# consent answer or a reply to one person, not a post's fan-out, which the workers share.
AT_ONCE = 2


async def queue_activity(conn: asyncpg.Connection, actor_id: int, activity: dict[str, Any],
                         inboxes: list[str], *, public: bool) -> list[int]:
    """Record an activity in the sender's outbox and one delivery per distinct inbox.

    Runs in the caller's transaction, so the change and its deliveries commit together;
    `start` queues the jobs after the commit. One statement: a consent answer waits for it.
    """
    return await store.insert_outbox_activity_to(conn, activity["id"], actor_id, activity["type"],
                                                 activity, public, _distinct(inboxes))


async def queue_with_followers(conn: asyncpg.Connection, actor_id: int, activity: dict[str, Any],
                               inboxes: list[str], *, public: bool) -> int:
    """Record an activity for the sender's followers and these other inboxes; its id, for
    `start_expansion` after the commit. Only the other inboxes (the few a post mentions) get
    their deliveries here: the followers', thousands of rows, are a worker's (`expand`), so the
    posting call costs the same whatever their number."""
    activity_id = await store.insert_outbox_activity(conn, activity["id"], actor_id, activity["type"],
                                                     activity, public, followers_pending=True)
    await _insert_deliveries(conn, activity_id, inboxes)
    return activity_id


async def forward_activity(conn: asyncpg.Connection, actor_id: int, activity: dict[str, Any],
                           inboxes: list[str], *, public: bool) -> list[int]:
    """Forward an activity to more inboxes. One this instance sent itself (both sides of a
    remix are local) is in the outbox already: it gets the further deliveries."""
    known = await store.outbox_activity_id(conn, activity["id"])
    if known is None:
        return await queue_activity(conn, actor_id, activity, inboxes, public=public)
    return await _insert_deliveries(conn, known, inboxes)


async def _insert_deliveries(conn: asyncpg.Connection, activity_id: int, inboxes: list[str]) -> list[int]:
    """One delivery of the activity per distinct inbox given; their ids."""
    distinct = _distinct(inboxes)
    return await store.insert_deliveries(conn, activity_id, distinct) if distinct else []


def _distinct(inboxes: list[str]) -> list[str]:
    return sorted({i for i in inboxes if i})


async def start(fed: Federation, delivery_ids: list[int]) -> None:
    """Send the deliveries just committed. A process that renews its leases (one running a
    worker) makes the first few itself at once, claimed before this returns: an answer to a
    RemixRequest waits for no worker's poll. The rest go to the queue as one job, however many
    there are, so that the posting call costs one Redis round trip whatever the follower count;
    the job shares the work out (`deliver_batch`)."""
    at_once = delivery_ids[:AT_ONCE] if fed.leases.can_run() else []
    rest = delivery_ids[len(at_once):]
    if rest:
        await fed.enqueue(BATCH_FUNCTION, rest, True, job_id=f"deliver-batch:{rest[0]}:{len(rest)}")
    if at_once:
        rows = await store.claim_deliveries(fed.pool, at_once, fed.leases.lease_s)
        if rows:
            fed.leases.run(_send_claimed(fed, rows))


async def start_expansion(fed: Federation, activity_id: int) -> None:
    """Expand an activity's followers into deliveries and send them all: at once in a process
    that runs a worker (as `start` does), else as a queued job. Either way a crash loses
    nothing: the activity stays marked until expanded, and `sweep` queues it again."""
    if fed.leases.can_run():
        fed.leases.run(expand(fed, activity_id))
    else:
        await fed.enqueue(EXPAND_FUNCTION, activity_id, job_id=f"expand:{activity_id}")


async def expand(fed: Federation, activity_id: int) -> dict[str, int]:
    """The job `start_expansion` (or `sweep`) queues: one delivery per distinct follower inbox,
    inserted in one statement, then all the activity's due deliveries drained as `deliver_batch`
    does. A second run finds the expansion done and leaves the drain to the first: its rows are
    leased, and what it leaves (a dead worker's) the sweepers queue again."""
    async with fed.pool.acquire() as conn:
        if await store.expand_follower_deliveries(conn, activity_id) is None:
            return {}
        delivery_ids = await store.queued_delivery_ids(conn, activity_id)
    return await deliver_batch(fed, delivery_ids, True) if delivery_ids else {}


async def deliver_batch(fed: Federation, delivery_ids: list[int], share: bool) -> dict[str, int]:
    """The job `start` queues. Past one batch, with `share`, it queues `DRAINERS - 1` more jobs
    for the same deliveries, so that the other workers take part; each then claims batches of
    the due ones not claimed yet until none is left (or `DRAIN_S` has passed: it queues itself
    again, so that no job outlives the worker's job timeout). The count of each outcome."""
    if share:
        for n in range(1, min(DRAINERS, math.ceil(len(delivery_ids) / BATCH))):
            await fed.enqueue(BATCH_FUNCTION, delivery_ids, False,
                              job_id=f"deliver-batch:{delivery_ids[0]}:{len(delivery_ids)}:{n}")
    counts, finished = await _drain(fed, delivery_ids)
    if not finished:
        await fed.enqueue(BATCH_FUNCTION, delivery_ids, False,
                          job_id=f"deliver-batch:{delivery_ids[0]}:{len(delivery_ids)}:{time.time()}")
    return dict(counts)


async def _drain(fed: Federation, delivery_ids: list[int]) -> tuple[Counter[str], bool]:
    """Claim and send batches of these deliveries, up to `WINDOW` in flight, each batch recorded
    as soon as its own POSTs are over (a slow host holds back only its batch); the outcomes, and
    whether none was left to claim."""
    counts: Counter[str] = Counter()
    in_flight: dict[asyncio.Task[list[str]], int] = {}
    stop_at = time.monotonic() + DRAIN_S
    left = True
    try:
        while left or in_flight:
            room = WINDOW - sum(in_flight.values())
            if left and room >= BATCH and time.monotonic() < stop_at:
                rows = await store.claim_next_deliveries(fed.pool, delivery_ids, BATCH, fed.leases.lease_s)
                left = len(rows) == BATCH
                if rows:
                    in_flight[asyncio.create_task(_send_claimed(fed, rows))] = len(rows)
                continue
            if not in_flight:
                break
            done, _ = await asyncio.wait(in_flight, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                del in_flight[task]
                counts.update(task.result())
    finally:
        # On an error or a cancellation the others stop too; their leases run out, and
        # `resume_abandoned` queues them again.
        for task in in_flight:
            task.cancel()
    return counts, not left


async def deliver(fed: Federation, delivery_id: int) -> str:
    """Make one attempt at one delivery (a retry, or one the sweepers found); the state it is
    left in."""
    rows = await store.claim_deliveries(fed.pool, [delivery_id], fed.leases.lease_s)
    if not rows:
        metrics.DELIVERIES.labels("not due").inc()
        return "not due"
    return (await _send_claimed(fed, rows))[0]


async def _send_claimed(fed: Federation, rows: list[asyncpg.Record]) -> list[str]:
    """Send claimed deliveries at once, their leases renewed meanwhile; what state each is left in."""
    with fed.leases.holding("deliveries", *(row["id"] for row in rows)):
        outcomes = await _attempt_all(fed, rows)
    for outcome in outcomes:
        metrics.DELIVERIES.labels(outcome).inc()
    return outcomes


async def _attempt_all(fed: Federation, rows: list[asyncpg.Record]) -> list[str]:
    """One query reads the activities the rows send and one the peers they go to, both at once,
    and one transaction records all that were taken."""
    activity_ids = sorted({row["activity_id"] for row in rows})
    hosts = [urlsplit(row["inbox"]).netloc.lower() for row in rows]
    # Side by side, on two connections: the first POST waits for one round trip, not two.
    bodies, known = await asyncio.gather(store.outbox_bodies(fed.pool, activity_ids),
                                         store.peers(fed.pool, sorted(set(hosts))))
    activities = {a["id"]: a for a in bodies}
    peers = {p["host"]: p for p in known}
    results = await asyncio.gather(*(
        _attempt(fed, row, host, activities[row["activity_id"]], peers.get(host))
        for row, host in zip(rows, hosts, strict=True)))
    taken = {row["id"]: (host, scheme)
             for row, host, (outcome, scheme) in zip(rows, hosts, results, strict=True) if outcome == "done"}
    if taken:
        async with fed.pool.acquire() as conn, conn.transaction():
            await store.peers_answered(conn, dict(taken.values()))
            await store.finish_deliveries(conn, sorted(taken), "done")
    return [outcome for outcome, _ in results]


async def _attempt(fed: Federation, row: asyncpg.Record, host: str, activity: asyncpg.Record,
                   peer: asyncpg.Record | None) -> tuple[str, str | None]:
    """One attempt; its outcome, and for one taken ("done", recorded by the caller with the
    others) the signature scheme that worked. Every other outcome is recorded here."""
    delivery_id = row["id"]
    refusal = await fed.rules.refusal(host)
    if refusal is not None:
        # Checked when sent, not when queued: a block made since then stops what is still due.
        await store.finish_delivery(fed.pool, delivery_id, "skipped", refusal)
        return "skipped", None
    if peer is not None and peer["unreachable_since"] is not None:
        await store.finish_delivery(fed.pool, delivery_id, "skipped", "peer is unreachable")
        return "skipped", None
    keys = await signing.signing_keys(fed, activity["actor_id"])
    body = activity["body"].encode()
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
        return await _failed(fed, row, host, f"{type(exc).__name__}: {exc}"), None
    if status < 300:
        return "done", scheme
    if status == 410:
        await store.delete_actors_with_inbox(fed.pool, row["inbox"])
        await store.finish_delivery(fed.pool, delivery_id, "failed", "410 Gone")
        return "failed", None
    if 400 <= status < 500 and status not in RETRYABLE_4XX:
        await store.finish_delivery(fed.pool, delivery_id, "failed", f"HTTP {status}")
        return "failed", None
    return await _failed(fed, row, host, f"HTTP {status}"), None


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
        # The next request from this peer, to any process, must clear the mark.
        await fed.peers_seen.changed()
        return "failed"
    delay = BACKOFF[attempt]
    await store.reschedule_delivery(fed.pool, row["id"],
                                    datetime.now(UTC) + timedelta(seconds=delay), error)
    await fed.enqueue("deliver", row["id"], job_id=f"deliver:{row['id']}:{attempt + 1}",
                      defer_by=delay)
    return "retry"


async def sweep(fed: Federation) -> int:
    """Queue again what Redis may have lost: expansions not done within a lease (their job was
    lost, or their worker died), due deliveries and unhandled inbox activities."""
    unexpanded = await store.unexpanded_activities(fed.pool, fed.leases.lease_s)
    for activity_id, _ in unexpanded:
        await fed.enqueue(EXPAND_FUNCTION, activity_id, job_id=f"expand:{activity_id}:sweep:{time.time()}")
    due = await store.due_deliveries(fed.pool)
    for delivery_id, attempts in due:
        await fed.enqueue("deliver", delivery_id, job_id=f"deliver:{delivery_id}:{attempts}:sweep")
    pending = await store.pending_inbox_activities(fed.pool, older_than_seconds=120)
    for row_id, attempts in pending:
        await fed.enqueue("process_inbox", row_id, job_id=f"inbox:{row_id}:{attempts}:sweep")
    return len(unexpanded) + len(due) + len(pending)


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
