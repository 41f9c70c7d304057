"""What local actors do: each action writes its rows and its outgoing activity in one
transaction, then queues the deliveries.

Interactions between two local actors take effect directly; only remote parties get activities.
"""

from __future__ import annotations

import secrets
from typing import Any

import asyncpg

from . import actors, delivery, edits, objects, proofs, signing, store, streams, succession
from .context import Federation
from .html import parse_hashtags, text_to_html
from .vocab import AS_CONTEXT, DATA_INTEGRITY_V2, EXTENSION_TERMS, PUBLIC

Record = asyncpg.Record

# The context of a post's Update and Delete, which carry their author's proof.
SIGNED_CONTEXT = [AS_CONTEXT, DATA_INTEGRITY_V2, EXTENSION_TERMS]


class ActionError(ValueError):
    """A local action that cannot be done as asked (a clear 4xx for the client)."""


def _activity_id(actor: Record, kind: str) -> str:
    return f"{actor['uri']}#{kind.lower()}s/{secrets.token_hex(12)}"


async def _send(conn: asyncpg.Connection, actor: Record, activity: dict[str, Any],
                inboxes: list[str], *, public: bool = False) -> list[int]:
    return await delivery.queue_activity(conn, actor["id"], activity, inboxes, public=public)


def _inbox(actor: Record) -> list[str]:
    return [] if actor["local"] else [actor["inbox"]]


async def _post_audience(conn: asyncpg.Connection, author: Record, mentioned: list[Record],
                         parent_author: Record | None, visibility: str) -> list[str]:
    inboxes = [] if visibility == "direct" else await store.follower_inboxes(conn, author["id"])
    return inboxes + _named_audience(mentioned, parent_author)


def _named_audience(mentioned: list[Record], parent_author: Record | None) -> list[str]:
    """The inboxes of the remote actors a post mentions or answers."""
    return [actor["shared_inbox"] or actor["inbox"]
            for actor in [*mentioned, *([parent_author] if parent_author else [])] if not actor["local"]]


async def document_of(fed: Federation, conn: asyncpg.Connection, post: Record) -> dict[str, Any]:
    """The `Note` of a local post, as served at its id and sent in activities."""
    author = await store.actor_by_id(conn, post["actor_id"])
    assert author is not None
    return objects.note_document(
        fed, post, author, await store.post_media(conn, post["id"]),
        await store.mentioned_actors(conn, post["id"]), await store.post_tags(conn, post["id"]),
        post["in_reply_to_uri"], await store.post_cameos(conn, post["id"]))


def _caption_html(fed: Federation, text: str, mentioned: list[Record]) -> str:
    mention_urls = {f"@{m['username']}" if m["local"] else f"@{m['username']}@{m['domain']}":
                    m["url"] or m["uri"] for m in mentioned}
    for m in mentioned:
        mention_urls.setdefault(f"@{m['username']}@{m['domain']}", m["url"] or m["uri"])
    return text_to_html(text, mentions=mention_urls, hashtag_url=lambda tag: f"{fed.base_url}/tags/{tag}")


async def _reach(conn: asyncpg.Connection, author: Record, post: Record, mentioned: list[Record],
                 parent_author: Record | None) -> list[str]:
    """Every server that may hold a copy of a post, which its `Update` or `Delete` must reach
    (Mastodon's StatusReachFinder): its audience, and for a public or unlisted post the servers
    of those who boosted, liked, replied to or quoted it and of their followers, and the
    followers of the local author it replies to (whose followers saw it in the thread)."""
    inboxes = await _post_audience(conn, author, mentioned, parent_author, post["visibility"])
    if post["visibility"] in ("public", "unlisted"):
        inboxes += await store.interacting_inboxes(conn, post["id"])
        if parent_author is not None and parent_author["local"]:
            inboxes += await store.follower_inboxes(conn, parent_author["id"])
    return inboxes


async def _with_proof(fed: Federation, author: Record, activity: dict[str, Any]) -> dict[str, Any]:
    """An activity with its author's FEP-8b32 proof: servers that forward it (to the followers of
    those who boosted the post) pass on something their receivers can check without asking us."""
    keys = await signing.signing_keys(fed, author["id"])
    return proofs.sign({**activity, "@context": SIGNED_CONTEXT}, keys.ed25519, keys.ed25519_key_id)


