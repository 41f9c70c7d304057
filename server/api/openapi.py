"""The OpenAPI 3.1 description of the client API (every route under /api/ and /oauth/), served at
`GET /api/openapi.json`.

Adding a route is adding one entry to OPERATIONS, keyed as server/scopes.py keys it ("METHOD
/path/{template}", Starlette's template): its summary, what it returns (a component name, or
"[Name]" for a list of them), and its query and body fields. The path parameters and the OAuth
scopes are not written here: they come from the template and from server/scopes.py, so the two
cannot drift apart. A route that serves several actions (its scopes entry a dict) is described once
and listed once per action. tests/test_openapi.py fails while a route and its entry disagree.

Fields are written "name" (text), "name:integer", "name:boolean", "name:number", "name:array" (of
text), "name:file" (an upload) or "name:object"; "name!" is required.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .. import scopes
from ..http import fed
from ..runtime import VERSION

PAGE = ("limit:integer", "max_id", "since_id", "min_id")
OFFSET_PAGE = ("limit:integer", "offset:integer")


@dataclass(frozen=True)
class Operation:
    """One route's description. `returns` names a component schema ("[Status]" a list of them),
    or is None where the body is not JSON (`media` says what it is, empty where there is no
    body); `paged` adds Mastodon's Link header."""

    summary: str
    returns: str | None
    query: tuple[str, ...] = ()
    body: tuple[str, ...] = ()
    statuses: tuple[int, ...] = (200,)
    paged: bool = False
    media: str = "application/json"


def _op(summary: str, returns: str | None = "Empty", *, query: tuple[str, ...] = (),
        body: tuple[str, ...] = (), status: int | tuple[int, ...] = 200, paged: bool = False,
        offset_paged: bool = False, media: str = "application/json") -> Operation:
    """An Operation; `status` the success status, or each of them where there are several;
    `offset_paged` for a list paged by `offset` (the trends), its Link header as Mastodon's."""
    statuses = status if isinstance(status, tuple) else (status,)
    paging = (*(PAGE if paged else ()), *(OFFSET_PAGE if offset_paged else ()))
    return Operation(summary, returns, (*query, *paging), body, statuses, paged or offset_paged, media)


def _ref(name: str) -> dict[str, Any]:
    return {"$ref": f"#/components/schemas/{name}"}


def _nullable(kind: str | dict[str, Any]) -> dict[str, Any]:
    if isinstance(kind, dict):
        return {"anyOf": [kind, {"type": "null"}]}
    return {"type": [kind, "null"]}


def _obj(required: str, optional: str = "", **typed: dict[str, Any]) -> dict[str, Any]:
    """An object schema: `required` and `optional` name text fields (space-separated), `typed`
    gives the others their schema; every field in `required` or `typed` without a trailing
    underscore is required. More fields are allowed, as Mastodon adds fields over time."""
    names = required.split()
    properties: dict[str, Any] = {name: {"type": "string"} for name in [*names, *optional.split()]}
    for name, schema in typed.items():
        properties[name.rstrip("_")] = schema
        if not name.endswith("_"):
            names.append(name)
    return {"type": "object", "required": names, "properties": properties}


STRING, INTEGER, BOOLEAN, NUMBER = ({"type": t} for t in ("string", "integer", "boolean", "number"))
TEXT_OR_NULL, INTEGER_OR_NULL = _nullable("string"), _nullable("integer")
ANY_OBJECT: dict[str, Any] = {"type": "object"}


def _list(item: dict[str, Any]) -> dict[str, Any]:
    return {"type": "array", "items": item}


