"""Real, small H.264 MP4 files for tests, made with PyAV so no ffmpeg binary is needed."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np
from PIL import Image, ImageChops, ImageDraw


def _pattern(width: int, height: int) -> Image.Image:
    """A colourful picture: each channel is a different gradient, so motion is visible."""
    horizontal = Image.linear_gradient("L").rotate(90).resize((width, height))
    vertical = Image.linear_gradient("L").resize((width, height))
    radial = Image.radial_gradient("L").resize((width, height))
    return Image.merge("RGB", (horizontal, vertical, radial))


def make_mp4(
    path: Path, *, width: int = 360, height: int = 640, seconds: float = 1.0, fps: float = 16
) -> Path:
    """Encode a `seconds` long H.264 (yuv420p) clip of a moving colour pattern at `path`.

    The moov index is written first ("faststart"), as for files we serve, so a file cut short
    still opens and only its missing samples give it away.
    """
    if width % 2 or height % 2:
        raise ValueError("yuv420p needs an even width and height")
    rate = Fraction(fps).limit_denominator(1001)
    frames = max(1, round(seconds * rate))
    base = _pattern(width, height)
    with av.open(str(path), "w", format="mp4", options={"movflags": "+faststart"}) as container:
        stream = container.add_stream("libx264", rate=rate)
        stream.width = width
        stream.height = height
        stream.pix_fmt = "yuv420p"
        for index in range(frames):
            picture = ImageChops.offset(base, index * 7 % width, index * 11 % height)
            container.mux(stream.encode(av.VideoFrame.from_image(picture)))
        container.mux(stream.encode())
    return Path(path)


def moving_shapes(seed: int, width: int, height: int, fps: int, seconds: float) -> np.ndarray:
    """Frames (T, H, W, 3 uint8) of circles and boxes of random colours crossing a gradient, each on
    its own path: a video with structure, as a model's output has (make_mp4's smooth pattern is
    the hardest case for a perceptual hash)."""
    rng = np.random.default_rng(seed)
    background = np.zeros((height, width, 3), np.uint8)
    tint = rng.integers(0, 256, (2, 3))
    ramp = np.linspace(0, 1, height)[:, None, None]
    background[:] = (tint[0] * (1 - ramp) + tint[1] * ramp).astype(np.uint8)
    shapes = [(rng.integers(0, 2), rng.uniform(0, width), rng.uniform(0, height),
               rng.uniform(-60, 60), rng.uniform(-60, 60), rng.uniform(20, 70),
               tuple(int(c) for c in rng.integers(0, 256, 3))) for _ in range(rng.integers(3, 7))]
    frames = []
    for index in range(round(seconds * fps)):
        t = index / fps
        picture = Image.fromarray(background)
        draw = ImageDraw.Draw(picture)
        for kind, x, y, dx, dy, size, colour in shapes:
            cx, cy = (x + dx * t) % width, (y + dy * t) % height
            box = (cx - size / 2, cy - size / 2, cx + size / 2, cy + size / 2)
            (draw.ellipse if kind else draw.rectangle)(box, fill=colour)
        frames.append(np.asarray(picture))
    return np.stack(frames)


def write_mp4(frames: np.ndarray, fps: int, path: Path) -> Path:
    """Frames (T, H, W, 3 uint8) as an H.264 MP4."""
    with av.open(str(path), "w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=Fraction(fps))
        stream.height, stream.width = frames.shape[1:3]
        stream.pix_fmt = "yuv420p"
        for frame in frames:
            container.mux(stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")))
        container.mux(stream.encode())
    return Path(path)


async def upload_video(instance: Any, user: str, clip: Path | bytes, *, name: str = "clip.mp4",
                       content_type: str = "video/mp4", **data: str) -> dict[str, Any]:
    """Upload a video as a client does: 202 while its safety check runs on the worker, then
    GET /api/v1/media/:id until it is ready (200). The media attachment, ready to post."""
    from tests.conftest import eventually

    content = clip if isinstance(clip, bytes) else clip.read_bytes()
    response = await instance.api(user, "POST", "/api/v2/media", data=data,
                                  files={"file": (name, content, content_type)})
    assert response.status_code == 202, response.text
    assert response.json()["type"] == "video" and response.json()["url"] is None

    async def ready() -> dict[str, Any] | None:
        media = await instance.api(user, "GET", f"/api/v1/media/{response.json()['id']}")
        assert media.status_code in (200, 206), media.text
        return media.json() if media.status_code == 200 else None

    return await eventually(ready)


async def post_videos(instance: Any, user: str, tmp_path: Path, captions: list[str]) -> list[str]:
    """Post one small video per caption as `user` of a test instance; the posts' ids, in order."""
    ids = []
    for n, caption in enumerate(captions):
        clip = make_mp4(tmp_path / f"clip{n}.mp4", width=90, height=160, seconds=1.0, fps=8)
        media = await upload_video(instance, user, clip)
        posted = await instance.api(user, "POST", "/api/v1/statuses",
                                    json={"status": caption, "media_ids": [media["id"]]})
        ids.append(posted.json()["id"])
    return ids
