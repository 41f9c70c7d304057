"""SQL of the outbox and delivery: activities sent, deliveries and their leases, and peers."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import asyncpg

from ..visibility import may_see
from .common import Conn, Record
from .follows import FOLLOWER_INBOXES


async def insert_outbox_activity(conn: Conn, uri: str, actor_id: int, type: str,
                                 body: dict[str, Any], public: bool, *,
                                 followers_pending: bool = False) -> int:
    """`followers_pending`: the actor's followers get it too, once a worker has expanded them
    (`expand_follower_deliveries`)."""
    return await conn.fetchval(
        "INSERT INTO outbox_activities (uri, actor_id, type, body, public, followers_pending_since)"
        " VALUES ($1, $2, $3, $4, $5, CASE WHEN $6 THEN now() END) RETURNING id",
        uri, actor_id, type, body, public, followers_pending)


async def insert_outbox_activity_to(conn: Conn, uri: str, actor_id: int, type: str,
                                    body: dict[str, Any], public: bool, inboxes: list[str]) -> list[int]:
    """Record an activity and one delivery of it to each of `inboxes` (distinct), in one
    statement: the ids of the deliveries."""
    return [row["id"] for row in await conn.fetch(
        "WITH activity AS (INSERT INTO outbox_activities (uri, actor_id, type, body, public)"
        " VALUES ($1, $2, $3, $4, $5) RETURNING id)"
        " INSERT INTO deliveries (activity_id, inbox) SELECT activity.id, unnest($6::text[])"
        " FROM activity ON CONFLICT DO NOTHING RETURNING id",
        uri, actor_id, type, body, public, inboxes)]


async def expand_follower_deliveries(conn: asyncpg.Connection, activity_id: int) -> int | None:
    """Insert a delivery of this activity to each distinct inbox of its actor's remote followers
    (shared inboxes collapsed, as `follower_inboxes` does) and clear its mark, in one transaction;
    the number inserted, or None when it was expanded already. The row lock taken by clearing the
    mark makes a second expansion (a sweep racing the first) wait for the first and then find
    nothing to do; a crash mid-way rolls both back, and inboxes it has already (a mention) are
    left as they are."""
    async with conn.transaction():
        actor_id = await conn.fetchval(
            "UPDATE outbox_activities SET followers_pending_since = NULL"
            " WHERE id = $1 AND followers_pending_since IS NOT NULL RETURNING actor_id", activity_id)
        if actor_id is None:
            return None
        status = await conn.execute(
            f"INSERT INTO deliveries (activity_id, inbox) SELECT $2::bigint, f.inbox"
            f" FROM ({FOLLOWER_INBOXES}) f ON CONFLICT DO NOTHING", actor_id, activity_id)
        return int(status.split()[-1])


async def queued_delivery_ids(conn: Conn, activity_id: int) -> list[int]:
    return [r["id"] for r in await conn.fetch(
        "SELECT id FROM deliveries WHERE activity_id = $1 AND state = 'queued' ORDER BY id", activity_id)]


async def unexpanded_activities(conn: Conn, older_than_s: float,
                                limit: int = 100) -> list[tuple[int, datetime]]:
    """(id, since when) of activities whose followers were not expanded within `older_than_s`:
    their job was lost, or their worker died."""
    rows = await conn.fetch(
        "SELECT id, followers_pending_since FROM outbox_activities WHERE followers_pending_since"
        " < now() - make_interval(secs => $1) ORDER BY followers_pending_since LIMIT $2",
        older_than_s, limit)
    return [(r["id"], r["followers_pending_since"]) for r in rows]


async def outbox_activity_id(conn: Conn, uri: str) -> int | None:
    return await conn.fetchval("SELECT id FROM outbox_activities WHERE uri = $1", uri)


# An outbox entry is served while anyone may see the post it creates or boosts (a post deleted,
# hidden by a moderator or boosted from one is not): a local Create's id is its post's plus
# `/activity`, and a boost's post row has the Announce's id.
OUTBOX_SHOWN = f"""NOT EXISTS (SELECT 1 FROM posts p WHERE p.uri IN (o.uri, left(o.uri, -length('/activity')))
    AND p.local AND NOT coalesce({may_see('NULL')}, false))"""


async def lock_instance_actor(conn: asyncpg.Connection) -> None:
    """Hold, until the caller's transaction ends, the lock under which the instance actor is made."""
    await conn.execute("SELECT pg_advisory_xact_lock(hashtext('likeness:instance-actor'))")


