"""The one outbound HTTP client, and the safe fetch of ActivityPub documents.

Two kinds of attack shape this module. Server-side request forgery: a remote document points us
at 127.0.0.1 or a cloud metadata address (CVE-2026-22245), so the client refuses private
addresses after DNS resolution, at connect time, and connects to exactly the address it checked;
a name that resolves differently a moment later (DNS rebinding) cannot slip through. Forged
documents: a server answers for an id it does not own, or serves an uploaded file as an activity
(CVE-2024-23832, CVE-2024-25623), so a document counts only with an ActivityPub content type and
only from the origin of its own `id`. And exhaustion: a server that answers a byte at a time, or
without end, or with a gzip bomb, so every request through the client is held to a deadline, a
size and a number of connections per host (`OutboundLimits`).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import ipaddress
import os
import socket
import ssl
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from email.message import Message
from http.cookiejar import CookieJar, DefaultCookiePolicy
from typing import Any
from urllib.parse import urljoin, urlsplit

import aiohttp
import aiohttp.abc
import aiohttp.helpers
import anyio
import httpx
import truststore

from . import inputs

AS_PROFILE = "https://www.w3.org/ns/activitystreams"
AP_ACCEPT = f'application/activity+json, application/ld+json; profile="{AS_PROFILE}"'
MAX_REDIRECTS = 3
DEADLINE = 60.0

Signer = Callable[[str, str, dict[str, str], bytes | None], Awaitable[dict[str, str]]]
"""`await sign(method, url, headers, body) -> extra headers`, e.g. an HTTP signature for a signed
GET; asynchronous, so that it can look up how the server asked wants its requests signed."""
Refusal = Callable[[str], Awaitable[str | None]]
"""`refuse(authority) -> reason or None`: the instance rules, asked before every request."""

# Mastodon's PrivateAddressCheck list (research §5), plus IPv4-translated (RFC 2765),
# IPv4-compatible (deprecated) and site-local (deprecated) IPv6: nothing a federating server
# has any business talking to. IPv4-mapped IPv6 is also unwrapped and checked as IPv4.
_BLOCKED_NETWORKS = tuple(ipaddress.ip_network(n) for n in (
    "0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16",
    "172.16.0.0/12", "192.0.0.0/24", "192.0.2.0/24", "192.88.99.0/24", "192.168.0.0/16",
    "192.175.48.0/24", "198.18.0.0/15", "198.51.100.0/24", "203.0.113.0/24", "224.0.0.0/4",
    "240.0.0.0/4", "255.255.255.255/32",
    "::/96", "::1/128", "::ffff:0:0/96", "::ffff:0:0:0/96", "64:ff9b::/96", "64:ff9b:1::/48",
    "100::/64", "2001::/32", "2001:10::/28", "2001:20::/28", "2001:db8::/32", "2002::/16",
    "fc00::/7", "fe80::/10", "fec0::/10", "ff00::/8",
))


@dataclass(frozen=True)
class OutboundLimits:
    """What any one request this server sends may cost, whoever sends it (the Settings hold them)."""

    # Seconds for a whole exchange, the wait for a free slot to its host included: read
    # timeouts alone let a server trickle a byte at a time for ever. Mastodon's read deadline.
    deadline: float = 30.0
    # The most bytes of any answer, counted as they come over the wire and again as decoded,
    # so that a small gzip body cannot unpack to gigabytes. Callers pass tighter caps.
    max_bytes: int = 16 * 1024 * 1024
    # Requests to one host at a time: one slow or hostile server cannot take the whole pool.
    per_host: int = 8
    # Connections in the pool, across hosts.
    connections: int = 100


class FetchError(Exception):
    """A remote fetch that did not give us what we need; `status` is the HTTP status, if any.

    `permanent`: asking again cannot give another answer, so a job that failed on it is not
    retried.
    """

    permanent = False

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class BlockedAddressError(FetchError):
    """The host is, or resolves to, an address this server never connects to."""


class DomainRefusedError(FetchError):
    """The instance's rules refuse the server (suspended, or not on the allow list)."""


