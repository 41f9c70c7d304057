"""SQL of Mastodon's conversations: the threads of direct posts a person wrote or was mentioned
in, each named by its first known post (`root_id`), newest last post first."""

from __future__ import annotations

from .common import Conn, Record
from .interactions import page_bounds

# The longest reply chain followed back to a thread's first post.
MAX_DEPTH = 100


async def conversations_of(conn: Conn, actor_id: int, *, limit: int, max_id: int | None = None,
                        since_id: int | None = None, min_id: int | None = None,
                        root_id: int | None = None) -> list[Record]:
    """The actor's conversations (or the one of `root_id`): `root_id`, `last_id` (its newest
    post, by which they page), `post_ids`, `last_actor_id` and `last_read_id`; those taken out
    of the list stay out until a newer post."""
    where, order = page_bounds("c.last_id", max_id, min_id)
    rows = await conn.fetch(
        f"WITH RECURSIVE mine AS (SELECT p.id, p.in_reply_to_id FROM posts p"
        f"   WHERE p.visibility = 'direct' AND p.deleted_at IS NULL AND (p.actor_id = $1"
        f"   OR EXISTS (SELECT 1 FROM mentions m WHERE m.post_id = p.id AND m.actor_id = $1))),"
        f" chain AS (SELECT id AS post_id, id AS ancestor, in_reply_to_id, 0 AS depth FROM mine"
        f"   UNION ALL SELECT c.post_id, parent.id, parent.in_reply_to_id, c.depth + 1 FROM chain c"
        f"   JOIN posts parent ON parent.id = c.in_reply_to_id WHERE c.depth < {MAX_DEPTH}),"
        f" roots AS (SELECT DISTINCT ON (post_id) post_id, ancestor AS root_id FROM chain"
        f"   ORDER BY post_id, depth DESC),"
        f" c AS (SELECT root_id, max(post_id) AS last_id, array_agg(post_id ORDER BY post_id) AS post_ids"
        f"   FROM roots GROUP BY root_id)"
        f" SELECT c.*, last.actor_id AS last_actor_id, cs.last_read_id FROM c"
        f" JOIN posts last ON last.id = c.last_id"
        f" LEFT JOIN conversation_states cs ON cs.actor_id = $1 AND cs.root_id = c.root_id"
        f" WHERE (cs.removed_through IS NULL OR c.last_id > cs.removed_through)"
        f" AND ($5::bigint IS NULL OR c.root_id = $5){where}"
        f" ORDER BY c.last_id {order} LIMIT $2",
        actor_id, limit, max_id, since_id or min_id, root_id)
    return sorted(rows, key=lambda r: r["last_id"], reverse=True)


async def conversation_participants(conn: Conn, post_ids: list[int]) -> list[Record]:
    """Who wrote or was mentioned in each post: rows of (`post_id`, `actor_id`)."""
    return await conn.fetch(
        "SELECT id AS post_id, actor_id FROM posts WHERE id = ANY($1::bigint[])"
        " UNION SELECT post_id, actor_id FROM mentions WHERE post_id = ANY($1::bigint[])", post_ids)


async def mark_conversation_read(conn: Conn, actor_id: int, root_id: int, last_id: int) -> None:
    await conn.execute(
        "INSERT INTO conversation_states (actor_id, root_id, last_read_id) VALUES ($1, $2, $3)"
        " ON CONFLICT (actor_id, root_id) DO UPDATE SET last_read_id = $3", actor_id, root_id, last_id)


async def remove_conversation(conn: Conn, actor_id: int, root_id: int, last_id: int) -> None:
    await conn.execute(
        "INSERT INTO conversation_states (actor_id, root_id, removed_through) VALUES ($1, $2, $3)"
        " ON CONFLICT (actor_id, root_id) DO UPDATE SET removed_through = $3", actor_id, root_id, last_id)
