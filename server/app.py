"""The Starlette application."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from . import activitypub, metrics, scopes, store, wellknown
from .admin import account_deletion
from .admin import accounts as admin_accounts
from .admin import generations as admin_generations
from .admin import prompts as prompt_admin
from .admin import reports as admin_reports
from .admin import rules as admin_rules
from .api import (
    account_moves,
    accounts,
    archives,
    bookmarks,
    cameos,
    conversations,
    filters,
    follows,
    for_you,
    generations,
    instance_content,
    interactions,
    lists,
    markers,
    media,
    mutes,
    notifications,
    oauth,
    openapi,
    pins,
    preferences,
    push,
    remixes,
    reports,
    search,
    status_edits,
    statuses,
    streaming,
    tags,
    timelines,
    trends,
)
from .api import instance as instance_api
from .config import Settings
from .http import RefuseBadText, TokenScopes, current_user, error
from .media import stored_response
from .runtime import Instance
from .safety import is_staff
from .store import Record
from .web import pages, webapp

log = logging.getLogger(__name__)


async def _may_fetch(request: Request, key: str, row: Record) -> bool:
    """Whether this request may have a file that is not public. A held one is for staff only,
    by token; one private to its owner is for the owner's token, or a link signed for it."""
    if row["held"]:
        return await is_staff(request)
    if not row["private"]:
        return True
    links = request.app.state.instance.links
    if links.allows(key, request.query_params.get("expires"), request.query_params.get("signature")):
        return True
    user = await current_user(request, required=False)
    return user is not None and user["actor_id"] == row["owner_id"]


async def serve_media(request: Request) -> Response:
    """Uploaded files and posters; media of deleted posts answer 410. What is not public answers
    404 to whoever may not have it, so that it is not known to exist (`_may_fetch`), and is never
    kept by a shared cache."""
    instance: Instance = request.app.state.instance
    key = request.path_params["key"]
    row = await store.media_by_storage_key(instance.pool, key)
    if row is None or not await _may_fetch(request, key, row):
        return error(404, "no such file")
    if row["deleted"]:
        return error(410, "this media was deleted")
    assert instance.media is not None
    # What is not public is never kept by a shared cache, which would serve it to anyone, and
    # never sent to the CDN.
    response = await stored_response(request, instance.media, key, row["media_type"],
                                     private=row["held"] or row["private"])
    if response.status_code == 404:
        return error(404, "no such file")
    return response


def scope_checked(route: BaseRoute) -> BaseRoute:
    """A copy of `route` behind the check of an app token's scopes (server/scopes.py), unless it
    is public. A copy, since the route lists are shared by every app made in one process."""
    if not isinstance(route, Route) or route.path in scopes.PUBLIC:
        return route
    return Route(route.path, route.endpoint, methods=route.methods, name=route.name,
                 middleware=[Middleware(TokenScopes)])


async def http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    return error(exc.status_code, exc.detail, headers=exc.headers)


def create_app(settings: Settings | None = None, instance: Instance | None = None) -> Starlette:
    """The app for `settings`; with `instance` given, its lifecycle belongs to the caller."""
    owned = instance is None
    instance = instance or Instance(settings or Settings.from_env())

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        if owned:
            await instance.start()
        try:
            yield
        finally:
            if owned:
                await instance.stop()

    # The client API's fixed paths come before `/statuses/{status_id}/{action}`, which would take them.
    routes = [*wellknown.routes, *activitypub.routes, *oauth.routes, *follows.routes, *interactions.routes,
              *bookmarks.routes, *mutes.routes, *pins.routes, *notifications.routes, *preferences.routes,
              *instance_content.routes, *tags.routes, *trends.routes, *filters.routes, *lists.routes,
              *conversations.routes, *accounts.routes, *statuses.routes, *timelines.routes,
              *search.routes, *media.routes, *instance_api.routes, *cameos.routes, *account_moves.routes,
              *remixes.routes, *generations.routes, *admin_generations.routes, *prompt_admin.routes,
              *admin_rules.routes, *reports.routes, *admin_accounts.routes, *admin_reports.routes,
              *account_deletion.routes, *markers.routes, *push.routes, *status_edits.routes,
              *archives.routes,
              *for_you.routes, *openapi.routes, *pages.routes, *webapp.routes(), *metrics.routes,
              Route("/media/{key:path}", serve_media, methods=["GET", "HEAD"])]
    app = Starlette(
        # The streaming API checks its tokens itself, refusing with 401 as Mastodon's does.
        routes=[*(scope_checked(route) for route in routes), *streaming.routes],
        exception_handlers={HTTPException: http_error},
        middleware=[Middleware(metrics.RequestMetrics), Middleware(RefuseBadText)],
        lifespan=lifespan,
    )
    app.state.instance = instance
    return app