class GoneError(FetchError):
    """404 or 410: the document does not exist (any more); worth no retry."""

    permanent = True


class TooLargeError(FetchError):
    """The body is over the caller's limit; it was not read past that limit."""


class OriginMismatchError(FetchError):
    """The document's `id` is not the URL it came from, so its origin cannot vouch for it."""

    permanent = True


class ContentTypeError(FetchError):
    """The answer is not an ActivityPub document, whatever its body looks like; as Mastodon
    does, it is not asked again."""

    permanent = True


def is_blocked_address(address: str) -> bool:
    """Whether `address` (an IP literal) is private, local or otherwise not a public host.

    Anything that does not parse as an IP address counts as blocked: fail closed.
    """
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return True
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return any(ip in network for network in _BLOCKED_NETWORKS if network.version == ip.version)


async def _resolve(host: str, port: int) -> list[str]:
    """The addresses of `host`, in the resolver's order of preference, without repeats. An IP
    literal is its own address: no trip through the resolver's thread."""
    try:
        return [str(ipaddress.ip_address(host))]
    except ValueError:
        pass
    infos = await anyio.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


async def _vetted_addresses(host: str, port: int, allow_private: bool) -> list[str]:
    """The addresses to try for `host`: the first of each family, in the resolver's order (the
    usual failure is a host whose IPv6 is unreachable from here, and trying every address would
    multiply timeouts). Unless `allow_private`, any private answer refuses the name outright: a
    name that mixes public and private addresses is an attack or a mistake, and no fallback may
    land on the private one."""
    addresses = await _resolve(host, port)
    if not addresses:
        raise OSError(f"{host} has no address")
    if not allow_private:
        for address in addresses:
            if is_blocked_address(address):
                raise BlockedAddressError(f"{host} is, or resolves to, a private address ({address})")
    candidates: dict[int, str] = {}
    for address in addresses:
        candidates.setdefault(ipaddress.ip_address(address).version, address)
    return list(candidates.values())


class _VettingResolver(aiohttp.abc.AbstractResolver):
    """aiohttp's resolver, with the vetting of `_vetted_addresses`. aiohttp then connects to
    exactly these addresses and does TLS (SNI, certificate check) on the URL's name, so the
    Host header and the certificate check stay on the name."""

    def __init__(self, allow_private: bool) -> None:
        self._allow_private = allow_private

    async def resolve(self, host: str, port: int = 0,
                      family: socket.AddressFamily = socket.AF_INET) -> list[aiohttp.abc.ResolveResult]:
        return [aiohttp.abc.ResolveResult(
            hostname=host, host=address, port=port, proto=0, flags=socket.AI_NUMERICHOST,
            family=socket.AF_INET6 if ":" in address else socket.AF_INET)
            for address in await _vetted_addresses(host, port, self._allow_private)]

    async def close(self) -> None:
        pass


def _guarded_socket(address_info: tuple[Any, ...], allow_private: bool) -> socket.socket:
    """The socket for one connection, made only to an address this server may talk to: the last
    check, at connect time, whichever way aiohttp came by the address (a name through
    `_VettingResolver`, or an IP literal, which it never resolves)."""
    family, kind, proto, _, address = address_info
    if not allow_private and is_blocked_address(address[0]):
        raise BlockedAddressError(f"{address[0]} is a private address")
    return socket.socket(family, kind, proto)


# aiohttp's errors as the httpx errors that callers of the client catch; the most specific first.
_AIOHTTP_ERRORS: tuple[tuple[type[BaseException], type[httpx.TransportError]], ...] = (
    (aiohttp.ConnectionTimeoutError, httpx.ConnectTimeout),
    (aiohttp.SocketTimeoutError, httpx.ReadTimeout),
    (asyncio.TimeoutError, httpx.TimeoutException),
    (aiohttp.ClientConnectorError, httpx.ConnectError),
    (aiohttp.InvalidURL, httpx.UnsupportedProtocol),
    (aiohttp.ClientResponseError, httpx.RemoteProtocolError),
    (aiohttp.ClientPayloadError, httpx.ReadError),
    (aiohttp.ClientError, httpx.NetworkError),
    (OSError, httpx.NetworkError),
)


