"""Mastodon's filters (v2, `/api/v2/filters`): words, or single posts, that a person asks to be
warned of (or not shown) in the contexts they name, and their keywords and posts, each with its
own routes, as Mastodon's are.

The home, public and hashtag timelines carry on each post the filters it matched, under
`filtered` (Mastodon's FilterResult); the app warns, or hides a post whose filter says `hide`,
as Mastodon's server leaves that to the app.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from federation.html import html_to_text
from federation.objects import iso
from policy.content_filters import ACTIONS, CONTEXTS, matching_keywords

from .. import store
from ..http import bool_param, current_user, error, parse_id, pool, read_params

# Bounds on what one person keeps, so that matching a page of posts stays cheap.
MAX_FILTERS, MAX_KEYWORDS = 100, 100
MAX_TITLE, MAX_KEYWORD = 256, 256
# The longest `expires_in`, in seconds: a year.
MAX_EXPIRES_IN = 365 * 24 * 3600


def keyword_json(row: asyncpg.Record) -> dict[str, Any]:
    return {"id": str(row["id"]), "keyword": row["keyword"], "whole_word": row["whole_word"]}


def status_entry_json(row: asyncpg.Record) -> dict[str, Any]:
    return {"id": str(row["id"]), "status_id": str(row["post_id"])}


def filter_json(row: asyncpg.Record, keywords: list[asyncpg.Record],
                statuses: list[asyncpg.Record]) -> dict[str, Any]:
    return {"id": str(row["id"]), "title": row["title"], "context": list(row["context"]),
            "expires_at": iso(row["expires_at"]) if row["expires_at"] else None,
            "filter_action": row["filter_action"], "keywords": [keyword_json(k) for k in keywords],
            "statuses": [status_entry_json(s) for s in statuses]}


async def _filters_json(conn: asyncpg.Connection | asyncpg.Pool, rows: list[asyncpg.Record]
                        ) -> list[dict[str, Any]]:
    ids = [row["id"] for row in rows]
    keywords = await store.filter_keywords_of(conn, ids)
    statuses = await store.filter_statuses_of(conn, ids)
    return [filter_json(row, keywords[row["id"]], statuses[row["id"]]) for row in rows]


# --- applying them -----------------------------------------------------------------------------

def _searchable_text(status: dict[str, Any]) -> str:
    """What a filter's keywords are looked for in, as Mastodon does: the content warning, the
    text and the media descriptions."""
    parts = [status["spoiler_text"], html_to_text(status["content"]),
             *(m["description"] or "" for m in status["media_attachments"])]
    return "\n\n".join(part for part in parts if part)


async def annotate(request: Request, statuses: list[dict[str, Any]], viewer: asyncpg.Record,
                   context: str) -> None:
    """Set each status's `filtered` to the filters of the signed-in `viewer` (current_user's
    record) in force in `context` that it matches (a boost, the filters its original matches)."""
    # Most people have no filter: their record says so, and then nothing is looked up.
    rows = await store.filters_of(pool(request), viewer["actor_id"], context=context) \
        if viewer["has_filters"] else []
    ids = [row["id"] for row in rows]
    # None in force here: then no look-ups of keywords and posts.
    keywords = await store.filter_keywords_of(pool(request), ids) if ids else {}
    entries = await store.filter_statuses_of(pool(request), ids) if ids else {}
    shown = {row["id"]: filter_json(row, keywords[row["id"]], entries[row["id"]]) for row in rows}
    for status in statuses:
        original = status["reblog"] or status
        # The text costs an HTML parse per status: only with a filter to match it against.
        text = _searchable_text(original) if rows else ""
        results = []
        for row in rows:
            matched = matching_keywords(text, [(k["keyword"], k["whole_word"]) for k in keywords[row["id"]]])
            named = [str(e["id"]) for e in entries[row["id"]] if str(e["post_id"]) == original["id"]]
            if matched or named:
                results.append({"filter": shown[row["id"]], "keyword_matches": matched or None,
                                "status_matches": named or None})
        status["filtered"] = results
        if status["reblog"]:
            status["reblog"]["filtered"] = results


# --- input ---------------------------------------------------------------------------------------

def _title(params: dict[str, Any], current: str | None) -> str:
    title = params.get("title", current)
    if not isinstance(title, str) or not title.strip():
        raise HTTPException(422, "title can't be blank")
    if len(title) > MAX_TITLE:
        raise HTTPException(422, f"title is longer than {MAX_TITLE} characters")
    return title


def _context(params: dict[str, Any], current: list[str] | None) -> list[str]:
    context = params.get("context", current)
    if isinstance(context, str):
        context = [context]
    if not isinstance(context, list) or not context:
        raise HTTPException(422, f"context can't be blank: name one or more of {', '.join(CONTEXTS)}")
    unknown = [c for c in context if c not in CONTEXTS]
    if unknown:
        raise HTTPException(422, f"context {str(unknown[0])[:40]!r} is not one of {', '.join(CONTEXTS)}")
    return list(dict.fromkeys(context))


def _action(params: dict[str, Any], current: str) -> str:
    action = params.get("filter_action") or current
    if action not in ACTIONS:
        raise HTTPException(422, f"filter_action must be one of {', '.join(ACTIONS)}")
    return action


def _expires_at(params: dict[str, Any], current: datetime | None) -> datetime | None:
    """From `expires_in` (seconds from now); empty or null for never; absent keeps `current`."""
    if "expires_in" not in params:
        return current
    raw = params["expires_in"]
    if raw is None or raw == "":
        return None
    seconds = parse_id(raw)
    if seconds is None or not 0 < seconds <= MAX_EXPIRES_IN:
        raise HTTPException(422, f"expires_in must be a number of seconds from 1 to {MAX_EXPIRES_IN}")
    return datetime.now(UTC) + timedelta(seconds=seconds)


def _keyword_fields(item: dict[str, Any], current: asyncpg.Record | None = None) -> tuple[str, bool]:
    keyword = item.get("keyword", current["keyword"] if current else None)
    if not isinstance(keyword, str) or not keyword.strip():
        raise HTTPException(422, "keyword can't be blank")
    if len(keyword) > MAX_KEYWORD:
        raise HTTPException(422, f"keyword is longer than {MAX_KEYWORD} characters")
    return keyword, bool_param(item, "whole_word", current["whole_word"] if current else True)


_FORM_ATTRIBUTE = re.compile(r"keywords_attributes\[(\d*)\]\[(\w+)\]")


def _keywords_attributes(params: dict[str, Any]) -> list[dict[str, Any]]:
    """`keywords_attributes`: a JSON list of objects (or an object of them by index, as Rails
    takes it), or form fields `keywords_attributes[0][keyword]`."""
    raw = params.get("keywords_attributes")
    if isinstance(raw, dict):
        raw = list(raw.values())
    if raw is None:
        by_index: dict[str, dict[str, Any]] = {}
        for key, value in params.items():
            if match := _FORM_ATTRIBUTE.fullmatch(key):
                by_index.setdefault(match[1], {})[match[2]] = value
        raw = list(by_index.values())
    if not isinstance(raw, list) or not all(isinstance(item, dict) for item in raw):
        raise HTTPException(422, "keywords_attributes must be a list of keywords")
    return raw


# --- filters ---------------------------------------------------------------------------------------

Record = asyncpg.Record
Finder = Callable[..., Awaitable[Record | None]]


async def _owned(request: Request, user: asyncpg.Record, find: Finder, param: str, what: str) -> Record:
    """The row `find` finds for the path's `param` among the user's filters, else 404."""
    row = await find(pool(request), user["actor_id"], request.path_params[param])
    if row is None:
        raise HTTPException(404, f"no such {what}")
    return row


async def _own_filter(request: Request, user: asyncpg.Record) -> asyncpg.Record:
    return await _owned(request, user, store.filter_by_id, "filter_id", "filter")


async def list_filters(request: Request) -> Response:
    user = await current_user(request)
    return JSONResponse(await _filters_json(pool(request), await store.filters_of(pool(request),
                                                                                       user["actor_id"])))


async def get_filter(request: Request) -> Response:
    user = await current_user(request)
    return JSONResponse((await _filters_json(pool(request), [await _own_filter(request, user)]))[0])


async def create_filter(request: Request) -> Response:
    user = await current_user(request)
    params = await read_params(request)
    fields = {"title": _title(params, None), "context": _context(params, None),
              "action": _action(params, "warn"), "expires_at": _expires_at(params, None)}
    keywords = [_keyword_fields(item) for item in _keywords_attributes(params)]
    if len(keywords) > MAX_KEYWORDS:
        return error(422, f"a filter has {MAX_KEYWORDS} keywords at most")
    async with pool(request).acquire() as conn, conn.transaction():
        if await store.count_filters(conn, user["actor_id"]) >= MAX_FILTERS:
            return error(422, f"you have the most filters one may, {MAX_FILTERS}")
        filter_id = await store.insert_filter(conn, user["actor_id"], **fields)
        for keyword, whole_word in keywords:
            await store.insert_filter_keyword(conn, filter_id, keyword, whole_word)
        row = await store.filter_by_id(conn, user["actor_id"], filter_id)
        return JSONResponse((await _filters_json(conn, [row]))[0])


async def update_filter(request: Request) -> Response:
    """Mastodon's update: the fields given change; each of `keywords_attributes` with an `id`
    changes that keyword (or, with `_destroy`, deletes it), each without adds one."""
    user = await current_user(request)
    row = await _own_filter(request, user)
    params = await read_params(request)
    fields = {"title": _title(params, row["title"]), "context": _context(params, list(row["context"])),
              "action": _action(params, row["filter_action"]),
              "expires_at": _expires_at(params, row["expires_at"])}
    keywords = await store.filter_keywords_of(pool(request), [row["id"]])
    existing = {k["id"]: k for k in keywords[row["id"]]}
    changes: list[tuple[int | None, tuple[str, bool] | None]] = []
    for item in _keywords_attributes(params):
        keyword_id = parse_id(item["id"]) if "id" in item else None
        if "id" in item and keyword_id not in existing:
            return error(422, f"keyword {str(item['id'])[:40]!r} is not one of this filter's")
        if keyword_id is not None and bool_param(item, "_destroy"):
            changes.append((keyword_id, None))
        else:
            changes.append((keyword_id, _keyword_fields(item, existing.get(keyword_id))))
    added = sum(1 for keyword_id, _ in changes if keyword_id is None)
    removed = sum(1 for _, fields_ in changes if fields_ is None)
    if len(existing) + added - removed > MAX_KEYWORDS:
        return error(422, f"a filter has {MAX_KEYWORDS} keywords at most")
    async with pool(request).acquire() as conn, conn.transaction():
        await store.update_filter(conn, row["id"], **fields)
        for keyword_id, keyword_fields in changes:
            if keyword_fields is None:
                await store.delete_filter_keyword(conn, keyword_id)
            elif keyword_id is None:
                await store.insert_filter_keyword(conn, row["id"], *keyword_fields)
            else:
                await store.update_filter_keyword(conn, keyword_id, *keyword_fields)
        row = await store.filter_by_id(conn, user["actor_id"], row["id"])
        return JSONResponse((await _filters_json(conn, [row]))[0])


async def delete_filter(request: Request) -> Response:
    user = await current_user(request)
    filter_id = request.path_params["filter_id"]
    if not await store.delete_filter(pool(request), user["actor_id"], filter_id):
        return error(404, "no such filter")
    return JSONResponse({})


# --- a filter's keywords ------------------------------------------------------------------------

async def _own_keyword(request: Request, user: asyncpg.Record) -> asyncpg.Record:
    return await _owned(request, user, store.filter_keyword_by_id, "keyword_id", "filter keyword")


async def _filter_part(request: Request, part: str) -> Response:
    """One part of a filter's entity: its `keywords` or its `statuses`."""
    user = await current_user(request)
    row = await _own_filter(request, user)
    return JSONResponse((await _filters_json(pool(request), [row]))[0][part])


