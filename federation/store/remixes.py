"""SQL of remix consent, both sides, and of the cameos a published remix uses."""

from __future__ import annotations

from typing import Any

from .common import Conn, Record, insert_row


async def insert_remix(conn: Conn, post_id: int, post_uri: str, actor_id: int, prompt: str,
                       digest: str) -> int:
    return await conn.fetchval(
        "INSERT INTO remixes (post_id, post_uri, actor_id, prompt, prompt_digest)"
        " VALUES ($1, $2, $3, $4, $5) RETURNING id", post_id, post_uri, actor_id, prompt, digest)


async def insert_remix_cameo(conn: Conn, remix_id: int, cameo_uri: str, owner_uri: str,
                             request_uri: str | None, state: str, instructions: str = "") -> None:
    await conn.execute(
        "INSERT INTO remix_cameos (remix_id, cameo_uri, owner_uri, request_uri, state, instructions)"
        " VALUES ($1, $2, $3, $4, $5, $6)", remix_id, cameo_uri, owner_uri, request_uri, state,
        instructions)


async def remix(conn: Conn, remix_id: int) -> Record | None:
    return await conn.fetchrow("SELECT * FROM remixes WHERE id = $1", remix_id)


async def remix_cameos(conn: Conn, remix_id: int) -> list[Record]:
    return await conn.fetch("SELECT * FROM remix_cameos WHERE remix_id = $1 ORDER BY cameo_uri",
                            remix_id)


async def remix_cameo_by_request(conn: Conn, request_uri: str) -> Record | None:
    """The remix cameo a request asked for, with what an answer to it needs: its remix's post
    and prompt digest, the requester (`actor_id`, `requester_uri`, `requester_user_id`), and
    the owner's actor id when the owner is known here (`owner_id`)."""
    return await conn.fetchrow(
        "SELECT c.*, r.post_uri, r.actor_id, r.prompt_digest, a.uri AS requester_uri,"
        " a.user_id AS requester_user_id, o.id AS owner_id FROM remix_cameos c"
        " JOIN remixes r ON r.id = c.remix_id JOIN actors a ON a.id = r.actor_id"
        " LEFT JOIN actors o ON o.uri = c.owner_uri WHERE c.request_uri = $1", request_uri)


async def answer_remix_cameo(conn: Conn, remix_id: int, cameo_uri: str, state: str,
                             authorization_uri: str | None = None,
                             authorization_document: dict[str, Any] | None = None,
                             reason: str | None = None) -> None:
    await conn.execute(
        "UPDATE remix_cameos SET state = $3, authorization_uri = $4, authorization_document = $5,"
        " reason = coalesce($6, reason), answered_at = now() WHERE remix_id = $1 AND cameo_uri = $2",
        remix_id, cameo_uri, state, authorization_uri, authorization_document, reason)


async def settle_remix(conn: Conn, remix_id: int) -> str:
    """The remix's state from its cameos': revoked or rejected if any is, authorized once all
    are approved."""
    return await conn.fetchval(
        "UPDATE remixes r SET updated_at = now(), state = CASE"
        " WHEN EXISTS (SELECT 1 FROM remix_cameos c WHERE c.remix_id = r.id"
        "   AND c.state = 'revoked') THEN 'revoked'"
        " WHEN EXISTS (SELECT 1 FROM remix_cameos c WHERE c.remix_id = r.id"
        "   AND c.state = 'rejected') THEN 'rejected'"
        " WHEN NOT EXISTS (SELECT 1 FROM remix_cameos c WHERE c.remix_id = r.id"
        "   AND c.state <> 'approved') THEN"
        "   CASE WHEN r.state = 'published' THEN 'published' ELSE 'authorized' END"
        " ELSE 'pending' END"
        " WHERE r.id = $1 AND r.state IN ('pending', 'authorized', 'published') RETURNING state",
        remix_id)


# --- remix consent: the owner's side --------------------------------------------------------

async def remix_standing(conn: Conn, cameo_id: int, owner_id: int, requester_id: int) -> Record:
    """What a cameo owner's rules weigh of a requester, in one round trip: whether each follows
    the other (accepted), whether either blocks the other, and the uris of the actors the owner
    approved for the cameo (in the order of `cameo_approved`)."""
    return await conn.fetchrow(
        "SELECT EXISTS (SELECT 1 FROM follows WHERE follower_id = $3 AND followed_id = $2 AND accepted)"
        " AS follows_owner,"
        " EXISTS (SELECT 1 FROM follows WHERE follower_id = $2 AND followed_id = $3 AND accepted)"
        " AS followed_by_owner,"
        " EXISTS (SELECT 1 FROM blocks WHERE (actor_id = $2 AND target_id = $3)"
        " OR (actor_id = $3 AND target_id = $2)) AS blocked,"
        " ARRAY (SELECT a.uri FROM cameo_approved_actors s JOIN actors a ON a.id = s.actor_id"
        " WHERE s.cameo_id = $1 ORDER BY a.id) AS approved",
        cameo_id, owner_id, requester_id)


async def insert_remix_request(conn: Conn, fields: dict[str, Any]) -> int | None:
    """Record a request; None when its id was seen before (a replay)."""
    return await insert_row(conn, "remix_requests", fields, "ON CONFLICT (uri) DO NOTHING RETURNING id")


async def remix_request(conn: Conn, request_id: int) -> Record | None:
    return await conn.fetchrow("SELECT * FROM remix_requests WHERE id = $1", request_id)


