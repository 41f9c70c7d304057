"""The outbound client: private addresses refused at connect time, and documents accepted only
from their own origin with an ActivityPub content type.

Every server here listens on loopback; names like `a.test` are mapped to it by a stand-in
resolver, so two names on one server are two origins. No traffic leaves loopback: tests that
involve other addresses also make any connection attempt fail.
"""

from __future__ import annotations

import asyncio
import gzip
import json
import socket
import ssl
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import trustme
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response, StreamingResponse
from starlette.routing import Route

from federation import fetch

AP = "application/activity+json"
AS_LD = 'application/ld+json; profile="https://www.w3.org/ns/activitystreams"'


class Site:
    """A tiny server whose answers are scripted by path; ids are built from the Host it was asked as.

    /doc/...            a document whose id is its own URL
    /ct/<name>          a document served with CONTENT_TYPES[name]
    /claims/<host>/...  a document whose id is http(s)://<host>:<port>/...
    /go/<host>/...      a redirect to http(s)://<host>:<port>/...
    /hops/<n>           n relative redirects, then a document
    """

    CONTENT_TYPES = {
        "activity": AP,
        "activity-charset": f"{AP}; charset=utf-8",
        "ld-profile": AS_LD,
        "ld-upper": 'Application/LD+JSON; Profile="https://www.w3.org/ns/activitystreams"',
        "ld-profiles": 'application/ld+json; profile="https://example.org/p https://www.w3.org/ns/activitystreams"',
        "ld-no-profile": "application/ld+json",
        "ld-other-profile": 'application/ld+json; profile="https://www.w3.org/ns/activitystreams-evil"',
        "json": "application/json",
        "html": "text/html; charset=utf-8",
        "none": None,
    }

    def __init__(self) -> None:
        self.port = 0
        self.requests: list[tuple[str, dict[str, str]]] = []
        self.endless_chunks = 0
        self.in_flight = self.most_in_flight = 0

    async def route(self, request: Request) -> Response:
        self.requests.append((str(request.url), dict(request.headers)))
        scheme, port, path = request.url.scheme, request.url.port, request.url.path
        first, _, rest = path.strip("/").partition("/")
        doc = {"id": f"{scheme}://{request.url.netloc}{path}", "type": "Note"}
        if first == "doc":
            return JSONResponse(doc, media_type=AP)
        if first == "ct":
            return Response(json.dumps(doc), media_type=self.CONTENT_TYPES[rest])
        if first == "claims":
            host, _, target = rest.partition("/")
            return JSONResponse({**doc, "id": f"{scheme}://{host}:{port}/{target}"}, media_type=AP)
        if first == "go":
            host, _, target = rest.partition("/")
            return RedirectResponse(f"{scheme}://{host}:{port}/{target}", status_code=302)
        if first == "hops":
            hops = int(rest)
            if hops:
                return RedirectResponse(f"{hops - 1}", status_code=301)
            return JSONResponse(doc, media_type=AP)
        if first == "to-file":
            return RedirectResponse("file:///etc/passwd", status_code=302)
        if first == "bad-location":
            return Response(status_code=302, headers={"Location": "http://[nope/"})
        if first == "loop":
            return RedirectResponse("/loop", status_code=307)
        if first == "status":
            return Response(status_code=int(rest))
        if first == "html-link":
            link = f'<{doc["id"]}>; rel="alternate"; type="{AP}"'
            return Response(json.dumps(doc), media_type="text/html", headers={"Link": link})
        if first == "big":
            return JSONResponse({**doc, "pad": "x" * 5000}, media_type=AP)
        if first == "endless":
            return StreamingResponse(self._endless(), media_type=AP)
        if first == "not-json":
            return Response("<p>nope</p>", media_type=AP)
        if first == "array":
            return Response("[1, 2]", media_type=AP)
        if first == "no-id":
            return JSONResponse({"type": "Note"}, media_type=AP)
        if first == "cookie":
            response = JSONResponse(doc, media_type=AP)
            response.set_cookie("track", "me")
            return response
        if first == "file":
            return Response(b"\x00" * 3000, media_type="application/octet-stream")
        if first == "gzip":  # /gzip/<n>: n decoded bytes of a document, gzipped
            body = json.dumps({**doc, "pad": " " * int(rest)}).encode()
            return Response(gzip.compress(body), media_type=AP, headers={"Content-Encoding": "gzip"})
        if first == "brotli":
            return Response(b"\x00" * 10, media_type=AP, headers={"Content-Encoding": "br"})
        if first == "slow":  # half a second each, counting how many are answered at once
            self.in_flight += 1
            self.most_in_flight = max(self.most_in_flight, self.in_flight)
            try:
                await asyncio.sleep(0.5)
            finally:
                self.in_flight -= 1
            return JSONResponse(doc, media_type=AP)
        return Response(status_code=404)

    async def _endless(self) -> AsyncIterator[bytes]:
        yield b'{"id": "x", "pad": "'
        while True:
            self.endless_chunks += 1
            yield b"x" * 65536
            await asyncio.sleep(0)


