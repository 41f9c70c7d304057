"""SQL of For You (policy/ranking.py): its candidates and each user's feed preferences."""

from __future__ import annotations

from typing import Any

import asyncpg

from .common import Conn, Record
from .mutes import MUTE_LIVE
from .posts import NOT_LIMITED, SHOWN_PUBLICLY, page_columns

# For You holds only public videos, no boosts, and a suspended server is limited too (migration
# 0006's domain_limited): this is `may_see` for them, less its per-candidate look-ups, which cost
# a third of the query's time. Blocks and mutes are left out after scoring, and what is rendered still goes
# through `may_see` (server/api/statuses.py render_statuses). `has_video` (migration 0027) is on
# the post row and in the index: looking each candidate up in `media` was most of the query.
FOR_YOU = (f"p.deleted_at IS NULL AND {SHOWN_PUBLICLY} AND p.visibility = 'public'"
           f" AND p.reblog_of_id IS NULL AND p.in_reply_to_id IS NULL AND p.has_video AND {NOT_LIMITED}")


async def for_you(conn: Conn, viewer: int | None, weights: Any, *, limit: int,
                  cursor: tuple[float, int] | None, candidates: int, followed_candidates: int,
                  staff: bool = False, on_generic_plans: bool = False) -> list[Record]:
    """Public videos by the viewer's score, below `cursor` (score, id), each with its `score` and
    its `page_columns` for the viewer (`staff` or not).

    Candidates are the hottest posts under the cursor's score plus the largest boost, and the
    hottest of the accounts the viewer follows or asked more of; both come off an index. Their
    counts are the ranking's constants, written into the statement (as integers, never from a
    request): as parameters they made the generic plan a poor one. It runs on that generic plan
    (`_on_generic_plan`), or as it is where `on_generic_plans` says that `conn`'s connections run
    every statement on its generic plan (server/db.py GENERIC_PLANS): one round trip, not three."""
    ceiling = float("inf") if cursor is None else cursor[0] + weights.most
    statement = _for_you_statement(viewer, weights, ceiling, limit=limit, cursor=cursor, staff=staff,
                                   candidates=candidates, followed_candidates=followed_candidates)
    if on_generic_plans:
        return await conn.fetch(*statement)
    if isinstance(conn, asyncpg.Pool):
        async with conn.acquire() as connection:
            return await _on_generic_plan(connection, *statement)
    return await _on_generic_plan(conn, *statement)

async def _on_generic_plan(conn: asyncpg.Connection, sql: str, *args: Any) -> list[Record]:
    """Run the For You statement on its generic plan. PostgreSQL's own choice is a fresh plan
    for every page (the first pages' estimates make the generic one look dearer), and planning
    took about as long as running it, though the generic plan is the same shape and runs as
    fast: forcing it, for this statement only (SET LOCAL, sent with BEGIN in one round trip),
    halved the query's time (tests/bench/feed.py). In a caller's transaction the setting lasts
    until that transaction ends."""
    if conn.is_in_transaction():
        await conn.execute("SET LOCAL plan_cache_mode = force_generic_plan")
        return await conn.fetch(sql, *args)
    await conn.execute("BEGIN; SET LOCAL plan_cache_mode = force_generic_plan")
    try:
        rows = await conn.fetch(sql, *args)
    except BaseException:
        await conn.execute("ROLLBACK")
        raise
    await conn.execute("COMMIT")
    return rows


