"""HTTP signatures both ways: the cavage draft 12 (what every fediverse server speaks) and
RFC 9421 (Mastodon >= 4.5 verifies it; Likeness peers sign with Ed25519).

Plain functions over (method, url, headers, body), no I/O: `parse_signature` says which key
to look up, `verify_signature` checks the request against that key; `sign_cavage` and
`sign_rfc9421` return the headers to add. `url` is always the full URL
(scheme://host/path?query) of the request as the server saw it; `headers` is any mapping
(dict, starlette or httpx Headers) or list of pairs, names in any case.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import re
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime, parsedate_to_datetime
from typing import Literal
from urllib.parse import SplitResult, urlsplit

import http_sfv
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ed25519, padding, rsa

HeadersLike = Mapping[str, str] | Iterable[tuple[str, str]]
PrivateKey = ed25519.Ed25519PrivateKey | rsa.RSAPrivateKey
PublicKey = ed25519.Ed25519PublicKey | rsa.RSAPublicKey

# A signature's time (a cavage Date or `created`, an RFC 9421 `created`) may be 12 h old but
# only 1 h ahead of our clock: Mastodon's clock skew margin, since a sender has no reason to
# post-date it, and a post-dated one could be replayed for longer.
MAX_AGE = timedelta(hours=12)
MAX_AHEAD = timedelta(hours=1)

CAVAGE_ALGORITHMS = frozenset({"rsa-sha256", "hs2019", "ed25519"})
RFC9421_ALGORITHMS = frozenset({"ed25519", "rsa-v1_5-sha256", "rsa-pss-sha512"})
# The declared names each key type answers to (None: none declared). The key decides the
# algorithm (cavage draft §2.5: hs2019 means "ask the key"); a name that disagrees is refused.
_ED25519_NAMES = frozenset({None, "hs2019", "ed25519"})
_PKCS1_SHA256_NAMES = frozenset({None, "hs2019", "rsa-sha256", "rsa-v1_5-sha256"})
_PSS_SHA512 = padding.PSS(mgf=padding.MGF1(hashes.SHA512()), salt_length=64)  # RFC 9421 §3.3.1
_DIGESTS = {"sha-256": hashlib.sha256, "sha-512": hashlib.sha512}
_CAVAGE_PARAM = re.compile(r'\s*([A-Za-z]+)=(?:"([^"]*)"|(\d+))\s*(?:,|$)')


class SignatureError(ValueError):
    """A signature that is missing, malformed or does not verify. The message is a short
    reason fit for a 401 answer."""


@dataclass(frozen=True)
class SignatureInfo:
    """What a request's signature claims, read before any key is fetched."""

    scheme: Literal["cavage", "rfc9421"]
    key_id: str
    algorithm: str | None  # as declared, lower-cased; the key decides what it means
    components: tuple[str, ...]  # covered headers / components, in signed order
    signature: bytes
    created: int | None = None
    expires: int | None = None
    label: str | None = None  # RFC 9421: the Signature-Input label verified
    params: str | None = None  # RFC 9421: the serialised `@signature-params` value


def _lower(headers: HeadersLike) -> dict[str, str]:
    """Header names lower-cased and values trimmed; a repeated header's values are joined
    with ", " (RFC 9110 §5.3), which is how both signature schemes read them."""
    if hasattr(headers, "multi_items"):  # starlette and httpx keep repeated headers apart
        items = headers.multi_items()
    elif isinstance(headers, Mapping):
        items = headers.items()
    else:
        items = headers
    found: dict[str, str] = {}
    for name, raw in items:
        key, value = name.lower(), str(raw).strip()
        found[key] = f"{found[key]}, {value}" if key in found else value
    return found


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _has_body(method: str, body: bytes | None) -> bool:
    """Whether the request needs a digest: any body, and every POST (as Mastodon asks)."""
    return bool(body) or method.upper() == "POST"


# --- digests -------------------------------------------------------------------------------

def digest_header(body: bytes) -> str:
    """`Digest` (RFC 3230), as cavage signers send it."""
    return "SHA-256=" + _b64(hashlib.sha256(body).digest())


def content_digest_header(body: bytes) -> str:
    """`Content-Digest` (RFC 9530), as RFC 9421 signers send it."""
    return f"sha-256=:{_b64(hashlib.sha256(body).digest())}:"


