"""OAuth scopes as Mastodon defines them, and the one table of what each endpoint needs.

Tokens a person gets from this server itself (sign-up, the web app, a password grant without a
client) act with the account's full rights. Tokens issued to a registered app carry the scopes
the person granted, and only those: each endpoint needs its granular scope (`read:statuses`,
`write:media`, ...), which its parent (`read`, `write`, `admin:read`, `admin:write`) grants too.
Mastodon's legacy `follow` grants only the endpoints that list it (following, blocking, muting,
follow requests), `profile` only `verify_credentials`, and `push` only the push API. An app a
moderator signs into is not a moderator without admin scopes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from policy.moderation import MOVE_NAMES, UNDO

DEFAULT = ("read",)

_CHILDREN = {
    "read": ("accounts", "blocks", "bookmarks", "favourites", "filters", "follows", "lists", "mutes",
             "notifications", "search", "statuses"),
    "write": ("accounts", "blocks", "bookmarks", "conversations", "favourites", "filters", "follows",
              "lists", "media", "mutes", "notifications", "reports", "statuses"),
    "admin:read": ("accounts", "reports", "domain_allows", "domain_blocks", "ip_blocks",
                   "email_domain_blocks", "canonical_email_blocks"),
    "admin:write": ("accounts", "reports", "domain_allows", "domain_blocks", "ip_blocks",
                    "email_domain_blocks", "canonical_email_blocks"),
}
# Every scope Mastodon knows, in its order; an app may ask for these and no others.
KNOWN: tuple[str, ...] = (
    "read", *(f"read:{c}" for c in _CHILDREN["read"]),
    "write", *(f"write:{c}" for c in _CHILDREN["write"]),
    "follow", "push", "profile",
    "admin:read", *(f"admin:read:{c}" for c in _CHILDREN["admin:read"]),
    "admin:write", *(f"admin:write:{c}" for c in _CHILDREN["admin:write"]),
)

# What each scope lets an app do, in words, for the page where a person lets an app in.
_READ_WORDS = {
    "accounts": "see your profile, your cameos and who asks to use them",
    "blocks": "see whom you block", "bookmarks": "see your bookmarks", "favourites": "see what you liked",
    "filters": "see your feed preferences", "follows": "see whom you follow and who asks to follow you",
    "lists": "see your lists", "mutes": "see whom you mute", "notifications": "read your notifications",
    "search": "search for you", "statuses": "read your posts and timelines, and where you stopped reading",
}
_WRITE_WORDS = {
    "accounts": "change your profile and your cameos, and answer requests to use them",
    "blocks": "block and unblock people for you", "bookmarks": "bookmark posts for you",
    "conversations": "manage your conversations", "favourites": "like posts for you",
    "filters": "change your feed preferences", "follows": "follow and unfollow people for you",
    "lists": "change your lists", "media": "upload videos and make renders for you",
    "mutes": "mute and unmute people for you", "notifications": "dismiss your notifications",
    "reports": "report people and posts for you", "statuses": "post, boost and delete posts for you",
}
WORDS: dict[str, str] = {
    "read": "read everything of your account: posts, timelines, notifications, follows, cameos",
    **{f"read:{c}": w for c, w in _READ_WORDS.items()},
    "write": "act for you: post, upload, follow, like, change your profile and cameos",
    **{f"write:{c}": w for c, w in _WRITE_WORDS.items()},
    "follow": "follow, unfollow, block, unblock, mute and unmute people for you",
    "push": "send you push notifications",
    "profile": "see who you are (your profile only)",
    "admin:read": "read moderation data: accounts, reports and server rules",
    **{f"admin:read:{c}": f"read moderation data: {c.replace('_', ' ')}" for c in _CHILDREN["admin:read"]},
    "admin:write": "take moderation actions: on accounts, reports and server rules",
    **{f"admin:write:{c}": f"take moderation actions on {c.replace('_', ' ')}"
       for c in _CHILDREN["admin:write"]},
}


def in_words(granted: tuple[str, ...]) -> list[str]:
    """What the granted scopes let an app do, one sentence each, none twice."""
    return list(dict.fromkeys(WORDS[scope] for scope in granted))


# Routes (path templates, any method) that need no token: OAuth itself, discovery, the instance's
# public description, custom emojis, trends and hashtags, ActivityPub, the HTML pages, the web app's shell
# and files, and media files.
PUBLIC: frozenset[str] = frozenset({
    "/api/v1/apps", "/api/v1/apps/verify_credentials", "/oauth/authorize", "/oauth/token",
    "/oauth/revoke", "/.well-known/oauth-authorization-server",
    "/.well-known/webfinger", "/.well-known/host-meta", "/.well-known/nodeinfo", "/nodeinfo/2.1",
    "/api/v1/instance", "/api/v1/instance/", "/api/v2/instance", "/api/v1/instance/domain_blocks",
    "/api/v1/custom_emojis", "/api/v1/trends", "/api/v1/trends/tags", "/api/v1/trends/statuses",
    "/api/v1/trends/links",
    "/api/v1/tags/{name}", "/api/openapi.json",
    "/actor", "/actor/inbox", "/inbox", "/users/{username}", "/users/{username}/inbox",
    "/users/{username}/outbox", "/users/{username}/followers", "/users/{username}/following",
    "/users/{username}/collections/featured",
    "/users/{username}/mutuals", "/users/{username}/quote_authorizations/{stamp_id:id}",
    "/users/{username}/statuses/{post_id:id}", "/users/{username}/statuses/{post_id:id}/activity",
    "/users/{username}/cameos", "/users/{username}/cameos/{cameo_id}",
    "/users/{username}/cameos/{cameo_id}/references/{position:int}",
    "/users/{username}/remix_authorizations/{request_id:id}", "/users/{username}/taken_over",
    "/", "/about", "/@{username}", "/@{username}/{post_id:id}",
    "/app", "/app/{path:path}", "/static", "/media/{key:path}", "/api/v1/streaming/health",
    "/api/v1/streaming/{stream:path}",
    # Health checks; /metrics checks a token of its own (LIKENESS_METRICS_TOKEN), not an app's.
    "/livez", "/readyz", "/metrics",
})

# What a route needs where any signed-in token will do, whatever its scopes: Mastodon's streaming
# server lets every valid token open the public streams, and the WebSocket, whose streams are
# each checked against their own route below as they are subscribed (server/streaming.py).
ANY_SCOPE = ""

_FOLLOWS = "write:follows follow"
_BLOCKS = "write:blocks follow"
_MUTES = "write:mutes follow"

# "METHOD /path/template" -> the scopes any one of which lets an app's token in (each also through
# its parent), as Mastodon's controllers list them in `doorkeeper_authorize!`. Where one route
# serves several actions (its last path parameter), a dict gives each action's scopes.
#
# Likeness's own endpoints have no Mastodon scope; each takes the nearest:
# - a cameo, and who may use it (answering and revoking remix requests), is part of the account,
#   as `locked` is (who may follow): `read:accounts` / `write:accounts`;
# - a generation, and a remix until it is published, makes a video that a post then carries, as
#   an upload does: `write:media`, for reading it back too, as Mastodon's `GET /api/v1/media/:id`;
#   publishing a remix posts it: `write:statuses`;
# - For You's "more / less of this" steers a timeline, as Mastodon's filters do: `*:filters`;
# - moderating posts, cameos and held generations is the report queue's work: `admin:*:reports`;
#   the federation mode is the allow-list's switch: `admin:*:domain_allows`; prompt terms and the
#   refusal log have no child scope, so they need `admin:read` / `admin:write` themselves.
ENDPOINTS: dict[str, str | dict[str, str]] = {
    "POST /api/v1/accounts": "write:accounts",
    "GET /api/v1/accounts/verify_credentials": "read:accounts profile",
    "PATCH /api/v1/accounts/update_credentials": "write:accounts",
    "GET /api/v1/accounts/lookup": "read:accounts",
    "GET /api/v1/accounts/search": "read:accounts",
    "GET /api/v1/accounts/relationships": "read:follows",
    "GET /api/v1/accounts/{account_id:id}": "read:accounts",
    "GET /api/v1/accounts/{account_id:id}/statuses": "read:statuses",
    "POST /api/v1/accounts/{account_id:id}/{action}": {
        "follow": _FOLLOWS, "unfollow": _FOLLOWS, "block": _BLOCKS, "unblock": _BLOCKS},
    "POST /api/v1/accounts/{account_id:id}/mute": _MUTES,
    "POST /api/v1/accounts/{account_id:id}/unmute": _MUTES,
    "GET /api/v1/mutes": "read:mutes follow",
    "GET /api/v1/follow_requests": "read:follows follow",
    "POST /api/v1/follow_requests/{account_id:id}/{action}": {"authorize": _FOLLOWS, "reject": _FOLLOWS},
    # The handler refuses every app's token besides: only this server's own app deletes accounts.
    "POST /api/v1/account/delete": "write:accounts",
    "GET /api/v1/account/aliases": "read:accounts",
    "POST /api/v1/account/aliases": "write:accounts",
    "DELETE /api/v1/account/aliases": "write:accounts",
    "GET /api/v1/account/migration": "read:accounts",
    "POST /api/v1/account/migration": "write:accounts",
    "POST /api/v1/statuses": "write:statuses",
    "GET /api/v1/statuses/{status_id:id}": "read:statuses",
    "DELETE /api/v1/statuses/{status_id:id}": "write:statuses",
    "PUT /api/v1/statuses/{status_id:id}": "write:statuses",
    "GET /api/v1/statuses/{status_id:id}/history": "read:statuses",
    "GET /api/v1/statuses/{status_id:id}/source": "read:statuses",
    "GET /api/v1/statuses/{status_id:id}/context": "read:statuses",
    "POST /api/v1/statuses/{status_id:id}/{action}": {
        "favourite": "write:favourites", "unfavourite": "write:favourites",
        "reblog": "write:statuses", "unreblog": "write:statuses"},
    "GET /api/v1/timelines/home": "read:statuses",
    "GET /api/v1/timelines/public": "read:statuses",
    "GET /api/v1/timelines/tag/{hashtag}": "read:statuses",
    "GET /api/v1/notifications": "read:notifications",
    "GET /api/v1/streaming": ANY_SCOPE,
    "GET /api/v1/streaming/user": "read:statuses",
    "GET /api/v1/streaming/user/notification": "read:notifications",
    "GET /api/v1/streaming/public": ANY_SCOPE,
    "GET /api/v1/streaming/public/local": ANY_SCOPE,
    "GET /api/v1/streaming/hashtag": ANY_SCOPE,
    "GET /api/v1/notifications/unread_count": "read:notifications",
    "GET /api/v1/notifications/{notification_id:id}": "read:notifications",
    "POST /api/v1/notifications/clear": "write:notifications",
    "POST /api/v1/notifications/{notification_id:id}/dismiss": "write:notifications",
    "GET /api/v1/accounts/{account_id:id}/followers": "read:accounts",
    "GET /api/v1/accounts/{account_id:id}/following": "read:accounts",
    "GET /api/v1/statuses/{status_id:id}/favourited_by": "read:accounts",
    "GET /api/v1/statuses/{status_id:id}/reblogged_by": "read:accounts",
    "POST /api/v1/statuses/{status_id:id}/bookmark": "write:bookmarks",
    "POST /api/v1/statuses/{status_id:id}/unbookmark": "write:bookmarks",
    "GET /api/v1/bookmarks": "read:bookmarks",
    "GET /api/v1/favourites": "read:favourites",
    "POST /api/v1/statuses/{status_id:id}/pin": "write:accounts",
    "POST /api/v1/statuses/{status_id:id}/unpin": "write:accounts",
    "GET /api/v1/preferences": "read:accounts",
    "GET /api/v1/announcements": "read",
    "GET /api/v1/followed_tags": "read:follows follow",
    "GET /api/v1/conversations": "read:statuses",
    "DELETE /api/v1/conversations/{conversation_id:id}": "write:conversations",
    "POST /api/v1/conversations/{conversation_id:id}/read": "write:conversations",
    "GET /api/v1/lists": "read:lists",
    "POST /api/v1/lists": "write:lists",
    "GET /api/v1/lists/{list_id:id}": "read:lists",
    "PUT /api/v1/lists/{list_id:id}": "write:lists",
    "DELETE /api/v1/lists/{list_id:id}": "write:lists",
    "GET /api/v1/lists/{list_id:id}/accounts": "read:lists",
    "POST /api/v1/lists/{list_id:id}/accounts": "write:lists",
    "DELETE /api/v1/lists/{list_id:id}/accounts": "write:lists",
    "GET /api/v1/accounts/{account_id:id}/lists": "read:lists",
    "GET /api/v1/timelines/list/{list_id:id}": "read:lists",
    "GET /api/v2/filters": "read:filters",
    "POST /api/v2/filters": "write:filters",
    "GET /api/v2/filters/{filter_id:id}": "read:filters",
    "PUT /api/v2/filters/{filter_id:id}": "write:filters",
    "DELETE /api/v2/filters/{filter_id:id}": "write:filters",
    "GET /api/v2/filters/{filter_id:id}/keywords": "read:filters",
    "POST /api/v2/filters/{filter_id:id}/keywords": "write:filters",
    "GET /api/v2/filters/keywords/{keyword_id:id}": "read:filters",
    "PUT /api/v2/filters/keywords/{keyword_id:id}": "write:filters",
    "DELETE /api/v2/filters/keywords/{keyword_id:id}": "write:filters",
    "GET /api/v2/filters/{filter_id:id}/statuses": "read:filters",
    "POST /api/v2/filters/{filter_id:id}/statuses": "write:filters",
    "GET /api/v2/filters/statuses/{entry_id:id}": "read:filters",
    "DELETE /api/v2/filters/statuses/{entry_id:id}": "write:filters",
    "POST /api/v1/tags/{name}/follow": _FOLLOWS,
    "POST /api/v1/tags/{name}/unfollow": _FOLLOWS,
    "GET /api/v1/markers": "read:statuses",
    "POST /api/v1/markers": "write:statuses",
    "POST /api/v1/push/subscription": "push",
    "GET /api/v1/push/subscription": "push",
    "PUT /api/v1/push/subscription": "push",
    "DELETE /api/v1/push/subscription": "push",
    "GET /api/v2/search": "read:search",
    "POST /api/v1/media": "write:media",
    "POST /api/v2/media": "write:media",
    "GET /api/v1/media/{media_id:id}": "write:media",
    "POST /api/v1/reports": "write:reports",

    "GET /api/v1/timelines/for_you": "read:statuses",
    "GET /api/v1/for_you/preferences": "read:filters",
    "POST /api/v1/for_you/preferences": "write:filters",
    "DELETE /api/v1/for_you/preferences/{preference_id}": "write:filters",
    "POST /api/v1/cameos": "write:accounts",
    "GET /api/v1/cameos": "read:accounts",
    "GET /api/v1/cameos/lookup": "read:accounts",
    "GET /api/v1/cameos/{cameo_id}": "read:accounts",
    "PATCH /api/v1/cameos/{cameo_id}": "write:accounts",
    "DELETE /api/v1/cameos/{cameo_id}": "write:accounts",
    "GET /api/v1/accounts/{account_id}/cameos": "read:accounts",
    "GET /api/v1/remix_requests": "read:accounts",
    "POST /api/v1/remix_requests/{request_id}/{action}": {
        "approve": "write:accounts", "reject": "write:accounts", "revoke": "write:accounts"},
    "GET /api/v1/imported_authorizations": "read:accounts",
    "POST /api/v1/imported_authorizations/{authorization_id}/revoke": "write:accounts",
    # A person's archive and imports are the account's, as its deletion is; importing follows,
    # blocks or mutes needs what following, blocking or muting needs.
    "POST /api/v1/archives": "write:accounts",
    "GET /api/v1/archives": "read:accounts",
    "GET /api/v1/archives/{archive_id:id}": "read:accounts",
    "GET /api/v1/archives/{archive_id:id}/download": "read:accounts",
    "POST /api/v1/imports/{type}": {
        "following": _FOLLOWS, "blocking": _BLOCKS, "muting": _MUTES,
        "archive": "write:accounts"},
    "POST /api/v1/remixes": "write:media",
    "GET /api/v1/remixes/{remix_id}": "write:media",
    "POST /api/v1/remixes/{remix_id}/generation": "write:media",
    "POST /api/v1/remixes/{remix_id}/publish": "write:statuses",
    "POST /api/v1/generations": "write:media",
    "GET /api/v1/generations": "write:media",
    "GET /api/v1/generations/{job_id}": "write:media",
    "DELETE /api/v1/generations/{job_id}": "write:media",
    "POST /api/v1/generations/{job_id}/cancel": "write:media",
    "GET /api/v1/generations/{job_id}/events": "write:media",

    "GET /api/v1/admin/accounts": "admin:read:accounts",
    "GET /api/v2/admin/accounts": "admin:read:accounts",
    "GET /api/v1/admin/accounts/{account_id}": "admin:read:accounts",
    "DELETE /api/v1/admin/accounts/{account_id}": "admin:write:accounts",
    "POST /api/v1/admin/accounts/{account_id}/action": "admin:write:accounts",
    "POST /api/v1/admin/accounts/{account_id}/{undo}": dict.fromkeys(UNDO, "admin:write:accounts"),
    "POST /api/v1/admin/accounts/{account_id}/role": "admin:write:accounts",
    "GET /api/v1/admin/public_figures": "admin:read:accounts",
    "POST /api/v1/admin/accounts/{account_id}/public_figure": "admin:write:accounts",
    "DELETE /api/v1/admin/accounts/{account_id}/public_figure": "admin:write:accounts",
    "POST /api/v1/admin/accounts/{account_id}/verified_identity": "admin:write:accounts",
    "DELETE /api/v1/admin/accounts/{account_id}/verified_identity": "admin:write:accounts",
    "GET /api/v1/admin/reports": "admin:read:reports",
    "GET /api/v1/admin/reports/{report_id}": "admin:read:reports",
    "POST /api/v1/admin/reports/{report_id}/{move}": dict.fromkeys(MOVE_NAMES, "admin:write:reports"),
    "POST /api/v1/admin/statuses/{status_id}/action": "admin:write:reports",
    "POST /api/v1/admin/cameos/{cameo_id}/action": "admin:write:reports",
    "GET /api/v1/admin/generations": "admin:read:reports",
    "GET /api/v1/admin/generations/{job_id}": "admin:read:reports",
    "POST /api/v1/admin/generations/{job_id}/release": "admin:write:reports",
    "POST /api/v1/admin/generations/{job_id}/reject": "admin:write:reports",
    "GET /api/v1/admin/domain_blocks": "admin:read:domain_blocks",
    "POST /api/v1/admin/domain_blocks": "admin:write:domain_blocks",
    "GET /api/v1/admin/domain_blocks/export": "admin:read:domain_blocks",
    "POST /api/v1/admin/domain_blocks/import": "admin:write:domain_blocks",
    "GET /api/v1/admin/domain_blocks/{block_id:id}": "admin:read:domain_blocks",
    "PUT /api/v1/admin/domain_blocks/{block_id:id}": "admin:write:domain_blocks",
    "DELETE /api/v1/admin/domain_blocks/{block_id:id}": "admin:write:domain_blocks",
    "GET /api/v1/admin/domain_allows": "admin:read:domain_allows",
    "POST /api/v1/admin/domain_allows": "admin:write:domain_allows",
    "GET /api/v1/admin/domain_allows/{allow_id:id}": "admin:read:domain_allows",
    "DELETE /api/v1/admin/domain_allows/{allow_id:id}": "admin:write:domain_allows",
    "GET /api/v1/admin/federation_mode": "admin:read:domain_allows",
    "PUT /api/v1/admin/federation_mode": "admin:write:domain_allows",
    "GET /api/v1/admin/prompt_terms": "admin:read",
    "POST /api/v1/admin/prompt_terms": "admin:write",
    "DELETE /api/v1/admin/prompt_terms/{term_id}": "admin:write",
    "GET /api/v1/admin/prompt_refusals": "admin:read",
}


class ScopeError(ValueError):
    """Scopes that are not Mastodon's, or more than an app may ask for."""