def _for_you_statement(viewer: int | None, weights: Any, ceiling: float, *, limit: int,
                       cursor: tuple[float, int] | None, candidates: int, followed_candidates: int,
                       staff: bool) -> tuple[Any, ...]:
    """The statement and its parameters."""
    return (
        f"WITH prefs AS ("
        f"  SELECT target_actor_id, tag,"
        f"   CASE direction WHEN 'more' THEN $3::float8 ELSE $4::float8 END AS weight"
        f"  FROM feed_preferences WHERE actor_id = $1),"
        f" boosted AS ("
        f"  SELECT followed_id AS actor_id FROM follows WHERE follower_id = $1 AND accepted"
        f"  UNION SELECT target_actor_id FROM prefs WHERE target_actor_id IS NOT NULL AND weight > 0),"
        f" candidates AS ("
        f"  (SELECT p.id, p.actor_id, p.hot FROM posts p WHERE {FOR_YOU} AND p.hot < $2::float8"
        f"   ORDER BY p.hot DESC, p.id DESC LIMIT {int(candidates)})"
        f"  UNION"
        f"  (SELECT p.id, p.actor_id, p.hot FROM posts p WHERE {FOR_YOU} AND p.hot < $2"
        f"   AND p.actor_id IN (SELECT actor_id FROM boosted) ORDER BY p.hot DESC, p.id DESC"
        f"   LIMIT {int(followed_candidates)})),"
        f" scored AS ("
        f"  SELECT c.id, c.hot"
        f"   + CASE WHEN c.actor_id IN (SELECT followed_id FROM follows"
        f"          WHERE follower_id = $1 AND accepted) THEN $5::float8 ELSE 0 END"
        f"   + COALESCE((SELECT weight FROM prefs WHERE prefs.target_actor_id = c.actor_id), 0)"
        f"   + LEAST($6::float8, COALESCE((SELECT sum(prefs.weight) FROM prefs"
        f"         JOIN tags t ON t.name = prefs.tag WHERE t.post_id = c.id), 0)) AS score"
        f"  FROM candidates c"
        f"  WHERE NOT EXISTS (SELECT 1 FROM blocks b WHERE b.actor_id = $1 AND b.target_id = c.actor_id)"
        f"   AND NOT EXISTS (SELECT 1 FROM mutes mu WHERE mu.actor_id = $1 AND mu.target_id = c.actor_id"
        f"    AND {MUTE_LIVE})),"
        f" top AS (SELECT id, score FROM scored WHERE $7::float8 IS NULL OR (score, id) < ($7, $8)"
        f"  ORDER BY score DESC, id DESC LIMIT $9)"
        f" SELECT p.*, top.score, {page_columns('$1::bigint', '$10::boolean')}"
        f" FROM top JOIN posts p ON p.id = top.id ORDER BY top.score DESC, top.id DESC",
        viewer, ceiling, weights.more, weights.less, weights.followed, weights.more_topics_cap,
        cursor[0] if cursor else None, cursor[1] if cursor else None, limit, staff)


async def feed_preferences(conn: Conn, actor_id: int) -> list[Record]:
    return await conn.fetch(
        "SELECT fp.*, a.uri AS target_uri FROM feed_preferences fp"
        " LEFT JOIN actors a ON a.id = fp.target_actor_id WHERE fp.actor_id = $1 ORDER BY fp.id",
        actor_id)


async def set_feed_preference(conn: Conn, actor_id: int, *, target_actor_id: int | None, tag: str | None,
                              direction: str, most: int) -> Record | None:
    """Add or change one choice; None when it is new and the person already has `most`.

    (Two requests at once may pass the count together: the cap bounds the feed query's cost, so
    one over is harmless.)"""
    conflict = ("(actor_id, target_actor_id) WHERE target_actor_id IS NOT NULL" if tag is None
                else "(actor_id, tag) WHERE tag IS NOT NULL")
    row_id = await conn.fetchval(
        f"INSERT INTO feed_preferences (actor_id, target_actor_id, tag, direction)"
        f" SELECT $1, $2, $3, $4 WHERE (SELECT count(*) FROM feed_preferences WHERE actor_id = $1) < $5"
        f"   OR EXISTS (SELECT 1 FROM feed_preferences WHERE actor_id = $1"
        f"              AND (target_actor_id = $2 OR tag = $3))"
        f" ON CONFLICT {conflict} DO UPDATE SET direction = EXCLUDED.direction RETURNING id",
        actor_id, target_actor_id, tag, direction, most)
    if row_id is None:
        return None
    return await conn.fetchrow(
        "SELECT fp.*, a.uri AS target_uri FROM feed_preferences fp"
        " LEFT JOIN actors a ON a.id = fp.target_actor_id WHERE fp.id = $1", row_id)


async def delete_feed_preference(conn: Conn, actor_id: int, preference_id: int) -> bool:
    status = await conn.execute("DELETE FROM feed_preferences WHERE id = $1 AND actor_id = $2",
                                preference_id, actor_id)
    return status.endswith(" 1")
