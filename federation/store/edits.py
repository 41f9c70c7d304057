"""A post's versions (edits) and where else it went (the reach of its Update and Delete)."""

from __future__ import annotations

from typing import Any

from .common import Conn, Record, insert_row


async def insert_post_edit(conn: Conn, fields: dict[str, Any]) -> int:
    """One version of a post: post_id, content, summary, sensitive, media, created_at."""
    return await insert_row(conn, "post_edits", fields)


async def post_edits(conn: Conn, post_id: int) -> list[Record]:
    """The versions of a post, oldest (the original) first."""
    return await conn.fetch("SELECT * FROM post_edits WHERE post_id = $1 ORDER BY created_at, id",
                            post_id)


async def interacting_inboxes(conn: Conn, post_id: int) -> list[str]:
    """Where else a post went, beyond its author's followers and those it names (Mastodon's
    StatusReachFinder): the remote accounts that boosted, liked, replied to or quoted it, and
    the remote followers of the accounts that boosted it or replied to it. Shared inboxes
    collapsed."""
    rows = await conn.fetch(
        "WITH spreading AS ("
        "  SELECT actor_id FROM posts WHERE reblog_of_id = $1 AND deleted_at IS NULL"
        "  UNION SELECT actor_id FROM posts WHERE in_reply_to_id = $1"
        "), reached AS ("
        "  SELECT actor_id FROM spreading"
        "  UNION SELECT actor_id FROM likes WHERE post_id = $1"
        "  UNION SELECT requester_id FROM quote_authorizations WHERE post_id = $1 AND state = 'approved'"
        "  UNION SELECT f.follower_id FROM follows f JOIN spreading s ON s.actor_id = f.followed_id"
        "   WHERE f.accepted"
        ") SELECT DISTINCT coalesce(a.shared_inbox, a.inbox) AS inbox FROM actors a JOIN reached r"
        " ON r.actor_id = a.id WHERE NOT a.local AND coalesce(a.shared_inbox, a.inbox) IS NOT NULL",
        post_id)
    return [r["inbox"] for r in rows]
