"""The one outbound HTTP client, and the safe fetch of ActivityPub documents.

Two kinds of attack shape this module: server-side request forgery (a remote document pointing
us at 127.0.0.1 or a cloud metadata address, CVE-2026-22245) and documents that claim an id
they were not served from (CVE-2024-23832, CVE-2024-25623). Addresses are checked after DNS
resolution, at connect time, so a name that resolves differently later cannot slip through.
"""

from __future__ import annotations

import ipaddress
import json
import socket
import ssl
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpcore
import httpx

AP_ACCEPT = ('application/activity+json, '
             'application/ld+json; profile="https://www.w3.org/ns/activitystreams"')
AS_PROFILE = "https://www.w3.org/ns/activitystreams"
MAX_REDIRECTS = 3

Signer = Callable[[str, str, dict[str, str], bytes | None], dict[str, str]]

# Mastodon's PrivateAddressCheck list: never reachable from a federating server.
_BLOCKED_NETWORKS = [ipaddress.ip_network(n) for n in (
    "0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16",
    "172.16.0.0/12", "192.0.0.0/24", "192.0.2.0/24", "192.88.99.0/24", "192.168.0.0/16",
    "192.175.48.0/24", "198.18.0.0/15", "198.51.100.0/24", "203.0.113.0/24", "224.0.0.0/4",
    "240.0.0.0/4", "255.255.255.255/32",
    "::/128", "::1/128", "::ffff:0:0/96", "64:ff9b::/96", "64:ff9b:1::/48", "100::/64",
    "2001::/32", "2001:10::/28", "2001:20::/28", "2001:db8::/32", "2002::/16", "fc00::/7",
    "fe80::/10", "ff00::/8",
)]