async def _serve(app: Starlette, **config: object) -> AsyncIterator[int]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off",
                                           timeout_graceful_shutdown=1, **config))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:
        await asyncio.sleep(0.01)
    yield sock.getsockname()[1]
    server.should_exit = True
    await task


@pytest.fixture(scope="module")
async def site() -> AsyncIterator[Site]:
    site = Site()
    async for port in _serve(Starlette(routes=[Route("/{p:path}", site.route)])):
        site.port = port
        yield site


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture(scope="module")
async def tls_site(ca: trustme.CA, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Site]:
    """The same site over TLS, with a certificate for `a.test` only."""
    pem = tmp_path_factory.mktemp("tls") / "a.test.pem"
    ca.issue_cert("a.test").private_key_and_cert_chain_pem.write_to_path(str(pem))
    site = Site()
    async for port in _serve(Starlette(routes=[Route("/{p:path}", site.route)]),
                             ssl_certfile=str(pem), ssl_keyfile=str(pem)):
        site.port = port
        yield site


@pytest.fixture(autouse=True)
def names(monkeypatch: pytest.MonkeyPatch) -> dict[str, list[str]]:
    """A stand-in resolver: names in this dict resolve as given, others as usual."""
    table = {"a.test": ["127.0.0.1"], "b.test": ["127.0.0.1"]}
    real = fetch._resolve

    async def resolve(host: str, port: int) -> list[str]:
        return table[host] if host in table else await real(host, port)

    monkeypatch.setattr(fetch, "_resolve", resolve)
    return table


