"""OAuth scopes as Mastodon names them, and what a token's scopes let it do.

Tokens a person gets from this server itself (sign-up, the web app, a password grant without a
client) act with the account's full rights. Tokens issued to a registered app carry the scopes
the person granted, and only those: `read` for reading, `write` (or `follow`, `push` for their
parts) for changes, and `admin:read` / `admin:write` on top of a staff role for the admin API, so
that an app a moderator signs into does not become a moderator.
"""

from __future__ import annotations

import re

_SCOPE = re.compile(r"(?:read|write|admin:read|admin:write)(?::[a-z_]+)?|follow|push|profile")
DEFAULT = ("read",)


class ScopeError(ValueError):
    """Scopes that are not Mastodon's, or more than an app may ask for."""


def parse(raw: object, default: tuple[str, ...] = DEFAULT) -> tuple[str, ...]:
    """Space-separated scopes (a list is accepted too), once each in order; ScopeError if any
    is unknown."""
    if raw is None or raw == "" or raw == []:
        return default
    words = raw if isinstance(raw, list) else str(raw).replace("+", " ").split()
    scopes: list[str] = []
    for word in words:
        if not isinstance(word, str) or not _SCOPE.fullmatch(word):
            raise ScopeError(f"unknown scope {str(word)[:40]!r}")
        if word not in scopes:
            scopes.append(word)
    return tuple(scopes)


def covered(scope: str, granted: tuple[str, ...]) -> bool:
    """Whether `scope` is granted itself or through its parent (`read` covers `read:statuses`,
    `admin:read` covers `admin:read:reports`)."""
    return scope in granted or (":" in scope and scope.rsplit(":", 1)[0] in granted)


def within(requested: tuple[str, ...], allowed: tuple[str, ...]) -> bool:
    return all(covered(scope, allowed) for scope in requested)


def allows(granted: str, method: str, path: str) -> bool:
    """Whether an app's token may make this request."""
    scopes = granted.split()
    reading = method in ("GET", "HEAD", "OPTIONS")
    if path.startswith(("/api/v1/admin", "/api/v2/admin")):
        return any(s.startswith("admin:read" if reading else "admin:write") for s in scopes)
    if reading:
        return any(s == "read" or s.startswith("read:") for s in scopes)
    return any(s == "write" or s.startswith("write:") or s in ("follow", "push") for s in scopes)
