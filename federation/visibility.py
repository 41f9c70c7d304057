"""Who may see a post: the one rule, as SQL, that every path showing a post to someone uses.

The client API's timelines, statuses, search, notifications and account pages, the ActivityPub
objects and outbox, the HTML pages and quote stamps all ask `may_see` (in their own queries, so
that pages come out full) or `visible_post_ids` (for rows they found some other way). A post is
seen by a viewer (an actor id; NULL for anyone, signed in or not) when all of these hold:

- it is not deleted, and its author's server is not suspended by the instance rules;
- its audience includes the viewer: public and unlisted posts everyone, followers-only posts the
  author's accepted followers, every post its author and the accounts it mentions (a direct
  post's only audience);
- moderation left it in view (not hidden by a moderator, its author not suspended), or the
  viewer is its author, or staff are looking (`staff`, only for a signed-in moderator or admin);
- its author does not block the viewer (as Mastodon's StatusPolicy);
- for a boost, the boosted post passes the same rule.
"""

from __future__ import annotations

import asyncpg

Conn = asyncpg.Connection | asyncpg.Pool


def in_view(post: str) -> str:
    """SQL, true when moderation leaves `post` in view: not hidden by a moderator, its author not
    suspended."""
    return (f"({post}.hidden_at IS NULL"
            f" AND NOT EXISTS (SELECT 1 FROM actors ma WHERE ma.id = {post}.actor_id AND ma.suspended))")


def _one(post: str, viewer: str, staff: str) -> str:
    return (
        f"({post}.deleted_at IS NULL"
        f" AND NOT EXISTS (SELECT 1 FROM actors sa WHERE sa.id = {post}.actor_id AND sa.domain_suspended)"
        f" AND ({post}.visibility IN ('public', 'unlisted') OR {post}.actor_id = {viewer}"
        f"  OR ({post}.visibility = 'followers' AND EXISTS (SELECT 1 FROM follows f"
        f"      WHERE f.follower_id = {viewer} AND f.followed_id = {post}.actor_id AND f.accepted))"
        f"  OR EXISTS (SELECT 1 FROM mentions m WHERE m.post_id = {post}.id AND m.actor_id = {viewer}))"
        f" AND ({in_view(post)} OR {post}.actor_id = {viewer} OR {staff})"
        f" AND NOT EXISTS (SELECT 1 FROM blocks bl WHERE bl.actor_id = {post}.actor_id"
        f"  AND bl.target_id = {viewer}))")


def may_see(viewer: str, *, staff: str = "false", post: str = "p") -> str:
    """SQL, true when `viewer` may see `post` (a row alias of `posts`). `viewer` and `staff` are
    SQL expressions, parameters such as `$1::bigint` or `NULL`, never text from a request.

    For an anonymous viewer it may be NULL rather than false, which a WHERE clause takes as no:
    negate it as `NOT coalesce(..., false)`. (It is left bare so that the planner sees its
    conjuncts, such as `deleted_at IS NULL`, when it picks an index.)"""
    return (f"({_one(post, viewer, staff)} AND ({post}.reblog_of_id IS NULL OR EXISTS ("
            f"SELECT 1 FROM posts bo WHERE bo.id = {post}.reblog_of_id AND {_one('bo', viewer, staff)})))")


async def visible_post_ids(conn: Conn, post_ids: list[int], viewer: int | None, *,
                           staff: bool = False) -> set[int]:
    """Which of `post_ids` the viewer may see."""
    if not post_ids:
        return set()
    rows = await conn.fetch(
        f"SELECT p.id FROM posts p WHERE p.id = ANY($2::bigint[])"
        f" AND {may_see('$1::bigint', staff='$3::boolean')}",
        viewer, post_ids, staff)
    return {row["id"] for row in rows}