@pytest.fixture
def connects(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Records connection attempts and fails them all, so no packet is ever sent."""
    attempts: list[str] = []

    def refuse(address_info, allow_private):
        attempts.append(address_info[4][0])
        raise OSError("connections are off in this test")

    monkeypatch.setattr(fetch, "_guarded_socket", refuse)
    yield attempts


def _client(*, allow_private: bool = True, timeout: float = 10.0,
            verify: ssl.SSLContext | bool | str = True, limits: fetch.OutboundLimits | None = None):
    return fetch.make_client(allow_private=allow_private, user_agent="likeness-test/1", timeout=timeout,
                             verify=verify, limits=limits)


def _url(site: Site, path: str, host: str = "a.test", scheme: str = "http") -> str:
    return f"{scheme}://{host}:{site.port}{path}"


@pytest.mark.parametrize("address,blocked", [
    ("10.0.0.1", True), ("100.64.0.1", True), ("169.254.169.254", True), ("172.16.0.1", True),
    ("172.31.255.255", True), ("192.168.1.1", True), ("0.0.0.0", True), ("127.0.0.1", True),
    ("127.1.2.3", True), ("192.0.0.170", True), ("192.0.2.1", True), ("198.18.0.1", True),
    ("198.51.100.7", True), ("203.0.113.9", True), ("224.0.0.1", True), ("240.0.0.1", True),
    ("255.255.255.255", True),
    ("::", True), ("::1", True), ("fe80::1", True), ("fe80::1%eth0", True), ("fc00::1", True),
    ("fd12:3456::1", True), ("::ffff:127.0.0.1", True), ("::ffff:10.0.0.1", True),
    ("::ffff:0:7f00:1", True), ("::7f00:1", True), ("64:ff9b::7f00:1", True), ("64:ff9b:1::1", True),
    ("100::1", True), ("2001::1", True), ("2001:db8::1", True), ("2002:7f00:1::", True),
    ("ff02::1", True), ("not an address", True),
    ("8.8.8.8", False), ("93.184.216.34", False), ("172.32.0.1", False), ("100.128.0.1", False),
    ("::ffff:8.8.8.8", False), ("2606:4700::1", False), ("2a00:1450:4001::1", False),
])
def test_address_classifier(address: str, blocked: bool) -> None:
    assert fetch.is_blocked_address(address) is blocked


def test_origin() -> None:
    assert fetch.origin("HTTPS://Example.COM/a") == ("https", "example.com", 443)
    assert fetch.origin("http://example.com/a") == ("http", "example.com", 80)
    assert fetch.origin("http://example.com:8080/a") == ("http", "example.com", 8080)
    assert fetch.same_origin("https://example.com/a", "https://EXAMPLE.com:443/b#c")
    assert not fetch.same_origin("https://example.com/a", "http://example.com/a")
    assert not fetch.same_origin("https://example.com/a", "https://example.com:8443/a")
    assert not fetch.same_origin("https://example.com/a", "https://sub.example.com/a")
    assert not fetch.same_origin("urn:a", "urn:b")
    assert not fetch.same_origin("https://example.com:99999/", "https://example.com:99999/")
    with pytest.raises(ValueError):
        fetch.origin("acct:alice@example.com")


async def test_local_addresses_refused_before_connecting(site: Site, connects: list[str]) -> None:
    port = site.port
    urls = [f"http://127.0.0.1:{port}/doc/x", f"http://localhost:{port}/doc/x",
            f"http://[::1]:{port}/doc/x", f"http://[::ffff:127.0.0.1]:{port}/doc/x",
            f"http://2130706433:{port}/doc/x", f"http://0.0.0.0:{port}/doc/x"]
    async with _client(allow_private=False) as client:
        for url in urls:
            with pytest.raises(fetch.BlockedAddressError):
                await fetch.fetch_document(client, url)
            with pytest.raises(fetch.BlockedAddressError):
                await fetch.fetch_bytes(client, url, max_bytes=100)
            # The client itself refuses, so deliveries and other direct uses are covered too.
            with pytest.raises(fetch.BlockedAddressError):
                await client.post(url, content=b"{}")
    assert connects == []


async def test_the_socket_itself_refuses_private_addresses(site: Site, names: dict[str, list[str]],
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """The last check, at connect time, holds even if the vetting of names let one through."""
    async def unvetted(host: str, port: int, allow_private: bool) -> list[str]:
        return names.get(host, [host])

    monkeypatch.setattr(fetch, "_vetted_addresses", unvetted)
    names["rebind.test"] = ["127.0.0.1"]
    seen = len(site.requests)
    async with _client(allow_private=False) as client:
        for host in ("rebind.test", "127.0.0.1"):
            with pytest.raises(fetch.BlockedAddressError, match="127.0.0.1"):
                await client.post(_url(site, "/doc/x", host), content=b"{}")
    assert len(site.requests) == seen


async def test_loopback_allowed_when_configured(site: Site) -> None:
    async with _client(allow_private=True) as client:
        for host in ("127.0.0.1", "localhost"):
            fetched = await fetch.fetch_document(client, _url(site, "/doc/x", host))
            assert fetched.document == {"id": _url(site, "/doc/x", host), "type": "Note"}
            assert fetched.url == _url(site, "/doc/x", host) and fetched.status == 200
            assert fetched.headers["content-type"] == AP


async def test_resolved_address_is_checked(site: Site, names: dict[str, list[str]],
                                           connects: list[str]) -> None:
    # DNS rebinding: a public-looking name that answers with loopback when we connect.
    names["rebind.test"] = ["127.0.0.1"]
    # One private answer among public ones refuses the name: a fallback must never reach it.
    names["mixed.test"] = ["8.8.8.8", "10.0.0.1"]
    async with _client(allow_private=False) as client:
        for host in ("rebind.test", "mixed.test"):
            with pytest.raises(fetch.BlockedAddressError, match=host):
                await fetch.fetch_document(client, _url(site, "/doc/x", host))
    assert connects == []


async def test_every_redirect_hop_is_checked(site: Site, names: dict[str, list[str]],
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    # Pretend only 127.0.0.2 is private, so the first hop (127.0.0.1) is allowed.
    monkeypatch.setattr(fetch, "is_blocked_address", lambda address: address == "127.0.0.2")
    names["internal.test"] = ["127.0.0.2"]
    async with _client(allow_private=False) as client:
        assert (await fetch.fetch_document(client, _url(site, "/doc/x"))).url == _url(site, "/doc/x")
        with pytest.raises(fetch.BlockedAddressError, match="internal.test"):
            await fetch.fetch_document(client, _url(site, "/go/internal.test/doc/x"))


async def test_falls_back_to_the_other_address_family(site: Site, names: dict[str, list[str]]) -> None:
    names["dual.test"] = ["::1", "127.0.0.1"]  # the site listens on IPv4 only
    async with _client() as client:
        fetched = await fetch.fetch_document(client, _url(site, "/doc/x", "dual.test"))
    assert fetched.url == _url(site, "/doc/x", "dual.test")


async def test_tls_is_checked_against_the_name(tls_site: Site, ca: trustme.CA, tmp_path: Path) -> None:
    context = ssl.create_default_context()
    ca.configure_trust(context)
    async with _client(verify=context) as client:
        url = _url(tls_site, "/doc/x", scheme="https")
        assert (await fetch.fetch_document(client, url)).document["id"] == url
        assert tls_site.requests[-1][1]["host"] == f"a.test:{tls_site.port}"
        # Same address, other name: the certificate (for a.test) must not pass.
        with pytest.raises(fetch.FetchError, match="ConnectError"):
            await fetch.fetch_document(client, _url(tls_site, "/doc/x", "b.test", "https"))
    ca.cert_pem.write_to_path(str(tmp_path / "ca.pem"))
    async with _client(verify=str(tmp_path / "ca.pem")) as client:
        await fetch.fetch_document(client, _url(tls_site, "/doc/x", scheme="https"))
    async with _client() as client:  # the public roots do not know this CA
        with pytest.raises(fetch.FetchError):
            await fetch.fetch_document(client, _url(tls_site, "/doc/x", scheme="https"))


async def test_a_private_ca_is_trusted_through_ssl_cert_file(tls_site: Site, ca: trustme.CA, tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """The client every instance makes (no `verify`) trusts the system's store and SSL_CERT_FILE:
    a peer whose certificate comes from an operator's private CA is refused until the CA is named."""
    url = _url(tls_site, "/doc/x", scheme="https")
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    async with _client() as client:
        with pytest.raises(fetch.FetchError, match="CERTIFICATE_VERIFY_FAILED"):
            await fetch.fetch_document(client, url)
    ca.cert_pem.write_to_path(str(tmp_path / "private-ca.pem"))
    monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "private-ca.pem"))
    async with _client() as client:
        assert (await fetch.fetch_document(client, url)).document["id"] == url
        # Still checked against the name.
        with pytest.raises(fetch.FetchError, match="CERTIFICATE_VERIFY_FAILED"):
            await fetch.fetch_document(client, _url(tls_site, "/doc/x", "b.test", "https"))
    monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "missing.pem"))
    with pytest.raises(ValueError, match="SSL_CERT_FILE"):
        _client()