async def publish_post(fed: Federation, author: Record, *, text: str, visibility: str,
                       media_ids: list[int], sensitive: bool = False, summary: str | None = None,
                       in_reply_to: Record | None = None, mentioned: list[Record] = (),
                       ai_generated: bool = False, generator: str | None = None,
                       remix: Record | None = None, cameos: list[dict[str, Any]] = ()) -> int:
    """Create a local post (caption as plain text) and send it to its audience.

    A published remix takes the post id it was promised, and carries its cameos with their
    owners' authorizations; the remix row must be authorized, checked in the same transaction.
    """
    if author["moved_to_uri"]:
        # Mastodon's moved account only redirects; what it would post belongs on the new one.
        target = await store.actor_by_uri(fed.pool, author["moved_to_uri"])
        moved_to = actors.handle_of(target) if target else author["moved_to_uri"]
        raise ActionError(f"this account has moved to {moved_to}: post from there")
    content = _caption_html(fed, text, mentioned)
    async with fed.pool.acquire() as conn, conn.transaction():
        post_id = remix["post_id"] if remix else await store.next_post_id(conn)
        uri = f"{author['uri']}/statuses/{post_id}"
        if remix and not await store.publish_remix(conn, remix["id"]):
            raise ActionError("this remix is not authorized by every cameo owner (or was published)")
        await store.insert_post(conn, {
            "id": post_id, "uri": uri, "url": f"{fed.base_url}/@{author['username']}/{post_id}",
            "actor_id": author["id"], "local": True, "visibility": visibility,
            "content": content, "source": text, "summary": summary, "sensitive": sensitive,
            "in_reply_to_uri": in_reply_to["uri"] if in_reply_to else None,
            "in_reply_to_id": in_reply_to["id"] if in_reply_to else None,
            "ai_generated": ai_generated, "generator": generator,
            "prompt_digest": remix["prompt_digest"] if remix else None,
        })
        await store.replace_post_cameos(conn, post_id, list(cameos))
        if media_ids and await store.set_post_media(conn, post_id, author["id"], media_ids) != len(media_ids):
            raise ActionError("a media id is unknown, not yours, or already used in a post")
        await store.replace_mentions(conn, post_id, [m["id"] for m in mentioned])
        await store.replace_tags(conn, post_id, parse_hashtags(text))
        parent_author = None
        if in_reply_to is not None:
            parent_author = await store.actor_by_id(conn, in_reply_to["actor_id"])
        notified = await _notify_local(conn, post_id, author, mentioned, parent_author)
        post = await store.post_by_id(conn, post_id)
        note = await document_of(fed, conn, post)
        activity = objects.wrap("Create", author["uri"], note, activity_id=f"{uri}/activity",
                                to=note["to"], cc=note["cc"])
        activity["published"] = note["published"]
        named = _named_audience(mentioned, parent_author)
        if visibility == "direct":
            ids, expansion = await _send(conn, author, activity, named), None
        else:
            # The followers are a worker's to expand: this call's cost does not grow with them.
            ids, expansion = [], await delivery.queue_with_followers(
                conn, author["id"], activity, named, public=visibility in ("public", "unlisted"))
    await delivery.start(fed, ids)
    if expansion is not None:
        await delivery.start_expansion(fed, expansion)
    await streams.post_event(fed, "update", post_id)
    for user_id, notification_id in notified:
        await streams.notification(fed, user_id, notification_id)
    return post_id


async def _notify_local(conn: asyncpg.Connection, post_id: int, author: Record,
                        mentioned: list[Record], parent_author: Record | None) -> list[tuple[int, int]]:
    """Notify the local accounts a post mentions or answers; (user id, notification id) each."""
    told: dict[int, int] = {}
    for actor in [*mentioned, *([parent_author] if parent_author else [])]:
        if actor["local"] and actor["user_id"] not in (author["user_id"], *told):
            kind = "mention" if actor in mentioned else "reply"
            told[actor["user_id"]] = await store.insert_notification(conn, actor["user_id"], kind,
                                                                     author["id"], post_id)
    return list(told.items())


async def delete_post(fed: Federation, author: Record, post: Record) -> None:
    async with fed.pool.acquire() as conn, conn.transaction():
        ids = await queue_post_delete(conn, fed, author, post)
    await delivery.start(fed, ids)
    await streams.post_event(fed, "delete", post["id"])