@contextlib.contextmanager
def _as_httpx_errors() -> Iterator[None]:
    try:
        yield
    except BlockedAddressError:
        raise
    except (TimeoutError, aiohttp.ClientError, OSError) as exc:
        for caught, raised in _AIOHTTP_ERRORS:
            if isinstance(exc, caught):
                raise raised(f"{type(exc).__name__}: {exc}") from exc
        raise


class _AiohttpStream(httpx.AsyncByteStream):
    """An aiohttp answer's body as httpx reads it. Closing it before its end closes the
    connection; read to its end, the connection goes back to the pool."""

    def __init__(self, response: aiohttp.ClientResponse) -> None:
        self._response = response

    async def __aiter__(self) -> AsyncIterator[bytes]:
        with _as_httpx_errors():
            async for chunk in self._response.content.iter_any():
                yield chunk

    async def aclose(self) -> None:
        self._response.release()


class _HostSlots:
    """At most `per_host` requests at a time to each host (`host:port`), and `total` in all. A
    host's entry lives only while requests to it are in flight or waiting, so the table never
    outgrows them. The total is the connection pool's size: requests past it wait here, where a
    free slot goes to the next in O(1), not in httpcore's queue, which it scans on every request
    and every connection given back (quadratic under a large fan-out)."""

    def __init__(self, per_host: int, total: int) -> None:
        self._per_host = per_host
        self._total = asyncio.Semaphore(total)
        self._hosts: dict[str, tuple[asyncio.Semaphore, list[int]]] = {}

    async def acquire(self, host: str) -> None:
        semaphore, users = self._hosts.setdefault(host, (asyncio.Semaphore(self._per_host), [0]))
        users[0] += 1
        try:
            await semaphore.acquire()
        except BaseException:
            self._leave(host)
            raise
        try:
            # After the host's own slot: requests queued behind a slow host hold none of these.
            await self._total.acquire()
        except BaseException:
            semaphore.release()
            self._leave(host)
            raise

    def release(self, host: str) -> None:
        self._total.release()
        self._hosts[host][0].release()
        self._leave(host)

    def _leave(self, host: str) -> None:
        users = self._hosts[host][1]
        users[0] -= 1
        if users[0] == 0:
            del self._hosts[host]


class _Deadline:
    """The end of one exchange, and each step of it run against the time left (asyncio's own
    timeout: anyio's cancel scope cost 4% of a delivering worker's CPU, three per request)."""

    def __init__(self, url: httpx.URL, seconds: float) -> None:
        self.url, self.seconds = url, seconds
        self._at = asyncio.get_running_loop().time() + seconds

    async def run(self, step: Awaitable[Any]) -> Any:
        try:
            async with asyncio.timeout_at(self._at):
                return await step
        except TimeoutError:
            raise FetchError(f"fetching {self.url} took longer than {self.seconds:g} s") from None
        except httpx.TransportError as exc:
            raise FetchError(f"fetching {self.url} failed: {type(exc).__name__}: {exc}") from None


