"""HTTP signatures both ways: the cavage draft (what every fediverse server speaks) and
RFC 9421 (Mastodon >= 4.5 verifies it; Likeness peers sign with Ed25519).

Plain functions over (method, url, headers, body): `parse_signature` says which key to look
up, `verify_signature` checks it; `sign_cavage` and `sign_rfc9421` return headers to add.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit

import http_sfv
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

# Dates and `created` may be this far from our clock (PROTOCOL.md: +-12 h).
MAX_AGE_SECONDS = 12 * 3600
MAX_FUTURE_SECONDS = 12 * 3600
CAVAGE_ALGORITHMS = frozenset({"rsa-sha256", "hs2019", "ed25519"})
RFC9421_ALGORITHMS = frozenset({"ed25519", "rsa-v1_5-sha256", "rsa-pss-sha512",
                                "ecdsa-p256-sha256"})
_CAVAGE_PARAM = re.compile(r'\s*([A-Za-z]+)=(?:"([^"]*)"|(\d+))\s*(?:,|$)')


class SignatureError(ValueError):
    """A signature that is missing, malformed or does not verify; the text says which."""


@dataclass(frozen=True)
class SignatureInfo:
    scheme: str  # "cavage" or "rfc9421"
    key_id: str
    algorithm: str | None
    components: tuple[str, ...]
    signature: bytes
    created: int | None = None
    expires: int | None = None
    label: str | None = None
    # RFC 9421: the serialised inner list that `@signature-params` covers.
    params: str | None = None


def _lower(headers: Any) -> dict[str, str]:
    """Header names lower-cased; repeated headers joined with ', ' as HTTP allows."""
    items = headers.multi_items() if hasattr(headers, "multi_items") else (
        headers.items() if isinstance(headers, Mapping) else headers)
    found: dict[str, str] = {}
    for name, value in items:
        key = name.lower()
        found[key] = f"{found[key]}, {value}" if key in found else str(value).strip()
    return found


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def digest_header(body: bytes) -> str:
    return "SHA-256=" + _b64(hashlib.sha256(body).digest())


def content_digest_header(body: bytes) -> str:
    return f"sha-256=:{_b64(hashlib.sha256(body).digest())}:"


def _now(now: datetime | None) -> datetime:
    return now or datetime.now(UTC)


def _sign(private_key: Any, data: bytes, algorithm: str | None = None) -> bytes:
    if isinstance(private_key, ed25519.Ed25519PrivateKey):
        return private_key.sign(data)
    if algorithm == "rsa-pss-sha512":
        return private_key.sign(data, padding.PSS(mgf=padding.MGF1(hashes.SHA512()),
                                                  salt_length=64), hashes.SHA512())
    return private_key.sign(data, padding.PKCS1v15(), hashes.SHA256())


def _verify(public_key: Any, signature: bytes, data: bytes, algorithm: str | None) -> bool:
    try:
        if isinstance(public_key, ed25519.Ed25519PublicKey):
            if algorithm not in (None, "ed25519", "hs2019"):
                return False
            public_key.verify(signature, data)
        elif isinstance(public_key, rsa.RSAPublicKey):
            if algorithm == "rsa-pss-sha512":
                public_key.verify(signature, data, padding.PSS(
                    mgf=padding.MGF1(hashes.SHA512()), salt_length=64), hashes.SHA512())
            elif algorithm in (None, "rsa-sha256", "hs2019", "rsa-v1_5-sha256"):
                public_key.verify(signature, data, padding.PKCS1v15(), hashes.SHA256())
            else:
                return False
        elif isinstance(public_key, ec.EllipticCurvePublicKey):
            if algorithm != "ecdsa-p256-sha256":
                return False
            if len(signature) != 64:
                return False
            der = encode_dss_signature(int.from_bytes(signature[:32], "big"),
                                       int.from_bytes(signature[32:], "big"))
            public_key.verify(der, data, ec.ECDSA(hashes.SHA256()))
        else:
            return False
    except InvalidSignature:
        return False
    return True


# --- cavage draft 12 -----------------------------------------------------------------------

def _request_target(method: str, url: str) -> str:
    parts = urlsplit(url)
    return f"{method.lower()} {parts.path or '/'}" + (f"?{parts.query}" if parts.query else "")


def sign_cavage(method: str, url: str, headers: Any, body: bytes | None, *, key_id: str,
                private_key: Any, now: datetime | None = None) -> dict[str, str]:
    """Headers that sign a request the way Mastodon does (rsa-sha256; hs2019 for Ed25519)."""
    given = _lower(headers)
    added = {"Host": urlsplit(url).netloc, "Date": format_datetime(_now(now), usegmt=True)}
    values = {"(request-target)": _request_target(method, url), "host": added["Host"],
              "date": added["Date"]}
    if body is not None:
        added["Digest"] = digest_header(body)
        values["digest"] = added["Digest"]
    if "content-type" in given:
        values["content-type"] = given["content-type"]
    string = "\n".join(f"{name}: {value}" for name, value in values.items())
    algorithm = "hs2019" if isinstance(private_key, ed25519.Ed25519PrivateKey) else "rsa-sha256"
    signature = _b64(_sign(private_key, string.encode()))
    added["Signature"] = (f'keyId="{key_id}",algorithm="{algorithm}",'
                          f'headers="{" ".join(values)}",signature="{signature}"')
    return added


def _parse_cavage(value: str) -> SignatureInfo:
    params: dict[str, str] = {}
    position = 0
    while position < len(value):
        match = _CAVAGE_PARAM.match(value, position)
        if match is None:
            raise SignatureError("malformed Signature header")
        name = match.group(1)
        if name in params:
            raise SignatureError(f"the Signature header repeats {name!r}")
        params[name] = match.group(2) if match.group(2) is not None else match.group(3)
        position = match.end()
    for required in ("keyId", "signature"):
        if not params.get(required):
            raise SignatureError(f"the Signature header has no {required}")
    algorithm = params.get("algorithm")
    if algorithm is not None and algorithm.lower() not in CAVAGE_ALGORITHMS:
        raise SignatureError(f"unsupported signature algorithm {algorithm!r}")
    try:
        signature = base64.b64decode(params["signature"], validate=True)
    except ValueError:
        raise SignatureError("the signature is not base64") from None
    components = tuple(params.get("headers", "date").lower().split())
    return SignatureInfo("cavage", params["keyId"], algorithm.lower() if algorithm else None,
                         components, signature,
                         created=int(params["created"]) if params.get("created") else None,
                         expires=int(params["expires"]) if params.get("expires") else None)


def _check_digest(value: str | None, body: bytes) -> None:
    if not value:
        raise SignatureError("the request has a body but no Digest header")
    seen = False
    for part in value.split(","):
        name, _, encoded = part.strip().partition("=")
        algorithm = {"sha-256": hashlib.sha256, "sha-512": hashlib.sha512}.get(name.lower())
        if algorithm is None:
            continue
        seen = True
        if encoded != _b64(algorithm(body).digest()):
            raise SignatureError("the Digest header does not match the body")
    if not seen:
        raise SignatureError("the Digest header has no SHA-256 or SHA-512 value")


def _check_time(moment: datetime, now: datetime, what: str) -> None:
    age = (now - moment).total_seconds()
    if age > MAX_AGE_SECONDS:
        raise SignatureError(f"the {what} is too old")
    if -age > MAX_FUTURE_SECONDS:
        raise SignatureError(f"the {what} is in the future")


def _verify_cavage(info: SignatureInfo, method: str, url: str, headers: dict[str, str],
                   body: bytes | None, public_key: Any, now: datetime) -> None:
    covered = info.components
    if "(request-target)" not in covered:
        raise SignatureError("the signature does not cover (request-target)")
    if "date" not in covered and "(created)" not in covered:
        raise SignatureError("the signature covers neither date nor (created)")
    if method.upper() == "GET" and "host" not in covered:
        raise SignatureError("the signature does not cover host")
    if body:
        if "digest" not in covered:
            raise SignatureError("the signature does not cover the Digest")
        _check_digest(headers.get("digest"), body)
    if "date" in covered:
        try:
            date = parsedate_to_datetime(headers.get("date", ""))
        except (TypeError, ValueError):
            raise SignatureError("the Date header is missing or malformed") from None
        _check_time(date if date.tzinfo else date.replace(tzinfo=UTC), now, "Date")
    if info.created is not None:
        _check_time(datetime.fromtimestamp(info.created, UTC), now, "signature")
    if info.expires is not None and info.expires < now.timestamp():
        raise SignatureError("the signature has expired")

    def signing_string(target: str) -> bytes:
        lines = []
        for name in covered:
            if name == "(request-target)":
                value = target
            elif name == "(created)":
                value = str(info.created)
            elif name == "(expires)":
                value = str(info.expires)
            elif name in headers:
                value = headers[name]
            else:
                raise SignatureError(f"the signed header {name!r} is missing")
            lines.append(f"{name}: {value}")
        return "\n".join(lines).encode()

    target = _request_target(method, url)
    candidates = [target]
    if "?" in target:
        # Older Mastodon signed the target without its query string; it still accepts both.
        candidates.append(target.split("?", 1)[0])
    for candidate in candidates:
        if _verify(public_key, info.signature, signing_string(candidate), info.algorithm):
            return
    raise SignatureError("the signature does not verify")


# --- RFC 9421 ------------------------------------------------------------------------------

def _component(name: str, method: str, url: str, headers: dict[str, str]) -> str:
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if name == "@method":
        return method.upper()
    if name == "@target-uri":
        return url
    if name == "@authority":
        host = (parts.hostname or "").lower()
        default = {"https": 443, "http": 80}.get(scheme)
        return host if parts.port in (None, default) else f"{host}:{parts.port}"
    if name == "@scheme":
        return scheme
    if name == "@path":
        return parts.path or "/"
    if name == "@query":
        return f"?{parts.query}"
    if name == "@request-target":
        return (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    if name.startswith("@"):
        raise SignatureError(f"unsupported derived component {name!r}")
    if name not in headers:
        raise SignatureError(f"the signed header {name!r} is missing")
    return headers[name]


def signature_base(components: tuple[str, ...], params: str, method: str, url: str,
                   headers: Any) -> bytes:
    """The RFC 9421 signature base (section 2.5) for the given covered components."""
    lowered = _lower(headers)
    lines = [f'"{name}": {_component(name, method, url, lowered)}' for name in components]
    lines.append(f'"@signature-params": {params}')
    return "\n".join(lines).encode()


def _rfc9421_algorithm(private_key: Any) -> str:
    if isinstance(private_key, ed25519.Ed25519PrivateKey):
        return "ed25519"
    return "rsa-v1_5-sha256"


def sign_rfc9421(method: str, url: str, headers: Any, body: bytes | None, *, key_id: str,
                 private_key: Any, created: int | None = None, label: str = "sig1"
                 ) -> dict[str, str]:
    """Headers for an RFC 9421 signature over `@method`, `@target-uri` and, with a body,
    `content-digest` (Mastodon >= 4.5's profile)."""
    added: dict[str, str] = {}
    components: tuple[str, ...] = ("@method", "@target-uri")
    if body is not None:
        added["Content-Digest"] = content_digest_header(body)
        components += ("content-digest",)
    algorithm = _rfc9421_algorithm(private_key)
    created = int(_now(None).timestamp()) if created is None else created
    inner = http_sfv.InnerList([http_sfv.Item(c) for c in components])
    inner.params["created"] = created
    inner.params["keyid"] = key_id
    inner.params["alg"] = algorithm
    params = str(inner)
    base = signature_base(components, params, method, url, {**_lower(headers), **_lower(added)})
    added["Signature-Input"] = f"{label}={params}"
    added["Signature"] = f"{label}=:{_b64(_sign(private_key, base, algorithm))}:"
    return added


def _parse_rfc9421(headers: dict[str, str]) -> SignatureInfo:
    inputs = http_sfv.Dictionary()
    signatures = http_sfv.Dictionary()
    try:
        inputs.parse(headers["signature-input"].encode())
        signatures.parse(headers.get("signature", "").encode())
    except ValueError:
        raise SignatureError("malformed Signature-Input or Signature header") from None
    if not inputs:
        raise SignatureError("the Signature-Input header is empty")
    # Several signatures may be present (a proxy adds its own); the first is the sender's.
    label = next(iter(inputs))
    member = inputs[label]
    if not isinstance(member, http_sfv.InnerList):
        raise SignatureError("Signature-Input is not an inner list")
    signature = signatures.get(label)
    if signature is None or not isinstance(signature.value, bytes):
        raise SignatureError(f"no signature for the label {label!r}")
    components = []
    for item in member:
        if not isinstance(item.value, str) or item.params:
            raise SignatureError("unsupported covered component")
        components.append(item.value.lower())
    key_id = member.params.get("keyid")
    created = member.params.get("created")
    if not isinstance(key_id, str) or not key_id:
        raise SignatureError("the signature has no keyid")
    if not isinstance(created, int):
        raise SignatureError("the signature has no created time")
    expires = member.params.get("expires")
    algorithm = member.params.get("alg")
    if algorithm is not None and algorithm not in RFC9421_ALGORITHMS:
        raise SignatureError(f"unsupported signature algorithm {algorithm!r}")
    return SignatureInfo("rfc9421", key_id, algorithm, tuple(components), signature.value,
                         created=created, expires=expires if isinstance(expires, int) else None,
                         label=label, params=str(member))


def _check_content_digest(value: str | None, body: bytes) -> None:
    if not value:
        raise SignatureError("the request has a body but no Content-Digest header")
    digests = http_sfv.Dictionary()
    try:
        digests.parse(value.encode())
    except ValueError:
        raise SignatureError("malformed Content-Digest header") from None
    seen = False
    for name, algorithm in (("sha-256", hashlib.sha256), ("sha-512", hashlib.sha512)):
        if name in digests:
            seen = True
            if digests[name].value != algorithm(body).digest():
                raise SignatureError("the Content-Digest header does not match the body")
    if not seen:
        raise SignatureError("the Content-Digest header has no sha-256 or sha-512 value")


def _verify_rfc9421(info: SignatureInfo, method: str, url: str, headers: dict[str, str],
                    body: bytes | None, public_key: Any, now: datetime) -> None:
    covered = set(info.components)
    if "@method" not in covered:
        raise SignatureError("the signature does not cover @method")
    if "@target-uri" not in covered and not {"@authority", "@path"} <= covered:
        raise SignatureError("the signature does not cover @target-uri")
    if body:
        if "content-digest" not in covered:
            raise SignatureError("the signature does not cover the Content-Digest")
        _check_content_digest(headers.get("content-digest"), body)
    assert info.created is not None
    _check_time(datetime.fromtimestamp(info.created, UTC), now, "signature")
    if info.expires is not None and info.expires < now.timestamp():
        raise SignatureError("the signature has expired")
    assert info.params is not None
    base = signature_base(info.components, info.params, method, url, headers)
    if not _verify(public_key, info.signature, base, info.algorithm):
        raise SignatureError("the signature does not verify")


# --- both ------------------------------------------------------------------------------------

def parse_signature(method: str, url: str, headers: Any) -> SignatureInfo:
    """Read the signature of a request, to know which key verifies it."""
    lowered = _lower(headers)
    if "signature-input" in lowered:
        return _parse_rfc9421(lowered)
    if "signature" in lowered:
        return _parse_cavage(lowered["signature"])
    authorization = lowered.get("authorization", "")
    if authorization.lower().startswith("signature "):
        return _parse_cavage(authorization[len("signature "):])
    raise SignatureError("missing signature: sign the request (HTTP Signatures)")


def verify_signature(info: SignatureInfo, method: str, url: str, headers: Any,
                     body: bytes | None, public_key: Any, *, now: datetime | None = None) -> None:
    """Raise SignatureError unless the request is signed by `public_key` as the rules ask."""
    lowered = _lower(headers)
    if info.scheme == "rfc9421":
        _verify_rfc9421(info, method, url, lowered, body, public_key, _now(now))
    else:
        _verify_cavage(info, method, url, lowered, body, public_key, _now(now))
