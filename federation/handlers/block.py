"""Block: a remote actor blocks a local one; follows between them end."""

from __future__ import annotations

from typing import Any

from .. import actors, store
from ..context import Federation
from ..errors import Ignore
from ..jsonld import ref


async def handle(fed: Federation, activity: dict[str, Any]) -> None:
    target = await store.actor_by_uri(fed.pool, ref(activity.get("object")) or "")
    if target is None or not target["local"]:
        raise Ignore("Block of an actor that is not local")
    blocker = await actors.actor(fed, activity["actor"])
    async with fed.pool.acquire() as conn, conn.transaction():
        await store.insert_block(conn, activity["id"], blocker["id"], target["id"])
        await store.delete_follows_between(conn, blocker["id"], target["id"])