async def list_keywords(request: Request) -> Response:
    return await _filter_part(request, "keywords")


async def add_keyword(request: Request) -> Response:
    user = await current_user(request)
    row = await _own_filter(request, user)
    keyword, whole_word = _keyword_fields(await read_params(request))
    if await store.count_filter_keywords(pool(request), row["id"]) >= MAX_KEYWORDS:
        return error(422, f"a filter has {MAX_KEYWORDS} keywords at most")
    added = await store.insert_filter_keyword(pool(request), row["id"], keyword, whole_word)
    return JSONResponse(keyword_json(added))


async def get_keyword(request: Request) -> Response:
    user = await current_user(request)
    return JSONResponse(keyword_json(await _own_keyword(request, user)))


async def update_keyword(request: Request) -> Response:
    user = await current_user(request)
    row = await _own_keyword(request, user)
    keyword, whole_word = _keyword_fields(await read_params(request), row)
    changed = await store.update_filter_keyword(pool(request), row["id"], keyword, whole_word)
    return JSONResponse(keyword_json(changed))


async def delete_keyword(request: Request) -> Response:
    user = await current_user(request)
    await store.delete_filter_keyword(pool(request), (await _own_keyword(request, user))["id"])
    return JSONResponse({})


# --- a filter's posts ----------------------------------------------------------------------------

