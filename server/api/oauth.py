"""OAuth 2 as Mastodon clients use it: app registration, the authorization-code flow (with PKCE),
the password and client-credentials grants, revocation and the server metadata.

Clients are picky (README "Client API"): every endpoint takes form and JSON bodies, the token
response echoes the scopes granted, and errors on the token endpoint use OAuth's
`{"error", "error_description"}` shape.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from html import escape
from typing import Any
from urllib.parse import urlencode, urlsplit

import asyncpg
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from federation import inputs, streams

from .. import accounts, scopes, store
from ..http import bearer_token, error, fed, parsed_url, pool, read_params
from ..rate_limits import login_name, rate_limited
from ..web.pages import page
from . import push

OOB = "urn:ietf:wg:oauth:2.0:oob"
CODE_LIFETIME_S = 600
MAX_NAME = 200
MAX_URI = 2000
MAX_REDIRECT_URIS = 10
# Schemes an app may not be sent back to: they would run in the browser, not reach the app.
_UNSAFE_SCHEMES = {"javascript", "data", "vbscript", "file", "blob"}


class OAuthError(Exception):
    """A refused OAuth request: `code` is OAuth's error code, the message its description."""

    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.code, self.message, self.status = code, message, status


# Doorkeeper's answer to a revocation the client may not make (RFC 7009 section 2.2.1).
_NOT_YOURS = OAuthError("unauthorized_client", "You are not authorized to revoke this token", 403)


def _oauth_error(exc: OAuthError) -> JSONResponse:
    return JSONResponse({"error": exc.code, "error_description": exc.message}, status_code=exc.status)


def _redirect_uris(raw: Any) -> list[str]:
    """Mastodon takes one URI, several separated by blanks or new lines, or a list."""
    uris = raw if isinstance(raw, list) else str(raw or "").split()
    if not uris:
        raise OAuthError("invalid_request", "redirect_uris is required (use urn:ietf:wg:oauth:2.0:oob"
                                            " for apps that show the code)", 422)
    if len(uris) > MAX_REDIRECT_URIS:
        raise OAuthError("invalid_request", f"at most {MAX_REDIRECT_URIS} redirect_uris", 422)
    for uri in uris:
        if not isinstance(uri, str) or len(uri) > MAX_URI:
            raise OAuthError("invalid_request", "a redirect URI must be text of at most 2000 characters", 422)
        parts = parsed_url(uri)
        if uri != OOB and (parts is None or not parts.scheme or parts.scheme.lower() in _UNSAFE_SCHEMES
                           or parts.fragment or (parts.scheme in ("http", "https") and not parts.netloc)):
            raise OAuthError("invalid_request", f"{uri[:100]!r} is not a redirect URI an app can use", 422)
    return list(dict.fromkeys(uris))


async def create_app(request: Request) -> Response:
    """`POST /api/v1/apps`: register a client; its secret is shown this once."""
    params = await read_params(request, limit=64 * 1024)
    name = params.get("client_name")
    if not isinstance(name, str) or not name.strip() or len(name) > MAX_NAME:
        return error(422, f"client_name is required, at most {MAX_NAME} characters")
    website = params.get("website") or None
    if website is not None and (not isinstance(website, str) or len(website) > MAX_URI
                                or getattr(parsed_url(website), "scheme", None) not in ("http", "https")):
        return error(422, "website must be an http(s) URL")
    try:
        uris = _redirect_uris(params.get("redirect_uris"))
        granted = scopes.parse(params.get("scopes"))
    except OAuthError as exc:
        return error(exc.status, exc.message)
    except scopes.ScopeError as exc:
        return error(422, str(exc))
    client_id, client_secret = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    app = await store.insert_app(pool(request), name=name.strip(), website=website, redirect_uris=uris,
                                 scopes=" ".join(granted), client_id=client_id,
                                 client_secret_hash=accounts.secret_hash(client_secret))
    return JSONResponse({**_app_json(request, app), "client_id": client_id, "client_secret": client_secret,
                         "client_secret_expires_at": 0})


def _app_json(request: Request, app: asyncpg.Record) -> dict[str, Any]:
    return {"id": str(app["id"]), "name": app["name"], "website": app["website"],
            "scopes": app["scopes"].split(), "redirect_uri": "\n".join(app["redirect_uris"]),
            "redirect_uris": list(app["redirect_uris"]), "vapid_key": push.server_key(request)}