class _BoundedStream(httpx.AsyncByteStream):
    """An answer's body, read within the exchange's deadline and no further than `max_bytes`,
    both as sent and as decoded (gzip is decoded here, at most as much as the cap allows)."""

    def __init__(self, inner: httpx.AsyncByteStream, deadline: _Deadline, max_bytes: int, *,
                 gzip: bool, release: Callable[[], None]) -> None:
        self._inner, self._deadline, self._max_bytes = inner, deadline, max_bytes
        self._gunzip = zlib.decompressobj(16 + zlib.MAX_WBITS) if gzip else None
        self._release: Callable[[], None] | None = release

    async def __aiter__(self) -> AsyncIterator[bytes]:
        chunks = aiter(self._inner)
        sent = decoded = 0
        while (chunk := await self._deadline.run(anext(chunks, None))) is not None:
            sent += len(chunk)
            if sent > self._max_bytes:
                raise self._too_large()
            if self._gunzip is not None:
                chunk = self._decode(chunk, self._max_bytes - decoded)
            decoded += len(chunk)
            if decoded > self._max_bytes:
                raise self._too_large()
            if chunk:
                yield chunk
        if self._gunzip is not None and (rest := self._gunzip.flush()):
            if decoded + len(rest) > self._max_bytes:
                raise self._too_large()
            yield rest

    def _decode(self, chunk: bytes, room: int) -> bytes:
        assert self._gunzip is not None
        try:
            # One byte past the room is enough to know the body is too large.
            return self._gunzip.decompress(chunk, room + 1)
        except zlib.error as exc:
            raise FetchError(f"{self._deadline.url} sent a broken gzip body: {exc}") from None

    def _too_large(self) -> TooLargeError:
        return TooLargeError(f"{self._deadline.url} is larger than {self._max_bytes} bytes")

    async def aclose(self) -> None:
        try:
            await self._inner.aclose()
        finally:
            if self._release is not None:
                self._release()
                self._release = None


class _GuardedTransport(httpx.AsyncBaseTransport):
    """An httpx transport over aiohttp's HTTP/1.1 client (a fraction of httpcore's cost per
    request, in C where httpcore and h11 are pure Python: deliveries are mostly this cost), with
    the vetted addresses, the instance rules and the outbound limits; no proxies, no retries, no
    redirects, no cookies."""

    def __init__(self, *, allow_private: bool, ssl_context: ssl.SSLContext, limits: OutboundLimits,
                 refuse: Refusal | None = None) -> None:
        self._allow_private = allow_private
        self._ssl_context = ssl_context
        self._refuse = refuse
        self._limits = limits
        self._slots = _HostSlots(limits.per_host, limits.connections)
        # Made on the first request: an aiohttp session belongs to the event loop it is made in.
        self._session: aiohttp.ClientSession | None = None

    def _open_session(self) -> aiohttp.ClientSession:
        allow_private = self._allow_private
        connector = aiohttp.TCPConnector(
            limit=self._limits.connections, limit_per_host=0, keepalive_timeout=30,
            ssl=self._ssl_context, resolver=_VettingResolver(allow_private), use_dns_cache=False,
            # Looked up at each connection, so that a test can see every attempt.
            socket_factory=lambda address_info: _guarded_socket(address_info, allow_private))
        return aiohttp.ClientSession(connector=connector, cookie_jar=aiohttp.DummyCookieJar(),
                                     trust_env=False, auto_decompress=False,
                                     # The request's headers are httpx's, as given, and no others.
                                     skip_auto_headers=("User-Agent", "Accept", "Accept-Encoding",
                                                        "Content-Type"))

    async def _send(self, request: httpx.Request) -> httpx.Response:
        # aiohttp never resolves an IP literal (nor a legacy numeric form such as 2130706433,
        # which it refuses): vetted here, so that such a host fails as a private name does.
        host = request.url.host
        if not self._allow_private and aiohttp.helpers.is_ip_address(host):
            await _vetted_addresses(host, request.url.port or 0, allow_private=False)
        if self._session is None:
            self._session = self._open_session()
        timeout = request.extensions.get("timeout", {})
        body = await request.aread()
        with _as_httpx_errors():
            response = await self._session.request(
                request.method, str(request.url), data=body or None,
                headers=[(name.decode("latin-1"), value.decode("latin-1"))
                         for name, value in request.headers.raw if name.lower() != b"transfer-encoding"],
                allow_redirects=False, compress=None,
                timeout=aiohttp.ClientTimeout(connect=timeout.get("connect"), sock_read=timeout.get("read")))
        return httpx.Response(response.status, headers=response.raw_headers, stream=_AiohttpStream(response),
                              request=request, extensions={"http_version": b"HTTP/1.1",
                                                           "reason_phrase": (response.reason or "").encode()})

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        # Every request and every redirect hop passes here: a suspended server gets no fetch,
        # no key lookup, no WebFinger and no delivery, whichever code path asks; and none of
        # them can take longer, read more or hold more connections than the limits allow.
        host = request.url.netloc.decode("ascii").lower()
        if self._refuse is not None:
            reason = await self._refuse(host)
            if reason is not None:
                raise DomainRefusedError(f"not fetching {request.url}: {reason}")
        deadline = _Deadline(request.url, self._limits.deadline)
        await deadline.run(self._slots.acquire(host))
        try:
            response = await deadline.run(self._send(request))
        except BaseException:
            self._slots.release(host)
            raise
        try:
            gzip = self._check_answer(request.url, response)
        except BaseException:
            await response.aclose()
            self._slots.release(host)
            raise
        if gzip:
            del response.headers["content-encoding"]
            response.headers.pop("content-length", None)
        response.stream = _BoundedStream(response.stream, deadline, self._limits.max_bytes, gzip=gzip,
                                         release=lambda: self._slots.release(host))
        return response

    def _check_answer(self, url: httpx.URL, response: httpx.Response) -> bool:
        """Refuse an answer that says it is over the limit or is encoded in a way this client
        does not decode; whether it is gzip."""
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self._limits.max_bytes:
            raise TooLargeError(f"{url} is larger than {self._limits.max_bytes} bytes")
        encoding = response.headers.get("content-encoding", "identity").strip().lower()
        if encoding not in ("identity", "gzip", "x-gzip"):
            raise FetchError(f"{url} answered in an encoding not asked for ({encoding})")
        return encoding != "identity"