async def queue_post_delete(conn: asyncpg.Connection, fed: Federation, author: Record, post: Record
                            ) -> list[int]:
    """Delete a post (or undo a boost) and queue the activity that tells its audience, in the
    caller's transaction: the author's own deletion and a moderator's are this one path. Returns
    the deliveries to `delivery.start` after the commit."""
    mentioned = await store.mentioned_actors(conn, post["id"])
    parent = await store.post_by_id(conn, post["in_reply_to_id"]) if post["in_reply_to_id"] else None
    parent_author = await store.actor_by_id(conn, parent["actor_id"]) if parent else None
    if post["reblog_of_id"]:
        original = await store.post_by_id(conn, post["reblog_of_id"])
        boost_author = await store.actor_by_id(conn, original["actor_id"])
        activity = objects.wrap("Undo", author["uri"], await _announce(fed, conn, author, post),
                                activity_id=_activity_id(author, "undo"), to=[PUBLIC])
        inboxes = await store.follower_inboxes(conn, author["id"]) + _inbox(boost_author)
    else:
        tombstone = {"id": post["uri"], "type": "Tombstone"}
        to, cc = objects.addressing(post["visibility"], author["followers_url"],
                                    [m["uri"] for m in mentioned])
        activity = await _with_proof(fed, author, objects.wrap(
            "Delete", author["uri"], tombstone, activity_id=f"{post['uri']}#delete", to=to, cc=cc))
        # Reached before the deletion hides the boosts it looks for.
        inboxes = await _reach(conn, author, post, mentioned, parent_author)
    await store.soft_delete_post(conn, post["id"])
    return await _send(conn, author, activity, inboxes)


async def edit_post(fed: Federation, author: Record, post: Record, *, text: str, summary: str | None,
                    sensitive: bool, language: str | None, media_ids: list[int] | None,
                    media_descriptions: dict[int, tuple[str, tuple[float, float] | None]],
                    mentioned: list[Record]) -> bool:
    """Edit a local post (Mastodon's UpdateStatusService): its caption, content warning,
    sensitivity, language, and, where the caller allows it, its media (`media_ids`, in order;
    None keeps them) and their descriptions. A change that a reader would see gets a version in
    the post's history, `edited_at`, and an `Update` to every server that holds the post; one
    transaction. Returns whether anything changed."""
    async with fed.pool.acquire() as conn, conn.transaction():
        before = await store.post_by_id(conn, post["id"])
        before_media = await store.post_media(conn, post["id"])
        if media_ids is not None and \
                await store.set_post_media(conn, post["id"], author["id"], media_ids) != len(media_ids):
            raise ActionError("a media id is unknown, not yours, or already used in a post")
        kept = {m["id"] for m in await store.post_media(conn, post["id"])}
        for media_id, (description, focus) in media_descriptions.items():
            if media_id not in kept:
                raise ActionError(f"media {media_id} is not in this post")
            await store.update_media_description(conn, media_id, author["id"], description, focus)
        await store.update_post(conn, post["id"], {
            "content": _caption_html(fed, text, mentioned), "source": text, "summary": summary,
            "sensitive": sensitive, "language": language})
        after_media = await store.post_media(conn, post["id"])
        if not edits.changed(before, before_media, await store.post_by_id(conn, post["id"]), after_media):
            return False
        await store.update_post(conn, post["id"], {"edited_at": objects.now()})
        after = await store.post_by_id(conn, post["id"])
        await store.replace_mentions(conn, post["id"], [m["id"] for m in mentioned])
        await store.replace_tags(conn, post["id"], parse_hashtags(text))
        notified = await edits.record(conn, before, before_media, after, after_media)
        parent = await store.post_by_id(conn, after["in_reply_to_id"]) if after["in_reply_to_id"] else None
        parent_author = await store.actor_by_id(conn, parent["actor_id"]) if parent else None
        note = await document_of(fed, conn, after)
        version = after["edited_at"].timestamp()
        activity = await _with_proof(fed, author, objects.wrap(
            "Update", author["uri"], note, activity_id=f"{after['uri']}#updates/{version}",
            to=note["to"], cc=note["cc"]))
        ids = await _send(conn, author, activity,
                          await _reach(conn, author, after, mentioned, parent_author),
                          public=after["visibility"] in ("public", "unlisted"))
    await delivery.start(fed, ids)
    await streams.post_event(fed, "status.update", post["id"])
    for user_id, notification_id in notified:
        await streams.notification(fed, user_id, notification_id)
    return True


