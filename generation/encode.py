"""Frames to what a person receives: the visible AI mark, an H.264 MP4, a poster and a blurhash.

PyAV encodes in-process with the libx264 its wheel carries (10 s of 720x1280 in about 2 s on two
cores, several times faster than piping to an ffmpeg binary). The mark is drawn with Pillow
because PyAV's FFmpeg is built without freetype, so its drawtext filter is not there.
"""

from __future__ import annotations

import io
from fractions import Fraction
from functools import lru_cache
from pathlib import Path

import av
import blurhash
import numpy as np
from PIL import Image, ImageDraw, ImageFont

MARK_TEXT = "AI-generated"
CRF = 20
PRESET = "veryfast"
POSTER_QUALITY = 85
# As server.media does for uploads: the hash keeps a few colours, and the encoder is slow.
BLURHASH_COMPONENTS = (4, 3)
BLURHASH_THUMBNAIL = 32


def mark_box(width: int, height: int) -> tuple[int, int, int, int]:
    """Where the mark goes (left, top, right, bottom): top left, where vertical-video apps put
    neither captions (bottom) nor buttons (right) nor tabs (top centre)."""
    font_size, pad, margin = _mark_metrics(width, height)
    text_width, text_height = _text_size(font_size)
    right = min(width, margin + text_width + 2 * pad)
    bottom = min(height, margin + text_height + 2 * pad)
    return margin, margin, right, bottom


def _mark_metrics(width: int, height: int) -> tuple[int, int, int]:
    # A twentieth of the short side: about 24 px on a 480-wide video, which a phone shows at
    # roughly 20 pt. Never below 10 px, or it is not text any more.
    font_size = max(10, min(width, height) // 20)
    return font_size, max(2, font_size // 3), max(2, font_size // 2)


@lru_cache(maxsize=8)
def _text_size(font_size: int) -> tuple[int, int]:
    font = ImageFont.load_default(size=font_size)
    left, top, right, bottom = font.getbbox(MARK_TEXT)
    return right, bottom


@lru_cache(maxsize=8)
def _badge(width: int, height: int) -> tuple[np.ndarray, np.ndarray]:
    """The badge as RGB and alpha arrays the size of mark_box."""
    font_size, pad, margin = _mark_metrics(width, height)
    left, top, right, bottom = mark_box(width, height)
    badge = Image.new("RGBA", (right - left, bottom - top), (0, 0, 0, 0))
    draw = ImageDraw.Draw(badge)
    draw.rounded_rectangle((0, 0, badge.width - 1, badge.height - 1), radius=pad,
                           fill=(0, 0, 0, 170))
    draw.text((pad, pad), MARK_TEXT, font=ImageFont.load_default(size=font_size),
              fill=(255, 255, 255, 255))
    pixels = np.asarray(badge, dtype=np.float32)
    return pixels[..., :3], pixels[..., 3:] / 255.0


def add_mark(frames: np.ndarray) -> np.ndarray:
    """A copy of `frames` (T, H, W, 3 uint8) with the "AI-generated" badge burned into each."""
    height, width = frames.shape[1:3]
    left, top, right, bottom = mark_box(width, height)
    colour, alpha = _badge(width, height)
    marked = frames.copy()
    region = marked[:, top:bottom, left:right].astype(np.float32)
    marked[:, top:bottom, left:right] = (region * (1.0 - alpha) + colour * alpha).round().astype(np.uint8)
    return marked


def even(frames: np.ndarray) -> np.ndarray:
    """Cropped to even width and height, which yuv420p needs."""
    height, width = frames.shape[1:3]
    return frames[:, : height - height % 2, : width - width % 2]


def encode_mp4(frames: np.ndarray, fps: int, path: Path) -> None:
    """H.264 in MP4, yuv420p (what every browser and phone plays), moov first so playback starts
    before the download ends."""
    frames = even(frames)
    if len(frames) == 0 or frames.shape[1] == 0 or frames.shape[2] == 0:
        raise ValueError("no frames to encode")
    with av.open(str(path), mode="w", format="mp4", options={"movflags": "+faststart"}) as container:
        stream = container.add_stream("libx264", rate=Fraction(fps))
        stream.width = frames.shape[2]
        stream.height = frames.shape[1]
        stream.pix_fmt = "yuv420p"
        stream.options = {"crf": str(CRF), "preset": PRESET}
        for frame in frames:
            for packet in stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)


def poster_jpeg(frame: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(frame).save(buffer, format="JPEG", quality=POSTER_QUALITY, optimize=True)
    return buffer.getvalue()


def blurhash_of(frame: np.ndarray) -> str:
    thumbnail = Image.fromarray(frame)
    thumbnail.thumbnail((BLURHASH_THUMBNAIL, BLURHASH_THUMBNAIL))
    return blurhash.encode(thumbnail, *BLURHASH_COMPONENTS)