# The entities, as the client API renders them (server/api/entities.py and each resource's module).
SCHEMAS: dict[str, dict[str, Any]] = {
    "Empty": ANY_OBJECT,
    "Error": _obj("error", error_description_=STRING),
    "Account": _obj(
        "id username acct display_name created_at note url uri avatar avatar_static header header_static",
        locked=BOOLEAN, bot=BOOLEAN, group=BOOLEAN, discoverable=BOOLEAN, followers_count=INTEGER,
        following_count=INTEGER, statuses_count=INTEGER, last_status_at=TEXT_OR_NULL,
        emojis=_list(ANY_OBJECT), fields=_list(ANY_OBJECT), suspended_=BOOLEAN,
        source_=ANY_OBJECT, role_=ANY_OBJECT, moved_=ANY_OBJECT, mute_expires_at_=TEXT_OR_NULL),
    "AccountAlias": _obj("uri", acct=TEXT_OR_NULL, account=_nullable(_ref("Account"))),
    "AccountMigration": _obj("", moved_to=_nullable(_ref("Account")), moved_to_uri=TEXT_OR_NULL,
                             moved_at=TEXT_OR_NULL, cooldown_until=TEXT_OR_NULL, cooldown_days=INTEGER),
    "MediaAttachment": _obj(
        "id", type={"enum": ["image", "video", "gifv", "audio", "unknown"]}, url=TEXT_OR_NULL,
        preview_url=TEXT_OR_NULL, remote_url=TEXT_OR_NULL, description=TEXT_OR_NULL,
        blurhash=TEXT_OR_NULL, meta=ANY_OBJECT),
    "Status": _obj(
        "id uri url created_at content spoiler_text", edited_at=TEXT_OR_NULL, account=_ref("Account"),
        text_=TEXT_OR_NULL, visibility={"enum": ["public", "unlisted", "private", "direct"]},
        sensitive=BOOLEAN, media_attachments=_list(_ref("MediaAttachment")),
        mentions=_list(_obj("id username acct url")), tags=_list(_obj("name url")),
        emojis=_list(ANY_OBJECT), reblogs_count=INTEGER, favourites_count=INTEGER,
        replies_count=INTEGER, in_reply_to_id=TEXT_OR_NULL, in_reply_to_account_id=TEXT_OR_NULL,
        reblog=_nullable(_ref("Status")), poll=_nullable(ANY_OBJECT), quote_=_nullable(ANY_OBJECT),
        card=_nullable(ANY_OBJECT), language=TEXT_OR_NULL, application=_nullable(ANY_OBJECT),
        favourited_=BOOLEAN, reblogged_=BOOLEAN, muted_=BOOLEAN, bookmarked_=BOOLEAN, pinned_=BOOLEAN,
        # The viewer's filters it matches, where a timeline applies them.
        filtered_=_list(_ref("FilterResult")),
        # Likeness: whether a model made the video, and the cameos a remix stars.
        ai_generated_=BOOLEAN, cameos_=_list(_obj("cameo owner"))),
    "StatusEdit": _obj("content spoiler_text created_at", sensitive=BOOLEAN, account=_ref("Account"),
                       media_attachments=_list(_ref("MediaAttachment"))),
    "StatusSource": _obj("id text spoiler_text"),
    "Context": _obj("", ancestors=_list(_ref("Status")), descendants=_list(_ref("Status"))),
    # `status` only on the types about a post (favourite, reblog, mention, ...), as Mastodon's.
    "Notification": _obj(
        "id type created_at", account=_nullable(_ref("Account")), status_=_nullable(_ref("Status")),
        report_=ANY_OBJECT, moderation_warning_=ANY_OBJECT),
    "UnreadCount": _obj("", count=INTEGER),
    "Relationship": _obj(
        "id note", following=BOOLEAN, requested=BOOLEAN, followed_by=BOOLEAN, blocking=BOOLEAN,
        blocked_by=BOOLEAN, muting=BOOLEAN, muting_notifications=BOOLEAN, showing_reblogs=BOOLEAN,
        notifying=BOOLEAN, domain_blocking=BOOLEAN, endorsed=BOOLEAN, muting_expires_at=TEXT_OR_NULL),
    "Search": _obj("", accounts=_list(_ref("Account")), statuses=_list(_ref("Status")),
                   hashtags=_list(ANY_OBJECT)),
    "InstanceV1": _obj("uri title short_description description email version",
                       urls=ANY_OBJECT, stats=ANY_OBJECT, languages=_list(STRING),
                       registrations=BOOLEAN, approval_required=BOOLEAN, configuration=ANY_OBJECT),
    "Instance": _obj("domain title version source_url description",
                     usage=ANY_OBJECT, thumbnail=ANY_OBJECT, languages=_list(STRING),
                     configuration=ANY_OBJECT, registrations=ANY_OBJECT, contact=ANY_OBJECT,
                     rules=_list(ANY_OBJECT), api_versions_=ANY_OBJECT),
    "Application": _obj("id name", website=TEXT_OR_NULL, redirect_uri_=STRING,
                        redirect_uris_=_list(STRING), scopes_=_list(STRING), client_id_=STRING,
                        client_secret_=STRING, vapid_key_=STRING),
    "Token": _obj("access_token token_type scope", created_at=INTEGER),
    "Marker": _obj("last_read_id updated_at", version=INTEGER),
    "Markers": {"type": "object", "additionalProperties": _ref("Marker")},
    "Report": _obj("id created_at", action_taken=BOOLEAN),
    "Preferences": _obj("", **{
        "posting:default:visibility": {"enum": ["public", "unlisted", "private", "direct"]},
        "posting:default:sensitive": BOOLEAN, "posting:default:language": TEXT_OR_NULL,
        "reading:expand:media": {"enum": ["default", "show_all", "hide_all"]},
        "reading:expand:spoilers": BOOLEAN}),
    "CustomEmoji": _obj("shortcode url static_url", visible_in_picker=BOOLEAN, category_=TEXT_OR_NULL),
    "Announcement": _obj("id content published_at updated_at", starts_at=TEXT_OR_NULL,
                         ends_at=TEXT_OR_NULL, all_day=BOOLEAN, read_=BOOLEAN,
                         mentions=_list(ANY_OBJECT), statuses=_list(ANY_OBJECT), tags=_list(ANY_OBJECT),
                         emojis=_list(ANY_OBJECT), reactions=_list(ANY_OBJECT)),
    "Tag": _obj("name url", history=_list(_obj("day uses accounts")), following_=BOOLEAN),
    # A trending link, as Mastodon's PreviewCard with its history.
    "TrendsLink": _obj(
        "url title description provider_name provider_url author_name author_url html embed_url "
        "image_description", type={"enum": ["link", "photo", "video", "rich"]}, language=TEXT_OR_NULL,
        width=INTEGER, height=INTEGER, image=TEXT_OR_NULL, blurhash=TEXT_OR_NULL,
        published_at=TEXT_OR_NULL, authors=_list(ANY_OBJECT), history=_list(_obj("day uses accounts"))),
    "FilterKeyword": _obj("id keyword", whole_word=BOOLEAN),
    "FilterStatus": _obj("id status_id"),
    "Filter": _obj(
        "id title", context=_list({"enum": ["home", "notifications", "public", "thread", "account"]}),
        expires_at=TEXT_OR_NULL, filter_action={"enum": ["warn", "hide", "blur"]},
        keywords=_list(_ref("FilterKeyword")), statuses=_list(_ref("FilterStatus"))),
    "FilterResult": _obj("", filter=_ref("Filter"), keyword_matches=_nullable(_list(STRING)),
                         status_matches=_nullable(_list(STRING))),
    "List": _obj("id title", replies_policy={"enum": ["followed", "list", "none"]}, exclusive=BOOLEAN),
    "Conversation": _obj("id", unread=BOOLEAN, accounts=_list(_ref("Account")),
                         last_status=_nullable(_ref("Status"))),
    "WebPushSubscription": _obj(
        "id endpoint server_key", standard=BOOLEAN, policy={"enum": ["all", "followed", "follower", "none"]},
        alerts={"type": "object", "additionalProperties": BOOLEAN}),
    # Likeness's own entities.
    "Cameo": _obj(
        "id uri name instructions", preview_url=TEXT_OR_NULL,
        permission=_nullable({"enum": ["only_me", "mutuals", "followers", "everyone"]}),
        approval=_nullable({"enum": ["automatic", "manual"]}), paused=_nullable("boolean"),
        references_=INTEGER, approved_accounts_=_list(_ref("Account")), account_=_ref("Account"),
        created_at_=STRING, updated_at_=STRING),
    "Archive": _obj(
        "id state created_at", progress=INTEGER, size=_nullable("integer"), error=TEXT_OR_NULL,
        finished_at=TEXT_OR_NULL, expires_at=TEXT_OR_NULL, download_url=TEXT_OR_NULL),
    "ImportResult": _obj(
        "type", imported_=INTEGER, already_=INTEGER,
        failed_=_list(_obj("address error", line=INTEGER)), account_=STRING,
        cameos_=_obj("", imported=INTEGER, already=INTEGER),
        authorizations_=_obj("", imported=INTEGER, already=INTEGER), requests_=INTEGER,
        approved_accounts_unknown_=_list(STRING)),
    "RemixRequest": _obj(
        "id state", reason_=TEXT_OR_NULL, cameo_=_obj("id uri name"), account_=_ref("Account"),
        post_uri_=STRING, instance_=STRING, published_=BOOLEAN, prompt_=STRING,
        authorization_=TEXT_OR_NULL, created_at_=STRING, decided_at_=TEXT_OR_NULL),
    "ImportedAuthorization": _obj(
        "id uri state cameo grantee post_uri instance published end_time", revoked_at=TEXT_OR_NULL),
    "Generation": _obj(
        "id state prompt created_at", cameos=_list(STRING), duration_s=NUMBER,
        remix_id=TEXT_OR_NULL, attempts=INTEGER,
        progress=_obj("", step=INTEGER, total_steps=INTEGER_OR_NULL, fraction=NUMBER),
        eta_s=_nullable("number"), failure_reason=TEXT_OR_NULL, held_reason=TEXT_OR_NULL,
        generator=TEXT_OR_NULL, result=_nullable(_ref("MediaAttachment")), published=BOOLEAN,
        status_id=TEXT_OR_NULL, expires_at=TEXT_OR_NULL, started_at=TEXT_OR_NULL,
        finished_at=TEXT_OR_NULL),
    "Remix": _obj(
        "id state prompt created_at", post_uri=TEXT_OR_NULL,
        cameos=_list(_obj("cameo owner state", authorization=TEXT_OR_NULL, reason=TEXT_OR_NULL)),
        generation=_nullable(_ref("Generation")), status_id_=STRING),
    "FeedPreference": _obj("id direction", tag_=TEXT_OR_NULL, account_=_nullable(_ref("Account"))),
    # The admin API's entities, loosely: staff tools, not the clients this describes for.
    "AdminAccount": _obj("id", account_=_ref("Account")),
    "AdminReport": _obj("id", action_taken_=BOOLEAN),
    "DomainRule": _obj("id domain"),
    "FederationMode": _obj("mode"),
    "PromptTerm": _obj("id"),
}