def system_trust() -> ssl.SSLContext:
    """The operating system's certificate store, through truststore (the platform's verifier on
    macOS and Windows, OpenSSL's default paths on Linux), and the CA bundle `SSL_CERT_FILE` names
    added to it: an operator's private CA is trusted once it is in either.

    On Linux OpenSSL reads `SSL_CERT_FILE` instead of the system's bundle file, so that file is
    loaded here as well; `SSL_CERT_DIR` replaces the system's directory, as OpenSSL has it.
    """
    context = truststore.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    # OpenSSL's own variable (not a Likeness setting), read as OpenSSL reads it: at each use.
    extra = os.environ.get("SSL_CERT_FILE")
    if extra:
        system_bundle = ssl.get_default_verify_paths().openssl_cafile
        try:
            # Where SSL_CERT_FILE names the system's bundle itself (as in many containers), once.
            if os.path.isfile(system_bundle) and not os.path.samefile(system_bundle, extra):
                context.load_verify_locations(cafile=system_bundle)
            context.load_verify_locations(cafile=extra)
        except (OSError, ssl.SSLError) as exc:
            raise ValueError(f"SSL_CERT_FILE={extra} is not a readable PEM file of CA certificates:"
                             f" {exc}") from None
    return context


def _ssl_context(verify: ssl.SSLContext | bool | str) -> ssl.SSLContext:
    """`verify` as httpx takes it, with a string naming a CA file or directory; True is the
    system's store (`system_trust`), not certifi's bundle."""
    if verify is True:
        return system_trust()
    if isinstance(verify, str):
        if os.path.isdir(verify):
            return ssl.create_default_context(capath=verify)
        return ssl.create_default_context(cafile=verify)
    return httpx.create_ssl_context(verify=verify, trust_env=False)


