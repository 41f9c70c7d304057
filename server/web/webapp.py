"""The web app: one HTML shell for every `/app/...` route, and its files under `/static/`.

There is no build step. The shell carries an import map that names every module with a hash of
its content (`main.js?v=3f2a...`): a file asked for with its current hash is cached for a year,
anything else is revalidated (ETag), so a deploy is picked up at the next page load without a
bundler. Hashes follow the files' modification times, so an edited file is seen without a restart.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from collections.abc import Awaitable, Callable
from html import escape
from pathlib import Path
from string import Template

import anyio.to_thread
from starlette.datastructures import Headers, QueryParams
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import NotModifiedResponse, StaticFiles
from starlette.types import Scope

STATIC_DIR = Path(__file__).parent / "static"
APP_DIR = STATIC_DIR / "app"
SHELL = Template((Path(__file__).parent / "templates" / "app.html").read_text())

IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"
# Python's mimetypes depends on the machine's tables; these are the types browsers insist on
# (a module script must be served as JavaScript).
TYPES = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8", ".png": "image/png"}


class Versions:
    """Content hashes of the static files, kept while a file's size and mtime stay the same."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._seen: dict[str, tuple[int, int, str]] = {}

    def of(self, relative: str) -> str | None:
        """The hash of a file of ours (reads it when it changed: call it off the event loop)."""
        path = self.root / relative
        try:
            info = path.stat()
        except OSError:
            return None
        known = self.known(relative, info)
        if known:
            return known
        digest = hashlib.sha256(path.read_bytes()).hexdigest()[:16]
        self._seen[relative] = (info.st_mtime_ns, info.st_size, digest)
        return digest

    def known(self, relative: str, info: os.stat_result) -> str | None:
        """The hash taken when the file last had this size and mtime, if any; no I/O."""
        seen = self._seen.get(relative)
        return seen[2] if seen and seen[:2] == (info.st_mtime_ns, info.st_size) else None

    def url(self, relative: str) -> str:
        return f"/static/{relative}?v={self.of(relative)}"

    def import_map(self) -> dict[str, dict[str, str]]:
        """Every module of the app, mapped to its versioned URL."""
        modules = sorted(p.relative_to(self.root).as_posix() for p in APP_DIR.rglob("*.js"))
        return {"imports": {f"/static/{m}": self.url(m) for m in modules}}


class Assets(StaticFiles):
    """Static files with the caching above and the content types browsers require."""

    def __init__(self, versions: Versions) -> None:
        super().__init__(directory=versions.root)
        self.versions = versions

    def file_response(self, full_path: os.PathLike[str] | str, stat_result: os.stat_result,
                      scope: Scope, status_code: int = 200) -> Response:
        relative = Path(full_path).relative_to(self.versions.root.resolve()).as_posix()
        wanted = QueryParams(scope.get("query_string", b"")).get("v")
        current = wanted is not None and wanted == self.versions.known(relative, stat_result)
        headers = {"cache-control": IMMUTABLE if current else REVALIDATE,
                   "x-content-type-options": "nosniff"}
        response = FileResponse(full_path, status_code=status_code, stat_result=stat_result,
                                headers=headers, media_type=TYPES.get(Path(full_path).suffix))
        if self.is_not_modified(response.headers, Headers(scope=scope)):
            return NotModifiedResponse(response.headers)
        return response


def _csp(import_map: str, *, https: bool) -> str:
    # The import map is the page's one inline script: allowed by its hash, nothing else inline.
    digest = base64.b64encode(hashlib.sha256(import_map.encode()).digest()).decode()
    # Videos and pictures of remote posts come from their servers; plain http only on a test
    # instance that itself runs without TLS.
    remote = "https:" if https else "https: http:"
    return (f"default-src 'self'; script-src 'self' 'sha256-{digest}'; style-src 'self'; "
            f"img-src 'self' data: blob: {remote}; media-src 'self' blob: {remote}; "
            "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
            "frame-ancestors 'none'")


def _versioned(versions: Versions) -> tuple[str, str, str]:
    """The import map, stylesheet and entry module with their current hashes."""
    return (json.dumps(versions.import_map(), separators=(",", ":")), versions.url("app/app.css"),
            versions.url("app/main.js"))


def shell_route(versions: Versions) -> Callable[[Request], Awaitable[Response]]:
    async def shell(request: Request) -> Response:
        """The app's HTML shell: the same page for every client-side route."""
        settings = request.app.state.instance.settings
        import_map, css, main = await anyio.to_thread.run_sync(_versioned, versions)
        body = SHELL.substitute(title=escape(settings.instance_name), css=css, import_map=import_map,
                                main=main)
        return HTMLResponse(body, headers={
            "cache-control": REVALIDATE, "content-security-policy": _csp(import_map, https=settings.https),
            "x-content-type-options": "nosniff", "referrer-policy": "same-origin"})
    return shell


def routes() -> list[Route | Mount]:
    versions = Versions(STATIC_DIR)
    _versioned(versions)  # hash every file once at start, so versioned requests are cached at once
    shell = shell_route(versions)
    return [Route("/app", shell), Route("/app/{path:path}", shell),
            Mount("/static", Assets(versions), name="static")]
