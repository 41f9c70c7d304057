"""Request and response helpers shared by the route modules."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import SplitResult, urlsplit

import asyncpg
import orjson
from starlette.convertors import Convertor, register_url_convertor
from starlette.datastructures import FormData, QueryParams
from starlette.exceptions import HTTPException
from starlette.requests import HTTPConnection, Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from federation import inputs
from federation.context import Federation

from . import accounts, scopes

ACTIVITY_JSON = "application/activity+json"
AP_ACCEPT = ("application/activity+json", "application/ld+json")
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1


def _digits_at_most(limit: int) -> str:
    """A regex for the decimal numbers from 0 to `limit`, leading zeros allowed."""
    digits = str(limit)
    options = [f"[0-9]{{1,{len(digits) - 1}}}"]
    for i, digit in enumerate(digits):
        if digit != "0":
            options.append(f"{digits[:i]}[0-{int(digit) - 1}][0-9]{{{len(digits) - i - 1}}}")
    return f"0*(?:{'|'.join(options)}|{digits})"


# Row ids are bigints: a path or parameter past 2**63 - 1 names no row, and asyncpg refuses
# to send it (DataError).
ID_REGEX = _digits_at_most(INT64_MAX)


class IdConvertor(Convertor[int]):
    """`{name:id}` in a route: a row id, so that no other number reaches a query."""

    regex = ID_REGEX

    def convert(self, value: str) -> int:
        return int(value)

    def to_string(self, value: int) -> str:
        return str(value)


register_url_convertor("id", IdConvertor())


def parse_id(value: Any) -> int | None:
    """`value` as a row id (an int, or a string of ASCII digits as Mastodon sends ids), or None
    when it cannot be one."""
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value.lstrip("0")) <= 19:
        value = int(value)
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= INT64_MAX:
        return value
    return None


def parsed_url(value: str) -> SplitResult | None:
    """`value` split into its parts, or None when it does not parse (`http://[::1`, a port past
    65535)."""
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises ValueError when out of range
    except ValueError:
        return None
    return parts


def check_text(name: str, value: str) -> str:
    """`value`, or a 400 when it holds what PostgreSQL cannot take (a NUL, a lone surrogate)."""
    problem = inputs.text_problem(value)
    if problem is not None:
        raise HTTPException(400, f"{name} {problem}")
    return value


class RefuseBadText:
    """Middleware: a 400 for a path or query parameter holding a NUL byte (or a lone surrogate),
    before any route reads it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            try:
                check_text("the path", scope["path"])
                query = scope["query_string"]  # most requests have none: no parse then
                for key, value in QueryParams(query).multi_items() if query else ():
                    check_text("a query parameter name", key)
                    check_text(f"the query parameter {key}", value)
            except HTTPException as exc:
                await error(exc.status_code, exc.detail)(scope, receive, send)
                return
        await self.app(scope, receive, send)


class ActivityResponse(Response):
    media_type = ACTIVITY_JSON

    def render(self, content: Any) -> bytes:
        return json.dumps(content, ensure_ascii=False, separators=(",", ":")).encode()


class PageResponse(JSONResponse):
    """JSON encoded by orjson: a page of twenty statuses took a tenth of a timeline request's CPU
    in the standard library's encoder (tests/bench/feed.py). The same JSON as JSONResponse's."""

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