def make_client(*, allow_private: bool, user_agent: str, timeout: float = 10.0,
                verify: ssl.SSLContext | bool | str = True, refuse: Refusal | None = None,
                limits: OutboundLimits | None = None) -> httpx.AsyncClient:
    """The HTTP client for everything that leaves this server.

    Private addresses are refused at connect time unless `allow_private` (tests, a private
    federation). Redirects are not followed: `fetch_document` follows them itself, checking
    each hop. Cookies are never kept: remote servers must not be able to make us carry state.
    Environment proxies are ignored, since a proxy would connect where we cannot check.
    `refuse` (the instance rules) is asked about each request's host before it is sent.
    Every request is held to `limits` (a deadline, a size, a number per host), and fails with
    FetchError; `timeout` is for each connect and read within it.
    """
    return httpx.AsyncClient(
        transport=_GuardedTransport(allow_private=allow_private, ssl_context=_ssl_context(verify),
                                    limits=limits or OutboundLimits(), refuse=refuse),
        timeout=httpx.Timeout(timeout, connect=min(timeout, 5.0)),
        # Only what `_BoundedStream` decodes, and counts as it does.
        headers={"User-Agent": user_agent, "Accept-Encoding": "gzip"},
        cookies=CookieJar(policy=DefaultCookiePolicy(allowed_domains=[])),
        follow_redirects=False,
        trust_env=False,
    )


@functools.lru_cache(maxsize=1024)
def origin(url: str) -> tuple[str, str, int]:
    """(scheme, lowercased host, port with the default filled in) of an http(s) URL.

    Raises ValueError for anything else, so that two URLs without a host never share an origin.
    Kept for the URLs seen lately: every inbox POST compares its ids with its signer's, which is
    mostly one of a few actors.
    """
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in ("https", "http") or not parts.hostname:
        raise ValueError(f"not an http(s) URL: {url!r}")
    port = parts.port
    return scheme, parts.hostname.lower(), (443 if scheme == "https" else 80) if port is None else port


def same_origin(a: str, b: str) -> bool:
    """Whether two URLs share an origin; false when either is not an http(s) URL."""
    try:
        return origin(a) == origin(b)
    except ValueError:
        return False


def _is_activitypub(content_type: str) -> bool:
    """Mastodon's rule: activity+json, or ld+json whose `profile` list names ActivityStreams."""
    header = Message()
    header["Content-Type"] = content_type
    media_type = header.get_content_type()
    if media_type == "application/activity+json":
        return True
    profile = header.get_param("profile")
    return media_type == "application/ld+json" and isinstance(profile, str) and AS_PROFILE in profile.split()


@dataclass(frozen=True)
class FetchedDocument:
    """A document accepted from its own origin; `url` is where it was served (its `id`)."""

    url: str
    document: dict[str, Any]
    status: int
    headers: httpx.Headers


async def _get(client: httpx.AsyncClient, url: str, *, accept: str, sign: Signer | None,
               max_bytes: int, content_type_ok: Callable[[str], bool] | None = None,
               ) -> tuple[str, httpx.Response, bytes]:
    """GET `url`, following at most MAX_REDIRECTS redirects, each a fresh checked request.

    Status and content type are checked before the body is read, and the body is read no
    further than `max_bytes`. Returns the final URL, the response and the body.
    """
    for _ in range(MAX_REDIRECTS + 1):
        try:
            origin(url)
        except ValueError as exc:
            raise FetchError(str(exc)) from None
        headers = {"Accept": accept}
        if sign is not None:
            headers.update(await sign("GET", url, headers, None))
        try:
            async with client.stream("GET", url, headers=headers) as response:
                if response.is_redirect and "location" in response.headers:
                    url = _redirect_target(url, response.headers["location"])
                    continue
                _check_status(url, response)
                content_type = response.headers.get("content-type", "")
                if content_type_ok is not None and not content_type_ok(content_type):
                    raise ContentTypeError(f"{url} is not an ActivityPub document "
                                           f"({content_type or 'no content type'})")
                declared = response.headers.get("content-length", "")
                if declared.isdigit() and int(declared) > max_bytes:
                    raise TooLargeError(f"{url} is larger than {max_bytes} bytes")
                body = bytearray()
                async for chunk in response.aiter_bytes():
                    body += chunk
                    if len(body) > max_bytes:
                        raise TooLargeError(f"{url} is larger than {max_bytes} bytes")
                return url, response, bytes(body)
        except (httpx.HTTPError, httpx.InvalidURL, UnicodeError) as exc:
            # UnicodeError: a host that is not valid IDNA (`xn--`), refused as httpx builds the request.
            raise FetchError(f"fetching {url} failed: {type(exc).__name__}: {exc}") from None
    raise FetchError(f"more than {MAX_REDIRECTS} redirects, the last to {url}")