async def decide_remix_request(conn: Conn, request_id: int, state: str, reason: str,
                               authorization_uri: str | None = None,
                               authorization_document: dict[str, Any] | None = None) -> bool:
    """Answer a pending request once; False if it was answered already."""
    status = await conn.execute(
        "UPDATE remix_requests SET state = $2, reason = $3, authorization_uri = $4,"
        " authorization_document = $5, decided_at = now() WHERE id = $1 AND state = 'pending'",
        request_id, state, reason, authorization_uri, authorization_document)
    return status.endswith(" 1")


async def remix_requests_of_owner(conn: Conn, actor_id: int) -> list[Record]:
    return await conn.fetch(
        "SELECT r.*, c.name AS cameo_name, c.uri AS cameo_uri,"
        " EXISTS (SELECT 1 FROM posts p WHERE p.uri = r.post_uri AND p.deleted_at IS NULL)"
        "   AS published"
        " FROM remix_requests r JOIN cameos c ON c.id = r.cameo_id WHERE c.actor_id = $1"
        " ORDER BY r.id DESC LIMIT 500",
        actor_id)


async def open_remix_requests_of_cameo(conn: Conn, cameo_id: int) -> list[Record]:
    """The requests for a cameo that still stand: waiting for an answer, or granted."""
    return await conn.fetch("SELECT * FROM remix_requests WHERE cameo_id = $1"
                            " AND state IN ('pending', 'approved') ORDER BY id", cameo_id)


async def authorization_by_uri(conn: Conn, uri: str) -> Record | None:
    return await conn.fetchrow(
        "SELECT r.*, c.actor_id AS owner_id FROM remix_requests r JOIN cameos c ON c.id = r.cameo_id"
        " WHERE r.authorization_uri = $1", uri)


async def remix_cameo_by_authorization(conn: Conn, authorization_uri: str) -> Record | None:
    return await conn.fetchrow(
        "SELECT c.*, r.actor_id, r.post_uri, r.post_id FROM remix_cameos c"
        " JOIN remixes r ON r.id = c.remix_id WHERE c.authorization_uri = $1", authorization_uri)


async def revoke_remix_request(conn: Conn, request_id: int, reason: str | None) -> bool:
    """`reason` replaces the approval's: the ledger says why the use was withdrawn, if not by hand."""
    status = await conn.execute(
        "UPDATE remix_requests SET state = 'revoked', revoked_at = now(), reason = $2"
        " WHERE id = $1 AND state = 'approved'", request_id, reason)
    return status.endswith(" 1")


async def record_authorization_fetch(conn: Conn, request_id: int, inbox: str) -> None:
    await conn.execute(
        "INSERT INTO authorization_fetches (request_id, inbox) VALUES ($1, $2)"
        " ON CONFLICT (request_id, inbox) DO UPDATE SET fetched_at = now()", request_id, inbox)


async def authorization_fetchers(conn: Conn, request_id: int) -> list[str]:
    rows = await conn.fetch("SELECT inbox FROM authorization_fetches WHERE request_id = $1",
                            request_id)
    return [r["inbox"] for r in rows]


async def holds_live_authorization(conn: Conn, cameo_id: int, actor_uri: str) -> bool:
    """Whether `actor_uri` was granted this cameo and the grant is neither revoked nor expired."""
    return await conn.fetchval(
        "SELECT EXISTS (SELECT 1 FROM remix_requests r JOIN actors a ON a.id = r.requester_id"
        " WHERE r.cameo_id = $1 AND a.uri = $2 AND r.state = 'approved'"
        " AND (r.authorization_document->>'endTime')::timestamptz > now())", cameo_id, actor_uri)


async def publish_remix(conn: Conn, remix_id: int) -> bool:
    status = await conn.execute(
        "UPDATE remixes SET state = 'published', updated_at = now()"
        " WHERE id = $1 AND state = 'authorized'", remix_id)
    return status.endswith(" 1")


async def remix_by_post(conn: Conn, post_id: int) -> Record | None:
    return await conn.fetchrow("SELECT * FROM remixes WHERE post_id = $1", post_id)


# --- published remixes: the cameos a post uses ---------------------------------------------------

async def replace_post_cameos(conn: Conn, post_id: int, entries: list[dict[str, Any]]) -> None:
    await conn.execute("DELETE FROM post_cameos WHERE post_id = $1", post_id)
    await conn.executemany(
        "INSERT INTO post_cameos (post_id, position, cameo_uri, owner_uri, authorization_uri,"
        " authorization_document) VALUES ($1, $2, $3, $4, $5, $6)",
        [(post_id, i, e["cameo_uri"], e["owner_uri"], e["authorization_uri"],
          e["authorization_document"]) for i, e in enumerate(entries)])


async def post_cameos(conn: Conn, post_id: int) -> list[Record]:
    return await conn.fetch("SELECT * FROM post_cameos WHERE post_id = $1 ORDER BY position",
                            post_id)


async def posts_citing_authorization(conn: Conn, authorization_uri: str) -> list[Record]:
    """Live posts whose consent rests on this authorization, with the owner who granted it."""
    return await conn.fetch(
        "SELECT p.*, c.owner_uri FROM post_cameos c JOIN posts p ON p.id = c.post_id"
        " WHERE c.authorization_uri = $1 AND p.deleted_at IS NULL", authorization_uri)


async def mark_consent_checked(conn: Conn, post_id: int) -> None:
    await conn.execute("UPDATE posts SET consent_checked_at = now() WHERE id = $1", post_id)


async def record_revoked_authorization(conn: Conn, uri: str, owner_uri: str) -> None:
    await conn.execute(
        "INSERT INTO revoked_authorizations (uri, owner_uri) VALUES ($1, $2)"
        " ON CONFLICT (uri) DO NOTHING", uri, owner_uri)


async def revoked_authorization(conn: Conn, uri: str) -> Record | None:
    return await conn.fetchrow("SELECT * FROM revoked_authorizations WHERE uri = $1", uri)