async def verify_app(request: Request) -> Response:
    """`GET /api/v1/apps/verify_credentials`: the app a token belongs to."""
    token = bearer_token(request)
    app = await store.app_by_token(pool(request), accounts.secret_hash(token)) if token else None
    if app is None:
        return error(401, "this needs a token issued to an app")
    return JSONResponse(_app_json(request, app))


async def _client(params: dict[str, Any], request: Request, *, secret_required: bool = True
                  ) -> asyncpg.Record:
    """The app named by client_id, authenticated by its secret (in the body or Basic auth)."""
    client_id, client_secret = params.get("client_id"), params.get("client_secret")
    header = request.headers.get("authorization", "")
    if header.lower().startswith("basic "):
        try:
            credentials = base64.b64decode(header[6:]).decode()
        except ValueError:  # UnicodeDecodeError too
            credentials = None
        if credentials is None or inputs.text_problem(credentials) is not None:
            raise OAuthError("invalid_client", "the Basic credentials are malformed", 401)
        client_id, _, client_secret = credentials.partition(":")
    app = await store.app_by_client_id(pool(request), str(client_id)) if isinstance(client_id, str) else None
    if app is None:
        raise OAuthError("invalid_client", "unknown client_id", 401)
    if secret_required and not (isinstance(client_secret, str) and hmac.compare_digest(
            accounts.secret_hash(client_secret), bytes(app["client_secret_hash"]))):
        raise OAuthError("invalid_client", "wrong client_secret", 401)
    return app


def _token_response(token: str, granted: tuple[str, ...]) -> JSONResponse:
    return JSONResponse({"access_token": token, "token_type": "Bearer", "scope": " ".join(granted),
                         "created_at": int(time.time())})


def _pkce_ok(challenge: str | None, verifier: Any) -> bool:
    if challenge is None:
        return True
    if not isinstance(verifier, str) or not 43 <= len(verifier) <= 128:
        return False
    digest = hashlib.sha256(verifier.encode()).digest()
    return hmac.compare_digest(base64.urlsafe_b64encode(digest).decode().rstrip("="), challenge)


@rate_limited("login", account=login_name)
async def token(request: Request) -> Response:
    """`POST /oauth/token`: authorization_code, password and client_credentials grants."""
    params = await read_params(request, limit=64 * 1024)
    grant = params.get("grant_type")
    try:
        if grant == "authorization_code":
            app = await _client(params, request)
            code = params.get("code")
            row = await store.take_code(pool(request), accounts.secret_hash(code)) \
                if isinstance(code, str) else None
            if row is None or row["app_id"] != app["id"]:
                raise OAuthError("invalid_grant", "the code is unknown, used or expired")
            if params.get("redirect_uri") != row["redirect_uri"]:
                raise OAuthError("invalid_grant", "redirect_uri differs from the one authorized")
            if not _pkce_ok(row["code_challenge"], params.get("code_verifier")):
                raise OAuthError("invalid_grant", "code_verifier does not match the code_challenge")
            granted = tuple(row["scopes"].split())
            return _token_response(await accounts.issue_token(
                pool(request), row["user_id"], " ".join(granted), app["id"]), granted)
        if grant == "password":
            app = await _client(params, request) if params.get("client_id") else None
            granted = _requested(params, app, default=("read", "write", "follow", "push"))
            try:
                user = await accounts.login(pool(request), str(params.get("username") or ""),
                                            str(params.get("password") or ""))
            except accounts.AccountError as exc:
                raise OAuthError("invalid_grant", str(exc), exc.status) from None
            return _token_response(await accounts.issue_token(
                pool(request), user["id"], " ".join(granted), app["id"] if app else None), granted)
        if grant == "client_credentials":
            app = await _client(params, request)
            granted = _requested(params, app, default=("read",))
            return _token_response(await accounts.issue_token(
                pool(request), None, " ".join(granted), app["id"]), granted)
        raise OAuthError("unsupported_grant_type",
                         "grant_type must be authorization_code, password or client_credentials")
    except OAuthError as exc:
        return _oauth_error(exc)


def _requested(params: dict[str, Any], app: asyncpg.Record | None, *, default: tuple[str, ...]
               ) -> tuple[str, ...]:
    """The scopes asked for, within what the app registered (its own when none are named)."""
    allowed = tuple(app["scopes"].split()) if app else None
    try:
        requested = scopes.parse(params.get("scope") or params.get("scopes"), default=allowed or default)
    except scopes.ScopeError as exc:
        raise OAuthError("invalid_scope", str(exc)) from None
    if allowed is not None and not scopes.within(requested, allowed):
        raise OAuthError("invalid_scope", "the app did not register all of these scopes")
    return requested