def _redirect_target(url: str, location: str) -> str:
    try:
        return urljoin(url, location)
    except ValueError:
        raise FetchError(f"{url} redirects to an unusable URL: {location!r}") from None


def _check_status(url: str, response: httpx.Response) -> None:
    if response.status_code in (404, 410):
        raise GoneError(f"{url} answered {response.status_code}", response.status_code)
    if response.status_code != 200:
        raise FetchError(f"{url} answered {response.status_code}", response.status_code)


async def fetch_document(client: httpx.AsyncClient, url: str, *, sign: Signer | None = None,
                         max_bytes: int = 1_000_000, accept: str = AP_ACCEPT,
                         deadline: float = DEADLINE) -> FetchedDocument:
    """An ActivityPub document, accepted only from the origin of its own `id`.

    The final URL (after redirects) must share the `id`'s origin; if the `id` is another URL,
    it is refetched once from the `id` and must then match exactly (Mastodon's fix for
    CVE-2024-23832). Callers must key what they store by `document["id"]`, not by `url`: a
    redirect may have led to another server, which then speaks only for its own ids.
    `deadline` bounds the whole exchange: read timeouts alone let a server trickle bytes forever.
    """
    try:
        with anyio.fail_after(deadline):
            return await _fetch_document(client, url, sign=sign, max_bytes=max_bytes, accept=accept)
    except TimeoutError:
        raise FetchError(f"fetching {url} took longer than {deadline} s") from None


async def _fetch_document(client: httpx.AsyncClient, url: str, *, sign: Signer | None,
                          max_bytes: int, accept: str) -> FetchedDocument:
    final, response, document = await _get_document(client, url, sign=sign, max_bytes=max_bytes,
                                                    accept=accept)
    if document["id"] != final:
        final, response, document = await _get_document(client, document["id"], sign=sign,
                                                        max_bytes=max_bytes, accept=accept)
        if document["id"] != final:
            raise OriginMismatchError(f"{final} serves a document whose id is {document['id']!r}, "
                                      "even when fetched from its id")
    return FetchedDocument(final, document, response.status_code, response.headers)


async def _get_document(client: httpx.AsyncClient, url: str, *, sign: Signer | None,
                        max_bytes: int, accept: str) -> tuple[str, httpx.Response, dict[str, Any]]:
    """One fetch of a JSON object whose string `id` is on the origin it was served from."""
    final, response, body = await _get(client, url, accept=accept, sign=sign, max_bytes=max_bytes,
                                       content_type_ok=_is_activitypub)
    try:
        document = inputs.loads(body)
    except inputs.InputError:
        raise FetchError(f"{final} did not answer JSON") from None
    if not isinstance(document, dict):
        raise FetchError(f"{final} did not answer a JSON object")
    claimed = document.get("id")
    if not isinstance(claimed, str) or not same_origin(claimed, final):
        raise OriginMismatchError(f"{final} serves a document whose id is {claimed!r}")
    return final, response, document


async def fetch_bytes(client: httpx.AsyncClient, url: str, *, max_bytes: int, accept: str = "*/*",
                      sign: Signer | None = None, deadline: float = DEADLINE) -> bytes:
    """A file (remote media, a key), with the same address, redirect, status and size rules."""
    try:
        with anyio.fail_after(deadline):
            _, _, body = await _get(client, url, accept=accept, sign=sign, max_bytes=max_bytes)
    except TimeoutError:
        raise FetchError(f"fetching {url} took longer than {deadline} s") from None
    return body