async def outbox_count(conn: Conn, actor_id: int) -> int:
    return await conn.fetchval(
        f"SELECT count(*) FROM outbox_activities o WHERE o.actor_id = $1 AND o.public AND {OUTBOX_SHOWN}",
        actor_id)


async def outbox_page(conn: Conn, actor_id: int, limit: int, offset: int) -> list[Record]:
    return await conn.fetch(
        f"SELECT o.body FROM outbox_activities o WHERE o.actor_id = $1 AND o.public AND {OUTBOX_SHOWN}"
        f" ORDER BY o.id DESC LIMIT $2 OFFSET $3", actor_id, limit, offset)


async def insert_deliveries(conn: Conn, activity_id: int, inboxes: list[str]) -> list[int]:
    rows = await conn.fetch(
        "INSERT INTO deliveries (activity_id, inbox) SELECT $1, unnest($2::text[])"
        " ON CONFLICT DO NOTHING RETURNING id", activity_id, inboxes)
    return [r["id"] for r in rows]


async def claim_deliveries(conn: Conn, delivery_ids: list[int], lease_s: float) -> list[Record]:
    """Take those of these deliveries that are due for one attempt, leased for `lease_s`
    (federation/leases.py): id, activity_id, inbox and attempts of each.

    A second job for the same row (a sweep racing the original) finds the lease and leaves the
    row, so no inbox gets the same activity twice; a worker that dies mid-attempt stops renewing
    the lease, and the sweeper queues the row again once it has run out.
    """
    return await conn.fetch(
        "UPDATE deliveries SET leased_until = now() + make_interval(secs => $2)"
        " WHERE id = ANY($1::bigint[]) AND state = 'queued'"
        " AND next_attempt_at <= now() + interval '60 seconds'"
        " AND (leased_until IS NULL OR leased_until < now()) RETURNING id, activity_id, inbox, attempts",
        delivery_ids, lease_s)


async def claim_next_deliveries(conn: Conn, delivery_ids: list[int], limit: int,
                                lease_s: float) -> list[Record]:
    """Take up to `limit` of these deliveries that are due now and that no one holds, leased as
    `claim_deliveries` does, skipping rows another worker is claiming. Not a minute early: one
    that failed just now is due again only at its retry, which has a job of its own."""
    return await conn.fetch(
        "UPDATE deliveries d SET leased_until = now() + make_interval(secs => $3) FROM ("
        " SELECT id FROM deliveries WHERE id = ANY($1::bigint[]) AND state = 'queued'"
        " AND next_attempt_at <= now() AND (leased_until IS NULL OR leased_until < now())"
        " ORDER BY id LIMIT $2 FOR UPDATE SKIP LOCKED) c"
        " WHERE d.id = c.id RETURNING d.id, d.activity_id, d.inbox, d.attempts",
        delivery_ids, limit, lease_s)


async def outbox_bodies(conn: Conn, activity_ids: list[int]) -> list[Record]:
    """id, actor_id and body of these activities, the body as the JSON text that is sent: read as
    text, it is neither parsed nor serialised again for each inbox."""
    return await conn.fetch("SELECT id, actor_id, body::text AS body FROM outbox_activities"
                            " WHERE id = ANY($1::bigint[])", activity_ids)


async def finish_delivery(conn: Conn, delivery_id: int, state: str,
                          error: str | None = None) -> None:
    await finish_deliveries(conn, [delivery_id], state, error)


async def finish_deliveries(conn: Conn, delivery_ids: list[int], state: str,
                            error: str | None = None) -> None:
    await conn.execute(
        "UPDATE deliveries SET state = $2, last_error = $3, finished_at = now(),"
        " attempts = attempts + 1, leased_until = NULL WHERE id = ANY($1::bigint[])",
        delivery_ids, state, error)


async def reschedule_delivery(conn: Conn, delivery_id: int, next_attempt_at: datetime,
                              error: str) -> None:
    await conn.execute(
        "UPDATE deliveries SET attempts = attempts + 1, next_attempt_at = $2, last_error = $3,"
        " leased_until = NULL WHERE id = $1", delivery_id, next_attempt_at, error)


async def due_deliveries(conn: Conn, limit: int = 1000) -> list[tuple[int, int]]:
    """(id, attempts) of queued deliveries overdue by a minute and held by no worker: Redis
    lost their job (expired leases are `release_expired_leases`')."""
    rows = await conn.fetch(
        "SELECT id, attempts FROM deliveries WHERE state = 'queued' AND leased_until IS NULL"
        " AND next_attempt_at < now() - interval '60 seconds' ORDER BY next_attempt_at LIMIT $1",
        limit)
    return [(r["id"], r["attempts"]) for r in rows]