async def test_the_system_store_stays_trusted_beside_ssl_cert_file(tls_site: Site, ca: trustme.CA,
                                                                   tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """On Linux OpenSSL reads SSL_CERT_FILE in place of the system's CA bundle: the bundle is
    loaded as well, so that naming a private CA does not drop the public ones."""
    ca.cert_pem.write_to_path(str(tmp_path / "system-bundle.pem"))  # as if the peer's CA were public
    trustme.CA().cert_pem.write_to_path(str(tmp_path / "private-ca.pem"))
    real = ssl.get_default_verify_paths()
    monkeypatch.setattr(ssl, "get_default_verify_paths",
                        lambda: real._replace(openssl_cafile=str(tmp_path / "system-bundle.pem")))
    monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "private-ca.pem"))
    url = _url(tls_site, "/doc/x", scheme="https")
    async with _client() as client:
        assert (await fetch.fetch_document(client, url)).document["id"] == url


@pytest.mark.parametrize("name,accepted", [
    ("activity", True), ("activity-charset", True), ("ld-profile", True), ("ld-upper", True),
    ("ld-profiles", True), ("ld-no-profile", False), ("ld-other-profile", False), ("json", False),
    ("html", False), ("none", False),
])
async def test_content_types(site: Site, name: str, accepted: bool) -> None:
    url = _url(site, f"/ct/{name}")
    async with _client() as client:
        if accepted:
            assert (await fetch.fetch_document(client, url)).document["id"] == url
        else:
            with pytest.raises(fetch.ContentTypeError):
                await fetch.fetch_document(client, url)


