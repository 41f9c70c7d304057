"""ActivityPub routes: actors, inboxes, outbox, collections and post objects."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from federation import actors, inbox, objects, outbox, quotes
from federation import store as fstore
from federation.visibility import visible_post_ids
from federation.vocab import AS_CONTEXT, OBJECT_CONTEXT

from . import store
from .http import ActivityResponse, error, fed, parse_id, pool, read_body, read_pool, wants_activity_json

log = logging.getLogger(__name__)

PAGE_SIZE = 20


def _html_redirect(path: str) -> Response:
    return RedirectResponse(path, status_code=303)


async def _actor_or_404(request: Request) -> Any:
    return await fstore.local_actor(pool(request), request.path_params["username"])


async def _no_account(request: Request) -> Response:
    """410 for an account that was deleted (peers that still hold it, or its posts, drop them on
    a 410), else 404."""
    if await fstore.local_actor_deleted(pool(request), request.path_params["username"]):
        return error(410, "this account was deleted")
    return error(404, "no such account")


async def actor(request: Request) -> Response:
    row = await _actor_or_404(request)
    if row is None:
        return await _no_account(request)
    if not wants_activity_json(request):
        return _html_redirect(f"/@{row['username']}")
    return ActivityResponse(await actors.actor_document(fed(request), row),
                            headers={"Vary": "Accept"})


async def instance_actor(request: Request) -> Response:
    row = await fstore.actor_by_uri(pool(request), fed(request).instance_actor_uri)
    return ActivityResponse(await actors.actor_document(fed(request), row))


async def receive(request: Request) -> Response:
    """POST to a personal or the shared inbox: verify, keep, 202."""
    if "username" in request.path_params and await _actor_or_404(request) is None:
        return error(404, "no such account")
    settings = request.app.state.instance.settings
    body = await read_body(request, settings.max_inbox_bytes)
    try:
        outcome = await inbox.receive(fed(request), "POST", str(request.url), request.headers, body)
    except inbox.InboxError as exc:
        log.info("inbox refused: %s", exc.message)
        return error(exc.status, exc.message)
    return ActivityResponse({"status": outcome}, status_code=202)


def _collection(uri: str, total: int, page: int | None, items: list[Any]) -> dict[str, Any]:
    if page is None:
        return {"@context": AS_CONTEXT, "id": uri, "type": "OrderedCollection",
                "totalItems": total, "first": f"{uri}?page=1"}
    # The items' terms (a post's `cameos`, a Note's `interactionPolicy`) must be defined too.
    doc = {"@context": OBJECT_CONTEXT, "id": f"{uri}?page={page}", "type": "OrderedCollectionPage",
           "partOf": uri, "totalItems": total, "orderedItems": items}
    if page * PAGE_SIZE < total:
        doc["next"] = f"{uri}?page={page + 1}"
    if page > 1:
        doc["prev"] = f"{uri}?page={page - 1}"
    return doc


def _page_number(request: Request) -> int | None:
    raw = request.query_params.get("page")
    if raw is None:
        return None
    page = parse_id(raw)
    return page if page is not None and 1 <= page <= 100_000 else 0


async def _collection_owner(request: Request, uri_of: Callable[[Any], str]
                            ) -> tuple[Any, str, int | None, Response | None]:
    """The local actor whose collection is asked for, the collection's id and the page; or the
    answer to give instead. The actor is read from the primary, so that a suspension or deletion
    empties its collections at once; a public collection's items come from the replica
    (server/http.py read_pool)."""
    row = await _actor_or_404(request)
    if row is None:
        return None, "", None, error(404, "no such account")
    page = _page_number(request)
    if page == 0:
        return None, "", None, error(400, "page must be a positive integer")
    uri = uri_of(row)
    if row["suspended"]:
        # Empty while suspended, as Mastodon answers: the account may come back.
        return None, uri, page, ActivityResponse(_collection(uri, 0, page, []))
    return row, uri, page, None


async def follow_collection(request: Request) -> Response:
    followers = request.url.path.endswith("/followers")
    row, uri, page, refusal = await _collection_owner(
        request, lambda row: row["followers_url"] if followers else row["following_url"])
    if refusal is not None:
        return refusal
    total = await fstore.count_follows(read_pool(request), row["id"], followers=followers)
    items = [] if page is None else await fstore.follow_page(
        read_pool(request), row["id"], followers=followers, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE)
    return ActivityResponse(_collection(uri, total, page, items))


async def mutuals_collection(request: Request) -> Response:
    """The actors who follow this one and whom it follows back: a cameo's "mutuals" audience,
    which decides who may use a cameo, and so is read from the primary."""
    row, uri, page, refusal = await _collection_owner(request, lambda row: f"{row['uri']}/mutuals")
    if refusal is not None:
        return refusal
    total = await fstore.count_mutuals(pool(request), row["id"])
    items = [] if page is None else await fstore.mutuals_page(
        pool(request), row["id"], limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE)
    return ActivityResponse(_collection(uri, total, page, items))


async def quote_authorization(request: Request) -> Response:
    """A FEP-044f stamp: served while the quote is allowed and the quoted post is live."""
    author = await _actor_or_404(request)
    stamp = await fstore.quote_authorization(pool(request), request.path_params["stamp_id"]) \
        if author else None
    if stamp is None or stamp["author_id"] != author["id"] or stamp["state"] != "approved" \
            or await store.visible_post(pool(request), stamp["post_id"], None) is None:
        return error(404, "no such quote authorization")
    return ActivityResponse(quotes.stamp_document(author, stamp),
                            headers={"Cache-Control": "public, max-age=30"})


async def outbox_collection(request: Request) -> Response:
    row, uri, page, refusal = await _collection_owner(request, lambda row: row["outbox"])
    if refusal is not None:
        return refusal
    total = await fstore.outbox_count(read_pool(request), row["id"])
    items = [] if page is None else [
        r["body"] for r in await fstore.outbox_page(read_pool(request), row["id"], PAGE_SIZE,
                                                    (page - 1) * PAGE_SIZE)]
    for item in items:
        # An item keeps a @context other than the page's: a signed one is part of its proof.
        if item.get("@context") == OBJECT_CONTEXT:
            del item["@context"]
    return ActivityResponse(_collection(uri, total, page, items))


async def featured_collection(request: Request) -> Response:
    """The posts pinned to the profile that anyone may see, the latest pinned first, in full, as
    Mastodon serves its `featured` collection (never paged: five at most)."""
    row, uri, _, refusal = await _collection_owner(request, lambda row: f"{row['uri']}/collections/featured")
    if refusal is not None:
        return refusal
    pinned = await store.pinned_posts(read_pool(request), row["id"])
    shown = await visible_post_ids(read_pool(request), [post["id"] for post in pinned], None)
    async with read_pool(request).acquire() as conn:
        items = [await outbox.document_of(fed(request), conn, post) for post in pinned if post["id"] in shown]
    for item in items:
        item.pop("@context", None)
    return ActivityResponse({"@context": OBJECT_CONTEXT, "id": uri, "type": "OrderedCollection",
                             "totalItems": len(items), "orderedItems": items})


async def _public_post(request: Request) -> tuple[Any, Response | None]:
    author = await _actor_or_404(request)
    if author is None:
        return None, await _no_account(request)
    post_id = request.path_params["post_id"]
    post = await fstore.post_by_id(pool(request), post_id)
    if post is None or post["actor_id"] != author["id"] or post["reblog_of_id"]:
        return None, error(404, "no such post")
    if post["deleted_at"] is not None:
        return None, ActivityResponse({"@context": AS_CONTEXT, "id": post["uri"],
                                       "type": "Tombstone"}, status_code=410)
    if author["suspended"]:
        # Not 410: a suspension can be lifted, and a peer that saw Gone would drop the post for good.
        return None, error(403, "this account is suspended")
    if await store.visible_post(pool(request), post["id"], None) is None:
        # Served to anyone who asks, so only what anyone may see: followers-only and direct posts
        # reach their audience by delivery, never by fetch, and a post a moderator hid is not served.
        return None, error(404, "no such post")
    return post, None


async def post_object(request: Request) -> Response:
    post, refusal = await _public_post(request)
    if refusal is not None:
        return refusal
    if not wants_activity_json(request):
        return _html_redirect(post["url"])
    async with pool(request).acquire() as conn:
        return ActivityResponse(await outbox.document_of(fed(request), conn, post),
                                headers={"Vary": "Accept"})


async def post_activity(request: Request) -> Response:
    post, refusal = await _public_post(request)
    if refusal is not None:
        return refusal
    async with pool(request).acquire() as conn:
        note = await outbox.document_of(fed(request), conn, post)
    activity = objects.wrap("Create", note["attributedTo"], note, activity_id=f"{post['uri']}/activity",
                            to=note["to"], cc=note["cc"])
    return ActivityResponse(activity)


routes = [
    Route("/actor", instance_actor),
    Route("/actor/inbox", receive, methods=["POST"]),
    Route("/inbox", receive, methods=["POST"]),
    Route("/users/{username}", actor),
    Route("/users/{username}/inbox", receive, methods=["POST"]),
    Route("/users/{username}/outbox", outbox_collection),
    Route("/users/{username}/followers", follow_collection),
    Route("/users/{username}/following", follow_collection),
    Route("/users/{username}/mutuals", mutuals_collection),
    Route("/users/{username}/collections/featured", featured_collection),
    Route("/users/{username}/quote_authorizations/{stamp_id:id}", quote_authorization),
    Route("/users/{username}/statuses/{post_id:id}", post_object),
    Route("/users/{username}/statuses/{post_id:id}/activity", post_activity),
]
