"""Instance rules: which servers this one federates with, and how (Mastodon's domain blocks and
its limited federation mode), as plain functions over plain data.

A rule names a domain. A rule on `example.com` covers `example.com` and every subdomain on any
port; a rule that carries a port (`127.0.0.1:8001`) covers exactly that authority. Where several
rules cover one authority, the most specific (longest) one applies, as in Mastodon.

Severities: `suspend` (nothing in, nothing out), `silence` (Mastodon's "limit": only followers
see their posts), `noop` (only the flags apply). Flags: `reject_media`, `reject_reports`, and
Likeness's `reject_remix_requests`. In allow-list mode every domain not on the allow list is
treated as suspended.

The SQL functions of migrations/0006_instance_rules.sql compute `candidates` the same way, so that
timelines filter exactly what the inbox refuses; tests/test_domain_rules.py holds the two to it.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from urllib.parse import urlsplit

MAX_COMMENT_CHARS = 1000


class Severity(StrEnum):
    SILENCE = "silence"
    SUSPEND = "suspend"
    NOOP = "noop"


# Mastodon's admin interface calls `silence` "limit"; lists written by hand use either.
SEVERITY_NAMES = {"silence": Severity.SILENCE, "limit": Severity.SILENCE,
                  "suspend": Severity.SUSPEND, "noop": Severity.NOOP}
_STRICTNESS = {Severity.NOOP: 0, Severity.SILENCE: 1, Severity.SUSPEND: 2}


class RuleError(ValueError):
    """A rule that cannot be kept as given; the text says why."""


@dataclass(frozen=True)
class DomainBlock:
    domain: str
    severity: Severity = Severity.SILENCE
    reject_media: bool = False
    reject_reports: bool = False
    reject_remix_requests: bool = False
    public_comment: str | None = None
    private_comment: str | None = None
    obfuscate: bool = False


@dataclass(frozen=True)
class RuleSet:
    """Every rule of one instance. `local` is its own authority, which always federates."""

    local: str
    blocks: Mapping[str, DomainBlock] = field(default_factory=dict)
    allowed: frozenset[str] = frozenset()
    allowlist_mode: bool = False


@dataclass(frozen=True)
class DomainPolicy:
    """What applies to one remote authority; `reason` says why, for logs and refusals."""

    suspended: bool = False
    silenced: bool = False
    reject_media: bool = False
    reject_reports: bool = False
    reject_remix_requests: bool = False
    reason: str | None = None


OPEN = DomainPolicy()

_PORT = re.compile(r":[0-9]+$")
_IPV4ISH = re.compile(r"[0-9.]+")
_LABEL = re.compile(r"[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?")


def normalize_domain(raw: object) -> str:
    """A rule's domain as stored: lowercase host (IDNA-encoded), `:port` only when given.

    Accepts a bare domain, `*.domain` (subdomains are covered anyway), or a URL, whose
    authority is taken. Raises RuleError for anything that is not a host.
    """
    if not isinstance(raw, str) or not raw.strip():
        raise RuleError("domain is required")
    text = raw.strip().lower()
    if "://" in text:
        try:
            text = urlsplit(text).netloc
        except ValueError:  # `http://[::1`
            raise RuleError(f"{raw!r} is not a URL or a domain") from None
    text = text.split("/", 1)[0].rsplit("@", 1)[-1]
    if text.startswith("*."):
        text = text[2:]
    host, port = _split_port(text, raw)
    if host.startswith("["):
        if not re.fullmatch(r"\[[0-9a-f:.]+\]", host) or host.count(":") < 2:
            raise RuleError(f"{raw!r} is not a valid IPv6 address")
    elif _IPV4ISH.fullmatch(host):
        parts = host.split(".")
        if len(parts) != 4 or not all(p.isdigit() and int(p) < 256 for p in parts):
            raise RuleError(f"{raw!r} is not a valid IPv4 address")
        host = ".".join(str(int(p)) for p in parts)
    else:
        host = _hostname(host.rstrip("."), raw)
    return f"{host}:{port}" if port is not None else host


def _split_port(text: str, raw: str) -> tuple[str, int | None]:
    if text.startswith("["):
        host, _, rest = text.partition("]")
        host += "]"
        if not rest:
            return host, None
        if not rest.startswith(":"):
            raise RuleError(f"{raw!r} is not a host or host:port")
        port_text = rest[1:]
    elif text.count(":") == 1:
        host, port_text = text.split(":")
    elif ":" in text:
        raise RuleError(f"{raw!r}: write an IPv6 address in brackets, such as [2001:db8::1]")
    else:
        return text, None
    if not port_text.isdigit() or not 1 <= int(port_text) <= 65535:
        raise RuleError(f"{raw!r} has an invalid port")
    return host, int(port_text)


def _hostname(host: str, raw: str) -> str:
    if not host.isascii():
        try:
            host = host.encode("idna").decode("ascii")
        except UnicodeError:
            raise RuleError(f"{raw!r} is not a valid domain name") from None
    labels = host.split(".")
    if len(host) > 253 or not all(_LABEL.fullmatch(label) for label in labels):
        raise RuleError(f"{raw!r} is not a valid domain name")
    return host


def authority_of(url: str) -> str:
    """The lowercased `host[:port]` of a URL, as actors.domain keeps it ('' if none)."""
    try:
        netloc = urlsplit(url).netloc
    except ValueError:
        return ""
    return netloc.rsplit("@", 1)[-1].lower()


def candidates(authority: str) -> list[str]:
    """The rule domains that could cover `authority`, most specific first: the authority
    itself, its host without the port, then each parent domain (not for IP addresses)."""
    authority = authority.lower()
    host = _PORT.sub("", authority)
    found = [authority]
    if _IPV4ISH.fullmatch(host) or host.startswith("["):
        found.append(host)
    else:
        labels = host.split(".")
        found += [".".join(labels[i:]) for i in range(len(labels))]
    return list(dict.fromkeys(found))


def rule_for(rules: RuleSet, authority: str) -> DomainBlock | None:
    """The block that applies to `authority`: the most specific one covering it."""
    for domain in candidates(authority):
        if domain in rules.blocks:
            return rules.blocks[domain]
    return None


def allowed(rules: RuleSet, authority: str) -> bool:
    """Whether the allow list names `authority` (or a parent domain of it)."""
    return any(domain in rules.allowed for domain in candidates(authority))


def policy_for(rules: RuleSet, authority: str) -> DomainPolicy:
    """Everything that applies to one remote authority."""
    authority = authority.lower()
    if not authority or authority == rules.local.lower():
        return OPEN
    if rules.allowlist_mode and not allowed(rules, authority):
        return DomainPolicy(True, True, True, True, True,
                            f"{authority} is not on this server's allow list")
    block = rule_for(rules, authority)
    if block is None:
        return OPEN
    if block.severity is Severity.SUSPEND:
        return DomainPolicy(True, True, True, True, True, f"{block.domain} is suspended here")
    return DomainPolicy(
        suspended=False, silenced=block.severity is Severity.SILENCE,
        reject_media=block.reject_media, reject_reports=block.reject_reports,
        reject_remix_requests=block.reject_remix_requests,
        reason=f"{block.domain} is {'limited' if block.severity is Severity.SILENCE else 'restricted'}"
               " here")


def federates(rules: RuleSet, authority: str) -> bool:
    """Whether anything may come from or go to `authority` at all."""
    return not policy_for(rules, authority).suspended


def rejects_reports(rules: RuleSet, authority: str) -> bool:
    """Whether a `Flag` from `authority` is to be dropped (the moderation queue asks this)."""
    return policy_for(rules, authority).reject_reports


def rejects_media(rules: RuleSet, authority: str) -> bool:
    return policy_for(rules, authority).reject_media


def rejects_remix_requests(rules: RuleSet, authority: str) -> bool:
    return policy_for(rules, authority).reject_remix_requests


def is_silenced(rules: RuleSet, authority: str) -> bool:
    return policy_for(rules, authority).silenced


def at_least_as_strict(block: DomainBlock, other: DomainBlock) -> bool:
    """Whether `block` restricts everything `other` does (Mastodon's test before it takes a
    subdomain block under a parent's: a laxer one would only be confusing)."""
    if block.severity is Severity.SUSPEND:
        return True
    return _STRICTNESS[block.severity] >= _STRICTNESS[other.severity] and _flags_cover(block, other)


def _flags_cover(block: DomainBlock, other: DomainBlock) -> bool:
    return all(getattr(block, flag) or not getattr(other, flag)
               for flag in ("reject_media", "reject_reports", "reject_remix_requests"))


def check_block(block: DomainBlock, local: str) -> None:
    """Refuse a block this instance cannot keep: its own domain, or over-long comments."""
    if rule_for(RuleSet(local, {block.domain: block}), local) is not None:
        raise RuleError(f"{block.domain} is this server's own domain")
    for name in ("public_comment", "private_comment"):
        text = getattr(block, name)
        if text is not None and len(text) > MAX_COMMENT_CHARS:
            raise RuleError(f"{name} is longer than {MAX_COMMENT_CHARS} characters")


def parse_severity(raw: object, default: Severity = Severity.SILENCE) -> Severity:
    if raw is None or raw == "":
        return default
    if not isinstance(raw, str) or raw.strip().lower() not in SEVERITY_NAMES:
        raise RuleError(f"severity must be silence, suspend or noop, not {raw!r}")
    return SEVERITY_NAMES[raw.strip().lower()]


def user_facing(block: DomainBlock) -> bool:
    """Whether the public list shows the block: one that limits anything."""
    return block.severity is not Severity.NOOP or block.reject_media or block.reject_reports \
        or block.reject_remix_requests


def public_domain(block: DomainBlock) -> str:
    """The domain as the public list shows it: with `obfuscate`, the middle half of its
    characters become '*' (dots kept), as Mastodon does."""
    domain = block.domain
    if not block.obfuscate:
        return domain
    visible = len(domain) // 4
    return "".join("*" if visible < i < len(domain) - visible and char != "." else char
                   for i, char in enumerate(domain))


def digest(domain: str) -> str:
    """SHA-256 of the domain in hex: lets anyone check an obfuscated entry against a domain."""
    return hashlib.sha256(domain.encode()).hexdigest()
