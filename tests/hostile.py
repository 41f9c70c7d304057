"""Hostile input for the bad-input tests and the fuzz bench: a seeded generator of requests
(bodies, headers, paths and query parameters) and a catcher of the tracebacks a server logs.

A request is only ever refused: whatever it holds, the answer is a 4xx (or a 2xx), never a 5xx.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import re
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import httpx

INT64_MAX = 2**63 - 1

# Values that have broken parsers: out-of-range and odd numbers, NUL, lone surrogates, odd digits,
# malformed URLs and hosts, hugely long text, wrong types.
HOSTILE_TEXT = [
    "", " ", "\x00", "a\x00b", "\ud800", "x\udfffy", "\ufeff", "\u202e", "²", "١٢", "-1", "0", "1.5",
    "1e999", "-1e999", "NaN", "Infinity", "99999999999999999999999", str(INT64_MAX), str(INT64_MAX + 1),
    "9" * 5000, "0" * 30 + "1", "http://[::1", "http://[::1]:99999/", "https://xn--a.com/x",
    "http://0177.0.0.1/", "javascript:alert(1)", "@a@127.0.0.1:1", "@a@0177.0.0.1", "@a@xn--a.com",
    "@a@xn--", "@a@[::1", "a@b@c", "%00", "%", "../../etc/passwd", "<script>", "x" * 70_000, "true",
    "null", "[]", "{}", "a\r\nb", "\udcff@\udcff",
]
HOSTILE_NUMBERS: list[Any] = [
    0, -1, 1, INT64_MAX, INT64_MAX + 1, -(2**63) - 1, 10**30, 1e300, -1e300, 1.5, 2.0**63, True, False,
]
# Raw JSON that Python's json.dumps would never write.
RAW_JSON_VALUES = ["NaN", "Infinity", "-Infinity", "1e999", "-1e999", '"\\u0000"', '"\\ud800"',
                   '"a\\udfffb"', "9" * 5000, "1" + "0" * 400, "1.0e-400"]


def deep(levels: int, kind: str = "[") -> str:
    """JSON nested `levels` deep, in arrays or in objects."""
    return "[" * levels + "]" * levels if kind == "[" else '{"a":' * levels + "1" + "}" * levels


@dataclass
class Endpoint:
    """Where to throw requests: `path` may hold {id}, {user}, {action}, {tag} and {key} slots;
    `fields` are the parameters it reads, sent in the query for GET and DELETE."""

    family: str
    method: str
    path: str
    fields: tuple[str, ...] = ()
    role: str = "user"  # whose token it is sent with: "user", "admin" or "" (none)


PAGING = ("max_id", "since_id", "min_id", "limit")
FILTER_FIELDS = ("title", "context", "context[]", "filter_action", "expires_in", "keywords_attributes",
                 "keywords_attributes[0][keyword]", "keywords_attributes[0][whole_word]")
ENDPOINTS = [
    Endpoint("statuses", "POST", "/api/v1/statuses", ("status", "media_ids", "in_reply_to_id", "visibility",
                                                      "sensitive", "spoiler_text", "language")),
    Endpoint("statuses", "GET", "/api/v1/statuses/{id}"),
    Endpoint("statuses", "GET", "/api/v1/statuses/{id}/context"),
    Endpoint("statuses", "POST", "/api/v1/statuses/{id}/{action}"),
    Endpoint("statuses", "DELETE", "/api/v1/statuses/{id}"),
    Endpoint("accounts", "GET", "/api/v1/accounts/{id}"),
    Endpoint("accounts", "GET", "/api/v1/accounts/{id}/statuses", PAGING),
    Endpoint("accounts", "POST", "/api/v1/accounts/{id}/{action}"),
    Endpoint("accounts", "GET", "/api/v1/accounts/lookup", ("acct",)),
    Endpoint("accounts", "GET", "/api/v1/accounts/relationships", ("id[]", "id")),
    Endpoint("accounts", "PATCH", "/api/v1/accounts/update_credentials", ("display_name", "note", "avatar",
                                                                          "header")),
    Endpoint("accounts", "GET", "/api/v1/accounts/verify_credentials"),
    Endpoint("accounts", "POST", "/api/v1/accounts", ("username", "email", "password"), role=""),
    Endpoint("accounts", "POST", "/api/v1/follow_requests/{id}/{action}"),
    Endpoint("timelines", "GET", "/api/v1/timelines/home", PAGING),
    Endpoint("timelines", "GET", "/api/v1/timelines/public", (*PAGING, "local")),
    Endpoint("timelines", "GET", "/api/v1/timelines/tag/{tag}", (*PAGING, "local")),
    Endpoint("timelines", "GET", "/api/v1/timelines/for_you", ("cursor", "limit")),
    Endpoint("timelines", "GET", "/api/v1/notifications", (*PAGING, "types[]", "exclude_types[]")),
    Endpoint("search", "GET", "/api/v2/search", ("q", "resolve", "type", "limit")),
    Endpoint("search", "GET", "/api/v1/accounts/search", ("q", "resolve", "limit")),
    Endpoint("media", "POST", "/api/v2/media", ("description", "focus", "file")),
    Endpoint("media", "GET", "/api/v1/media/{id}"),
    Endpoint("media", "GET", "/media/{key}", role=""),
    Endpoint("oauth", "POST", "/api/v1/apps", ("client_name", "redirect_uris", "scopes", "website"), role=""),
    Endpoint("oauth", "GET", "/oauth/authorize", ("client_id", "redirect_uri", "response_type", "scope",
                                                  "state", "code_challenge", "code_challenge_method"),
             role=""),
    Endpoint("oauth", "POST", "/oauth/authorize", ("client_id", "redirect_uri", "response_type", "scope",
                                                   "username", "password", "decision", "state"), role=""),
    Endpoint("oauth", "POST", "/oauth/token", ("grant_type", "client_id", "client_secret", "code",
                                               "redirect_uri", "username", "password", "scope",
                                               "code_verifier"), role=""),
    Endpoint("oauth", "POST", "/oauth/revoke", ("token", "client_id", "client_secret"), role=""),
    Endpoint("oauth", "GET", "/api/v1/apps/verify_credentials"),
    Endpoint("cameos", "POST", "/api/v1/cameos", ("name", "instructions", "permission", "approval")),
    Endpoint("cameos", "GET", "/api/v1/cameos/lookup", ("uri",)),
    Endpoint("cameos", "GET", "/api/v1/cameos/{id}"),
    Endpoint("cameos", "PATCH", "/api/v1/cameos/{id}", ("name", "instructions", "permission", "approval",
                                                        "paused", "approved_account_ids")),
    Endpoint("cameos", "GET", "/api/v1/accounts/{id}/cameos"),
    Endpoint("remixes", "POST", "/api/v1/remixes", ("cameos", "prompt", "duration_s", "note")),
    Endpoint("remixes", "GET", "/api/v1/remixes/{id}"),
    Endpoint("remixes", "POST", "/api/v1/remixes/{id}/publish", ("status", "media_id", "sensitive")),
    Endpoint("remixes", "POST", "/api/v1/remixes/{id}/generation", ("duration_s",)),
    Endpoint("remixes", "POST", "/api/v1/remix_requests/{id}/{action}"),
    Endpoint("generations", "POST", "/api/v1/generations", ("prompt", "cameo_ids", "duration_s")),
    Endpoint("generations", "GET", "/api/v1/generations", ("limit", "max_id")),
    Endpoint("generations", "GET", "/api/v1/generations/{id}"),
    Endpoint("generations", "POST", "/api/v1/generations/{id}/cancel"),
    Endpoint("reports", "POST", "/api/v1/reports", ("account_id", "status_ids", "comment", "category",
                                                   "forward", "rule_ids")),
    Endpoint("for_you", "POST", "/api/v1/for_you/preferences", ("account_id", "tag", "direction")),
    Endpoint("for_you", "DELETE", "/api/v1/for_you/preferences/{id}"),
    Endpoint("admin", "GET", "/api/v1/admin/accounts", ("username", "by_domain", *PAGING), role="admin"),
    Endpoint("admin", "GET", "/api/v1/admin/reports", ("resolved", *PAGING), role="admin"),
    Endpoint("admin", "GET", "/api/v1/admin/reports/{id}", role="admin"),
    Endpoint("admin", "POST", "/api/v1/admin/statuses/{id}/action", ("type", "text", "report_id"),
             role="admin"),
    Endpoint("admin", "POST", "/api/v1/admin/domain_blocks", ("domain", "severity", "reject_media",
                                                             "reject_reports", "obfuscate",
                                                             "private_comment", "public_comment"),
             role="admin"),
    Endpoint("admin", "GET", "/api/v1/admin/domain_blocks/{id}", role="admin"),
    Endpoint("admin", "POST", "/api/v1/admin/prompt_terms", ("term", "category"), role="admin"),
    Endpoint("admin", "GET", "/api/v1/admin/generations/{id}", role="admin"),
    Endpoint("activitypub", "GET", "/users/{user}", role=""),
    Endpoint("activitypub", "GET", "/users/{user}/outbox", ("page",), role=""),
    Endpoint("activitypub", "GET", "/users/{user}/followers", ("page",), role=""),
    Endpoint("activitypub", "GET", "/users/{user}/statuses/{id}", role=""),
    Endpoint("activitypub", "GET", "/users/{user}/statuses/{id}/activity", role=""),
    Endpoint("activitypub", "GET", "/users/{user}/cameos/{id}", role=""),
    Endpoint("activitypub", "GET", "/users/{user}/quote_authorizations/{id}", role=""),
    Endpoint("activitypub", "GET", "/users/{user}/remix_authorizations/{id}", role=""),
    Endpoint("activitypub", "GET", "/.well-known/webfinger", ("resource",), role=""),
    Endpoint("accounts", "GET", "/api/v1/accounts/{id}/followers", PAGING),
    Endpoint("accounts", "GET", "/api/v1/accounts/{id}/following", PAGING, role=""),
    Endpoint("accounts", "GET", "/api/v1/accounts/{id}/lists"),
    Endpoint("statuses", "GET", "/api/v1/statuses/{id}/favourited_by", PAGING),
    Endpoint("statuses", "GET", "/api/v1/statuses/{id}/reblogged_by", PAGING, role=""),
    Endpoint("timelines", "GET", "/api/v1/bookmarks", PAGING),
    Endpoint("timelines", "GET", "/api/v1/favourites", PAGING),
    Endpoint("timelines", "GET", "/api/v1/timelines/list/{id}", PAGING),
    Endpoint("timelines", "GET", "/api/v1/conversations", PAGING),
    Endpoint("timelines", "POST", "/api/v1/conversations/{id}/read"),
    Endpoint("timelines", "GET", "/api/v1/notifications/unread_count",
             ("limit", "types[]", "include_types[]", "exclude_types[]")),
    Endpoint("timelines", "GET", "/api/v1/notifications/{id}"),
    Endpoint("timelines", "POST", "/api/v1/notifications/{id}/dismiss"),
    Endpoint("trends", "GET", "/api/v1/trends/tags", ("limit", "offset"), role=""),
    Endpoint("trends", "GET", "/api/v1/trends/statuses", ("limit", "offset")),
    Endpoint("trends", "GET", "/api/v1/trends/links", ("limit", "offset"), role=""),
    Endpoint("tags", "GET", "/api/v1/tags/{tag}"),
    Endpoint("tags", "POST", "/api/v1/tags/{tag}/follow"),
    Endpoint("tags", "GET", "/api/v1/followed_tags", PAGING),
    Endpoint("filters", "POST", "/api/v2/filters", FILTER_FIELDS),
    Endpoint("filters", "PUT", "/api/v2/filters/{id}", FILTER_FIELDS),
    Endpoint("filters", "POST", "/api/v2/filters/{id}/keywords", ("keyword", "whole_word")),
    Endpoint("filters", "PUT", "/api/v2/filters/keywords/{id}", ("keyword", "whole_word")),
    Endpoint("filters", "POST", "/api/v2/filters/{id}/statuses", ("status_id",)),
    Endpoint("lists", "POST", "/api/v1/lists", ("title", "replies_policy", "exclusive")),
    Endpoint("lists", "PUT", "/api/v1/lists/{id}", ("title", "replies_policy", "exclusive")),
    Endpoint("lists", "POST", "/api/v1/lists/{id}/accounts", ("account_ids", "account_ids[]")),
    Endpoint("lists", "DELETE", "/api/v1/lists/{id}/accounts", ("account_ids", "account_ids[]")),
    Endpoint("activitypub", "GET", "/users/{user}/collections/featured", role=""),
    Endpoint("pages", "GET", "/@{user}", role=""),
    Endpoint("pages", "GET", "/@{user}/{id}", role=""),
]

SLOTS = {
    "id": ["1", "2", "3", "0", "-1", "99999999999999999999999", str(INT64_MAX), str(INT64_MAX + 1), "%C2%B2",
           "abc", "%00", "%ED%A0%80", "1e999", "0" * 40 + "1", "%2e%2e", "1.5", "%20"],
    "user": ["alice", "staff", "nobody", "%00", "a" * 300, "%FF", "..", "%ED%A0%80", "alice%00"],
    "action": ["favourite", "unfavourite", "reblog", "unreblog", "bookmark", "unbookmark", "pin", "unpin",
               "follow", "unfollow", "block", "authorize", "reject", "approve", "revoke", "%00", "x" * 300],
    "tag": ["cats", "%00", "%23", "x" * 500, "%ED%A0%80", "%C2%B2"],
    "key": ["videos/x.mp4", "%00", "../../etc/passwd", "..%2f..%2fetc%2fpasswd", "a" * 1000, "%ED%A0%80"],
}
def hostile_value(rnd: random.Random, depth: int = 0) -> Any:
    roll = rnd.random()
    if roll < 0.45:
        return rnd.choice(HOSTILE_TEXT)
    if roll < 0.7:
        return rnd.choice(HOSTILE_NUMBERS)
    if roll < 0.8 or depth > 2:
        return rnd.choice([None, [], {}, "ok", 1])
    if roll < 0.9:
        return [hostile_value(rnd, depth + 1) for _ in range(rnd.randint(0, 5))]
    return {rnd.choice(HOSTILE_TEXT[:12] + ["id", "type"]): hostile_value(rnd, depth + 1)
            for _ in range(rnd.randint(0, 4))}


def _json_text(value: Any) -> str:
    """`value` as JSON, with lone surrogates written as escapes (as a hostile client would)."""
    return json.dumps(value, ensure_ascii=True)


def hostile_body(rnd: random.Random, fields: tuple[str, ...], base: dict[str, Any] | None = None,
                 most: int | None = None) -> tuple[str, bytes]:
    """(content type, body) for an endpoint reading `fields` (at most `most` of them changed
    from `base`): wrong types for every field, raw NaN and huge numbers, deep nesting, NUL and
    surrogates, forms, or no JSON at all."""
    params = dict(base or {})
    count = rnd.randint(0, min(len(fields), len(fields) if most is None else most))
    for name in rnd.sample(fields, k=count):
        params[name] = hostile_value(rnd)
    roll = rnd.random()
    if roll < 0.5:
        return "application/json", _json_text(params).encode()
    if roll < 0.62 and params:
        # A raw constant in place of one value.
        name = rnd.choice(list(params))
        text = _json_text({k: v for k, v in params.items() if k != name})
        raw = f'{json.dumps(name)}:{rnd.choice(RAW_JSON_VALUES)}'
        return "application/json", (text[:-1] + ("," if len(text) > 2 else "") + raw + "}").encode()
    if roll < 0.7:
        return "application/json", deep(rnd.choice([100, 2000, 20_000]), rnd.choice("[{")).encode()
    if roll < 0.8:
        form = "&".join(f"{_form_key(rnd, k)}={_quoted(v)}" for k, v in params.items())
        return "application/x-www-form-urlencoded", form.encode()
    if roll < 0.87:
        return _multipart(rnd, params)
    return rnd.choice([("application/json", b"{not json"), ("application/json", b"\xff\xfe\xed\xa0\x80"),
                       ("application/json", b"[1,2]"), ("text/plain", b"hello"), ("", b"\x00" * 10),
                       ("application/json; charset=utf-16", '{"a":1}'.encode("utf-16")),
                       ("multipart/form-data; boundary=", b"--\r\n"),
                       ("multipart/form-data", b"x"),
                       ("application/x-www-form-urlencoded", b"a=%ff%fe&b=%00&%ed%a0%80=1"),
                       ("application/json", b'{"a":"\xed\xa0\x80"}')])


def _form_key(rnd: random.Random, key: str) -> str:
    return rnd.choice([key, key + "[]", "%00", key + "%00"])


def _quoted(value: Any) -> str:
    """`value` percent-encoded, a lone surrogate as the bytes a broken client would send."""
    text = value if isinstance(value, str) else json.dumps(value)
    return quote(text.encode("utf-8", "surrogatepass"), safe="")


def _multipart(rnd: random.Random, params: dict[str, Any]) -> tuple[str, bytes]:
    boundary = "fuzzboundary"
    charset = rnd.choice(["", "; charset=utf-8", "; charset=unicode_escape", "; charset=nope"])
    parts = []
    for key, value in params.items():
        text = value if isinstance(value, str) else json.dumps(value)
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{key}"\r\n\r\n'.encode()
                     + text.encode("utf-8", "surrogatepass") + b"\r\n")
    if rnd.random() < 0.3:
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="file"; '
                     f'filename="a\x00.mp4"\r\nContent-Type: video/mp4\r\n\r\n'.encode()
                     + b"\x00" * 64 + b"\r\n")
    body = b"".join(parts) + f"--{boundary}--\r\n".encode()
    return f"multipart/form-data; boundary={boundary}{charset}", body


HOSTILE_HEADERS: list[tuple[str, str]] = [
    ("content-type", "application/json; charset=nope"), ("content-type", "multipart/form-data"),
    ("content-type", "application/activity+json; profile=\"x"), ("content-type", "\x7f"),
    ("content-length", "abc"), ("content-length", "²"), ("content-length", "99999999999999999999999"),
    ("content-length", "-1"), ("authorization", "Bearer \x7f"), ("authorization", "Bearer " + "a" * 5000),
    ("authorization", "Basic %%%"), ("authorization", "Basic AA=="), ("authorization", "Bearer"),
    ("authorization", "Basic w7/Dvw=="), ("authorization", "Basic ADp4"), ("authorization", "Basic 7aCAOng="),
    ("signature", 'keyId="http://[::1",signature="x"'),
    ("signature", 'keyId="",algorithm="hs2019",headers="(request-target) (created)",created="1e999",'
                  'signature="!!"'),
    ("signature", "keyId=" + "a" * 10_000),
    ("signature", 'keyId="x",headers="(created)",created="' + "9" * 5000 + '",signature="AA=="'),
    ("signature", 'keyId="x",headers="host host",signature="AA=="'),
    ("signature-input", 'sig1=("@method");created=99999999999999999999999;keyid="x"'),
    ("signature-input", "sig1=("), ("signature", "sig1=:!!:"), ("date", "Tue, 99 Foo 99999 99:99:99 GMT"),
    ("date", "\x00"), ("digest", "SHA-256=!!"), ("digest", "sha-256"), ("host", "[::1"),
    ("host", "a" * 300), ("host", "xn--a.com"), ("accept", "application/activity+json" * 100),
    ("x-forwarded-for", "\x00"), ("cookie", "a=\x7f"), ("accept-encoding", "gzip;q=NaN"),
    ("range", "bytes=99999999999999999999999-"), ("range", "bytes=-0"), ("if-none-match", "*" * 5000),
]


def _add_hostile_headers(rnd: random.Random, headers: dict[str, str]) -> None:
    if rnd.random() < 0.25:
        for name, value in rnd.sample(HOSTILE_HEADERS, k=rnd.randint(1, 3)):
            headers[name] = value


@dataclass
class FuzzRequest:
    family: str
    method: str
    path: str  # with its query
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes | None = None
    sign_as: str | None = None  # the fake peer's actor that signs it (inbox requests)


def api_request(rnd: random.Random, tokens: dict[str, str]) -> FuzzRequest:
    """A hostile request to a client API, ActivityPub or page endpoint; `tokens` by role."""
    endpoint = rnd.choice(ENDPOINTS)
    path = re.sub(r"\{(\w+)\}", lambda m: rnd.choice(SLOTS[m.group(1)]), endpoint.path)
    headers: dict[str, str] = {}
    token = tokens.get(endpoint.role)
    if token and rnd.random() < 0.95:
        headers["Authorization"] = f"Bearer {token}"
    elif rnd.random() < 0.3:
        headers["Authorization"] = rnd.choice([v for k, v in HOSTILE_HEADERS if k == "authorization"])
    body = None
    if endpoint.method in ("GET", "DELETE"):
        names = rnd.sample(endpoint.fields, k=rnd.randint(0, len(endpoint.fields)))
        if names:
            path += "?" + "&".join(f"{_quoted(n)}={_quoted(hostile_value(rnd, 3))}" for n in names)
    else:
        content_type, body = hostile_body(rnd, endpoint.fields)
        if content_type:
            headers["Content-Type"] = content_type
    _add_hostile_headers(rnd, headers)
    return FuzzRequest(endpoint.family, endpoint.method, path, headers, body)


PUBLIC = "https://www.w3.org/ns/activitystreams#Public"
ACTIVITY_FIELDS = ("@context", "id", "type", "actor", "object", "to", "cc", "target", "published",
                   "proof", "signature", "instrument", "content")
OBJECT_FIELDS = ("id", "type", "attributedTo", "content", "to", "cc", "published", "tag", "attachment",
                 "inReplyTo", "quote", "summary", "sensitive", "url", "name", "icon", "preferredUsername",
                 "inbox", "publicKey", "endpoints", "generator", "updated", "mediaType", "duration")


def _activity(rnd: random.Random, peer_base: str, actor: str, target: str, n: int) -> dict[str, Any]:
    """A plausible activity from `actor` (ids on its origin) about `target`, a local account."""
    note = {"id": f"{peer_base}/notes/{n}", "type": rnd.choice(["Note", "Video", "Article"]),
            "attributedTo": actor, "content": f"<p>note {n}</p>", "to": [PUBLIC], "cc": [target],
            "published": "2026-11-25T00:00:00Z",
            "tag": [{"type": "Mention", "href": target}, {"type": "Hashtag", "name": "#cats"}],
            "attachment": [{"type": "Document", "mediaType": "video/mp4", "url": f"{peer_base}/v.mp4"}]}
    post = f"{target}/statuses/1"
    kind, obj = rnd.choice([
        ("Follow", target), ("Like", post), ("Announce", post), ("Create", note), ("Update", note),
        ("Delete", note["id"]), ("Undo", {"id": f"{peer_base}/follows/{n}", "type": "Follow", "actor": actor,
                                          "object": target}),
        ("Accept", f"{target}#follows/{n}"), ("Block", target), ("Flag", [target, post]),
        ("Update", {"id": actor, "type": "Person", "preferredUsername": "x", "inbox": f"{actor}/inbox"}),
        ("EmojiReact", post), ("Move", actor), ("Add", note["id"]),
    ])
    if isinstance(obj, dict) and rnd.random() < 0.6:
        for name in rnd.sample(OBJECT_FIELDS, k=rnd.randint(1, 3)):
            obj[name] = hostile_value(rnd)
    return {"@context": "https://www.w3.org/ns/activitystreams", "id": f"{peer_base}/activities/{n}",
            "type": kind, "actor": actor, "object": obj, "to": [PUBLIC]}


def inbox_request(rnd: random.Random, peer_base: str, signer: str, target: str, n: int) -> FuzzRequest:
    """A hostile activity POSTed to an inbox, signed by `signer` (a fake peer's actor name) or not."""
    activity = _activity(rnd, peer_base, f"{peer_base}/users/{signer}", target, n)
    content_type, body = hostile_body(rnd, ACTIVITY_FIELDS, activity, most=2)
    if rnd.random() < 0.8:
        content_type = "application/activity+json"
    signed = rnd.random() < 0.7
    path = rnd.choice(["/inbox", "/inbox", "/users/alice/inbox", "/actor/inbox", "/users/nobody/inbox",
                       "/users/%00/inbox"])
    return FuzzRequest("inbox (signed)" if signed else "inbox (unsigned)", "POST", path,
                       {"Content-Type": content_type} if content_type else {}, body,
                       sign_as=signer if signed else None)


def hostile_requests(rnd: random.Random, count: int, tokens: dict[str, str], peer_base: str, signer: str,
                     target: str) -> Iterator[FuzzRequest]:
    """`count` requests: a third to the inbox, the rest to the other endpoints."""
    for n in range(count):
        if rnd.random() < 1 / 3:
            yield inbox_request(rnd, peer_base, signer, target, n)
        else:
            yield api_request(rnd, tokens)


@dataclass
class Tally:
    sent: Counter[str] = field(default_factory=Counter)
    server_errors: Counter[str] = field(default_factory=Counter)
    statuses: Counter[int] = field(default_factory=Counter)
    raw: int = 0  # sent over a bare socket: the HTTP client refused their headers
    examples: list[str] = field(default_factory=list)


Signer = Callable[[str, str, bytes], dict[str, str]]
"""`sign(actor name, url, body) -> headers`: the fake peer's signature."""


async def _send_raw(base_url: str, method: str, path: str, headers: dict[str, str], body: bytes | None,
                    timeout: float) -> int:
    """The status of a request written byte for byte, for headers an HTTP client will not send
    (a NUL or DEL in a value, a Content-Length that does not match the body); 400 when the server
    closes the connection without an answer, as an HTTP parser refusing the request may."""
    host, port = base_url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    try:
        lines = [f"{method} {path} HTTP/1.1", f"Host: {host}:{port}", "Connection: close",
                 *(f"{k}: {v}" for k, v in headers.items())]
        writer.write("\r\n".join(lines).encode("latin-1", "replace") + b"\r\n\r\n" + (body or b""))
        await writer.drain()
        status_line = await asyncio.wait_for(reader.readline(), timeout)
    finally:
        writer.close()
    parts = status_line.split()
    return int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 400


async def send_all(base_url: str, requests: Iterator[FuzzRequest], sign: Signer, *,
                   concurrency: int = 8, timeout: float = 60) -> Tally:
    """Send every request, `concurrency` at a time; count what was sent and every 5xx by family."""
    tally = Tally()
    rnd = random.Random(0)
    limits = httpx.Limits(max_connections=concurrency)
    async with httpx.AsyncClient(base_url=base_url, timeout=timeout, limits=limits) as client:

        async def one(request: FuzzRequest) -> None:
            headers = dict(request.headers)
            if request.sign_as is not None:
                headers.update(sign(request.sign_as, f"{base_url}{request.path}", request.body or b""))
                _add_hostile_headers(rnd, headers)
            try:
                raw = [(k.encode("latin-1"), v.encode("latin-1", "replace")) for k, v in headers.items()]
                status = (await client.request(request.method, request.path, content=request.body,
                                               headers=raw)).status_code
                text = ""
            except (httpx.LocalProtocolError, httpx.InvalidURL, UnicodeError, ValueError):
                status = await _send_raw(base_url, request.method, request.path, headers, request.body,
                                         timeout)
                text, tally.raw = "(raw)", tally.raw + 1
            tally.sent[request.family] += 1
            tally.statuses[status] += 1
            if status >= 500:
                tally.server_errors[request.family] += 1
                if len(tally.examples) < 20:
                    tally.examples.append(f"{status} {text} {request.method} {request.path[:200]} "
                                          f"{headers} {(request.body or b'')[:200]!r}")

        pending: set[asyncio.Task[None]] = set()
        for request in requests:
            if len(pending) >= concurrency:
                _, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
            pending.add(asyncio.create_task(one(request)))
        if pending:
            await asyncio.wait(pending)
    return tally


class _Catcher(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.found: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.found.append(self.format(record))


@contextmanager
def server_tracebacks() -> Iterator[list[str]]:
    """The errors a server in this process logs meanwhile: uvicorn's "Exception in ASGI
    application" (a 500) and any other logged exception, with its traceback."""
    catcher = _Catcher()
    loggers = [logging.getLogger(), logging.getLogger("uvicorn.error")]
    for logger in loggers:
        logger.addHandler(catcher)
    try:
        yield catcher.found
    finally:
        for logger in loggers:
            logger.removeHandler(catcher)