async def backlog_by_host(conn: Conn, limit: int) -> tuple[list[tuple[str, int]], int]:
    """Queued deliveries of the `limit` peer hosts with the most, and of all hosts together
    (what /metrics reports: a bounded number of series however many peers there are). The host
    is the inbox URL's third '/'-separated part: split_part is about four times as fast as a
    regular expression over 200,000 queued rows."""
    rows = await conn.fetch(
        "SELECT host, count(*) AS queued, sum(count(*)) OVER () AS total FROM ("
        " SELECT lower(split_part(inbox, '/', 3)) AS host FROM deliveries WHERE state = 'queued') q"
        " GROUP BY host ORDER BY queued DESC, host LIMIT $1", limit)
    return [(row["host"] or "", row["queued"]) for row in rows], int(rows[0]["total"]) if rows else 0


# --- leases on deliveries and inbox activities (federation/leases.py) ----------------------

# The tables whose rows a worker leases, and the state a row is in while it waits for one.
LEASED = {"deliveries": "queued", "inbox_activities": "pending"}


async def renew_leases(conn: Conn, table: str, row_ids: list[int], lease_s: float) -> None:
    """Lease again, for `lease_s` from now, rows this process is still working on."""
    await conn.execute(
        f"UPDATE {table} SET leased_until = now() + make_interval(secs => $2)"
        f" WHERE id = ANY($1::bigint[]) AND state = '{LEASED[table]}'", row_ids, lease_s)


async def release_expired_leases(conn: Conn, table: str, limit: int = 1000
                                 ) -> list[tuple[int, int, datetime]]:
    """Take back the rows whose lease ran out (their worker died or hung), so that they can be
    queued again: (id, attempts, when the lease ran out)."""
    rows = await conn.fetch(
        f"UPDATE {table} t SET leased_until = NULL FROM ("
        f" SELECT id, leased_until FROM {table} WHERE leased_until < now()"
        f" AND state = '{LEASED[table]}' ORDER BY leased_until LIMIT $1 FOR UPDATE SKIP LOCKED) e"
        " WHERE t.id = e.id RETURNING t.id, t.attempts, e.leased_until AS expired", limit)
    return [(r["id"], r["attempts"], r["expired"]) for r in rows]


async def peer(conn: Conn, host: str) -> Record | None:
    return await conn.fetchrow("SELECT * FROM peers WHERE host = $1", host)


async def peers(conn: Conn, hosts: list[str]) -> list[Record]:
    return await conn.fetch("SELECT * FROM peers WHERE host = ANY($1::text[])", hosts)


async def peers_answered(conn: Conn, schemes: dict[str, str]) -> None:
    """Peers (host: the signature scheme they took) that took a delivery just now. In the hosts'
    order, so that two workers recording overlapping sets lock the rows alike and never deadlock."""
    hosts = sorted(schemes)
    await conn.execute(
        "INSERT INTO peers (host, signature_scheme, last_success_at)"
        " SELECT h, s, now() FROM unnest($1::text[], $2::text[]) AS x (h, s) ORDER BY h"
        " ON CONFLICT (host) DO UPDATE SET signature_scheme = EXCLUDED.signature_scheme,"
        " last_success_at = now(), unreachable_since = NULL", hosts, [schemes[h] for h in hosts])


async def peer_seen(conn: Conn, host: str) -> None:
    """A peer that talks to us is reachable again."""
    await conn.execute("UPDATE peers SET unreachable_since = NULL WHERE host = $1"
                       " AND unreachable_since IS NOT NULL", host)


async def peer_unreachable(conn: Conn, host: str) -> None:
    await conn.execute(
        "INSERT INTO peers (host, unreachable_since) VALUES ($1, now())"
        " ON CONFLICT (host) DO UPDATE SET unreachable_since ="
        " coalesce(peers.unreachable_since, now())", host)


async def remember_signature_scheme(conn: Conn, host: str, scheme: str) -> None:
    await conn.execute(
        "INSERT INTO peers (host, signature_scheme) VALUES ($1, $2)"
        " ON CONFLICT (host) DO UPDATE SET signature_scheme = EXCLUDED.signature_scheme",
        host, scheme)
