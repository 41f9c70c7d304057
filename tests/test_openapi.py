"""The OpenAPI description (server/api/openapi.py) is true: it is valid OpenAPI 3.1, served to
anyone; it lists every /api/ and /oauth/ route with its methods and no other; each operation names
the scopes server/scopes.py asks; and real responses of a running instance match its schemas."""

from __future__ import annotations

import io
from typing import Any

import httpx
import pytest
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate
from PIL import Image
from starlette.routing import Route, WebSocketRoute

from server import scopes
from server.api import openapi
from server.app import create_app
from server.config import Settings
from tests.test_cameos import _form
from tests.test_push import Browser, b64url
from tests.videos import make_mp4


def _client_api_routes() -> set[str]:
    """"METHOD /template" of every route under /api/ and /oauth/ in the app; a WebSocket route
    as the GET that opens it (the document describes its upgrade)."""
    found = set()
    for route in create_app(Settings()).routes:
        if isinstance(route, Route | WebSocketRoute) and route.path.startswith(("/api/", "/oauth/")):
            methods = (route.methods or set()) if isinstance(route, Route) else {"GET"}
            found |= {f"{method} {route.path}" for method in methods - {"HEAD"}}
    return found


def _described_routes() -> set[tuple[str, str]]:
    """(method, OpenAPI path) of every client API route in the app, a route that serves several
    actions once per action, as the document lists them."""
    found = set()
    for key in _client_api_routes():
        method, template = key.split(" ", 1)
        entry = scopes.ENDPOINTS.get(key)
        base = template.rsplit("/", 1)[0]
        paths = [f"{base}/{action}" for action in entry] if isinstance(entry, dict) else [template]
        found |= {(method, openapi.openapi_path(path)) for path in paths}
    return found


def test_every_route_and_only_routes_are_described():
    # One entry per route, keyed as the route is: none missing, none outliving its route.
    missing = _client_api_routes() - set(openapi.OPERATIONS)
    assert not missing, f"describe these routes in server/api/openapi.py OPERATIONS: {sorted(missing)}"
    assert set(openapi.OPERATIONS) <= _client_api_routes(), "an OPERATIONS entry names no route"
    document = openapi.document("https://likeness.example")
    listed = {(method.upper(), path) for path, item in document["paths"].items() for method in item}
    assert listed == _described_routes()


def test_each_operation_names_the_scopes_the_table_asks():
    document = openapi.document("https://likeness.example")
    for key, entry in scopes.ENDPOINTS.items():
        method, template = key.split(" ", 1)
        if not template.startswith(("/api/", "/oauth/")):
            continue
        actions = entry if isinstance(entry, dict) else {None: entry}
        for action, need in actions.items():
            path = openapi.openapi_path(f"{template.rsplit('/', 1)[0]}/{action}" if action else template)
            operation = document["paths"][path][method.lower()]
            expected = [{"OAuth2": [scope]} for scope in need.split()] or [{"OAuth2": []}]
            assert operation["security"] == expected, key
            assert set(need.split()) <= set(document["components"]["securitySchemes"]["OAuth2"]["flows"]
                                           ["password"]["scopes"])
    for path in ("/api/v1/apps", "/oauth/token", "/api/v2/instance", "/api/openapi.json",
                 "/api/v1/streaming/health", "/api/v1/trends/links"):
        assert all(op["security"] == [] for op in document["paths"][path].values()), path
    # The public streams take any token, but a token.
    assert document["paths"]["/api/v1/streaming/public"]["get"]["security"] == [{"OAuth2": []}]
    # Path parameters are named as in the path, and an action is a path of its own.
    follow = document["paths"]["/api/v1/accounts/{account_id}/follow"]["post"]
    assert [p["name"] for p in follow["parameters"]] == ["account_id"]
    assert follow["security"] == [{"OAuth2": ["write:follows"]}, {"OAuth2": ["follow"]}]


def test_a_field_of_an_unknown_type_is_refused():
    with pytest.raises(ValueError, match="unknown field type"):
        openapi._field("limit:int")


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (32, 24), (10, 120, 200)).save(out, "PNG")
    return out.getvalue()


class Conformance:
    """Checks real responses against the served document's response schemas."""

    def __init__(self, document: dict[str, Any]) -> None:
        self.document = document
        self.checked: set[str] = set()

    def check(self, method: str, path: str, response: httpx.Response) -> Any:
        operation = self.document["paths"][path][method.lower()]
        responses = operation["responses"]
        status = str(response.status_code)
        described = responses.get(status) or responses.get(f"{status[0]}XX")
        assert described, f"{method} {path} answered {status}, which the document does not list"
        if "$ref" in described:
            described = self.document["components"]["responses"][described["$ref"].rsplit("/", 1)[-1]]
        schema = described["content"]["application/json"]["schema"]
        body = response.json()
        validator = Draft202012Validator({**schema, "components": self.document["components"]})
        errors = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(body)]
        assert not errors, f"{method} {path} {status}: {errors[:5]}"
        self.checked.add(schema.get("$ref", str(schema.get("items", {}).get("$ref"))).rsplit("/", 1)[-1])
        return body


