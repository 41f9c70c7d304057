"""Media files: where they are kept, what an upload really is, and how they are served.

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
import io
import os
import re
import shutil
import stat
import struct
import tempfile
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, Literal

import anyio.to_thread
import av
import blurhash
from av.video.reformatter import Interpolation
from PIL import Image, ImageOps
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
# Pillow warns above this and raises DecompressionBombError above twice this; the exact limit is
# enforced in _inspect_image, before any pixel data is decoded.
Image.MAX_IMAGE_PIXELS = MAX_IMAGE_PIXELS

POSTER_LONG_SIDE = 1280
POSTER_QUALITY = 85
# The first frame of a generated clip is often a fade from black; a frame half a second in
# (or halfway through a shorter clip) says more about the video.
POSTER_AT_SECONDS = 0.5
BLURHASH_COMPONENTS = (4, 3)
BLURHASH_THUMBNAIL = 32

# Codecs that browsers play from an MP4 file. Anything else would be accepted only to show a
# broken player, and refusing it keeps rarely used FFmpeg decoders away from untrusted input.
VIDEO_CODECS = {"h264": "H.264", "hevc": "H.265", "av1": "AV1", "vp9": "VP9"}

# ISO BMFF brands of MP4 and QuickTime video. HEIF/AVIF still images share the container but
# carry other brands (mif1, heic, avif) and are not videos.
_VIDEO_BRANDS = frozenset(
    brand.encode().ljust(4)  # brands are four bytes: "qt" is b"qt  "
    for brand in ["isom", "iso2", "iso3", "iso4", "iso5", "iso6", "mp41", "mp42", "avc1", "M4V",
                  "M4VP", "dash", "mmp4", "MSNV", "qt"]
)
_SNIFF_BYTES = 512


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


def _sniff(head: bytes) -> tuple[Literal["video", "image"], str, str] | None:
    """(kind, media type, extension) from a file's first bytes, or None if it is none we take."""
    if head.startswith(b"\xff\xd8\xff"):
        return "image", "image/jpeg", "jpg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image", "image/png", "png"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image", "image/webp", "webp"
    if head[4:8] == b"ftyp" and len(head) >= 16:
        box_end = min(int.from_bytes(head[:4], "big"), len(head))
        # major brand at 8, minor version at 12, then compatible brands
        brands = {head[8:12]} | {head[i : i + 4] for i in range(16, box_end - 3, 4)}
        if brands & _VIDEO_BRANDS:
            return "video", "video/mp4", "mp4"
    return None


def _blurhash(image: Image.Image) -> str:
    """Blurhash of a small copy: the hash only keeps a few colours, and the encoder is slow."""
    thumbnail = image.convert("RGB")
    thumbnail.thumbnail((BLURHASH_THUMBNAIL, BLURHASH_THUMBNAIL))
    return blurhash.encode(thumbnail, *BLURHASH_COMPONENTS)


def _check_video_size(width: int, height: int) -> None:
    """Mastodon's 3840x2160 limit, in either orientation: vertical video is the point here."""
    if width <= 0 or height <= 0:
        raise MediaError("video has no picture size")
    if max(width, height) > MAX_VIDEO_LONG_SIDE or min(width, height) > MAX_VIDEO_SHORT_SIDE:
        raise MediaError(
            f"video is {width}x{height}; the limit is {MAX_VIDEO_LONG_SIDE}x{MAX_VIDEO_SHORT_SIDE}"
        )


def _fit(width: int, height: int, long_side: int) -> tuple[int, int]:
    """Size scaled down (never up) so that the long side is at most `long_side`."""
    scale = min(1.0, long_side / max(width, height))
    return max(1, round(width * scale)), max(1, round(height * scale))


# Counter-clockwise degrees, as FFmpeg's display matrix gives them, and as PIL turns images.
_ROTATIONS = {
    90: Image.Transpose.ROTATE_90,
    180: Image.Transpose.ROTATE_180,
    270: Image.Transpose.ROTATE_270,
}
_MAX_TOP_LEVEL_BOXES = 100_000