async def like(fed: Federation, actor: Record, post: Record) -> None:
    if await store.like(fed.pool, actor["id"], post["id"]):
        return
    async with fed.pool.acquire() as conn, conn.transaction():
        uri = _activity_id(actor, "like")
        await store.insert_like(conn, uri, actor["id"], post["id"])
        owner = await store.actor_by_id(conn, post["actor_id"])
        ids: list[int] = []
        notification_id = None
        if owner["local"]:
            if owner["id"] != actor["id"]:
                notification_id = await store.insert_notification(conn, owner["user_id"], "favourite",
                                                                  actor["id"], post["id"])
        else:
            activity = objects.wrap("Like", actor["uri"], post["uri"], activity_id=uri,
                                    to=[owner["uri"]])
            ids = await _send(conn, actor, activity, _inbox(owner))
    await delivery.start(fed, ids)
    if notification_id is not None:
        await streams.notification(fed, owner["user_id"], notification_id)


async def unlike(fed: Federation, actor: Record, post: Record) -> None:
    row = await store.like(fed.pool, actor["id"], post["id"])
    if row is None:
        return
    async with fed.pool.acquire() as conn, conn.transaction():
        await store.delete_like(conn, row["id"])
        owner = await store.actor_by_id(conn, post["actor_id"])
        like_activity = objects.wrap("Like", actor["uri"], post["uri"], activity_id=row["uri"])
        activity = objects.wrap("Undo", actor["uri"], like_activity,
                                activity_id=_activity_id(actor, "undo"), to=[owner["uri"]])
        ids = await _send(conn, actor, activity, _inbox(owner))
    await delivery.start(fed, ids)


async def _announce(fed: Federation, conn: asyncpg.Connection, actor: Record,
                    boost_row: Record) -> dict[str, Any]:
    original = await store.post_by_id(conn, boost_row["reblog_of_id"])
    return objects.wrap("Announce", actor["uri"], original["uri"], activity_id=boost_row["uri"],
                        to=[PUBLIC], cc=[actor["followers_url"]])


async def boost(fed: Federation, actor: Record, post: Record) -> int:
    if post["visibility"] not in ("public", "unlisted"):
        raise ActionError("only public and unlisted posts can be boosted")
    existing = await store.boost(fed.pool, actor["id"], post["id"])
    if existing is not None:
        return existing["id"]
    async with fed.pool.acquire() as conn, conn.transaction():
        boost_id = await store.next_post_id(conn)
        uri = f"{actor['uri']}/statuses/{boost_id}/activity"
        await store.insert_post(conn, {
            "id": boost_id, "uri": uri, "actor_id": actor["id"], "local": True,
            "object_type": "Announce", "visibility": "public", "reblog_of_id": post["id"],
        })
        owner = await store.actor_by_id(conn, post["actor_id"])
        notification_id = None
        if owner["local"] and owner["id"] != actor["id"]:
            notification_id = await store.insert_notification(conn, owner["user_id"], "reblog",
                                                              actor["id"], post["id"])
        activity = await _announce(fed, conn, actor, await store.post_by_id(conn, boost_id))
        inboxes = await store.follower_inboxes(conn, actor["id"]) + _inbox(owner)
        ids = await _send(conn, actor, activity, inboxes, public=True)
    await delivery.start(fed, ids)
    await streams.post_event(fed, "update", boost_id)
    if notification_id is not None:
        await streams.notification(fed, owner["user_id"], notification_id)
    return boost_id


async def follow(fed: Federation, actor: Record, target: Record) -> Record:
    if target["id"] == actor["id"]:
        raise ActionError("you cannot follow yourself")
    if await store.is_blocked_either_way(fed.pool, actor["id"], target["id"]):
        raise ActionError("you cannot follow this account")
    if not target["local"] and (await fed.rules.policy(target["uri"])).suspended:
        raise ActionError(f"this server does not federate with {target['domain']}")
    existing = await store.follow(fed.pool, actor["id"], target["id"])
    if existing is not None:
        return existing
    uri = _activity_id(actor, "follow")
    async with fed.pool.acquire() as conn, conn.transaction():
        ids: list[int] = []
        notification_id = None
        if target["local"]:
            accepted = not target["manually_approves_followers"]
            row = await store.upsert_follow(conn, uri, actor["id"], target["id"], accepted)
            notification_id = await store.insert_notification(
                conn, target["user_id"], "follow" if accepted else "follow_request", actor["id"])
        else:
            row = await store.upsert_follow(conn, uri, actor["id"], target["id"], False)
            activity = objects.wrap("Follow", actor["uri"], target["uri"], activity_id=uri,
                                    to=[target["uri"]])
            ids = await _send(conn, actor, activity, _inbox(target))
    await delivery.start(fed, ids)
    if notification_id is not None:
        await streams.notification(fed, target["user_id"], notification_id)
    return row


