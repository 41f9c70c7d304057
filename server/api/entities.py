"""Mastodon-shaped JSON entities (Account, Status, MediaAttachment, Notification).

Existing Mastodon clients read these; the field names and types follow Mastodon's API docs.
"""

from __future__ import annotations

from typing import Any

import asyncpg

from federation import store as fstore
from federation.context import Federation
from federation.objects import iso, media_url, now, parse_time, poster_url
from federation.visibility import visible_post_ids

from .. import store
from ..media import PrivateLinks

Record = asyncpg.Record


def acct(fed: Federation, actor: Record) -> str:
    return actor["username"] if actor["local"] else f"{actor['username']}@{actor['domain']}"


def account(fed: Federation, actor: Record, counts: Record | None = None,
            moved: dict[str, Any] | None = None) -> dict[str, Any]:
    """Mastodon's Account; `moved` is the Account of the one it moved to (Mastodon's `moved`,
    present only for an account that moved, and never nested further)."""
    avatar = actor["icon_url"] or f"{fed.base_url}/static/avatar.png"
    header = actor["header_url"] or f"{fed.base_url}/static/header.png"
    # Mastodon names a suspended account so (and only then), for clients to say why it is empty.
    suspended = {"suspended": True} if actor.get("suspended") else {}
    return {
        **suspended,
        "id": str(actor["id"]),
        "username": actor["username"],
        "acct": acct(fed, actor),
        "display_name": actor["display_name"],
        "locked": actor["manually_approves_followers"],
        "bot": actor["type"] in ("Service", "Application"),
        "group": actor["type"] == "Group",
        "discoverable": True,
        "created_at": iso(actor["created_at"]),
        "note": actor["summary"],
        "url": actor["url"] or actor["uri"],
        "uri": actor["uri"],
        "avatar": avatar,
        "avatar_static": avatar,
        "header": header,
        "header_static": header,
        "followers_count": counts["followers"] if counts else 0,
        "following_count": counts["following"] if counts else 0,
        "statuses_count": counts["posts"] if counts else 0,
        "last_status_at": None,
        "emojis": [],
        "fields": [],
        **({"moved": moved} if moved is not None else {}),
    }


async def moved_accounts(fed: Federation, conn: asyncpg.Connection | asyncpg.Pool,
                         actors: list[Record]) -> dict[str, dict[str, Any]]:
    """The Accounts that these actors moved to, by address: those known here."""
    uris = sorted({actor.get("moved_to_uri") for actor in actors if actor.get("moved_to_uri")})
    if not uris:
        return {}
    targets = await fstore.actors_by_uris(conn, uris)
    counts = await store.accounts_counts(conn, [target["id"] for target in targets])
    return {target["uri"]: account(fed, target, counts.get(target["id"])) for target in targets}


async def accounts(fed: Federation, conn: asyncpg.Connection, actors: list[Record]) -> list[dict[str, Any]]:
    """Account entities for actors, in the order given, with their counts, in one query."""
    counts = await store.accounts_counts(conn, [actor["id"] for actor in actors])
    moved = await moved_accounts(fed, conn, actors)
    return [account(fed, actor, counts.get(actor["id"]), moved.get(actor.get("moved_to_uri") or ""))
            for actor in actors]


def media_attachment(fed: Federation, media: Record, links: PrivateLinks | None = None) -> dict[str, Any]:
    """The MediaAttachment. A file in no post yet is its owner's alone (app.serve_media): with
    `links`, given by its owner's views, its addresses are signed for them and expire; without,
    they are plain and answer only a token that may have the file."""
    original: dict[str, Any] = {"width": media["width"], "height": media["height"]}
    if media["width"] and media["height"]:
        original["size"] = f"{media['width']}x{media['height']}"
        original["aspect"] = media["width"] / media["height"]
    if media["duration"] is not None:
        original["duration"] = media["duration"]
    if media["frame_rate"]:
        original["frame_rate"] = f"{media['frame_rate']:g}/1"
    # An upload still being checked has no address yet (Mastodon's `url: null` while processing).
    ready = media.get("check_state", "ready") == "ready"
    url = media_url(fed, media) if ready else None
    preview = poster_url(fed, media) if ready else None
    if ready and links is not None and media["post_id"] is None:
        url = links.url(fed.base_url, media["storage_key"])
        preview = links.url(fed.base_url, media["poster_key"]) if media["poster_key"] else None
    return {
        "id": str(media["id"]),
        "type": media["kind"],
        "url": url,
        "preview_url": preview or (url if media["kind"] == "image" else None),
        "remote_url": media["remote_url"],
        "meta": {"original": original, "focus": {"x": media["focal_x"], "y": media["focal_y"]}},
        "description": media["description"] or None,
        "blurhash": media["blurhash"],
    }