_AUTHORIZE = ("response_type!", "client_id!", "redirect_uri!", "scope", "state", "code_challenge",
              "code_challenge_method")
_SEND = "status! visibility sensitive:boolean spoiler_text language in_reply_to_id media_ids[]:array"
_FILTER_FIELDS = ("title!", "context[]!:array", "filter_action", "expires_in:integer",
                  "keywords_attributes[][keyword]", "keywords_attributes[][whole_word]:boolean")
_LIST_FIELDS = ("title!", "replies_policy", "exclusive:boolean")
_PUSH_DATA = ("data[alerts]:object", "data[policy]", "policy")

OPERATIONS: dict[str, Operation] = {
    # OAuth and apps.
    "POST /api/v1/apps": _op("Register an app", "Application",
                             body=("client_name!", "redirect_uris!", "scopes", "website")),
    "GET /api/v1/apps/verify_credentials": _op("The app of this token", "Application"),
    "GET /oauth/authorize": _op("The page where a person lets an app in", None, media="text/html",
                                query=_AUTHORIZE),
    "POST /oauth/authorize": _op("Sign in and allow or deny an app: the code on a page, or a redirect"
                                 " to the app with it", None, media="text/html", status=(200, 303),
                                 body=(*_AUTHORIZE, "username!", "password!", "decision!")),
    "POST /oauth/token": _op("Get a token: authorization_code, password or client_credentials grant",
                             "Token", body=("grant_type!", "client_id", "client_secret", "code",
                                            "redirect_uri", "code_verifier", "username", "password",
                                            "scope")),
    "POST /oauth/revoke": _op("Revoke a token", body=("token!", "client_id", "client_secret")),
    # Accounts.
    "POST /api/v1/accounts": _op("Sign up", "Token", body=("username!", "email!", "password!")),
    "GET /api/v1/accounts/verify_credentials": _op("The signed-in account", "Account"),
    "PATCH /api/v1/accounts/update_credentials": _op(
        "Edit the profile", "Account", body=("display_name", "note", "avatar:file", "header:file")),
    "GET /api/v1/accounts/lookup": _op("An account by its handle", "Account", query=("acct!",)),
    "GET /api/v1/accounts/search": _op("Search accounts", "[Account]",
                                       query=("q!", "limit:integer", "resolve:boolean")),
    "GET /api/v1/accounts/relationships": _op("Relationships to accounts", "[Relationship]",
                                              query=("id[]:array",)),
    "GET /api/v1/accounts/{account_id:id}": _op("An account", "Account"),
    "GET /api/v1/accounts/{account_id:id}/statuses": _op("An account's posts", "[Status]", paged=True),
    "GET /api/v1/accounts/{account_id:id}/followers": _op("An account's followers", "[Account]",
                                                          paged=True),
    "GET /api/v1/accounts/{account_id:id}/following": _op("Whom an account follows", "[Account]",
                                                          paged=True),
    "POST /api/v1/accounts/{account_id:id}/{action}": _op("{action} an account", "Relationship"),
    "POST /api/v1/accounts/{account_id:id}/mute": _op(
        "Mute an account: its posts and boosts out of one's timelines, and its notifications unless"
        " notifications=false; for duration seconds (0: until unmuted)", "Relationship",
        body=("notifications:boolean", "duration:integer")),
    "POST /api/v1/accounts/{account_id:id}/unmute": _op("Unmute an account", "Relationship"),
    "GET /api/v1/mutes": _op("The accounts one mutes, each with mute_expires_at", "[Account]",
                             paged=True),
    "GET /api/v1/follow_requests": _op("Pending follow requests", "[Account]"),
    "POST /api/v1/follow_requests/{account_id:id}/{action}": _op("{action} a follow request",
                                                                 "Relationship"),
    "POST /api/v1/account/delete": _op("Delete one's own account", body=("password!",)),
    # Moving an account (Mastodon's settings pages; server/api/account_moves.py).
    "GET /api/v1/account/aliases": _op("The accounts this one moves here from", "[AccountAlias]"),
    "POST /api/v1/account/aliases": _op("Add an alias: an account that may move here", "AccountAlias",
                                        body=("acct!",)),
    "DELETE /api/v1/account/aliases": _op("Take an alias away", "[AccountAlias]", body=("acct!",)),
    "GET /api/v1/account/migration": _op("Where this account moved, and its cooldown", "AccountMigration"),
    "POST /api/v1/account/migration": _op("Move this account to another, which lists it as an alias",
                                          "AccountMigration", body=("acct!", "password!")),
    # Statuses.
    "POST /api/v1/statuses": _op("Post", "Status", body=tuple(_SEND.split())),
    "GET /api/v1/statuses/{status_id:id}": _op("A post", "Status"),
    "DELETE /api/v1/statuses/{status_id:id}": _op("Delete a post", "Status"),
    "PUT /api/v1/statuses/{status_id:id}": _op("Edit a post", "Status", body=tuple(_SEND.split()[:5])),
    "GET /api/v1/statuses/{status_id:id}/history": _op("A post's versions", "[StatusEdit]"),
    "GET /api/v1/statuses/{status_id:id}/source": _op("A post's source text", "StatusSource"),
    "GET /api/v1/statuses/{status_id:id}/context": _op("A post's thread", "Context"),
    "POST /api/v1/statuses/{status_id:id}/{action}": _op("{action} a post", "Status"),
    # Timelines, notifications, markers, search.
    "GET /api/v1/timelines/home": _op("Home timeline", "[Status]", paged=True),
    "GET /api/v1/timelines/public": _op("Public timeline", "[Status]", paged=True,
                                        query=("local:boolean", "remote:boolean", "only_media:boolean")),
    "GET /api/v1/timelines/tag/{hashtag}": _op("Hashtag timeline", "[Status]", paged=True,
                                               query=("local:boolean",)),
    "GET /api/v1/timelines/for_you": _op("For You: what this server recommends", "[Status]",
                                         query=("limit:integer", "cursor")),
    "GET /api/v1/notifications": _op("Notifications", "[Notification]", paged=True,
                                     query=("types[]:array", "exclude_types[]:array")),
    "GET /api/v1/timelines/list/{list_id:id}": _op("A list's timeline", "[Status]", paged=True),
    "GET /api/v1/notifications/unread_count": _op(
        "How many notifications came after the notifications marker", "UnreadCount",
        query=("limit:integer", "types[]:array", "exclude_types[]:array")),
    "GET /api/v1/notifications/{notification_id:id}": _op("A notification", "Notification"),
    "POST /api/v1/notifications/{notification_id:id}/dismiss": _op("Dismiss a notification"),
    "POST /api/v1/notifications/clear": _op("Dismiss every notification"),
    "GET /api/v1/markers": _op("Where reading stopped", "Markers", query=("timeline[]:array",)),
    "POST /api/v1/markers": _op("Save where reading stopped", "Markers",
                                body=("home[last_read_id]", "notifications[last_read_id]")),
    "GET /api/v2/search": _op("Search accounts, posts and hashtags", "Search",
                              query=("q!", "type", "resolve:boolean", "limit:integer", "offset:integer")),
    # Streaming: Mastodon's WebSocket, and its server-sent event streams.
    "GET /api/v1/streaming": _op(
        "The streaming WebSocket: a GET that upgrades (101); then subscribe and unsubscribe "
        "messages in (type, stream, tag), and events out (stream, event, payload)", None, media="",
        status=101, query=("stream", "tag", "access_token")),
    "GET /api/v1/streaming/health": _op("Whether streaming is up: `OK`", None, media="text/plain"),
    "GET /api/v1/streaming/user": _op("One's home timeline and notifications, as server-sent events",
                                      None, media="text/event-stream", query=("access_token",)),
    "GET /api/v1/streaming/user/notification": _op("One's notifications, as server-sent events", None,
                                                   media="text/event-stream",
                                                   query=("access_token", "types[]:array",
                                                          "exclude_types[]:array")),
    "GET /api/v1/streaming/public": _op("The public timeline, as server-sent events", None,
                                        media="text/event-stream",
                                        query=("access_token",)),
    "GET /api/v1/streaming/public/local": _op("This server's public timeline, as server-sent events",
                                              None, media="text/event-stream",
                                              query=("access_token",)),
    "GET /api/v1/streaming/hashtag": _op("A hashtag's public posts, as server-sent events", None,
                                         media="text/event-stream", query=("tag!", "access_token")),
    "GET /api/v1/streaming/{stream:path}": _op("Any other stream: refused, as Mastodon refuses it",
                                               "Error", status=400),
    # Posts one keeps, and who liked or boosted a post.
    "GET /api/v1/statuses/{status_id:id}/favourited_by": _op("Who liked a post", "[Account]", paged=True),
    "GET /api/v1/statuses/{status_id:id}/reblogged_by": _op("Who boosted a post", "[Account]",
                                                            paged=True),
    "GET /api/v1/favourites": _op("The posts one liked", "[Status]", paged=True),
    "POST /api/v1/statuses/{status_id:id}/bookmark": _op("Bookmark a post", "Status"),
    "POST /api/v1/statuses/{status_id:id}/unbookmark": _op("Take a post's bookmark off", "Status"),
    "GET /api/v1/bookmarks": _op("The posts one bookmarked", "[Status]", paged=True),
    "POST /api/v1/statuses/{status_id:id}/pin": _op("Pin one's own post to one's profile", "Status"),
    "POST /api/v1/statuses/{status_id:id}/unpin": _op("Unpin a post", "Status"),
    # Hashtags and trends.
    "GET /api/v1/tags/{name}": _op("A hashtag, its use, and whether one follows it", "Tag"),
    "POST /api/v1/tags/{name}/follow": _op("Follow a hashtag", "Tag"),
    "POST /api/v1/tags/{name}/unfollow": _op("Stop following a hashtag", "Tag"),
    "GET /api/v1/followed_tags": _op("The hashtags one follows", "[Tag]", paged=True),
    "GET /api/v1/trends": _op("Trending hashtags", "[Tag]", offset_paged=True),
    "GET /api/v1/trends/tags": _op("Trending hashtags", "[Tag]", offset_paged=True),
    "GET /api/v1/trends/statuses": _op("Trending posts", "[Status]", offset_paged=True),
    "GET /api/v1/trends/links": _op("The links most shared in recent public posts", "[TrendsLink]",
                                    offset_paged=True),
    # Filters (v2).
    "GET /api/v2/filters": _op("One's filters", "[Filter]"),
    "POST /api/v2/filters": _op("Make a filter", "Filter", body=_FILTER_FIELDS),
    "GET /api/v2/filters/{filter_id:id}": _op("A filter", "Filter"),
    "PUT /api/v2/filters/{filter_id:id}": _op(
        "Change a filter: each of keywords_attributes with an id changes (or, with _destroy, "
        "deletes) that keyword, each without adds one", "Filter",
        body=(*(field.replace("!", "") for field in _FILTER_FIELDS), "keywords_attributes[][id]",
              "keywords_attributes[][_destroy]:boolean")),
    "DELETE /api/v2/filters/{filter_id:id}": _op("Delete a filter"),
    "GET /api/v2/filters/{filter_id:id}/keywords": _op("A filter's keywords", "[FilterKeyword]"),
    "POST /api/v2/filters/{filter_id:id}/keywords": _op("Add a keyword to a filter", "FilterKeyword",
                                                        body=("keyword!", "whole_word:boolean")),
    "GET /api/v2/filters/keywords/{keyword_id:id}": _op("A filter's keyword", "FilterKeyword"),
    "PUT /api/v2/filters/keywords/{keyword_id:id}": _op("Change a filter's keyword", "FilterKeyword",
                                                        body=("keyword", "whole_word:boolean")),
    "DELETE /api/v2/filters/keywords/{keyword_id:id}": _op("Delete a filter's keyword"),
    "GET /api/v2/filters/{filter_id:id}/statuses": _op("The posts a filter names", "[FilterStatus]"),
    "POST /api/v2/filters/{filter_id:id}/statuses": _op("Have a filter name a post", "FilterStatus",
                                                        body=("status_id!",)),
    "GET /api/v2/filters/statuses/{entry_id:id}": _op("A post a filter names", "FilterStatus"),
    "DELETE /api/v2/filters/statuses/{entry_id:id}": _op("Take a post off a filter"),
    # Lists.
    "GET /api/v1/lists": _op("One's lists", "[List]"),
    "POST /api/v1/lists": _op("Make a list", "List", body=_LIST_FIELDS),
    "GET /api/v1/lists/{list_id:id}": _op("A list", "List"),
    "PUT /api/v1/lists/{list_id:id}": _op("Change a list", "List",
                                          body=tuple(field.replace("!", "") for field in _LIST_FIELDS)),
    "DELETE /api/v1/lists/{list_id:id}": _op("Delete a list"),
    "GET /api/v1/lists/{list_id:id}/accounts": _op("The accounts on a list (limit=0: all of them)",
                                                   "[Account]", paged=True),
    "POST /api/v1/lists/{list_id:id}/accounts": _op("Add accounts one follows to a list",
                                                    body=("account_ids[]!:array",)),
    "DELETE /api/v1/lists/{list_id:id}/accounts": _op("Take accounts off a list",
                                                      body=("account_ids[]!:array",)),
    "GET /api/v1/accounts/{account_id:id}/lists": _op("One's lists an account is on", "[List]"),
    # Direct conversations.
    "GET /api/v1/conversations": _op("One's direct conversations", "[Conversation]", paged=True),
    "DELETE /api/v1/conversations/{conversation_id:id}": _op("Remove a conversation until it goes on"),
    "POST /api/v1/conversations/{conversation_id:id}/read": _op("Mark a conversation read",
                                                                "Conversation"),
    # Web Push.
    "POST /api/v1/push/subscription": _op(
        "Subscribe this token to Web Push, replacing its subscription", "WebPushSubscription",
        body=("subscription[endpoint]!", "subscription[keys][p256dh]!", "subscription[keys][auth]!",
              "subscription[standard]:boolean", *_PUSH_DATA)),
    "GET /api/v1/push/subscription": _op("This token's Web Push subscription", "WebPushSubscription"),
    "PUT /api/v1/push/subscription": _op("Change which notifications are pushed",
                                         "WebPushSubscription", body=_PUSH_DATA),
    "DELETE /api/v1/push/subscription": _op("Unsubscribe this token from Web Push"),
    # What apps ask for at start-up.
    "GET /api/v1/preferences": _op("The defaults an app applies to what one posts and reads",
                                   "Preferences"),
    "GET /api/v1/custom_emojis": _op("This server's custom emojis (it has none)", "[CustomEmoji]"),
    "GET /api/v1/announcements": _op("This server's announcements (a shutdown notice, else none)",
                                     "[Announcement]"),
    # Media.
    "POST /api/v1/media": _op("Upload a file", "MediaAttachment",
                              body=("file!:file", "description", "focus")),
    "POST /api/v2/media": _op("Upload a file; a video answers 202 while it is checked",
                              "MediaAttachment", status=(200, 202),
                              body=("file!:file", "description", "focus")),
    "GET /api/v1/media/{media_id:id}": _op("An upload (206 while it is checked)", "MediaAttachment",
                                                      status=(200, 206)),
    "POST /api/v1/reports": _op("Report an account or posts", "Report",
                                body=("account_id", "cameo_id", "status_ids[]:array", "comment", "category",
                                      "forward:boolean")),
    # The instance.
    "GET /api/v1/instance": _op("This server (Mastodon 3's shape)", "InstanceV1"),
    "GET /api/v1/instance/": _op("This server (Mastodon 3's shape)", "InstanceV1"),
    "GET /api/v2/instance": _op("This server", "Instance"),
    "GET /api/v1/instance/domain_blocks": _op("The servers this one blocks", "[DomainRule]"),
    "GET /api/openapi.json": _op("This description of the API", "Empty"),
    # For You's preferences.
    "GET /api/v1/for_you/preferences": _op("More or less of what in For You", "[FeedPreference]"),
    "POST /api/v1/for_you/preferences": _op("Ask for more or less of a tag or an account",
                                            "FeedPreference",
                                            body=("direction!", "tag", "account_id", "status_id")),
    "DELETE /api/v1/for_you/preferences/{preference_id}": _op("Forget a preference"),
    # Cameos: a person's likeness, and who may use it.
    "POST /api/v1/cameos": _op("Make a cameo", "Cameo", status=201,
                               body=("name!", "instructions", "permission", "approval",
                                     "references!:file", "preview:file")),
    "GET /api/v1/cameos": _op("One's own cameos", "[Cameo]"),
    "GET /api/v1/cameos/lookup": _op("A cameo by its URI, as the remix composer shows it", "Cameo",
                                     query=("uri!",)),
    "GET /api/v1/cameos/{cameo_id}": _op("One of one's own cameos", "Cameo"),
    "PATCH /api/v1/cameos/{cameo_id}": _op("Edit a cameo", "Cameo",
                                           body=("name", "instructions", "permission", "approval",
                                                 "paused:boolean", "preview:file")),
    "DELETE /api/v1/cameos/{cameo_id}": _op("Delete a cameo, withdrawing every consent given with it"),
    "GET /api/v1/accounts/{account_id}/cameos": _op("The cameos of an account one may ask to use",
                                                    "[Cameo]"),
    # A person's archive, and what they bring from another server.
    "POST /api/v1/archives": _op("Ask for one's archive (once every 7 days); a worker builds it",
                                 "Archive", status=202),
    "GET /api/v1/archives": _op("One's archives, with their state and progress", "[Archive]"),
    "GET /api/v1/archives/{archive_id:id}": _op("One archive, with its state and progress", "Archive"),
    "GET /api/v1/archives/{archive_id:id}/download": _op("Download a ready archive (a zip)", None,
                                                         media="application/zip"),
    "POST /api/v1/imports/{type}": _op("Import {action}: a Mastodon CSV export, or a Likeness archive",
                                       "ImportResult", body=("data!:file",)),
    # Remixes and the consent asked of cameo owners.
    "GET /api/v1/remix_requests": _op("Requests to use one's cameos", "[RemixRequest]"),
    "GET /api/v1/imported_authorizations": _op("Consent one gave on a former server, in one's archive",
                                               "[ImportedAuthorization]"),
    "POST /api/v1/imported_authorizations/{authorization_id}/revoke": _op(
        "Revoke, from here, consent given on a former server", "ImportedAuthorization"),
    "POST /api/v1/remix_requests/{request_id}/{action}": _op("{action} a request to use a cameo",
                                                             "RemixRequest", body=("reason",)),
    "POST /api/v1/remixes": _op("Start a remix: ask every cameo owner, then render", "Remix",
                                status=201, body=("prompt!", "cameos!:array", "duration_s:number")),
    "GET /api/v1/remixes/{remix_id}": _op("A remix and its consent", "Remix"),
    "POST /api/v1/remixes/{remix_id}/generation": _op("Queue a remix's render again", "Remix", status=202,
                                                      body=("duration_s:number",)),
    "POST /api/v1/remixes/{remix_id}/publish": _op("Post a rendered remix", "Remix", status=201,
                                                   body=("status", "media_id", "visibility")),
    # Generations: renders of a prompt.
    "POST /api/v1/generations": _op("Render a prompt", "Generation", status=201,
                                    body=("prompt!", "cameo_ids:array", "duration_s:number")),
    "GET /api/v1/generations": _op("One's renders", "[Generation]"),
    "GET /api/v1/generations/{job_id}": _op("A render", "Generation"),
    "DELETE /api/v1/generations/{job_id}": _op("Delete a render's draft"),
    "POST /api/v1/generations/{job_id}/cancel": _op("Cancel a render", "Generation"),
    "GET /api/v1/generations/{job_id}/events": _op("A render's progress as server-sent events "
                                                   "(each event's data a Generation)", None,
                                                   media="text/event-stream"),
    # The admin API.
    "GET /api/v1/admin/accounts": _op("Accounts, for moderators", "[AdminAccount]", paged=True),
    "GET /api/v2/admin/accounts": _op("Accounts, for moderators", "[AdminAccount]", paged=True),
    "GET /api/v1/admin/accounts/{account_id}": _op("An account, for moderators", "AdminAccount"),
    "DELETE /api/v1/admin/accounts/{account_id}": _op("Erase a suspended account", "AdminAccount"),
    "POST /api/v1/admin/accounts/{account_id}/action": _op(
        "Act on an account", body=("type!", "report_id", "text", "send_email_notification:boolean")),
    "POST /api/v1/admin/accounts/{account_id}/{undo}": _op("{undo} an account", "AdminAccount"),
    "POST /api/v1/admin/accounts/{account_id}/role": _op("Set an account's role", "AdminAccount",
                                                         body=("role!",)),
    "GET /api/v1/admin/public_figures": _op("Accounts marked as public figures", "[Account]"),
    "POST /api/v1/admin/accounts/{account_id}/public_figure": _op("Mark a public figure", "Account"),
    "DELETE /api/v1/admin/accounts/{account_id}/public_figure": _op("Unmark a public figure", "Account"),
    "POST /api/v1/admin/accounts/{account_id}/verified_identity": _op(
        "Record who a local account is (form: identity), as staff verified it", "Account"),
    "DELETE /api/v1/admin/accounts/{account_id}/verified_identity": _op(
        "Clear a local account's verified identity", "Account"),
    "GET /api/v1/admin/reports": _op("Reports", "[AdminReport]", paged=True,
                                     query=("resolved:boolean",)),
    "GET /api/v1/admin/reports/{report_id}": _op("A report", "AdminReport"),
    "POST /api/v1/admin/reports/{report_id}/{move}": _op("{move} a report", "AdminReport"),
    "POST /api/v1/admin/statuses/{status_id}/action": _op("Act on a post", body=("type!", "report_id")),
    "POST /api/v1/admin/cameos/{cameo_id}/action": _op("Act on a cameo", body=("type!", "report_id")),
    "GET /api/v1/admin/generations": _op("Renders held for review", "[Generation]"),
    "GET /api/v1/admin/generations/{job_id}": _op("A render held for review", "Generation"),
    "POST /api/v1/admin/generations/{job_id}/release": _op("Release a held render", "Generation"),
    "POST /api/v1/admin/generations/{job_id}/reject": _op("Reject a held render", "Generation"),
    "GET /api/v1/admin/domain_blocks": _op("Blocked servers", "[DomainRule]", paged=True),
    "POST /api/v1/admin/domain_blocks": _op("Block a server", "DomainRule",
                                            body=("domain!", "severity", "reject_media:boolean",
                                                  "private_comment", "public_comment")),
    "GET /api/v1/admin/domain_blocks/export": _op("Blocked servers as Mastodon's CSV", None,
                                                  media="text/csv"),
    "POST /api/v1/admin/domain_blocks/import": _op("Import Mastodon's CSV of blocked servers",
                                                   body=("data:file",)),
    "GET /api/v1/admin/domain_blocks/{block_id:id}": _op("A blocked server", "DomainRule"),
    "PUT /api/v1/admin/domain_blocks/{block_id:id}": _op("Change a block", "DomainRule",
                                                         body=("severity", "reject_media:boolean",
                                                               "private_comment", "public_comment")),
    "DELETE /api/v1/admin/domain_blocks/{block_id:id}": _op("Unblock a server"),
    "GET /api/v1/admin/domain_allows": _op("Allowed servers", "[DomainRule]", paged=True),
    "POST /api/v1/admin/domain_allows": _op("Allow a server", "DomainRule", body=("domain!",)),
    "GET /api/v1/admin/domain_allows/{allow_id:id}": _op("An allowed server", "DomainRule"),
    "DELETE /api/v1/admin/domain_allows/{allow_id:id}": _op("Stop allowing a server"),
    "GET /api/v1/admin/federation_mode": _op("Whether this server federates with all or an allow-list",
                                             "FederationMode"),
    "PUT /api/v1/admin/federation_mode": _op("Switch the federation mode", "FederationMode",
                                             body=("mode!",)),
    "GET /api/v1/admin/prompt_terms": _op("Prompt terms refused", "[PromptTerm]"),
    "POST /api/v1/admin/prompt_terms": _op("Refuse a prompt term", "PromptTerm", status=201,
                                           body=("term!", "category")),
    "DELETE /api/v1/admin/prompt_terms/{term_id}": _op("Stop refusing a prompt term"),
    "GET /api/v1/admin/prompt_refusals": _op("Prompts refused", "[Empty]", paged=True),
}

