"""Flag: another server reports a local account and/or its posts (Mastodon sends it from its
instance actor, `object` = [account, posts...], `content` = the comment). It lands in the
moderators' queue as a report from that domain."""

from __future__ import annotations

from typing import Any

from policy.moderation import MAX_COMMENT, MAX_POSTS

from .. import actors, store
from ..context import Federation
from ..errors import Ignore
from ..jsonld import as_list, ref


async def handle(fed: Federation, activity: dict[str, Any]) -> None:
    named = [uri for uri in (ref(o) for o in as_list(activity.get("object"))[:MAX_POSTS + 1]) if uri]
    accounts, posts = [], []
    for uri in named:
        actor = await store.actor_by_uri(fed.pool, uri)
        if actor is not None and actor["local"] and actor["user_id"] is not None:
            accounts.append(actor)
            continue
        post = await store.post_by_uri(fed.pool, uri)
        if post is not None and post["local"] and post["deleted_at"] is None:
            posts.append(post)
    if not accounts and not posts:
        raise Ignore("Flag names nothing local")
    target_ids = {a["id"] for a in accounts} or {p["actor_id"] for p in posts}
    if len(target_ids) > 1 or any(p["actor_id"] not in target_ids for p in posts):
        raise Ignore("Flag names posts that are not by the flagged account")
    reporter = await actors.actor(fed, activity["actor"])
    comment = activity.get("content")
    comment = "".join(c for c in comment[:MAX_COMMENT] if c >= " " or c in "\n\t") \
        if isinstance(comment, str) else ""
    async with fed.pool.acquire() as conn, conn.transaction():
        await store.open_report(conn, reporter_id=reporter["id"], target_id=target_ids.pop(),
                                category="other", comment=comment.strip(),
                                post_ids=[p["id"] for p in posts], cameo_ids=[],
                                origin_domain=reporter["domain"])