async def test_html_with_an_alternate_link_is_refused(site: Site) -> None:
    async with _client() as client:
        with pytest.raises(fetch.ContentTypeError):
            await fetch.fetch_document(client, _url(site, "/html-link"))
    assert len([url for url, _ in site.requests if url.endswith("/html-link")]) == 1


async def test_bodies_over_the_limit_are_not_read(site: Site) -> None:
    async with _client() as client:
        with pytest.raises(fetch.TooLargeError):  # said so in Content-Length
            await fetch.fetch_document(client, _url(site, "/big"), max_bytes=1000)
        await fetch.fetch_document(client, _url(site, "/big"), max_bytes=10_000)
        started = time.monotonic()
        with pytest.raises(fetch.TooLargeError):  # streamed without end
            await fetch.fetch_document(client, _url(site, "/endless"), max_bytes=1_000_000)
        assert time.monotonic() - started < 5
    assert site.endless_chunks < 200  # about 12 MB at most went out, of an endless body


async def test_redirects(site: Site) -> None:
    async with _client() as client:
        fetched = await fetch.fetch_document(client, _url(site, "/hops/3"))
        assert fetched.url == _url(site, "/hops/0") and fetched.document["id"] == fetched.url
        with pytest.raises(fetch.FetchError, match="redirects"):
            await fetch.fetch_document(client, _url(site, "/hops/4"))
        with pytest.raises(fetch.FetchError, match="redirects"):
            await fetch.fetch_document(client, _url(site, "/loop"))
        # Another origin may answer for its own ids...
        fetched = await fetch.fetch_document(client, _url(site, "/go/b.test/doc/x"))
        assert fetched.url == fetched.document["id"] == _url(site, "/doc/x", "b.test")
        # ...but not for the origin that redirected to it.
        with pytest.raises(fetch.OriginMismatchError):
            await fetch.fetch_document(client, _url(site, "/go/b.test/claims/a.test/go/b.test"))
        with pytest.raises(fetch.FetchError, match="http"):
            await fetch.fetch_document(client, _url(site, "/to-file"))
        with pytest.raises(fetch.FetchError, match="unusable"):
            await fetch.fetch_document(client, _url(site, "/bad-location"))