def visibility(post: Record, mentions: list[Record]) -> str:
    """Mastodon's name for who may see a post: `private` for followers-only, and for a direct
    post that addresses someone without mentioning them (Mastodon's `limited`, which its API
    shows as `private`)."""
    if post["visibility"] == "followers" or post["visibility"] == "direct" and any(
            m["silent_mention"] for m in mentions):
        return "private"
    return post["visibility"]


def poll(post: Record, viewer: int | None) -> dict[str, Any] | None:
    """Mastodon's Poll of a remote Question, with the counts its server last sent (votes are
    cast on the poll's own server; Likeness casts none, so the viewer never voted)."""
    found = post["poll"]
    if not found:
        return None
    expires_at = parse_time(found["expires_at"])
    expired = found["closed"] or (expires_at is not None and expires_at <= now())
    viewer_fields = {"voted": False, "own_votes": []} if viewer is not None else {}
    return {
        "id": str(post["id"]),
        "expires_at": found["expires_at"],
        "expired": expired,
        "multiple": found["multiple"],
        "votes_count": sum(option["votes_count"] for option in found["options"]),
        "voters_count": found["voters_count"],
        "options": found["options"],
        "emojis": [],
        **viewer_fields,
    }


async def statuses(fed: Federation, conn: asyncpg.Connection, posts: list[Record], viewer: int | None, *,
                   details: dict[int, Record] | None = None) -> list[dict[str, Any]]:
    """Status entities for posts (boosts embed their original), in a fixed number of queries:
    none for a page without boosts or quotes whose `details` (store.post_details) the caller
    read already."""
    originals = await store.posts_by_ids(conn, [p["reblog_of_id"] for p in posts if p["reblog_of_id"]])
    # Quoted posts are shown once their author approved the quote, and only to who may see them.
    quoted_rows = await store.posts_by_ids(conn, [p["quote_id"] for p in [*posts, *originals.values()]
                                                  if p["quote_id"] and p["quote_state"] == "accepted"])
    shown_quotes = await visible_post_ids(conn, list(quoted_rows), viewer)
    quoted = {post_id: row for post_id, row in quoted_rows.items() if post_id in shown_quotes}
    everything = [*posts, *originals.values(), *quoted.values()]
    details = dict(details or {})
    kept = {p["id"]: entity for p in posts if (entity := _kept(fed, p, details.get(p["id"]))) is not None}
    # A timeline's rows carry only what is the viewer's own and the stamp (store.page_columns):
    # the rest is read for the posts whose entity is not kept under that stamp.
    partial = {post_id for post_id, row in details.items() if "author" not in row}
    # A kept post that is also a boost's original or a quoted post on the page is rendered again
    # inside it, from its details.
    embedded = originals.keys() | quoted.keys()
    wanted = {p["id"] for p in everything} - (kept.keys() - embedded) - (details.keys() - partial)
    for post_id, row in (await store.post_details(conn, list(wanted), viewer)).items():
        # The visibility the caller checked (for its viewer and staff flag) stays.
        details[post_id] = {**row, "visible": details[post_id]["visible"]} if post_id in partial else row

    def quote(post: Record, *, shallow: bool) -> dict[str, Any] | None:
        """Mastodon 4.5's Quote (ShallowQuote, with the id only, inside a quoted post)."""
        if post["quote_uri"] is None:
            return None
        state = post["quote_state"] or "pending"
        if state == "accepted" and post["quote_id"] is None:
            state = "deleted"
        if shallow:
            return {"state": state,
                    "quoted_status_id": str(post["quote_id"]) if state == "accepted" else None}
        shown = quoted.get(post["quote_id"]) if state == "accepted" else None
        if state == "accepted" and shown is None:
            row = quoted_rows.get(post["quote_id"])
            # Gone, or there but not for this viewer.
            state = "deleted" if row is None or row["deleted_at"] is not None else "unauthorized"
        return {"state": state, "quoted_status": render(shown, shallow=True) if shown else None}

    def render(post: Record, *, shallow: bool = False) -> dict[str, Any]:
        found = details[post["id"]]
        author = found["author"]
        mentions = [{**mentioned, "silent_mention": silent} for mentioned, silent
                    in zip(found["mentioned"], found["mentioned_silently"], strict=True)]
        parent_actor = found["parent_actor_id"]
        reblog = originals.get(post["reblog_of_id"]) if post["reblog_of_id"] else None
        return {
            "id": str(post["id"]),
            "uri": post["uri"],
            "url": post["url"] or post["uri"],
            "created_at": iso(post["published_at"]),
            "edited_at": iso(post["edited_at"]) if post["edited_at"] else None,
            "account": account(fed, author),
            "content": post["content"] if not reblog else "",
            "text": post["source"],
            "visibility": visibility(post, mentions),
            # A moderator can mark an account's media sensitive as a whole.
            "sensitive": post["sensitive"] or author["sensitized"],
            "spoiler_text": post["summary"] or "",
            "media_attachments": [media_attachment(fed, m) for m in found["media"]],
            "application": None,
            "mentions": [{"id": str(a["id"]), "username": a["username"], "acct": acct(fed, a),
                          "url": a["url"] or a["uri"]}
                         for a in mentions if not a["silent_mention"]],
            "tags": [{"name": name, "url": f"{fed.base_url}/tags/{name}"} for name in found["tags"]],
            "emojis": [],
            "reblogs_count": found["boosts"],
            "favourites_count": found["likes"],
            "replies_count": found["replies"],
            # A reply to a post this server does not hold is shown as no reply, as before.
            "in_reply_to_id": str(post["in_reply_to_id"]) if parent_actor is not None else None,
            "in_reply_to_account_id": str(parent_actor) if parent_actor is not None else None,
            "reblog": render(reblog) if reblog else None,
            "poll": poll(post, viewer),
            "quote": quote(post, shallow=shallow),
            "card": None,
            "language": post["language"],
            "favourited": found["liked"],
            "reblogged": found["boosted"],
            "muted": False,
            "bookmarked": found["bookmarked"],
            "pinned": found["pinned"],
            "ai_generated": post["ai_generated"],
            # Likeness: the cameos a remix stars, so that a client can offer to remix it again.
            "cameos": [{"cameo": cameo, "owner": owner}
                       for cameo, owner in zip(found["cameo_uris"], found["cameo_owners"], strict=True)],
        }

    def shown(post: Record) -> dict[str, Any]:
        found = details[post["id"]]
        entity = kept.get(post["id"])
        if entity is not None:
            return {**entity, "favourited": found["liked"], "reblogged": found["boosted"],
                    "bookmarked": found["bookmarked"], "pinned": found["pinned"]}
        entity = render(post)
        # Kept only where the post row and what is shown beside it were read in one state: a
        # timeline's row carries the stamp of its own snapshot, and the details read since must
        # carry the same (a post row read before an edit, rendered beside details read after it,
        # would be kept under the new stamp and shown until the next change).
        if _keepable(post) and "stamp" in post and post["stamp"] == found["stamp"]:
            fed.rendered_statuses[post["id"]] = (found["stamp"], dict(entity))
        return entity

    # A post deleted outright since its page was read is left out.
    return [shown(p) for p in posts if p["id"] in kept or "author" in details.get(p["id"], ())]


def _keepable(post: Record) -> bool:
    """Whether the post's entity is the same for every viewer but for the viewer's own flags: not
    a boost or a quote (whose embedded post each viewer may or may not see), nor a poll (which
    expires with time, and says whether a viewer voted)."""
    return post["reblog_of_id"] is None and post["quote_uri"] is None and not post["poll"]


def _kept(fed: Federation, post: Record, found: Record | None) -> dict[str, Any] | None:
    """The post's entity as rendered from the rows whose stamp `found` (its page or detail
    columns) carries, if it is kept; else None."""
    if found is None or not _keepable(post):
        return None
    kept = fed.rendered_statuses.get(post["id"])
    return kept[1] if kept is not None and kept[0] == found["stamp"] else None


def status_edit(fed: Federation, version: Record | dict[str, Any], author: Record) -> dict[str, Any]:
    """Mastodon's StatusEdit: one version of a post, with its attachments as they were then."""
    return {
        "content": version["content"],
        "spoiler_text": version["summary"] or "",
        "sensitive": version["sensitive"] or author["sensitized"],
        "created_at": iso(version["created_at"]),
        "account": account(fed, author),
        "poll": None,
        "media_attachments": [media_attachment(fed, m) for m in version["media"]],
        "emojis": [],
    }