async def unfollow(fed: Federation, actor: Record, target: Record) -> None:
    row = await store.follow(fed.pool, actor["id"], target["id"])
    if row is None:
        return
    async with fed.pool.acquire() as conn, conn.transaction():
        await store.delete_follow(conn, row["id"])
        follow_activity = objects.wrap("Follow", actor["uri"], target["uri"], activity_id=row["uri"])
        activity = objects.wrap("Undo", actor["uri"], follow_activity,
                                activity_id=_activity_id(actor, "undo"), to=[target["uri"]])
        ids = await _send(conn, actor, activity, _inbox(target))
    await delivery.start(fed, ids)


async def answer_follow(fed: Federation, target: Record, follower: Record,
                        follow_activity: dict[str, Any] | None, *, accept: bool,
                        follow_uri: str | None = None) -> None:
    """Send Accept or Reject for a Follow a remote actor sent to a local one."""
    follow_doc = {"id": follow_uri or follow_activity["id"], "type": "Follow",
                  "actor": follower["uri"], "object": target["uri"]}
    kind = "Accept" if accept else "Reject"
    async with fed.pool.acquire() as conn, conn.transaction():
        if not accept:
            row = await store.follow(conn, follower["id"], target["id"])
            if row is not None:
                await store.delete_follow(conn, row["id"])
        elif follow_uri is not None:
            row = await store.follow_by_uri(conn, follow_uri)
            await store.accept_follow(conn, row["id"])
        activity = objects.wrap(kind, target["uri"], follow_doc,
                                activity_id=_activity_id(target, kind), to=[follower["uri"]])
        ids = await _send(conn, target, activity, _inbox(follower))
    await delivery.start(fed, ids)


async def queue_follows_ended(conn: asyncpg.Connection, remote: Record, follows: list[Record]) -> list[int]:
    """Tell a remote account's server that its follows with accounts here have ended (a moderator
    suspended it here): a Reject of each Follow it sent, so that it stops expecting our posts,
    as Mastodon does, and an Undo of each Follow of ours, so that it stops sending its own."""
    ids: list[int] = []
    for follow in follows:
        theirs = follow["follower_id"] == remote["id"]
        local = await store.actor_by_id(conn, follow["followed_id"] if theirs else follow["follower_id"])
        if local is None or not local["local"]:
            continue
        follower, followed = (remote, local) if theirs else (local, remote)
        follow_doc = objects.wrap("Follow", follower["uri"], followed["uri"], activity_id=follow["uri"])
        kind = "Reject" if theirs else "Undo"
        activity = objects.wrap(kind, local["uri"], follow_doc, activity_id=_activity_id(local, kind),
                                to=[remote["uri"]])
        ids += await _send(conn, local, activity, _inbox(remote))
    return ids


async def block(fed: Federation, actor: Record, target: Record) -> None:
    if target["id"] == actor["id"]:
        raise ActionError("you cannot block yourself")
    async with fed.pool.acquire() as conn, conn.transaction():
        uri = _activity_id(actor, "block")
        await store.insert_block(conn, uri, actor["id"], target["id"])
        await store.delete_follows_between(conn, actor["id"], target["id"])
        ids: list[int] = []
        if not target["local"]:
            activity = objects.wrap("Block", actor["uri"], target["uri"], activity_id=uri,
                                    to=[target["uri"]])
            ids = await _send(conn, actor, activity, _inbox(target))
    await delivery.start(fed, ids)


async def unblock(fed: Federation, actor: Record, target: Record) -> None:
    async with fed.pool.acquire() as conn, conn.transaction():
        uri = await store.delete_block(conn, actor["id"], target["id"])
        ids: list[int] = []
        if uri and not target["local"]:
            block_activity = objects.wrap("Block", actor["uri"], target["uri"], activity_id=uri)
            activity = objects.wrap("Undo", actor["uri"], block_activity,
                                    activity_id=_activity_id(actor, "undo"), to=[target["uri"]])
            ids = await _send(conn, actor, activity, _inbox(target))
    await delivery.start(fed, ids)


async def feature(fed: Federation, actor: Record, post: Record, *, pinned: bool) -> None:
    """Tell followers' servers that a post was pinned to the actor's profile (`Add` to its
    `featured` collection) or unpinned (`Remove`), as Mastodon does."""
    kind = "Add" if pinned else "Remove"
    activity = objects.wrap(kind, actor["uri"], post["uri"], activity_id=_activity_id(actor, kind),
                            to=[PUBLIC], cc=[actor["followers_url"]])
    activity["target"] = f"{actor['uri']}/collections/featured"
    async with fed.pool.acquire() as conn, conn.transaction():
        ids = await _send(conn, actor, activity, await store.follower_inboxes(conn, actor["id"]))
    await delivery.start(fed, ids)


