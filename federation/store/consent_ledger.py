"""SQL of an account's consent ledger as it leaves a server and arrives at the next.

Read for an archive: every request for the owner's cameos and its answer, every request the owner
sent, the signed Delete of each revoke, and who fetched each authorization. Written on import:
the authorizations the owner gave on their old server (`imported_authorizations`, kept as signed)
and the rest of the history (`imported_consent_records`), which the new server then stands for.
"""

from __future__ import annotations

from typing import Any

from .common import Conn, Record

# --- the ledger as an archive reads it ------------------------------------------------------

async def requests_received(conn: Conn, owner_id: int) -> list[Record]:
    """Every request for one of the owner's cameos (deleted ones too), oldest first, with the cameo,
    the requester, and the inboxes that fetched its authorization."""
    return await conn.fetch(
        "SELECT r.*, c.uri AS cameo_uri, a.uri AS requester_uri,"
        " coalesce(a.shared_inbox, a.inbox) AS requester_inbox, a.local AS requester_local,"
        " ARRAY(SELECT f.inbox FROM authorization_fetches f WHERE f.request_id = r.id"
        "   ORDER BY f.inbox) AS fetchers"
        " FROM remix_requests r JOIN cameos c ON c.id = r.cameo_id"
        " JOIN actors a ON a.id = r.requester_id WHERE c.actor_id = $1 ORDER BY r.id", owner_id)


async def requests_sent(conn: Conn, requester_id: int) -> list[Record]:
    """Every cameo the requester asked to use in a remix, with the owner's answer, oldest first."""
    return await conn.fetch(
        "SELECT c.*, r.post_uri, r.prompt, r.prompt_digest, r.created_at"
        " FROM remix_cameos c JOIN remixes r ON r.id = c.remix_id WHERE r.actor_id = $1"
        " AND c.request_uri IS NOT NULL ORDER BY r.id, c.cameo_uri", requester_id)


async def outbox_activity_body(conn: Conn, uri: str) -> dict[str, Any] | None:
    """An activity this server sent, as it sent it (a revoke's signed Delete)."""
    return await conn.fetchval("SELECT body FROM outbox_activities WHERE uri = $1", uri)


# --- the ledger brought from an old server ---------------------------------------------------

async def import_authorization(conn: Conn, actor_id: int, fields: dict[str, Any]) -> bool:
    """Keep an authorization the owner gave on their old server; True if it is new here. Imported
    again, it keeps what it had: a revoke stands (an older archive cannot bring it back to life)
    and the holders are the union of both."""
    return await conn.fetchval(
        "INSERT INTO imported_authorizations (actor_id, uri, owner_uri, cameo_uri, cameo_id,"
        " grantee_uri, post_uri, prompt_digest, request_uri, document, published, end_time, state,"
        " revocation, revoked_at, holders, key_id, public_key_multibase)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)"
        " ON CONFLICT (actor_id, uri) DO UPDATE SET"
        " cameo_id = coalesce(imported_authorizations.cameo_id, EXCLUDED.cameo_id),"
        " state = CASE WHEN imported_authorizations.state = 'revoked' THEN 'revoked'"
        "   ELSE EXCLUDED.state END,"
        " revocation = coalesce(imported_authorizations.revocation, EXCLUDED.revocation),"
        " revoked_at = coalesce(imported_authorizations.revoked_at, EXCLUDED.revoked_at),"
        " holders = ARRAY(SELECT DISTINCT h FROM unnest(imported_authorizations.holders"
        "   || EXCLUDED.holders) h ORDER BY h)"
        " RETURNING xmax = 0",
        actor_id, fields["uri"], fields["owner_uri"], fields["cameo_uri"], fields["cameo_id"],
        fields["grantee_uri"], fields["post_uri"], fields["prompt_digest"], fields["request_uri"],
        fields["document"], fields["published"], fields["end_time"], fields["state"],
        fields["revocation"], fields["revoked_at"], fields["holders"], fields["key_id"],
        fields["public_key_multibase"])


async def import_consent_record(conn: Conn, actor_id: int, direction: str, request_uri: str,
                                entry: dict[str, Any]) -> bool:
    """Keep one request of the old server's ledger (`direction` received or sent); True if new."""
    return await conn.fetchval(
        "INSERT INTO imported_consent_records (actor_id, direction, request_uri, entry)"
        " VALUES ($1, $2, $3, $4) ON CONFLICT (actor_id, direction, request_uri)"
        " DO UPDATE SET entry = EXCLUDED.entry RETURNING xmax = 0",
        actor_id, direction, request_uri, entry)


async def imported_authorizations_of(conn: Conn, actor_id: int) -> list[Record]:
    return await conn.fetch("SELECT * FROM imported_authorizations WHERE actor_id = $1 ORDER BY id",
                            actor_id)


async def imported_authorization(conn: Conn, uri: str) -> Record | None:
    """An imported authorization by its id (the old server's URL), with the account that holds it."""
    return await conn.fetchrow("SELECT * FROM imported_authorizations WHERE uri = $1"
                               " ORDER BY id LIMIT 1", uri)


async def revoke_imported_authorization(conn: Conn, authorization_id: int,
                                        revocation: dict[str, Any]) -> bool:
    """Mark an imported authorization revoked by `revocation` (the owner's signed Delete), once."""
    status = await conn.execute(
        "UPDATE imported_authorizations SET state = 'revoked', revocation = $2, revoked_at = now()"
        " WHERE id = $1 AND state = 'live'", authorization_id, revocation)
    return status.endswith(" 1")


async def add_imported_authorization_holder(conn: Conn, authorization_id: int, inbox: str) -> None:
    """One more instance that fetched an imported authorization: a revoke must reach it too."""
    await conn.execute(
        "UPDATE imported_authorizations SET holders = array_append(holders, $2)"
        " WHERE id = $1 AND NOT $2 = ANY(holders)", authorization_id, inbox)


async def imported_consent_records_of(conn: Conn, actor_id: int) -> list[Record]:
    return await conn.fetch("SELECT * FROM imported_consent_records WHERE actor_id = $1 ORDER BY id",
                            actor_id)


async def cameo_imported_from(conn: Conn, actor_id: int, old_uri: str) -> Record | None:
    """The cameo `actor_id` recreated here from its old server's `old_uri`, if any."""
    return await conn.fetchrow("SELECT * FROM cameos WHERE actor_id = $1 AND imported_from = $2",
                               actor_id, old_uri)
