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
from starlette.routing import Route

from . import (
    account_deletion,
    activitypub,
    admin_accounts,
    admin_generations,
    admin_reports,
    admin_rules,
    api,
    cameos,
    for_you,
    generations,
    oauth,
    pages,
    prompt_admin,
    remixes,
    reports,
    store,
    webapp,
    wellknown,
)
from .config import Settings
from .http import RefuseBadText, error
from .media import media_response
from .runtime import Instance
from .safety import is_staff

log = logging.getLogger(__name__)


async def serve_media(request: Request) -> Response:
    """Uploaded files and posters; media of deleted posts answer 410. A draft held for
    moderation is for staff only: to anyone else it does not exist."""
    instance: Instance = request.app.state.instance
    key = request.path_params["key"]
    row = await store.media_by_storage_key(instance.pool, key)
    if row is None or row["held"] and not await is_staff(request):
        return error(404, "no such file")
    if row["deleted"]:
        return error(410, "this media was deleted")
    try:
        path = instance.media.path(key)
    except ValueError:
        return error(404, "no such file")
    if not path.is_file():
        return error(404, "no such file")
    response = media_response(request, path, row["media_type"])
    if row["held"]:
        # Never kept by a shared cache, which would serve it to anyone.
        response.headers["cache-control"] = "private, no-store"
    return response


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

    app = Starlette(
        routes=[*wellknown.routes, *activitypub.routes, *oauth.routes, *api.routes, *cameos.routes,
                *remixes.routes, *generations.routes, *admin_generations.routes, *prompt_admin.routes,
                *admin_rules.routes, *reports.routes, *admin_accounts.routes, *admin_reports.routes,
                *account_deletion.routes,
                *for_you.routes, *pages.routes, *webapp.routes(),
                Route("/media/{key:path}", serve_media, methods=["GET", "HEAD"])],
        exception_handlers={HTTPException: http_error},
        middleware=[Middleware(RefuseBadText)],
        lifespan=lifespan,
    )
    app.state.instance = instance
    return app