def _check_digest(value: str | None, body: bytes) -> None:
    """Every sha-256/sha-512 value of `Digest` must match the body, and there must be one.
    Names are compared case-insensitively: `SHA-256=` and `sha-256=` both occur."""
    if not value:
        raise SignatureError("the request has a body but no Digest header")
    pairs = [part.strip().partition("=")[::2] for part in value.split(",")]
    known = [(name.lower(), encoded) for name, encoded in pairs if name.lower() in _DIGESTS]
    if not known:
        raise SignatureError("the Digest header has no SHA-256 or SHA-512 value")
    if any(encoded != _b64(_DIGESTS[name](body).digest()) for name, encoded in known):
        raise SignatureError("the Digest header does not match the body")


def _check_content_digest(value: str | None, body: bytes) -> None:
    """The same rule for `Content-Digest`, a structured-field dictionary of byte sequences."""
    if not value:
        raise SignatureError("the request has a body but no Content-Digest header")
    digests = http_sfv.Dictionary()
    try:
        digests.parse(value.encode())
    except ValueError:
        raise SignatureError("malformed Content-Digest header") from None
    known = [(name, getattr(member, "value", None)) for name, member in digests.items()
             if name in _DIGESTS]
    if not known:
        raise SignatureError("the Content-Digest header has no sha-256 or sha-512 value")
    if any(digest != _DIGESTS[name](body).digest() for name, digest in known):
        raise SignatureError("the Content-Digest header does not match the body")


# --- keys and time -------------------------------------------------------------------------

def _sign(private_key: PrivateKey, data: bytes) -> bytes:
    """Ed25519, or RSASSA-PKCS1-v1_5 with SHA-256 (cavage rsa-sha256 = RFC 9421 rsa-v1_5-sha256)."""
    if isinstance(private_key, ed25519.Ed25519PrivateKey):
        return private_key.sign(data)
    return private_key.sign(data, padding.PKCS1v15(), hashes.SHA256())


def _verify(public_key: PublicKey, algorithm: str | None, signature: bytes, data: bytes) -> None:
    """Check `signature` with the algorithm the key implies; a declared name only picks
    RSA-PSS over PKCS#1 v1.5 and must otherwise agree with the key."""
    try:
        if isinstance(public_key, ed25519.Ed25519PublicKey) and algorithm in _ED25519_NAMES:
            public_key.verify(signature, data)
        elif isinstance(public_key, rsa.RSAPublicKey) and algorithm == "rsa-pss-sha512":
            public_key.verify(signature, data, _PSS_SHA512, hashes.SHA512())
        elif isinstance(public_key, rsa.RSAPublicKey) and algorithm in _PKCS1_SHA256_NAMES:
            public_key.verify(signature, data, padding.PKCS1v15(), hashes.SHA256())
        else:
            raise SignatureError(f"the key does not fit the algorithm {algorithm or '(none)'}")
    except InvalidSignature:
        raise SignatureError("the signature does not verify") from None


def _check_time(moment: float, now: float, what: str) -> None:
    """Compared as Unix seconds, so absurd values cannot overflow a datetime."""
    if now - moment > MAX_AGE.total_seconds():
        raise SignatureError(f"the {what} is too old")
    if moment - now > MAX_AHEAD.total_seconds():
        raise SignatureError(f"the {what} is in the future")


def _check_expires(expires: int | None, now: float) -> None:
    if expires is not None and now > expires:
        raise SignatureError("the signature has expired")


# --- cavage draft 12 -----------------------------------------------------------------------

def _path_and_query(parts: SplitResult) -> str:
    return (parts.path or "/") + (f"?{parts.query}" if parts.query else "")


def _authority(parts: SplitResult) -> str:
    """host[:port] lower-cased, without the scheme's default port (RFC 9421 §2.2.3); also
    the `Host` we send."""
    host = parts.hostname or ""
    host = f"[{host}]" if ":" in host else host
    default = {"http": 80, "https": 443}.get(parts.scheme.lower())
    return host if parts.port in (None, default) else f"{host}:{parts.port}"