def _boxes_fit(path: Path, byte_size: int) -> bool:
    """Whether the file's top-level ISO BMFF boxes end exactly at its end.

    An upload cut short ends inside a box (the moov index or the mdat data), which this finds
    without decoding anything, and with a clearer message than FFmpeg's.
    """
    offset = 0
    with open(path, "rb") as file:
        for _ in range(_MAX_TOP_LEVEL_BOXES):
            if offset == byte_size:
                return True
            file.seek(offset)
            header = file.read(16)
            if len(header) < 8:
                return False
            size = int.from_bytes(header[:4], "big")
            if size == 0:  # the last box, running to the end of the file
                return True
            if size == 1:  # a 64-bit size follows the type
                if len(header) < 16:
                    return False
                size = int.from_bytes(header[8:16], "big")
            if size < 8:
                return False
            offset += size
    return False


def _inspect_video(path: Path, byte_size: int) -> MediaInfo:
    if not _boxes_fit(path, byte_size):
        raise MediaError("video file is incomplete")
    try:
        # Forcing the MP4/QuickTime demuxer stops FFmpeg from probing the file as something
        # else (an HLS playlist, say, whose references it would go and read).
        container = av.open(str(path), format="mov")
    except av.FFmpegError:
        raise MediaError("video could not be decoded") from None
    with container:
        if not container.streams.video:
            raise MediaError("video has no video stream")
        stream = container.streams.video[0]
        codec = stream.codec_context.name
        if codec not in VIDEO_CODECS:
            raise MediaError(
                f"video codec {codec} is not supported; use {', '.join(VIDEO_CODECS.values())}"
            )
        _check_video_size(stream.width, stream.height)

        rate = stream.average_rate or stream.guessed_rate
        frame_rate = float(rate) if rate else None
        if frame_rate is not None and frame_rate > MAX_FRAME_RATE:
            raise MediaError(f"video is {frame_rate:.4g} fps; the limit is {MAX_FRAME_RATE:g}")

        if container.duration is not None:
            duration = container.duration / av.time_base
        elif stream.duration is not None and stream.time_base is not None:
            duration = float(stream.duration * stream.time_base)
        else:
            raise MediaError("video has no duration")
        if duration > MAX_DURATION_SECONDS:
            raise MediaError(
                f"video is {duration:.0f} seconds long; the limit is {MAX_DURATION_SECONDS:.0f}"
            )

        poster_at = min(POSTER_AT_SECONDS, duration / 2)
        start = float(stream.start_time * stream.time_base) if stream.start_time else 0.0
        poster: av.VideoFrame | None = None
        poster_chosen = False
        packets = 0
        try:
            # One pass over the whole file: decode until the poster frame, then only demux, which
            # is cheap, to find out whether every sample the index promises is really there.
            for packet in container.demux(stream):
                if packet.is_corrupt:  # the demuxer could read only part of the sample
                    raise MediaError("video file is incomplete")
                if packet.size:
                    packets += 1
                if poster_chosen:
                    continue
                for frame in packet.decode():
                    poster = frame
                    if frame.time is None or frame.time - start >= poster_at - 1e-6:
                        poster_chosen = True
                        break
        except av.FFmpegError:
            raise MediaError("video could not be decoded") from None
        if poster is None:
            raise MediaError("video could not be decoded")
        if stream.frames and packets < stream.frames:
            raise MediaError("video file is incomplete")

        rotation = round(poster.rotation / 90) * 90 % 360
        width, height = stream.width, stream.height
        poster_width, poster_height = _fit(width, height, POSTER_LONG_SIDE)
        image = poster.to_image(
            width=poster_width, height=poster_height, interpolation=Interpolation.AREA
        )
        if rotation:
            image = image.transpose(_ROTATIONS[rotation])
            if rotation != 180:
                width, height = height, width

    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=POSTER_QUALITY, optimize=True)
    return MediaInfo(
        kind="video",
        media_type="video/mp4",
        extension="mp4",
        width=width,
        height=height,
        duration=duration,
        frame_rate=frame_rate,
        byte_size=byte_size,
        blurhash=_blurhash(image),
        poster_jpeg=buffer.getvalue(),
    )


