"""Discovery: WebFinger (RFC 7033), host-meta and NodeInfo 2.1."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from federation import store as fstore

from . import accounts, store
from .http import error, fed, pool
from .runtime import VERSION

_HOST = re.compile(r"(?:[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?")


def _malformed(resource: str) -> str | None:
    """Why `resource` is no URI a WebFinger query can name (RFC 7033 4.2 answers 400), or None:
    a well-formed one that names nobody here is a 404."""
    if any(char.isspace() or ord(char) < 0x20 for char in resource):
        return "resource holds whitespace or control characters"
    if resource.startswith("acct:"):
        name, _, host = resource[5:].lstrip("@").partition("@")
        if not name or not _HOST.fullmatch(host):
            return "resource must look like acct:user@host"
        return None
    try:
        parts = urlsplit(resource)
    except ValueError:
        return "resource is not a URI"
    if not re.fullmatch(r"[A-Za-z][A-Za-z0-9+.-]*", parts.scheme or "") \
            or parts.scheme.lower() in ("http", "https") and not _HOST.fullmatch(parts.netloc):
        return "resource is not a URI"
    return None


async def webfinger(request: Request) -> Response:
    resource = request.query_params.get("resource")
    if not resource:
        return error(400, "the resource parameter is required")
    problem = _malformed(resource)
    if problem is not None:
        return error(400, problem)
    federation = fed(request)
    username = None
    if resource.startswith("acct:"):
        name, _, host = resource[5:].lstrip("@").partition("@")
        if host.lower() != federation.domain.lower():
            return error(404, "that account is not on this server")
        username = name
    elif resource.startswith(federation.base_url + "/users/"):
        username = resource.removeprefix(federation.base_url + "/users/")
    elif resource in (federation.instance_actor_uri, federation.base_url, federation.base_url + "/"):
        username = None
    else:
        return error(404, "unknown resource")
    if username is None or username.lower() == federation.domain.split(":")[0].lower():
        actor = await fstore.actor_by_uri(pool(request), federation.instance_actor_uri)
    else:
        actor = await fstore.local_actor(pool(request), username)
    if actor is None:
        return error(404, "no such account")
    return JSONResponse({
        "subject": f"acct:{actor['username']}@{federation.domain}",
        "aliases": [actor["uri"], actor["url"] or actor["uri"]],
        "links": [
            {"rel": "self", "type": "application/activity+json", "href": actor["uri"]},
            {"rel": "http://webfinger.net/rel/profile-page", "type": "text/html",
             "href": f"{federation.base_url}/@{actor['username']}"},
        ],
    }, media_type="application/jrd+json", headers={"Access-Control-Allow-Origin": "*"})


async def host_meta(request: Request) -> Response:
    base = fed(request).base_url
    xml = ('<?xml version="1.0" encoding="UTF-8"?>\n'
           '<XRD xmlns="http://docs.oasis-open.org/ns/xri/xrd-1.0">\n'
           f'  <Link rel="lrdd" template="{base}/.well-known/webfinger?resource={{uri}}"/>\n'
           '</XRD>\n')
    return Response(xml, media_type="application/xrd+xml")


async def nodeinfo_links(request: Request) -> Response:
    base = fed(request).base_url
    return JSONResponse({"links": [
        {"rel": "http://nodeinfo.diaspora.software/ns/schema/2.1", "href": f"{base}/nodeinfo/2.1"},
    ]})


async def nodeinfo(request: Request) -> Response:
    instance = request.app.state.instance
    counts = await store.usage(pool(request))
    open_ = await accounts.registrations_open(pool(request), instance.settings.registrations_open)
    return JSONResponse({
        "version": "2.1",
        "software": {"name": "likeness", "version": VERSION,
                     "repository": instance.settings.source_url, "homepage": fed(request).base_url},
        "protocols": ["activitypub"],
        "services": {"inbound": [], "outbound": []},
        "openRegistrations": open_,
        "usage": {"users": {"total": counts["users"], "activeMonth": counts["users"],
                            "activeHalfyear": counts["users"]},
                  "localPosts": counts["posts"], "localComments": counts["comments"]},
        "metadata": {"nodeName": instance.settings.instance_name,
                     "generation": {"available": False},
                     "httpSignatures": ["cavage", "rfc9421"]},
    }, media_type='application/json; profile="http://nodeinfo.diaspora.software/ns/schema/2.1#"')


routes = [
    Route("/.well-known/webfinger", webfinger),
    Route("/.well-known/host-meta", host_meta),
    Route("/.well-known/nodeinfo", nodeinfo_links),
    Route("/nodeinfo/2.1", nodeinfo),
]