def _cavage_string(components: Iterable[str], method: str, url: str, headers: dict[str, str],
                   created: int | None, expires: int | None) -> bytes:
    """The signing string: one `name: value` line per covered entry; `(request-target)` is
    the lower-cased method and the path with its query."""
    pseudo = {"(request-target)": f"{method.lower()} {_path_and_query(urlsplit(url))}",
              "(created)": created, "(expires)": expires}
    lines = []
    for name in components:
        value = pseudo[name] if name in pseudo else headers.get(name)
        if value is None:
            raise SignatureError(f"the signed {name} is missing")
        lines.append(f"{name}: {value}")
    return "\n".join(lines).encode()


def sign_cavage(method: str, url: str, headers: HeadersLike, body: bytes | None, *, key_id: str,
                private_key: PrivateKey, now: datetime | None = None) -> dict[str, str]:
    """Headers that sign a request the way Mastodon does: `Host`, `Date`, `Digest` (with a
    body, and on every POST) and a `Signature` over "(request-target) host date [digest]
    [content-type]", rsa-sha256. An Ed25519 key signs as hs2019 ("ask the key")."""
    given = _lower(headers)
    moment = (now or datetime.now(UTC)).astimezone(UTC)
    added = {"Host": _authority(urlsplit(url)), "Date": format_datetime(moment, usegmt=True)}
    components = ["(request-target)", "host", "date"]
    if _has_body(method, body):
        added["Digest"] = digest_header(body or b"")
        components.append("digest")
    if "content-type" in given:
        components.append("content-type")
    string = _cavage_string(components, method, url, {**given, **_lower(added)}, None, None)
    algorithm = "rsa-sha256" if isinstance(private_key, rsa.RSAPrivateKey) else "hs2019"
    added["Signature"] = (f'keyId="{key_id}",algorithm="{algorithm}",'
                          f'headers="{" ".join(components)}",'
                          f'signature="{_b64(_sign(private_key, string))}"')
    return added


def _cavage_int(params: dict[str, str], name: str) -> int | None:
    value = params.get(name)
    # At most 18 digits: Python's int() refuses over 4,300, and no Unix time needs more.
    if value is not None and not (value.isascii() and value.isdigit() and len(value) <= 18):
        raise SignatureError(f"the Signature header's {name} is not a Unix time")
    return None if value is None else int(value)


def _parse_cavage(value: str) -> SignatureInfo:
    """`keyId="…",algorithm="…",headers="…",signature="…"`. A repeated parameter makes the
    header unusable (draft §2.2: MUST NOT process; Mastodon 4.5.5 fixed accepting them)."""
    params: dict[str, str] = {}
    text, position = value.strip(), 0
    while position < len(text):
        match = _CAVAGE_PARAM.match(text, position)
        if match is None:
            raise SignatureError("malformed Signature header")
        name = match.group(1).lower()
        if name in params:
            raise SignatureError(f"the Signature header repeats {match.group(1)}")
        params[name] = match.group(2) if match.group(2) is not None else match.group(3)
        position = match.end()
    if not params.get("keyid"):
        raise SignatureError("the Signature header has no keyId")
    if not params.get("signature"):
        raise SignatureError("the Signature header has no signature")
    algorithm = params.get("algorithm", "").lower() or None
    if algorithm is not None and algorithm not in CAVAGE_ALGORITHMS:
        raise SignatureError(f"unsupported signature algorithm {algorithm}")
    try:
        signature = base64.b64decode(params["signature"], validate=True)
    except binascii.Error:
        raise SignatureError("the signature is not base64") from None
    # Without `headers`, only the Date is signed (draft Appendix C.1; Mastodon reads it so).
    components = tuple(params.get("headers", "date").lower().split())
    return SignatureInfo("cavage", params["keyid"], algorithm, components, signature,
                         created=_cavage_int(params, "created"),
                         expires=_cavage_int(params, "expires"))


@functools.lru_cache(maxsize=256)
def _http_date(value: str | None) -> float:
    """Unix seconds of a Date header; kept for the dates seen lately, as the requests signed in
    the same second (every peer's, for a busy inbox) share one."""
    try:
        date = parsedate_to_datetime(value or "")
    except ValueError:
        raise SignatureError("the Date header is missing or malformed") from None
    return (date if date.tzinfo else date.replace(tzinfo=UTC)).timestamp()