def parse(raw: object, default: tuple[str, ...] = DEFAULT) -> tuple[str, ...]:
    """Space-separated scopes (a list is accepted too), once each in order; ScopeError if any
    is not one of Mastodon's."""
    if raw is None or raw == "" or raw == []:
        return default
    words = raw if isinstance(raw, list) else str(raw).replace("+", " ").split()
    scopes: list[str] = []
    for word in words:
        if not isinstance(word, str) or word not in KNOWN:
            raise ScopeError(f"unknown scope {str(word)[:40]!r}")
        if word not in scopes:
            scopes.append(word)
    return tuple(scopes)


def _parent(scope: str) -> str | None:
    parent = scope.rsplit(":", 1)[0]
    return parent if parent != scope and parent in _CHILDREN else None


def covered(scope: str, granted: tuple[str, ...]) -> bool:
    """Whether `scope` is granted itself or through its parent (`read` covers `read:statuses`,
    `admin:read` covers `admin:read:reports`)."""
    return scope in granted or _parent(scope) in granted


def within(requested: tuple[str, ...], allowed: tuple[str, ...]) -> bool:
    return all(covered(scope, allowed) for scope in requested)


def needed(method: str, template: str, path_params: Mapping[str, Any]) -> tuple[str, ...] | None:
    """The scopes any one of which lets an app's token make this request: () on a public route
    or one for any token (`ANY_SCOPE`), None where the table names no scope (an action it does not
    know), which no token has."""
    if template in PUBLIC:
        return ()
    entry = ENDPOINTS.get(f"{'GET' if method == 'HEAD' else method} {template}")
    if isinstance(entry, dict):
        last = template.rsplit("/", 1)[-1].strip("{}").split(":")[0]
        entry = entry.get(str(path_params.get(last)))
    return None if entry is None else tuple(entry.split())


def refusal(granted: str, method: str, template: str, path_params: Mapping[str, Any]) -> str | None:
    """Why a token of an app with the `granted` scopes may not make this request (naming the
    scope it lacks), or None when it may."""
    options = needed(method, template, path_params)
    if options is None:
        return "no OAuth scope allows an app this request"
    scopes = tuple(granted.split())
    if not options or any(covered(option, scopes) for option in options):
        return None
    parent = _parent(options[0])
    names = [options[0], *([parent] if parent else []), *options[1:]]
    return f"this app's token lacks the {options[0]} scope: this needs {' or '.join(names)}"


def allows_staff(granted: str, method: str) -> bool:
    """Whether an app's token may act with its account's staff role: with an admin scope of the
    request's kind (reading or changing), as the admin API asks of it anyway."""
    kind = "admin:read" if method in ("GET", "HEAD") else "admin:write"
    return any(scope.startswith(kind) for scope in granted.split())
