"""Media files: what an upload really is, and how stored files are served (where they are
kept is server/media_store.py: a local directory or a bucket).

Uploads are untrusted: the kind of a file is decided from its first bytes, never from the
client's Content-Type or file name, and a video is only accepted once FFmpeg has demuxed all of
it and decoded a frame, so that a renamed, fake or cut-off file is refused at upload rather than
failing later in someone's player. The limits are Mastodon's (PROTOCOL.md "Videos"), so that
every file we publish can be shown by the servers that receive it.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import os
import re
import shutil
import stat
import tempfile
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any, BinaryIO, Literal

import anyio.to_thread
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import FileResponse, PlainTextResponse, RedirectResponse, Response
from starlette.types import Receive, Scope, Send

from .media_store import LocalMediaStore, MediaStore

MAX_VIDEO_LONG_SIDE = 3840
MAX_VIDEO_SHORT_SIDE = 2160
MAX_FRAME_RATE = 120.0
MAX_DURATION_SECONDS = 600.0
MAX_IMAGE_PIXELS = 40_000_000


class MediaError(ValueError):
    """An upload that is refused; the message is short and safe to show in a 422 response."""


@dataclass(frozen=True)
class MediaInfo:
    """What an accepted upload is, as measured from its content."""

    kind: Literal["video", "image"]
    media_type: str
    extension: str
    width: int
    height: int
    duration: float | None
    frame_rate: float | None
    byte_size: int
    blurhash: str
    poster_jpeg: bytes | None


# --- inspection --------------------------------------------------------------------------------


def file_keys(rows: Iterable[Mapping[str, Any]]) -> list[str]:
    """The stored files of media rows: each one's video or image, and its poster."""
    return [key for row in rows for key in (row["storage_key"], row["poster_key"]) if key]


def format_bytes(n: int) -> str:
    for unit, scale in (("GB", 1024**3), ("MB", 1024**2), ("KB", 1024)):
        if n >= scale:
            return f"{n / scale:.4g} {unit}"
    return f"{n} bytes"


def decoding() -> ModuleType:
    """The decoding half (server/media_files.py: PyAV, Pillow, blurhash), imported by the first
    upload rather than at start, where it would be most of the web process's memory."""
    from . import media_files

    return media_files


async def inspect_upload(path: Path, *, max_bytes: int, images_only: bool = False) -> MediaInfo:
    """Measure an uploaded file and make its poster and blurhash, or raise MediaError; with
    `images_only`, a video is refused unopened.

    Decoding takes tens to hundreds of milliseconds of CPU, so it runs in a worker thread.
    """
    return await asyncio.to_thread(decoding().inspect_file, path, max_bytes, images_only)


def spool_upload(source: BinaryIO, directory: Path) -> Path:
    """Copy an upload to a file of its own, for inspection (blocking: run it in a thread)."""
    directory.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=directory, delete=False) as handle:
        shutil.copyfileobj(source, handle, 1024 * 1024)
    return Path(handle.name)


async def clean_image(path: Path, media_type: str) -> bytes:
    """An inspected image re-encoded without its metadata (EXIF, GPS, XMP, text chunks)."""
    try:
        return await asyncio.to_thread(decoding().clean_file, path, media_type)
    except (OSError, ValueError) as exc:
        raise MediaError("image could not be decoded") from exc


async def profile_image(path: Path, media_type: str, size: tuple[int, int]) -> bytes:
    """An inspected image as a profile picture: turned upright, cropped to `size` (width,
    height) from its middle and re-encoded as WebP, without its metadata."""
    try:
        return await asyncio.to_thread(decoding().profile_file, path, media_type, size)
    except (OSError, ValueError) as exc:
        raise MediaError("image could not be decoded") from exc


async def checked_image(upload: Any, what: str, tmp_dir: Path, *, max_bytes: int,
                        fit: tuple[int, int] | None = None) -> tuple[bytes, str, int, int]:
    """An image from a multipart part, checked by its bytes and re-encoded without metadata (as
    a profile picture of size `fit` when given): its data, extension, width and height. Raises
    MediaError naming `what` when the part is not such an image."""
    if not isinstance(upload, UploadFile):
        raise MediaError(f"{what} must be an image file")
    tmp = await asyncio.to_thread(spool_upload, upload.file, tmp_dir)
    try:
        try:
            info = await inspect_upload(tmp, max_bytes=max_bytes, images_only=True)
            if fit is not None:
                return await profile_image(tmp, info.media_type, fit), "webp", *fit
            return await clean_image(tmp, info.media_type), info.extension, info.width, info.height
        except MediaError as exc:
            raise MediaError(f"{what}: {exc}") from None
    finally:
        await asyncio.to_thread(tmp.unlink, missing_ok=True)


# --- serving -----------------------------------------------------------------------------------

# How long a signed address of a private file works: long enough to watch a draft, short enough
# that a copied link soon stops.
PRIVATE_LINK_SECONDS = 3600
_SIGNATURE = re.compile(r"[0-9a-f]{64}")
_EXPIRES = re.compile(r"[0-9]{1,12}")