def _verify_cavage(info: SignatureInfo, method: str, url: str, headers: dict[str, str],
                   body: bytes | None, public_key: PublicKey, now: float) -> None:
    covered = set(info.components)
    if "(request-target)" not in covered:
        raise SignatureError("the signature does not cover (request-target)")
    if not covered & {"date", "(created)"}:
        raise SignatureError("the signature covers neither date nor (created)")
    if method.upper() == "GET" and "host" not in covered:
        raise SignatureError("the signature does not cover host")
    if _has_body(method, body):
        if "digest" not in covered:
            raise SignatureError("the signature does not cover the Digest header")
        _check_digest(headers.get("digest"), body or b"")
    if "date" in covered:
        _check_time(_http_date(headers.get("date")), now, "Date")
    if info.created is not None:
        _check_time(info.created, now, "signature")
    _check_expires(info.expires, now)
    try:
        _verify(public_key, info.algorithm, info.signature, _base(info, method, url, headers))
    except SignatureError:
        # Older Mastodon signed (request-target) without the query string, and Mastodon and
        # GoToSocial still accept both forms (research section 9): so do we, for that one case.
        without_query = urlsplit(url)._replace(query="").geturl()
        if without_query == url:
            raise
        _verify(public_key, info.algorithm, info.signature,
                _base(info, method, without_query, headers))


# --- RFC 9421 ------------------------------------------------------------------------------

def _rfc9421_base(components: Iterable[str], params: str, method: str, url: str,
                  headers: dict[str, str]) -> bytes:
    """The signature base (§2.5): `"name": value` lines, then `"@signature-params"`."""
    parts = urlsplit(url)
    derived = {"@method": method.upper(), "@target-uri": url, "@authority": _authority(parts),
               "@scheme": parts.scheme.lower(), "@path": parts.path or "/",
               "@query": f"?{parts.query}", "@request-target": _path_and_query(parts)}
    lines = []
    for name in components:
        if name.startswith("@") and name not in derived:
            raise SignatureError(f"unsupported component {name}")
        value = derived[name] if name.startswith("@") else headers.get(name)
        if value is None:
            raise SignatureError(f"the signed header {name} is missing")
        lines.append(f'"{name}": {value}')
    lines.append(f'"@signature-params": {params}')
    return "\n".join(lines).encode()


def sign_rfc9421(method: str, url: str, headers: HeadersLike, body: bytes | None, *,
                 key_id: str, private_key: PrivateKey, created: int | None = None,
                 label: str = "sig1") -> dict[str, str]:
    """Headers for an RFC 9421 signature in Mastodon >= 4.5's profile: `@method`,
    `@target-uri` and, with a body (and on every POST), a sha-256 `content-digest`, with
    `created`, `keyid` and `alg` (ed25519 for Ed25519 keys, rsa-v1_5-sha256 for RSA keys)."""
    added: dict[str, str] = {}
    components = ["@method", "@target-uri"]
    if _has_body(method, body):
        added["Content-Digest"] = content_digest_header(body or b"")
        components.append("content-digest")
    params = http_sfv.InnerList([http_sfv.Item(name) for name in components])
    params.params["created"] = int(time.time()) if created is None else created
    params.params["keyid"] = key_id
    params.params["alg"] = ("ed25519" if isinstance(private_key, ed25519.Ed25519PrivateKey)
                            else "rsa-v1_5-sha256")
    base = _rfc9421_base(components, str(params), method, url,
                         {**_lower(headers), **_lower(added)})
    added["Signature-Input"] = f"{label}={params}"
    added["Signature"] = f"{label}=:{_b64(_sign(private_key, base))}:"
    return added