_TYPES = {"integer", "boolean", "number", "array", "file", "object"}


def openapi_path(template: str) -> str:
    """Starlette's path template as OpenAPI writes it: `{status_id:id}` -> `{status_id}`."""
    return re.sub(r"\{([^}:]+)(:[^}]+)?\}", r"{\1}", template)


def _field(spec: str) -> tuple[str, bool, dict[str, Any]]:
    """(name, required, schema) of a field written as the module's docstring says."""
    name, _, kind = spec.partition(":")
    required = name.endswith("!")
    name = name.rstrip("!")
    if kind and kind not in _TYPES:
        raise ValueError(f"unknown field type in {spec!r}")
    schema: dict[str, Any] = {
        "": STRING, "array": _list(STRING), "object": ANY_OBJECT,
        "file": {"type": "string", "contentMediaType": "application/octet-stream"},
    }.get(kind, {"type": kind})
    return name, required, schema


def _body(fields: tuple[str, ...]) -> dict[str, Any]:
    parsed = [_field(spec) for spec in fields]
    schema = {"type": "object", "properties": {name: schema for name, _, schema in parsed},
              "required": [name for name, required, _ in parsed if required]}
    forms = ("multipart/form-data",) if any(spec.endswith(":file") for spec in fields) else (
        "application/json", "application/x-www-form-urlencoded", "multipart/form-data")
    return {"required": bool(schema["required"]), "content": {form: {"schema": schema} for form in forms}}