def _actor_update(actor: Record, document: dict[str, Any]) -> dict[str, Any]:
    return objects.wrap("Update", actor["uri"], document, activity_id=_activity_id(actor, "update"),
                        to=[PUBLIC], cc=[actor["followers_url"]])


async def update_profile(fed: Federation, actor: Record, document: dict[str, Any]) -> None:
    """Tell followers' servers that a profile changed (they refetch or read the embedded doc)."""
    async with fed.pool.acquire() as conn, conn.transaction():
        ids = await _send(conn, actor, _actor_update(actor, document),
                          await store.follower_inboxes(conn, actor["id"]), public=True)
    await delivery.start(fed, ids)


async def queue_actor_update(conn: asyncpg.Connection, fed: Federation, actor: Record) -> list[int]:
    """An `Update` of a local actor as it is now, to its followers' servers and every server it
    sent anything to; in the caller's transaction, returning the deliveries to start.

    A moderator's suspension goes this way (the document says `suspended`), and so does its
    undoing, as Mastodon does since 3.5: other servers hide the account and show it again,
    where the `Delete` that suspensions used to send could not be taken back.
    """
    inboxes = [*await store.follower_inboxes(conn, actor["id"]),
               *await store.delivered_inboxes(conn, actor["id"])]
    return await _send(conn, actor, _actor_update(actor, await actors.actor_document(fed, actor)),
                       inboxes)


async def queue_move(conn: asyncpg.Connection, fed: Federation, actor: Record, target: Record) -> list[int]:
    """Mastodon's `Move` {actor: old, object: old, target: new} of a local actor that moved, to
    its followers' servers (shared inboxes collapsed), whose people then follow the new account;
    in the caller's transaction, returning the deliveries. It carries a proof by the actor's
    Ed25519 key, with that key embedded (a succession, PROTOCOL.md), and goes to the new account's
    server and to every server that holds consent the actor gave as well: each then checks that
    consent against the new account once this server is gone."""
    activity = await succession.signed_move_of(fed, actor, target["uri"], to=[actor["followers_url"]])
    inboxes = [*await store.follower_inboxes(conn, actor["id"]),
               *await store.authorization_holders(conn, actor["id"]),
               *([] if target["local"] else [target["shared_inbox"] or target["inbox"]])]
    return await _send(conn, actor, activity, sorted(set(inboxes)))


async def queue_actor_delete(conn: asyncpg.Connection, actor: Record) -> list[int]:
    """A `Delete` of a local actor whose account is deleted, to its followers' servers and every
    server it sent anything to, which drop the account and all they hold of it; in the caller's
    transaction, returning the deliveries."""
    inboxes = [*await store.follower_inboxes(conn, actor["id"]),
               *await store.delivered_inboxes(conn, actor["id"])]
    activity = objects.wrap("Delete", actor["uri"], actor["uri"], activity_id=_activity_id(actor, "delete"),
                            to=[PUBLIC])
    return await _send(conn, actor, activity, inboxes)


async def report(fed: Federation, *, reporter_id: int, target: Record, posts: list[Record],
                 cameo_ids: list[int], category: str, comment: str, forward: bool) -> tuple[int, bool]:
    """Open (or merge) a local person's report; with `forward`, a report on a remote account also
    goes to its instance as Mastodon's `Flag`, from this instance's actor so that the reporter
    stays unnamed. One transaction; returns the report id and whether it is new."""
    forward = forward and not target["local"]
    async with fed.pool.acquire() as conn, conn.transaction():
        report_id, created = await store.open_report(
            conn, reporter_id=reporter_id, target_id=target["id"], category=category, comment=comment,
            post_ids=[p["id"] for p in posts], cameo_ids=cameo_ids, forwarded=forward)
        ids: list[int] = []
        if forward:
            instance = await store.actor_by_uri(conn, fed.instance_actor_uri)
            activity = objects.wrap("Flag", instance["uri"], [target["uri"], *(p["uri"] for p in posts)],
                                    activity_id=_activity_id(instance, "flag"))
            activity["content"] = comment
            ids = await _send(conn, instance, activity, [target["shared_inbox"] or target["inbox"]])
    await delivery.start(fed, ids)
    return report_id, created