def error(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    # A message may quote input: a lone surrogate in it would make the JSON unencodable.
    message = message.encode("utf-8", "backslashreplace").decode("utf-8")
    return JSONResponse({"error": message}, status_code=status, headers=headers)


def wants_activity_json(request: Request) -> bool:
    accept = request.headers.get("accept", "")
    return any(kind in accept for kind in AP_ACCEPT)


def fed(request: HTTPConnection) -> Federation:
    return request.app.state.instance.fed


def pool(request: HTTPConnection) -> asyncpg.Pool:
    return request.app.state.instance.pool


def read_pool(request: HTTPConnection) -> asyncpg.Pool:
    """The replica, for reads that may lag the primary by its replay delay (Instance.read_pool):
    never for a write, nor for what this request or its client has just written."""
    return request.app.state.instance.read_pool


def feed_pool(request: HTTPConnection) -> asyncpg.Pool:
    """`read_pool`'s server, on connections that run every statement on its generic plan: for the
    For You statement alone (server/store/feed.py)."""
    return request.app.state.instance.feed_pool


async def read_body(request: Request, limit: int) -> bytes:
    """The request body, refused with 413 past `limit` without reading the rest."""
    declared = request.headers.get("content-length")
    if declared is not None:
        if not (declared.isascii() and declared.isdigit()):
            raise HTTPException(400, "Content-Length is not a number")
        if len(declared) > 18 or int(declared) > limit:
            raise HTTPException(413, f"body is larger than {limit} bytes")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise HTTPException(413, f"body is larger than {limit} bytes")
    return bytes(body)


async def read_params(request: Request, limit: int = 1_000_000) -> dict[str, Any]:
    """Parameters from a JSON or form body (Mastodon clients send either), or the query.

    Kept on the request, since a body can be read once: a rate limit may have read it first.
    """
    if "params" in request.scope.get("likeness", {}):
        return dict(request.scope["likeness"]["params"])
    params = await _read_params(request, limit)
    request.scope.setdefault("likeness", {})["params"] = params
    return dict(params)


async def _read_params(request: Request, limit: int) -> dict[str, Any]:
    content_type = request.headers.get("content-type", "")
    params: dict[str, Any] = dict(request.query_params)
    if request.method in ("GET", "HEAD", "DELETE") and not content_type:
        return params
    if content_type.startswith("application/json"):
        body = await read_body(request, limit)
        if body.strip():
            try:
                data = inputs.loads(body)
            except inputs.InputError as exc:
                raise HTTPException(400, f"body {exc}") from None
            if not isinstance(data, dict):
                raise HTTPException(400, "body must be a JSON object")
            params.update(data)
    elif content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        form = await read_form(request, max_part_size=limit)
        for key in form:
            values = form.getlist(key)
            if key.endswith("[]"):
                params[key[:-2]] = values
            else:
                params[key] = values[-1]
    return params


async def read_form(request: Request, **limits: int) -> FormData:
    """The form of a urlencoded or multipart body (Starlette's `request.form` with `limits`),
    with every field name and text value checked as `check_text` does (file names are never kept)."""
    form = await request.form(**limits)
    for key, value in form.multi_items():
        check_text("a form field name", key)
        if isinstance(value, str):
            check_text(key, value)
    return form


def bearer_token(request: Request) -> str | None:
    """The token of the Authorization header. Never a cookie: a cookie would sign in requests
    that other sites make a browser send (CSRF), and the web app keeps its token in the page."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    return None


def safe_http_url(value: Any) -> str | None:
    """`value` if it is an absolute http(s) URL, so that a remote document cannot hand a client
    a `javascript:` link; else None."""
    if not isinstance(value, str) or len(value) > 2000:
        return None
    parts = parsed_url(value)
    return value if parts is not None and parts.scheme in ("http", "https") and parts.netloc else None


async def current_user(request: Request, *, required: bool = True) -> asyncpg.Record | None:
    """The signed-in user, or 401; 403 when an app's token lacks the scope this route needs
    (server/scopes.py). The record carries `actor_id`, `scopes` and `app_id`.

    Looked up once per request (a rate limit may have asked first)."""
    cache = request.scope.setdefault("likeness", {})
    if "user" not in cache:
        token = bearer_token(request)
        cache["user"] = await accounts.user_for_token(pool(request), token) if token else None
    user = cache["user"]
    if user is None and required:
        raise HTTPException(401, "sign in first: this needs a valid bearer token")
    if user is not None and user["app_id"] is not None:
        route = request.scope.get("route")
        refused = scopes.refusal(user["scopes"], request.method, getattr(route, "path", ""),
                                 request.path_params)
        if refused is not None:
            raise HTTPException(403, refused)
    return user


class TokenScopes:
    """Route middleware: an app's token that lacks the scope its route needs is refused (403)
    before the endpoint runs, whether or not the endpoint looks at who is signed in, as Mastodon
    refuses such a token even where a visitor would be answered."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await current_user(Request(scope, receive), required=False)
        await self.app(scope, receive, send)


async def current_staff(request: Request, *, admin_only: bool = False) -> asyncpg.Record:
    """The signed-in moderator or admin (only an admin with `admin_only`), else 401 or 403."""
    user = await current_user(request)
    assert user is not None
    if user["app_id"] is not None and not scopes.allows_staff(user["scopes"], request.method):
        raise HTTPException(403, "this app's token has no admin scope, so it acts without the staff role")
    allowed = ("admin",) if admin_only else ("admin", "moderator")
    if user["role"] not in allowed:
        raise HTTPException(403, "this needs an admin account" if admin_only
                            else "this needs a moderator or admin account")
    return user


def int_param(params: dict[str, Any], name: str, *, default: int | None = None,
              low: int | None = None, high: int | None = None) -> int | None:
    raw = params.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except (TypeError, ValueError, OverflowError):
        raise HTTPException(400, f"{name} must be an integer") from None
    if not INT64_MIN <= value <= INT64_MAX:
        raise HTTPException(400, f"{name} is out of range")
    if low is not None and value < low or high is not None and value > high:
        raise HTTPException(400, f"{name} must be between {low} and {high}")
    return value


def bool_param(params: dict[str, Any], name: str, default: bool = False) -> bool:
    raw = params.get(name)
    if raw is None or raw == "":
        return default
    if isinstance(raw, bool):
        return raw
    if str(raw).lower() in ("1", "true", "on", "yes"):
        return True
    if str(raw).lower() in ("0", "false", "off", "no"):
        return False
    raise HTTPException(400, f"{name} must be true or false")


def paged(request: Request, items: list[dict[str, Any]], *, cursors: list[int] | None = None,
          limit: int | None = None) -> Response:
    """Mastodon's Link header: `next` pages to older items, `prev` to newer ones. `cursors` are
    the ids that page, newest first, where they are not the items' own (a followers list pages
    by its follows, a bookmarks list by its bookmarks): one per row found, shown or not, so that
    a page whose rows the viewer may not see still leads on. With `limit`, `next` is left out of
    a page that is not full, as Mastodon leaves it out at the end."""
    headers = {}
    ids = cursors if cursors is not None else [item["id"] for item in items]
    if ids:
        base = str(request.url.remove_query_params(["max_id", "since_id", "min_id"]))
        sep = "&" if "?" in base else "?"
        links = [f'<{base}{sep}min_id={ids[0]}>; rel="prev"']
        if limit is None or len(ids) >= limit:
            links.insert(0, f'<{base}{sep}max_id={ids[-1]}>; rel="next"')
        headers["Link"] = ", ".join(links)
    return PageResponse(items, headers=headers)


def paging(params: dict[str, Any], *, default: int, most: int) -> dict[str, Any]:
    """Mastodon's paging parameters: `limit` (`default` when absent, `most` at most, as Mastodon
    caps it rather than refusing), and the `max_id`, `since_id` and `min_id` bounds."""
    limit = int_param(params, "limit", default=default)
    return {
        "limit": min(max(limit or default, 1), most),
        "max_id": int_param(params, "max_id", low=0),
        "since_id": int_param(params, "since_id", low=0),
        "min_id": int_param(params, "min_id", low=0),
    }