# A sample further ahead than this is reached by seeking to the keyframe before it rather than by
# decoding every frame on the way.
SEEK_AHEAD_SECONDS = 2.0


class CheckTimeout(MediaError):
    """Sampling a video's frames ran past its deadline."""


def _upright(frame: av.VideoFrame, long_side: int) -> Image.Image:
    width, height = _fit(frame.width, frame.height, long_side)
    image = frame.to_image(width=width, height=height, interpolation=Interpolation.AREA)
    rotation = round(frame.rotation / 90) * 90 % 360
    return image.transpose(_ROTATIONS[rotation]) if rotation else image


def video_frames_at(path: Path, seconds: list[float], *, long_side: int, deadline: float
                    ) -> list[Image.Image]:
    """The frames shown at `seconds` (ascending, from the video's start), upright and scaled to fit
    `long_side`; a time past the end gives the last frame.

    Each is reached from the keyframe before it when that lies ahead of the decoder, so a long
    video costs a few keyframe intervals a sample rather than a decode of the whole file. A file
    whose keyframes are too sparse for that (seeking lands behind the decoder) is decoded straight
    through instead. Past `deadline` (time.monotonic()) it raises CheckTimeout: blocking, run it in
    a thread.
    """
    images: list[Image.Image] = []
    last: av.VideoFrame | None = None
    with av.open(str(path), format="mov") as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        start = float(stream.start_time * stream.time_base) if stream.start_time else 0.0
        # Half a frame: a sample is the frame on screen at its time.
        slack = 0.5 / float(stream.average_rate or 30)
        frames = None
        position = float("-inf")
        seeking = True
        for target in seconds:
            at = start + target
            if frames is None or seeking and at - position > SEEK_AHEAD_SECONDS:
                container.seek(max(0, int(at / stream.time_base)), stream=stream, backward=True)
                frames = container.decode(stream)
                landed = True
            else:
                landed = False
            chosen = None
            for frame in frames:
                if time.monotonic() > deadline:
                    raise CheckTimeout("the video took too long to check")
                if landed and frame.time is not None and frame.time <= position:
                    seeking = False  # the keyframe before `at` is behind us: decode on from here
                landed = False
                chosen = frame
                position = frame.time if frame.time is not None else position
                if frame.time is None or frame.time >= at - slack:
                    break
            chosen = chosen or last
            if chosen is None:
                break
            last = chosen
            images.append(_upright(chosen, long_side))
    return images


_PILLOW_FORMATS = {"image/jpeg": "JPEG", "image/png": "PNG", "image/webp": "WEBP"}
_EXIF_ORIENTATION = 0x0112


def _inspect_image(path: Path, media_type: str, extension: str, byte_size: int) -> MediaInfo:
    formats = [_PILLOW_FORMATS[media_type]]
    try:
        with Image.open(path, formats=formats) as image:
            width, height = image.size
            if width * height > MAX_IMAGE_PIXELS:
                raise MediaError(f"image is {width}x{height}; the limit is 40 megapixels")
            image.verify()
        # verify() leaves the image unusable, and does not decode the pixels: open it again.
        with Image.open(path, formats=formats) as image:
            image.load()
            # Browsers show photos turned as their EXIF orientation says, so report that shape.
            if image.getexif().get(_EXIF_ORIENTATION) in (5, 6, 7, 8):
                width, height = height, width
            image.thumbnail((BLURHASH_THUMBNAIL, BLURHASH_THUMBNAIL))  # before turning: cheaper
            hash_ = _blurhash(ImageOps.exif_transpose(image))
    except MediaError:
        raise
    except Image.DecompressionBombError:
        raise MediaError("image is larger than 40 megapixels") from None
    except (OSError, SyntaxError, ValueError, EOFError, struct.error):
        # Pillow reports damaged files with any of these, depending on the format and the damage.
        raise MediaError("image could not be decoded") from None
    return MediaInfo(
        kind="image",
        media_type=media_type,
        extension=extension,
        width=width,
        height=height,
        duration=None,
        frame_rate=None,
        byte_size=byte_size,
        blurhash=hash_,
        poster_jpeg=None,
    )