async def revoke(request: Request) -> Response:
    """`POST /oauth/revoke` (RFC 7009, answered as Mastodon's Doorkeeper does): a token issued to
    an app is revoked only by that app, authenticated by its client_id and client_secret; any
    other caller gets 403 `unauthorized_client` and the token stays. A token issued to no app (a
    sign-up's, or a password grant's without a client, as this server's own app holds) is the
    bearer's to revoke. An unknown token is 200, so that a token cannot be probed."""
    params = await read_params(request, limit=64 * 1024)
    app = None
    if params.get("client_id") is not None or request.headers.get("authorization", "").lower().startswith(
            "basic "):
        try:
            app = await _client(params, request)
        except OAuthError:
            return _oauth_error(_NOT_YOURS)
    token = params.get("token")
    if not isinstance(token, str):
        return JSONResponse({})
    try:
        await accounts.revoke_token(pool(request), token, None if app is None else app["id"])
    except accounts.AccountError:
        return _oauth_error(_NOT_YOURS)
    # Its open streams end too, whichever web process serves them.
    await streams.token_revoked(fed(request), accounts.secret_hash(token))
    return JSONResponse({})


# --- the authorization-code flow: a sign-in page that sends the person back to the app ----------

async def _authorization(request: Request, params: dict[str, Any]
                         ) -> tuple[asyncpg.Record, str, tuple[str, ...]]:
    """The app, redirect URI and scopes of an authorization request, all checked."""
    if params.get("response_type") != "code":
        raise OAuthError("unsupported_response_type", "response_type must be code")
    app = await _client(params, request, secret_required=False)
    redirect_uri = params.get("redirect_uri")
    if redirect_uri not in app["redirect_uris"]:
        raise OAuthError("invalid_request", "redirect_uri is not one the app registered")
    if params.get("code_challenge") and params.get("code_challenge_method", "S256") != "S256":
        raise OAuthError("invalid_request", "code_challenge_method must be S256")
    return app, redirect_uri, _requested(params, app, default=("read",))


_FIELDS = ("response_type", "client_id", "redirect_uri", "scope", "state", "code_challenge",
           "code_challenge_method")


