"""A server that closes down, as its peers hear it: the instance actor says when (`endTime`, the
ActivityStreams term for when an object ends, and a sentence in its `summary` for people), and an
`Update` of it goes to one inbox on every server this one knows, so that they can tell their
people before this one stops answering."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from . import actors, delivery, store
from .context import Federation
from .objects import iso, now, wrap
from .vocab import PUBLIC


async def announce(fed: Federation, until: datetime, message: str) -> dict[str, Any]:
    """Keep the notice and, in the same transaction, queue the `Update` that tells every known
    server; the notice as kept. The same notice again sends nothing more."""
    notice = {"until": iso(until), "message": message}
    async with fed.pool.acquire() as conn, conn.transaction():
        given = await store.shutdown_notice(conn)
        if given is not None and {k: given.get(k) for k in notice} == notice:
            return given
        notice["announced"] = iso(now())
        await store.set_shutdown_notice(conn, notice)
        instance = await store.actor_by_uri(conn, fed.instance_actor_uri)
        document = await actors.actor_document(fed, instance)
        # Read on another connection, the document does not see the notice yet.
        actors.closing(document, notice)
        activity = wrap("Update", instance["uri"], document,
                        activity_id=f"{instance['uri']}#updates/shutdown-{notice['announced']}", to=[PUBLIC])
        ids = await delivery.queue_activity(conn, instance["id"], activity,
                                            await store.peer_inboxes(conn), public=True)
    await delivery.start(fed, ids)
    return notice