async def test_id_must_be_where_the_document_came_from(site: Site) -> None:
    async with _client() as client:
        # Same origin, other id: refetched from the id, and that copy is the one returned.
        before = len(site.requests)
        fetched = await fetch.fetch_document(client, _url(site, "/claims/a.test/doc/real"))
        assert fetched.url == fetched.document["id"] == _url(site, "/doc/real")
        assert [url for url, _ in site.requests[before:]] == [_url(site, "/claims/a.test/doc/real"),
                                                              _url(site, "/doc/real")]
        # Refetched once only: an id that again points elsewhere is refused.
        with pytest.raises(fetch.OriginMismatchError):
            await fetch.fetch_document(client, _url(site, "/claims/a.test/claims/a.test/doc/real"))
        # Another origin is never asked.
        before = len(site.requests)
        with pytest.raises(fetch.OriginMismatchError):
            await fetch.fetch_document(client, _url(site, "/claims/b.test/doc/x"))
        assert len(site.requests) == before + 1
        with pytest.raises(fetch.OriginMismatchError):
            await fetch.fetch_document(client, _url(site, "/no-id"))


async def test_status_and_body_errors(site: Site) -> None:
    async with _client() as client:
        for status in (404, 410):
            with pytest.raises(fetch.GoneError) as gone:
                await fetch.fetch_document(client, _url(site, f"/status/{status}"))
            assert gone.value.status == status
        for status in (500, 302, 204, 401):
            with pytest.raises(fetch.FetchError) as failed:
                await fetch.fetch_document(client, _url(site, f"/status/{status}"))
            assert failed.value.status == status and not isinstance(failed.value, fetch.GoneError)
        with pytest.raises(fetch.FetchError, match="JSON"):
            await fetch.fetch_document(client, _url(site, "/not-json"))
        with pytest.raises(fetch.FetchError, match="object"):
            await fetch.fetch_document(client, _url(site, "/array"))
        for url in ("file:///etc/passwd", "ftp://a.test/x", "http://[nope/x", "/relative"):
            with pytest.raises(fetch.FetchError):
                await fetch.fetch_document(client, url)


async def test_signer_is_called_for_every_request(site: Site) -> None:
    calls: list[tuple[str, str, dict[str, str], bytes | None]] = []

    async def sign(method: str, url: str, headers: dict[str, str], body: bytes | None) -> dict[str, str]:
        calls.append((method, url, dict(headers), body))
        return {"Signature": f"signed {method} {url}"}

    async with _client() as client:
        await fetch.fetch_document(client, _url(site, "/hops/1"), sign=sign)
    assert [(method, url, body) for method, url, _, body in calls] == [
        ("GET", _url(site, "/hops/1"), None), ("GET", _url(site, "/hops/0"), None)]
    assert calls[0][2]["Accept"] == fetch.AP_ACCEPT
    seen = site.requests[-1][1]
    assert seen["signature"] == f"signed GET {_url(site, '/hops/0')}"
    assert seen["accept"] == fetch.AP_ACCEPT and seen["user-agent"] == "likeness-test/1"


async def test_cookies_are_never_sent_back(site: Site) -> None:
    async with _client() as client:
        await fetch.fetch_document(client, _url(site, "/cookie"))
        await fetch.fetch_document(client, _url(site, "/doc/x"))
    assert "set-cookie" not in site.requests[-1][1] and "cookie" not in site.requests[-1][1]


async def test_fetch_bytes(site: Site) -> None:
    async with _client() as client:
        assert await fetch.fetch_bytes(client, _url(site, "/file"), max_bytes=3000) == b"\x00" * 3000
        assert len(await fetch.fetch_bytes(client, _url(site, "/go/b.test/file"), max_bytes=3000)) == 3000
        with pytest.raises(fetch.TooLargeError):
            await fetch.fetch_bytes(client, _url(site, "/file"), max_bytes=2999)
        with pytest.raises(fetch.TooLargeError):
            await fetch.fetch_bytes(client, _url(site, "/endless"), max_bytes=100_000)
        with pytest.raises(fetch.GoneError):
            await fetch.fetch_bytes(client, _url(site, "/status/404"), max_bytes=3000)