def _parse_rfc9421(headers: dict[str, str]) -> SignatureInfo:
    """Read the first signature of `Signature-Input`/`Signature`.

    Several signatures occur when an intermediary adds its own (RFC 9421 §4.3); it appends
    it, so the first is the sender's. Key id, covered components, parameters and signature
    all come from that one label, so another label can lend it neither a key nor coverage.
    """
    inputs, signatures = http_sfv.Dictionary(), http_sfv.Dictionary()
    try:
        inputs.parse(headers["signature-input"].encode())
        signatures.parse(headers.get("signature", "").encode())
    except ValueError:
        raise SignatureError("malformed Signature-Input or Signature header") from None
    if not inputs:
        raise SignatureError("the Signature-Input header is empty")
    if set(inputs) != set(signatures):
        raise SignatureError("Signature-Input and Signature name different labels")
    label, member = next(iter(inputs.items()))
    signature = getattr(signatures[label], "value", None)
    if not isinstance(member, http_sfv.InnerList) or not isinstance(signature, bytes):
        raise SignatureError("malformed Signature-Input or Signature header")
    components = tuple(item.value for item in member)
    if any(type(item.value) is not str or item.params for item in member):
        raise SignatureError("unsupported covered component: only plain names are accepted")
    if len(set(components)) != len(components):
        raise SignatureError("the signature covers a component twice")
    key_id, created, expires, algorithm = (member.params.get(name)
                                           for name in ("keyid", "created", "expires", "alg"))
    if type(key_id) is not str or not key_id:
        raise SignatureError("the signature has no keyid")
    if type(created) is not int:
        raise SignatureError("the signature has no created time")
    if expires is not None and type(expires) is not int:
        raise SignatureError("the signature's expires is not a Unix time")
    if algorithm is not None and algorithm not in RFC9421_ALGORITHMS:
        raise SignatureError(f"unsupported signature algorithm {algorithm}")
    return SignatureInfo("rfc9421", key_id, algorithm, components, signature, created=created,
                         expires=expires, label=label, params=str(member))


def _covers_target(covered: set[str], url: str) -> bool:
    """`@target-uri`, or its parts: `@authority` with `@request-target`, or with `@path`
    and (when the URL has a query) `@query`."""
    if "@target-uri" in covered:
        return True
    query_covered = "@query" in covered or not urlsplit(url).query
    return "@authority" in covered and (
        "@request-target" in covered or "@path" in covered and query_covered)


def _verify_rfc9421(info: SignatureInfo, method: str, url: str, headers: dict[str, str],
                    body: bytes | None, public_key: PublicKey, now: float) -> None:
    covered = set(info.components)
    if "@method" not in covered:
        raise SignatureError("the signature does not cover @method")
    if not _covers_target(covered, url):
        raise SignatureError("the signature does not cover @target-uri")
    if _has_body(method, body):
        if "content-digest" not in covered:
            raise SignatureError("the signature does not cover the Content-Digest header")
        _check_content_digest(headers.get("content-digest"), body or b"")
    assert info.created is not None  # _parse_rfc9421 requires it
    _check_time(info.created, now, "signature")
    _check_expires(info.expires, now)
    _verify(public_key, info.algorithm, info.signature, _base(info, method, url, headers))


# --- both ----------------------------------------------------------------------------------

def signature_base(info: SignatureInfo, method: str, url: str, headers: HeadersLike) -> bytes:
    """The exact bytes `info.signature` signs, rebuilt from the request as the server saw
    it: the cavage signing string, or the RFC 9421 signature base."""
    return _base(info, method, url, _lower(headers))


def _base(info: SignatureInfo, method: str, url: str, lowered: dict[str, str]) -> bytes:
    if info.scheme == "rfc9421":
        return _rfc9421_base(info.components, info.params or "", method, url, lowered)
    return _cavage_string(info.components, method, url, lowered, info.created, info.expires)


def parse_signature(method: str, url: str, headers: HeadersLike) -> SignatureInfo:
    """Read what a request's signature claims, so the caller can look up `info.key_id`.

    RFC 9421 when `Signature-Input` is present, else the cavage `Signature` header. Parsing
    needs only the headers; `method` and `url` are taken so both steps share one call shape.
    """
    lowered = _lower(headers)
    if "signature-input" in lowered:
        return _parse_rfc9421(lowered)
    if "signature" in lowered:
        return _parse_cavage(lowered["signature"])
    raise SignatureError("missing signature")


def verify_signature(info: SignatureInfo, method: str, url: str, headers: HeadersLike,
                     body: bytes | None, public_key: PublicKey, *,
                     now: datetime | None = None) -> None:
    """Raise SignatureError unless `public_key` signed this request as PROTOCOL.md asks:
    target and method covered, digest covered and matching on requests with a body, fresh
    enough, and the algorithm the key's own."""
    lowered = _lower(headers)
    moment = (now or datetime.now(UTC)).timestamp()
    verify = _verify_rfc9421 if info.scheme == "rfc9421" else _verify_cavage
    verify(info, method, url, lowered, body, public_key, moment)