@dataclass(frozen=True)
class PrivateLinks:
    """Signed, expiring addresses of files that are not public (a draft, an upload not yet in a
    post, an only-me cameo's preview), for views of their owner: a <video> or <img> cannot send
    a token, and whoever lacks the link still cannot fetch the file. The signature is an HMAC of
    the key and the expiry under the instance's secret."""

    secret: bytes
    seconds: int = PRIVATE_LINK_SECONDS

    def _signature(self, key: str, expires: int) -> str:
        return hmac.new(self.secret, f"{key}\n{expires}".encode(), hashlib.sha256).hexdigest()

    def url(self, base_url: str, key: str, now: float | None = None) -> str:
        expires = int(time.time() if now is None else now) + self.seconds
        return f"{base_url}/media/{key}?expires={expires}&signature={self._signature(key, expires)}"

    def allows(self, key: str, expires: str | None, signature: str | None, now: float | None = None
               ) -> bool:
        """Whether `expires` and `signature` (from a request's query) sign `key` and have not
        expired."""
        if expires is None or signature is None or not _EXPIRES.fullmatch(expires) \
                or not _SIGNATURE.fullmatch(signature):
            return False
        if int(expires) < (time.time() if now is None else now):
            return False
        return hmac.compare_digest(signature, self._signature(key, int(expires)))



def _etag_listed(if_none_match: str, etag: str) -> bool:
    """If-None-Match uses weak comparison, so a W/ prefix on either side does not matter."""
    if if_none_match.strip() == "*":
        return True
    bare = etag.removeprefix("W/")
    return any(tag.strip().removeprefix("W/") == bare for tag in if_none_match.split(","))


class _MediaFileResponse(FileResponse):
    """Starlette's FileResponse plus If-None-Match, and a 404 rather than a 500 for a file
    that has gone.

    FileResponse already does HEAD, Content-Length, ETag, Last-Modified, single ranges (206),
    unsatisfiable ranges (416 with `bytes */size`) and several ranges (206
    multipart/byteranges), streaming the file in 64 KiB chunks read in a worker thread.
    A malformed Range header (such as `bytes=5-2`) gets a 400 from it.
    """

    def __init__(
        self, path: Path, media_type: str, headers: dict[str, str], if_none_match: str | None
    ) -> None:
        super().__init__(path, media_type=media_type, headers=headers)
        self.if_none_match = if_none_match

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            stat_result = await anyio.to_thread.run_sync(os.stat, self.path)
        except FileNotFoundError:
            stat_result = None
        if stat_result is None or not stat.S_ISREG(stat_result.st_mode):
            await PlainTextResponse("Not Found", status_code=404)(scope, receive, send)
            return
        self.stat_result = stat_result
        self.set_stat_headers(stat_result)
        etag = self.headers["etag"]
        if self.if_none_match is not None and _etag_listed(self.if_none_match, etag):
            kept = ("etag", "last-modified", "cache-control")
            await Response(status_code=304, headers={k: self.headers[k] for k in kept})(
                scope, receive, send
            )
            return
        await super().__call__(scope, receive, send)


def media_response(
    request: Request, path: Path, media_type: str, *, cache_seconds: int = 31_536_000
) -> Response:
    """Serve a stored media file for GET or HEAD, with ranges, as players and peers expect.

    Keys are never reused for other content, so the file may be cached as immutable. nosniff
    stops a browser from running a file as something other than its declared type. The file is
    only looked at when the response is sent, in a worker thread, so this function does no I/O.
    """
    headers = {
        "cache-control": f"public, max-age={cache_seconds}, immutable",
        "x-content-type-options": "nosniff",
    }
    return _MediaFileResponse(path, media_type, headers, request.headers.get("if-none-match"))


# How long an address signed by the bucket works: a private one long enough to watch a draft
# (a player asks for more ranges as it plays), a public one for an hour, behind a redirect that a
# cache keeps for half of that.
BUCKET_PRIVATE_SECONDS = 900
BUCKET_PUBLIC_SECONDS = 3600
NO_STORE = "private, no-store"


async def stored_response(request: Request, media: MediaStore, key: str, media_type: str, *,
                          private: bool, relay: bool = False) -> Response:
    """A stored file for a request that passed the caller's checks.

    From a local directory the server sends it (ranges and all). From a bucket it answers a
    redirect: to the CDN for a public file, else to an address the bucket signed for a while,
    which serves the ranges itself; a private file's redirect is never kept by a shared cache.
    With `relay` (a small file for a client that does not follow redirects: another server
    fetching a cameo's references) the server reads the file and sends it.
    """
    if isinstance(media, LocalMediaStore):
        try:
            path = media.path(key)
        except ValueError:
            return PlainTextResponse("Not Found", status_code=404)
        if not await asyncio.to_thread(path.is_file):
            return PlainTextResponse("Not Found", status_code=404)
        response = media_response(request, path, media_type)
        if private:
            response.headers["cache-control"] = NO_STORE
        return response
    try:
        if relay:
            data = await media.read_bytes(key)
            return Response(b"" if request.method == "HEAD" else data, media_type=media_type,
                            headers={"cache-control": NO_STORE, "x-content-type-options": "nosniff",
                                     "content-length": str(len(data))})
        if not await media.exists(key):
            return PlainTextResponse("Not Found", status_code=404)
    except (FileNotFoundError, ValueError):
        return PlainTextResponse("Not Found", status_code=404)
    public = None if private else media.public_url(key)
    seconds = BUCKET_PRIVATE_SECONDS if private else BUCKET_PUBLIC_SECONDS
    target = public or await media.signed_url(key, seconds)
    assert target is not None
    cache = NO_STORE if private else f"public, max-age={seconds // 2}"
    return RedirectResponse(target, status_code=302, headers={"cache-control": cache})
