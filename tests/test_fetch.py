"""The outbound client: private addresses refused at connect time, and documents accepted only
from their own origin with an ActivityPub content type."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator

import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from federation import fetch

AP = "application/activity+json"


@pytest.mark.parametrize("address,blocked", [
    ("10.0.0.1", True), ("100.64.0.1", True), ("169.254.169.254", True), ("172.16.0.1", True),
    ("192.168.1.1", True), ("0.0.0.0", True), ("127.0.0.1", True), ("224.0.0.1", True),
    ("::", True), ("::1", True), ("fe80::1", True), ("fc00::1", True), ("::ffff:127.0.0.1", True),
    ("64:ff9b::7f00:1", True), ("2001:db8::1", True), ("8.8.8.8", False),
    ("2606:4700::1", False), ("93.184.216.34", False),
])
def test_address_classifier(address, blocked):
    assert fetch.is_blocked_address(address) is blocked


class Site:
    """A tiny server whose answers the tests script."""

    def __init__(self) -> None:
        self.base = ""
        self.seen_headers: list[dict[str, str]] = []

    async def route(self, request: Request) -> Response:
        self.seen_headers.append(dict(request.headers))
        path = request.url.path
        doc = {"id": f"{self.base}{path}", "type": "Note"}
        if path == "/ok":
            return JSONResponse(doc, media_type=AP)
        if path == "/ldjson":
            return JSONResponse(doc, media_type='application/ld+json; profile="https://www.w3.org/ns/activitystreams"')
        if path in ("/ldjson-no-profile", "/html", "/json"):
            kind = {"/ldjson-no-profile": "application/ld+json", "/html": "text/html",
                    "/json": "application/json"}[path]
            return Response(json.dumps(doc), media_type=kind)
        if path == "/big":
            return Response(json.dumps({**doc, "pad": "x" * 5000}), media_type=AP)
        if path == "/redirect":
            return RedirectResponse("/ok", status_code=302)
        if path == "/loop":
            return RedirectResponse("/loop", status_code=302)
        if path == "/claims-other-origin":
            return JSONResponse({**doc, "id": "https://elsewhere.example/ok"}, media_type=AP)
        if path == "/claims-other-path":
            return JSONResponse({**doc, "id": f"{self.base}/ok"}, media_type=AP)
        if path == "/gone":
            return JSONResponse({"error": "gone"}, status_code=410)
        if path == "/not-json":
            return Response("nope", media_type=AP)
        if path == "/slow":
            await asyncio.sleep(2)
        return JSONResponse({"error": "not found"}, status_code=404)


@pytest.fixture
async def site() -> AsyncIterator[Site]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    site = Site()
    site.base = f"http://127.0.0.1:{sock.getsockname()[1]}"
    server = uvicorn.Server(uvicorn.Config(Starlette(routes=[Route("/{p:path}", site.route)]),
                                           log_level="warning", lifespan="off"))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:
        await asyncio.sleep(0.01)
    yield site
    server.should_exit = True
    await task


def _client(allow_private=True, timeout=10.0):
    return fetch.make_client(allow_private=allow_private, user_agent="test", timeout=timeout)


async def test_loopback_refused_unless_allowed(site):
    port = site.base.rsplit(":", 1)[1]
    async with _client(allow_private=False) as client:
        for url in (f"{site.base}/ok", f"http://localhost:{port}/ok", f"http://[::1]:{port}/ok"):
            with pytest.raises(fetch.BlockedAddressError):
                await fetch.fetch_document(client, url)
    async with _client() as client:
        fetched = await fetch.fetch_document(client, f"{site.base}/ok")
    assert fetched.document["type"] == "Note"


async def test_dns_answer_is_checked_at_connect_time(site, monkeypatch):
    import anyio

    port = int(site.base.rsplit(":", 1)[1])

    async def rebinding(host, port, **kwargs):
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", port))]

    monkeypatch.setattr(anyio, "getaddrinfo", rebinding)
    async with _client(allow_private=False) as client:
        with pytest.raises(fetch.BlockedAddressError):
            await fetch.fetch_document(client, f"http://public.example:{port}/ok")


async def test_content_types(site):
    async with _client() as client:
        await fetch.fetch_document(client, f"{site.base}/ldjson")
        for path in ("/ldjson-no-profile", "/html", "/json"):
            with pytest.raises(fetch.ContentTypeError):
                await fetch.fetch_document(client, f"{site.base}{path}")


async def test_limits_redirects_and_origins(site):
    async with _client() as client:
        with pytest.raises(fetch.TooLargeError):
            await fetch.fetch_document(client, f"{site.base}/big", max_bytes=1000)
        redirected = await fetch.fetch_document(client, f"{site.base}/redirect")
        assert redirected.url == f"{site.base}/ok"
        with pytest.raises(fetch.FetchError, match="redirects"):
            await fetch.fetch_document(client, f"{site.base}/loop")
        with pytest.raises(fetch.OriginMismatchError):
            await fetch.fetch_document(client, f"{site.base}/claims-other-origin")
        # Same origin, other id: refetched from the id, and that copy is the one returned.
        moved = await fetch.fetch_document(client, f"{site.base}/claims-other-path")
        assert moved.url == f"{site.base}/ok" and moved.document["id"] == f"{site.base}/ok"
        with pytest.raises(fetch.GoneError) as gone:
            await fetch.fetch_document(client, f"{site.base}/gone")
        assert gone.value.status == 410
        with pytest.raises(fetch.FetchError, match="JSON"):
            await fetch.fetch_document(client, f"{site.base}/not-json")
        with pytest.raises(fetch.FetchError, match="http"):
            await fetch.fetch_document(client, "file:///etc/passwd")


async def test_signer_and_timeout(site):
    def sign(method, url, headers, body):
        return {"Signature": f"signed {method} {url}"}

    async with _client() as client:
        await fetch.fetch_document(client, f"{site.base}/ok", sign=sign)
    assert site.seen_headers[-1]["signature"] == f"signed GET {site.base}/ok"
    async with _client(timeout=0.5) as client:
        with pytest.raises(fetch.FetchError):
            await fetch.fetch_document(client, f"{site.base}/slow")