def _inspect(path: Path, max_bytes: int, images_only: bool) -> MediaInfo:
    with open(path, "rb") as file:
        byte_size = os.fstat(file.fileno()).st_size
        if byte_size > max_bytes:
            raise MediaError(f"file is larger than {format_bytes(max_bytes)}")
        head = file.read(_SNIFF_BYTES)
    sniffed = _sniff(head)
    if images_only and (sniffed is None or sniffed[0] != "image"):
        raise MediaError("not a JPEG, PNG or WebP image")
    if sniffed is None:
        raise MediaError("not an MP4, JPEG, PNG or WebP file")
    kind, media_type, extension = sniffed
    if kind == "video":
        return _inspect_video(path, byte_size)
    return _inspect_image(path, media_type, extension, byte_size)


async def inspect_upload(path: Path, *, max_bytes: int, images_only: bool = False) -> MediaInfo:
    """Measure an uploaded file and make its poster and blurhash, or raise MediaError; with
    `images_only`, a video is refused unopened.

    Decoding takes tens to hundreds of milliseconds of CPU, so it runs in a worker thread.
    """
    return await asyncio.to_thread(_inspect, path, max_bytes, images_only)


def spool_upload(source: BinaryIO, directory: Path) -> Path:
    """Copy an upload to a file of its own, for inspection (blocking: run it in a thread)."""
    directory.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=directory, delete=False) as handle:
        shutil.copyfileobj(source, handle, 1024 * 1024)
    return Path(handle.name)


def _clean_image(path: Path, media_type: str) -> bytes:
    with Image.open(path, formats=[_PILLOW_FORMATS[media_type]]) as opened:
        # Turn the pixels as EXIF says first: the EXIF block itself is dropped below.
        image = ImageOps.exif_transpose(opened)
        if media_type == "image/jpeg" and image.mode not in ("RGB", "L"):
            image = image.convert("RGB")
        buffer = io.BytesIO()
        # Saving without `exif`/`pnginfo` writes none of the original metadata (GPS included).
        image.save(buffer, _PILLOW_FORMATS[media_type], quality=92)
        return buffer.getvalue()


async def clean_image(path: Path, media_type: str) -> bytes:
    """An inspected image re-encoded without its metadata (EXIF, GPS, XMP, text chunks)."""
    try:
        return await asyncio.to_thread(_clean_image, path, media_type)
    except (OSError, ValueError) as exc:
        raise MediaError("image could not be decoded") from exc


def _profile_image(path: Path, media_type: str, size: tuple[int, int]) -> bytes:
    with Image.open(path, formats=[_PILLOW_FORMATS[media_type]]) as opened:
        image = ImageOps.exif_transpose(opened)
        image = image.convert("RGBA" if image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info
                              else "RGB")
        # Cropped to fill the frame from the middle, as Mastodon's `400x400#` and `1500x500#`.
        image = ImageOps.fit(image, size, Image.Resampling.LANCZOS)
        buffer = io.BytesIO()
        # WebP keeps a transparent avatar transparent, and is small for a photo.
        image.save(buffer, "WEBP", quality=90)
        return buffer.getvalue()


async def profile_image(path: Path, media_type: str, size: tuple[int, int]) -> bytes:
    """An inspected image as a profile picture: turned upright, cropped to `size` (width,
    height) from its middle and re-encoded as WebP, without its metadata."""
    try:
        return await asyncio.to_thread(_profile_image, path, media_type, size)
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