def _security(key: str, action: str | None) -> list[dict[str, list[str]]]:
    """The scopes server/scopes.py asks of an app's token here, any one of which will do (its
    parent scope also will, as OAuth2 reads `read` to cover `read:statuses`); none on a public
    route."""
    method, template = key.split(" ", 1)
    last = template.rsplit("/", 1)[-1].strip("{}").split(":")[0]
    needed = scopes.needed(method, template, {last: action} if action else {})
    if needed is None:
        raise ValueError(f"{key} has no scope in server/scopes.py")
    if not needed and template not in scopes.PUBLIC:
        return [{"OAuth2": []}]  # any token, whatever its scopes (scopes.ANY_SCOPE)
    return [{"OAuth2": [scope]} for scope in needed]


def _operation(key: str, op: Operation, path: str, action: str | None) -> dict[str, Any]:
    method, template = key.split(" ", 1)
    fixed = {template.rsplit("/", 1)[-1]} if action else set()
    params: list[dict[str, Any]] = [
        {"name": name, "in": "path", "required": True, "schema": STRING}
        for name in re.findall(r"\{([^}:]+)", template) if f"{{{name}}}" not in fixed]
    for spec in op.query:
        name, required, schema = _field(spec)
        params.append({"name": name, "in": "query", "required": required, "schema": schema})
    summary = op.summary.format(action=action, undo=action, move=action)
    ok: dict[str, Any] = {"description": summary[0].upper() + summary[1:]}
    if op.returns is not None:
        schema = _list(_ref(op.returns[1:-1])) if op.returns.startswith("[") else _ref(op.returns)
        ok["content"] = {op.media: {"schema": schema}}
    elif op.media:
        ok["content"] = {op.media: {"schema": STRING}}
    if op.paged:
        ok["headers"] = {"Link": {"description": "Mastodon's paging: `next` to older, `prev` to newer",
                                  "schema": STRING}}
    described: dict[str, Any] = {
        # Unique as the path is: `/api/v1/instance/` is not `/api/v1/instance`.
        "operationId": method.lower() + re.sub(r"[^A-Za-z0-9]", "_", path.replace("{", "").replace("}", "")),
        "summary": ok["description"],
        "security": _security(key, action),
        "parameters": params,
        "responses": {**{str(status): ok for status in op.statuses},
                      "4XX": {"$ref": "#/components/responses/Error"}},
    }
    if op.body:
        described["requestBody"] = _body(op.body)
    return described


