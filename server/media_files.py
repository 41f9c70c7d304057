"""Decoding uploads with PyAV, Pillow and blurhash: what a file really is, its poster and
blurhash, its frames for the safety check, and images re-encoded without their metadata.

Blocking (run it in a thread), and imported on the first upload (server/media.py `decoding`),
never at start: FFmpeg's libraries, Pillow and NumPy are most of a web process's memory.
"""

from __future__ import annotations

import io
import os
import struct
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

import av
import blurhash
from av.video.reformatter import Interpolation
from PIL import Image, ImageOps

from policy.output_safety import Picture, Verdict, check_images, score_images

from .media import (
    MAX_DURATION_SECONDS,
    MAX_FRAME_RATE,
    MAX_IMAGE_PIXELS,
    MAX_VIDEO_LONG_SIDE,
    MAX_VIDEO_SHORT_SIDE,
    MediaError,
    MediaInfo,
    format_bytes,
)

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


def inspect_file(path: Path, max_bytes: int, images_only: bool) -> MediaInfo:
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


def clean_file(path: Path, media_type: str) -> bytes:
    with Image.open(path, formats=[_PILLOW_FORMATS[media_type]]) as opened:
        # Turn the pixels as EXIF says first: the EXIF block itself is dropped below.
        image = ImageOps.exif_transpose(opened)
        if media_type == "image/jpeg" and image.mode not in ("RGB", "L"):
            image = image.convert("RGB")
        buffer = io.BytesIO()
        # Saving without `exif`/`pnginfo` writes none of the original metadata (GPS included).
        image.save(buffer, _PILLOW_FORMATS[media_type], quality=92)
        return buffer.getvalue()


def profile_file(path: Path, media_type: str, size: tuple[int, int]) -> bytes:
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


def _rgb(source: bytes | Path) -> Image.Image:
    with Image.open(io.BytesIO(source) if isinstance(source, bytes) else source) as image:
        return image.convert("RGB")


def images_verdict(sources: Sequence[bytes | Path], threshold: float) -> Verdict:
    """The safety check's verdict on uploaded images (bytes or files); blocking."""

    def score(images: Sequence[Picture | bytes | Path]) -> list[float]:
        # Decoded here, so that a file that will not decode fails the check (closed), too.
        return score_images([_rgb(image) for image in images])

    return check_images(sources, threshold, score=score)