class FetchError(Exception):
    """A remote fetch that did not give us what we need; `status` is the HTTP status, if any."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class BlockedAddressError(FetchError):
    """The host resolves to an address we never connect to."""


class GoneError(FetchError):
    """404 or 410: the document does not exist (any more)."""


class TooLargeError(FetchError):
    pass


class OriginMismatchError(FetchError):
    pass


class ContentTypeError(FetchError):
    pass


def is_blocked_address(address: str) -> bool:
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return any(ip in network for network in _BLOCKED_NETWORKS if network.version == ip.version)


class _GuardedBackend(httpcore.AsyncNetworkBackend):
    """Resolves the host itself and connects to the vetted address, keeping TLS on the name."""

    def __init__(self, allow_private: bool) -> None:
        self._inner = httpcore.AnyIOBackend()
        self._allow_private = allow_private

    async def _resolve(self, host: str, port: int) -> str:
        import anyio

        try:
            infos = await anyio.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except OSError as exc:
            raise httpcore.ConnectError(f"cannot resolve {host}: {exc}") from None
        addresses = [info[4][0] for info in infos]
        if not addresses:
            raise httpcore.ConnectError(f"{host} has no address")
        if not self._allow_private:
            for address in addresses:
                if is_blocked_address(address):
                    raise BlockedAddressError(f"{host} resolves to a private address ({address})")
        return addresses[0]

    async def connect_tcp(self, host: str, port: int, timeout: float | None = None,
                          local_address: str | None = None,
                          socket_options: Iterable[Any] | None = None) -> httpcore.AsyncNetworkStream:
        address = await self._resolve(host, port)
        return await self._inner.connect_tcp(address, port, timeout=timeout,
                                             local_address=local_address,
                                             socket_options=socket_options)

    async def connect_unix_socket(self, path: str, timeout: float | None = None,
                                  socket_options: Iterable[Any] | None = None
                                  ) -> httpcore.AsyncNetworkStream:
        raise BlockedAddressError("unix sockets are never fetched")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


class _GuardedTransport(httpx.AsyncHTTPTransport):
    def __init__(self, *, allow_private: bool, verify: ssl.SSLContext | bool | str,
                 limits: httpx.Limits) -> None:
        super().__init__(verify=verify, limits=limits, trust_env=False)
        # httpx 0.28 builds its httpcore pool without a way to pass a network backend;
        # rebuild it with the same TLS context and limits and our guarded backend.
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=self._pool._ssl_context,
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=_GuardedBackend(allow_private),
        )


def make_client(*, allow_private: bool, user_agent: str, timeout: float = 10.0,
                verify: ssl.SSLContext | bool | str = True) -> httpx.AsyncClient:
    """The HTTP client for everything that leaves this server."""
    limits = httpx.Limits(max_connections=100, max_keepalive_connections=20, keepalive_expiry=30)
    return httpx.AsyncClient(
        transport=_GuardedTransport(allow_private=allow_private, verify=verify, limits=limits),
        timeout=httpx.Timeout(timeout, connect=min(timeout, 5.0)),
        headers={"User-Agent": user_agent},
        follow_redirects=False,
    )


def origin(url: str) -> tuple[str, str, int]:
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    port = parts.port or (443 if scheme == "https" else 80)
    return scheme, (parts.hostname or "").lower(), port


def same_origin(a: str, b: str) -> bool:
    try:
        return origin(a) == origin(b)
    except ValueError:
        return False


def _is_activitypub(content_type: str) -> bool:
    media_type, _, params = content_type.partition(";")
    media_type = media_type.strip().lower()
    if media_type == "application/activity+json":
        return True
    return media_type == "application/ld+json" and AS_PROFILE in params


@dataclass(frozen=True)
class FetchedDocument:
    url: str
    document: dict[str, Any]
    status: int
    headers: httpx.Headers


async def _get(client: httpx.AsyncClient, url: str, *, accept: str, sign: Signer | None,
               max_bytes: int) -> tuple[str, httpx.Response, bytes]:
    """GET `url`, following at most three redirects (each re-checked), body capped."""
    for _ in range(MAX_REDIRECTS + 1):
        if urlsplit(url).scheme not in ("https", "http"):
            raise FetchError(f"not an http(s) URL: {url}")
        headers = {"Accept": accept}
        if sign is not None:
            headers.update(sign("GET", url, headers, None))
        try:
            async with client.stream("GET", url, headers=headers) as response:
                if response.is_redirect and "location" in response.headers:
                    url = urljoin(url, response.headers["location"])
                    continue
                declared = response.headers.get("content-length")
                if declared and declared.isdigit() and int(declared) > max_bytes:
                    raise TooLargeError(f"{url} is larger than {max_bytes} bytes")
                body = bytearray()
                async for chunk in response.aiter_bytes():
                    body += chunk
                    if len(body) > max_bytes:
                        raise TooLargeError(f"{url} is larger than {max_bytes} bytes")
                return url, response, bytes(body)
        except BlockedAddressError:
            raise
        except httpx.HTTPError as exc:
            raise FetchError(f"fetching {url} failed: {type(exc).__name__} {exc}") from None
    raise FetchError(f"more than {MAX_REDIRECTS} redirects from {url}")


def _check_status(url: str, response: httpx.Response) -> None:
    if response.status_code in (404, 410):
        raise GoneError(f"{url} answered {response.status_code}", response.status_code)
    if response.status_code != 200:
        raise FetchError(f"{url} answered {response.status_code}", response.status_code)


async def fetch_document(client: httpx.AsyncClient, url: str, *, sign: Signer | None = None,
                         max_bytes: int = 1_000_000, accept: str = AP_ACCEPT) -> FetchedDocument:
    """An ActivityPub document, accepted only from its own origin (Mastodon's fix for
    CVE-2024-23832: if the id differs from the URL, refetch from the id and require equality)."""
    for attempt in range(2):
        final, response, body = await _get(client, url, accept=accept, sign=sign,
                                           max_bytes=max_bytes)
        _check_status(final, response)
        if not _is_activitypub(response.headers.get("content-type", "")):
            raise ContentTypeError(f"{final} is not an ActivityPub document "
                                   f"({response.headers.get('content-type', 'no content type')})")
        try:
            document = json.loads(body)
        except (ValueError, UnicodeDecodeError):
            raise FetchError(f"{final} did not answer JSON") from None
        if not isinstance(document, dict):
            raise FetchError(f"{final} did not answer a JSON object")
        claimed = document.get("id")
        if not isinstance(claimed, str) or not same_origin(claimed, final):
            raise OriginMismatchError(f"{final} serves a document whose id is {claimed!r}")
        if claimed == final:
            return FetchedDocument(final, document, response.status_code, response.headers)
        if attempt == 0:
            url = claimed
    raise OriginMismatchError(f"{url} serves a document with another id")


async def fetch_bytes(client: httpx.AsyncClient, url: str, *, max_bytes: int,
                      accept: str = "*/*", sign: Signer | None = None) -> bytes:
    """A file (media, a key), with the same address and size limits."""
    final, response, body = await _get(client, url, accept=accept, sign=sign, max_bytes=max_bytes)
    _check_status(final, response)
    return body