# The sign-in page is the app's own look (its stylesheet, no script), and names this server, so
# that nobody takes it for the other app's page. Its policy lets in nothing but that stylesheet
# and no framing. No `form-action`: browsers apply it to the redirect back to the app's own URI.
SIGN_IN_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="dark">
<title>{title}</title>
<link rel="stylesheet" href="/static/app/app.css">
</head><body><main id="main" class="screen narrow">{body}</main></body></html>"""
SIGN_IN_HEADERS = {
    "content-security-policy":
        "default-src 'none'; style-src 'self'; base-uri 'none'; frame-ancestors 'none'",
    "cache-control": "no-store", "referrer-policy": "no-referrer", "x-content-type-options": "nosniff",
}


def _sign_in(request: Request, app: asyncpg.Record, granted: tuple[str, ...], params: dict[str, Any],
             message: str = "", status: int = 200) -> HTMLResponse:
    """The page where a person signs in to this server and lets `app` in, with what it asks for."""
    settings = request.app.state.instance.settings
    server, domain, name = escape(settings.instance_name), escape(settings.domain), escape(app["name"])
    hidden = "".join(f'<input type="hidden" name="{field}" value="{escape(str(params[field]))}">'
                     for field in _FIELDS if isinstance(params.get(field), str))
    alert = f'<p class="error" role="alert">{escape(message)}</p>' if message else ""
    asks = "".join(f"<li>{escape(sentence)}</li>" for sentence in scopes.in_words(granted))
    body = (f"<h1>Sign in to {server}</h1>"
            f'<p class="hint">You are signing in on <strong>{domain}</strong>, your account\'s server.</p>'
            f"<p><strong>{name}</strong>, another app, wants access to your account. It asks to:</p>"
            f'<ul class="scope-list">{asks}</ul>{alert}'
            f'<form method="post" action="/oauth/authorize" class="stack">{hidden}'
            f'<div class="field"><label class="label" for="username">Username or email</label>'
            f'<input id="username" name="username" autocomplete="username" required></div>'
            f'<div class="field"><label class="label" for="password">Password</label>'
            f'<input id="password" name="password" type="password" autocomplete="current-password" required>'
            f'<span class="hint">Only {domain} sees it: {name} never does.</span></div>'
            f'<div class="card-actions start"><button class="button primary" name="decision" value="allow">'
            f"Let {name} in</button>"
            f'<button class="button" name="decision" value="deny" formnovalidate>Deny</button></div></form>')
    title = f"Sign in to {settings.instance_name} ({settings.domain}) — {app['name']} wants access"
    return HTMLResponse(SIGN_IN_PAGE.format(title=escape(title), body=body), status_code=status,
                        headers=SIGN_IN_HEADERS)


async def authorize_page(request: Request) -> Response:
    """`GET /oauth/authorize`: the page where a person signs in and lets the app in."""
    params = dict(request.query_params)
    try:
        app, _, granted = await _authorization(request, params)
    except OAuthError as exc:
        return page("Cannot authorize", f"<h1>Cannot authorize</h1><p>{escape(exc.message)}</p>", status=400)
    return _sign_in(request, app, granted, params)


def _back_to_app(redirect_uri: str, values: dict[str, str]) -> Response:
    if redirect_uri == OOB:
        if "code" not in values:
            return page("Not authorized", "<h1>Not authorized</h1><p>You can close this page.</p>")
        return page("Your code", f"<h1>Your authorization code</h1><p>Copy it into the app:</p>"
                                 f"<p><code>{escape(values['code'])}</code></p>")
    sep = "&" if urlsplit(redirect_uri).query else "?"
    return RedirectResponse(f"{redirect_uri}{sep}{urlencode(values)}", status_code=303)


@rate_limited("login", account=login_name)
async def authorize(request: Request) -> Response:
    """`POST /oauth/authorize`: sign in and allow (or deny), then back to the app with a code.

    The password is asked every time, so a page on another site cannot make a signed-in
    browser authorize an app (no cookie is trusted here)."""
    params = await read_params(request, limit=64 * 1024)
    try:
        app, redirect_uri, granted = await _authorization(request, params)
    except OAuthError as exc:
        return page("Cannot authorize", f"<h1>Cannot authorize</h1><p>{escape(exc.message)}</p>", status=400)
    state = {"state": params["state"]} if isinstance(params.get("state"), str) else {}
    if params.get("decision") != "allow":
        return _back_to_app(redirect_uri, {"error": "access_denied", **state})
    try:
        user = await accounts.login(pool(request), str(params.get("username") or ""),
                                    str(params.get("password") or ""))
    except accounts.AccountError as exc:
        return _sign_in(request, app, granted, params, str(exc), status=exc.status)
    code = secrets.token_urlsafe(32)
    challenge = params.get("code_challenge") if isinstance(params.get("code_challenge"), str) else None
    await store.insert_code(pool(request), accounts.secret_hash(code), app_id=app["id"], user_id=user["id"],
                            redirect_uri=redirect_uri, scopes=" ".join(granted), code_challenge=challenge,
                            lifetime_s=CODE_LIFETIME_S)
    return _back_to_app(redirect_uri, {"code": code, **state})


async def metadata(request: Request) -> Response:
    """RFC 8414 server metadata, as Mastodon 4.3 serves it: clients find the endpoints here."""
    base = fed(request).base_url
    return JSONResponse({
        "issuer": f"{base}/", "authorization_endpoint": f"{base}/oauth/authorize",
        "token_endpoint": f"{base}/oauth/token", "revocation_endpoint": f"{base}/oauth/revoke",
        "app_registration_endpoint": f"{base}/api/v1/apps",
        "scopes_supported": list(scopes.KNOWN),
        "response_types_supported": ["code"], "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code", "password", "client_credentials"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "code_challenge_methods_supported": ["S256"],
        "service_documentation": f"{base}/about",
    })


routes = [
    Route("/api/v1/apps", create_app, methods=["POST"]),
    Route("/api/v1/apps/verify_credentials", verify_app),
    Route("/oauth/authorize", authorize_page),
    Route("/oauth/authorize", authorize, methods=["POST"]),
    Route("/oauth/token", token, methods=["POST"]),
    Route("/oauth/revoke", revoke, methods=["POST"]),
    Route("/.well-known/oauth-authorization-server", metadata),
]
