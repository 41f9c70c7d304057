"""Real, small H.264 MP4 files for tests, made with PyAV so no ffmpeg binary is needed."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path
from typing import Any

import av
from PIL import Image, ImageChops


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