async def _own_status_entry(request: Request, user: asyncpg.Record) -> asyncpg.Record:
    return await _owned(request, user, store.filter_status_by_id, "entry_id", "filtered post")


async def list_status_entries(request: Request) -> Response:
    return await _filter_part(request, "statuses")


async def add_status_entry(request: Request) -> Response:
    """Only a post the person may see; one the filter names already is refused, as Mastodon's
    uniqueness check refuses it."""
    user = await current_user(request)
    row = await _own_filter(request, user)
    post_id = parse_id((await read_params(request)).get("status_id"))
    if post_id is None or await store.visible_post(pool(request), post_id, user["actor_id"]) is None:
        return error(422, "status_id must be a post you can see")
    entry = await store.insert_filter_status(pool(request), row["id"], post_id)
    if entry is None:
        return error(422, "this filter names that post already")
    return JSONResponse(status_entry_json(entry))


async def get_status_entry(request: Request) -> Response:
    user = await current_user(request)
    return JSONResponse(status_entry_json(await _own_status_entry(request, user)))


async def delete_status_entry(request: Request) -> Response:
    user = await current_user(request)
    await store.delete_filter_status(pool(request), (await _own_status_entry(request, user))["id"])
    return JSONResponse({})


routes = [
    Route("/api/v2/filters", list_filters),
    Route("/api/v2/filters", create_filter, methods=["POST"]),
    Route("/api/v2/filters/keywords/{keyword_id:id}", get_keyword),
    Route("/api/v2/filters/keywords/{keyword_id:id}", update_keyword, methods=["PUT"]),
    Route("/api/v2/filters/keywords/{keyword_id:id}", delete_keyword, methods=["DELETE"]),
    Route("/api/v2/filters/statuses/{entry_id:id}", get_status_entry),
    Route("/api/v2/filters/statuses/{entry_id:id}", delete_status_entry, methods=["DELETE"]),
    Route("/api/v2/filters/{filter_id:id}", get_filter),
    Route("/api/v2/filters/{filter_id:id}", update_filter, methods=["PUT"]),
    Route("/api/v2/filters/{filter_id:id}", delete_filter, methods=["DELETE"]),
    Route("/api/v2/filters/{filter_id:id}/keywords", list_keywords),
    Route("/api/v2/filters/{filter_id:id}/keywords", add_keyword, methods=["POST"]),
    Route("/api/v2/filters/{filter_id:id}/statuses", list_status_entries),
    Route("/api/v2/filters/{filter_id:id}/statuses", add_status_entry, methods=["POST"]),
]