@pytest.fixture
async def raw_server() -> AsyncIterator[tuple[int, dict[str, bool]]]:
    """A server that answers nothing (path /silent) or trickles a byte at a time (any other)."""
    mode = {"trickle": False}

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await reader.readuntil(b"\r\n\r\n")
            if mode["trickle"]:
                writer.write(f"HTTP/1.1 200 OK\r\nContent-Type: {AP}\r\nContent-Length: 100000\r\n\r\n"
                             .encode())
                while True:
                    writer.write(b" ")
                    await writer.drain()
                    await asyncio.sleep(0.05)
            await reader.read()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    yield server.sockets[0].getsockname()[1], mode
    server.close()
    await server.wait_closed()


async def test_timeouts(raw_server: tuple[int, dict[str, bool]]) -> None:
    port, mode = raw_server
    url = f"http://127.0.0.1:{port}/doc/x"
    async with _client(timeout=0.3) as client:
        started = time.monotonic()
        with pytest.raises(fetch.FetchError, match="Timeout"):
            await fetch.fetch_document(client, url)
        assert time.monotonic() - started < 2
    # A server that keeps sending, slowly, never trips a read timeout; the deadline stops it.
    mode["trickle"] = True
    async with _client(timeout=5) as client:
        started = time.monotonic()
        with pytest.raises(fetch.FetchError, match="longer than"):
            await fetch.fetch_document(client, url, deadline=0.5)
        with pytest.raises(fetch.FetchError, match="longer than"):
            await fetch.fetch_bytes(client, url, max_bytes=1_000_000, deadline=0.5)
        assert time.monotonic() - started < 3
    # The client's own deadline holds every request on it, a plain GET or POST included.
    async with _client(timeout=5, limits=fetch.OutboundLimits(deadline=0.5)) as client:
        started = time.monotonic()
        with pytest.raises(fetch.FetchError, match="longer than"):
            await client.get(url)
        with pytest.raises(fetch.FetchError, match="longer than"):
            await client.post(url, content=b"{}")
        assert time.monotonic() - started < 2

async def test_gzip_is_counted_as_decoded(site: Site) -> None:
    """A small gzip body that unpacks to far more than the cap is stopped at the cap, in a
    caller's fetch and in a plain request on the client alike."""
    async with _client(limits=fetch.OutboundLimits(max_bytes=1_000_000)) as client:
        small = await fetch.fetch_document(client, _url(site, "/gzip/1000"))
        assert small.document["pad"] == " " * 1000
        assert site.requests[-1][1]["accept-encoding"] == "gzip"
        bomb = _url(site, "/gzip/50000000")  # 50 MB of spaces, about 50 kB on the wire
        with pytest.raises(fetch.TooLargeError):
            await fetch.fetch_document(client, bomb, max_bytes=100_000)
        with pytest.raises(fetch.TooLargeError):
            await client.get(bomb)
        with pytest.raises(fetch.FetchError, match="encoding"):
            await client.get(_url(site, "/brotli"))


async def test_every_request_on_the_client_is_capped(site: Site) -> None:
    async with _client(limits=fetch.OutboundLimits(max_bytes=4000)) as client:
        with pytest.raises(fetch.TooLargeError):  # said so in Content-Length
            await client.get(_url(site, "/big"))
        with pytest.raises(fetch.TooLargeError):  # streamed without end
            await client.get(_url(site, "/endless"))
        assert (await client.get(_url(site, "/doc/x"))).status_code == 200


async def test_one_host_cannot_take_every_connection(site: Site) -> None:
    """Requests to one host wait for one of its `per_host` slots; another host is not held up."""
    site.most_in_flight = 0
    async with _client(limits=fetch.OutboundLimits(per_host=2)) as client:
        slow = [asyncio.create_task(fetch.fetch_document(client, _url(site, f"/slow/{n}")))
                for n in range(6)]
        await asyncio.sleep(0.1)
        started = time.monotonic()
        await fetch.fetch_document(client, _url(site, "/doc/x", "b.test"))
        assert time.monotonic() - started < 0.4
        await asyncio.gather(*slow)
    assert site.most_in_flight == 2