async def test_real_responses_match_the_schemas(make_instance, tmp_path):
    a = await make_instance()
    await a.signup("alice")
    await a.signup("bob")
    served = await a.api(None, "GET", "/api/openapi.json")
    assert served.status_code == 200
    document = served.json()
    validate(document)
    assert document["servers"] == [{"url": a.base_url}]
    conform = Conformance(document)

    for path in ("/api/v1/instance", "/api/v2/instance"):
        conform.check("GET", path, await a.api(None, "GET", path))
    alice = conform.check("GET", "/api/v1/accounts/verify_credentials",
                          await a.api("alice", "GET", "/api/v1/accounts/verify_credentials"))
    conform.check("GET", "/api/v1/accounts/{account_id}",
                  await a.api(None, "GET", f"/api/v1/accounts/{alice['id']}"))
    conform.check("GET", "/api/v1/accounts/{account_id}", await a.api(None, "GET", "/api/v1/accounts/99999"))
    conform.check("POST", "/api/v1/accounts/{account_id}/follow",
                  await a.api("bob", "POST", f"/api/v1/accounts/{alice['id']}/follow"))
    conform.check("GET", "/api/v1/accounts/{account_id}/followers",
                  await a.api("alice", "GET", f"/api/v1/accounts/{alice['id']}/followers"))

    image = conform.check("POST", "/api/v1/media", await a.api(
        "alice", "POST", "/api/v1/media", files={"file": ("a.png", _png(), "image/png")}))
    clip = make_mp4(tmp_path / "clip.mp4").read_bytes()
    video = await a.api("alice", "POST", "/api/v2/media", files={"file": ("clip.mp4", clip, "video/mp4")})
    assert video.status_code == 202
    conform.check("POST", "/api/v2/media", video)
    status = conform.check("POST", "/api/v1/statuses", await a.api(
        "alice", "POST", "/api/v1/statuses", json={"status": "hello @bob #hi", "media_ids": [image["id"]]}))
    conform.check("POST", "/api/v1/statuses/{status_id}/favourite",
                  await a.api("bob", "POST", f"/api/v1/statuses/{status['id']}/favourite"))
    conform.check("POST", "/api/v1/statuses/{status_id}/reblog",
                  await a.api("bob", "POST", f"/api/v1/statuses/{status['id']}/reblog"))
    conform.check("GET", "/api/v1/timelines/home", await a.api("bob", "GET", "/api/v1/timelines/home"))
    conform.check("GET", "/api/v1/statuses/{status_id}/context",
                  await a.api("bob", "GET", f"/api/v1/statuses/{status['id']}/context"))
    conform.check("PUT", "/api/v1/statuses/{status_id}", await a.api(
        "alice", "PUT", f"/api/v1/statuses/{status['id']}", json={"status": "hello again @bob #hi"}))
    conform.check("GET", "/api/v1/statuses/{status_id}/history",
                  await a.api("bob", "GET", f"/api/v1/statuses/{status['id']}/history"))
    conform.check("GET", "/api/v1/statuses/{status_id}/source",
                  await a.api("alice", "GET", f"/api/v1/statuses/{status['id']}/source"))
    conform.check("POST", "/api/v1/markers", await a.api(
        "bob", "POST", "/api/v1/markers", json={"home": {"last_read_id": status["id"]}}))
    conform.check("POST", "/api/v1/reports", await a.api(
        "bob", "POST", "/api/v1/reports", json={"account_id": alice["id"], "status_ids": [status["id"]]}))
    app = conform.check("POST", "/api/v1/apps", await a.api(None, "POST", "/api/v1/apps", json={
        "client_name": "spec", "redirect_uris": "urn:ietf:wg:oauth:2.0:oob", "scopes": "read"}))
    conform.check("POST", "/oauth/token", await a.api(None, "POST", "/oauth/token", data={
        "grant_type": "client_credentials", "client_id": app["client_id"],
        "client_secret": app["client_secret"]}))
    conform.check("GET", "/api/v2/search", await a.api("bob", "GET", "/api/v2/search", params={"q": "alice"}))
    notes = conform.check("GET", "/api/v1/notifications",
                          await a.api("alice", "GET", "/api/v1/notifications"))
    assert {"follow", "favourite", "reblog"} <= {n["type"] for n in notes}
    conform.check("GET", "/api/v1/notifications", await a.api(None, "GET", "/api/v1/notifications"))

    conform.check("GET", "/api/v1/notifications/unread_count",
                  await a.api("alice", "GET", "/api/v1/notifications/unread_count"))
    conform.check("POST", "/api/v1/statuses/{status_id}/bookmark",
                  await a.api("bob", "POST", f"/api/v1/statuses/{status['id']}/bookmark"))
    marks = conform.check("GET", "/api/v1/bookmarks", await a.api("bob", "GET", "/api/v1/bookmarks"))
    assert [s["id"] for s in marks] == [status["id"]]
    conform.check("GET", "/api/v1/tags/{name}", await a.api("bob", "GET", "/api/v1/tags/hi"))
    conform.check("GET", "/api/v1/preferences", await a.api("bob", "GET", "/api/v1/preferences"))
    conform.check("GET", "/api/v1/trends/links", await a.api(None, "GET", "/api/v1/trends/links"))
    filtered = conform.check("POST", "/api/v2/filters", await a.api("bob", "POST", "/api/v2/filters", json={
        "title": "no greetings", "context": ["home"], "keywords_attributes": [{"keyword": "hello"}]}))
    conform.check("POST", "/api/v2/filters/{filter_id}/statuses", await a.api(
        "bob", "POST", f"/api/v2/filters/{filtered['id']}/statuses", json={"status_id": status["id"]}))
    conform.check("GET", "/api/v2/filters", await a.api("bob", "GET", "/api/v2/filters"))
    # Bob's home timeline now carries the filter's FilterResult on alice's post.
    home = conform.check("GET", "/api/v1/timelines/home", await a.api("bob", "GET", "/api/v1/timelines/home"))
    assert any(result["filter"]["id"] == filtered["id"] for post in home for result in post["filtered"])
    listed = conform.check("POST", "/api/v1/lists", await a.api("bob", "POST", "/api/v1/lists",
                                                                 json={"title": "friends"}))
    await a.api("bob", "POST", f"/api/v1/lists/{listed['id']}/accounts", json={"account_ids": [alice["id"]]})
    conform.check("GET", "/api/v1/lists/{list_id}/accounts",
                  await a.api("bob", "GET", f"/api/v1/lists/{listed['id']}/accounts"))
    conform.check("GET", "/api/v1/timelines/list/{list_id}",
                  await a.api("bob", "GET", f"/api/v1/timelines/list/{listed['id']}"))
    await a.api("alice", "POST", "/api/v1/statuses", json={"status": "psst @bob", "visibility": "direct"})
    talks = conform.check("GET", "/api/v1/conversations", await a.api("bob", "GET", "/api/v1/conversations"))
    assert talks and talks[0]["last_status"]
    browser = Browser()
    conform.check("POST", "/api/v1/push/subscription", await a.api(
        "bob", "POST", "/api/v1/push/subscription", json={
            "subscription": {"endpoint": "https://push.example/send/1",
                             "keys": {"p256dh": browser.p256dh, "auth": b64url(browser.auth)}},
            "data": {"alerts": {"mention": True}, "policy": "all"}}))
    conform.check("GET", "/api/v1/push/subscription", await a.api("bob", "GET", "/api/v1/push/subscription"))

    cameo = conform.check("POST", "/api/v1/cameos", await a.api(
        "alice", "POST", "/api/v1/cameos", **_form(permission="everyone", approval="manual")))
    conform.check("GET", "/api/v1/accounts/{account_id}/cameos",
                  await a.api("bob", "GET", f"/api/v1/accounts/{alice['id']}/cameos"))
    conform.check("POST", "/api/v1/remixes", await a.api(
        "bob", "POST", "/api/v1/remixes", json={"prompt": "dancing in the rain", "cameos": [cameo["uri"]]}))
    requests = conform.check("GET", "/api/v1/remix_requests",
                             await a.api("alice", "GET", "/api/v1/remix_requests"))
    assert requests and requests[0]["state"] == "pending"
    conform.check("POST", "/api/v1/remix_requests/{request_id}/approve", await a.api(
        "alice", "POST", f"/api/v1/remix_requests/{requests[0]['id']}/approve"))
    conform.check("POST", "/api/v1/generations", await a.api(
        "alice", "POST", "/api/v1/generations", json={"prompt": "a cat on a skateboard", "duration_s": 1}))
    conform.check("GET", "/api/v1/generations", await a.api("alice", "GET", "/api/v1/generations"))
    conform.check("POST", "/api/v1/generations", await a.api(
        "alice", "POST", "/api/v1/generations", json={"prompt": ""}))

    assert conform.checked >= {"Instance", "InstanceV1", "Account", "Relationship", "MediaAttachment",
                               "Status", "Context", "Search", "Notification", "Cameo", "Remix",
                               "RemixRequest", "Generation", "Error", "StatusEdit", "StatusSource",
                               "Markers", "Report", "Application", "Token", "UnreadCount", "Tag",
                               "Preferences", "TrendsLink", "Filter", "FilterStatus", "List",
                               "Conversation", "WebPushSubscription"}