def document(base_url: str) -> dict[str, Any]:
    """The whole OpenAPI document, its URLs on `base_url`."""
    paths: dict[str, dict[str, Any]] = {}
    for key, op in OPERATIONS.items():
        method, template = key.split(" ", 1)
        entry = scopes.ENDPOINTS.get(key)
        actions = list(entry) if isinstance(entry, dict) else [None]
        for action in actions:
            path = openapi_path(template.rsplit("/", 1)[0] + f"/{action}" if action else template)
            paths.setdefault(path, {})[method.lower()] = _operation(key, op, path, action)
    flows = {"scopes": dict(scopes.WORDS), "tokenUrl": f"{base_url}/oauth/token"}
    return {
        "openapi": "3.1.0",
        "info": {"title": "Likeness client API", "version": VERSION,
                 "description": "Mastodon's client API, and Likeness's cameos, remixes and renders."},
        "servers": [{"url": base_url}],
        "paths": paths,
        "components": {
            "schemas": SCHEMAS,
            "responses": {"Error": {"description": "Refused, with the reason",
                                    "content": {"application/json": {"schema": _ref("Error")}}}},
            "securitySchemes": {"OAuth2": {"type": "oauth2", "flows": {
                "authorizationCode": {**flows, "authorizationUrl": f"{base_url}/oauth/authorize"},
                "password": flows, "clientCredentials": flows}}},
        },
    }


async def openapi_json(request: Request) -> Response:
    return JSONResponse(document(fed(request).base_url))


routes = [Route("/api/openapi.json", openapi_json)]
