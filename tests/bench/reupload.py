"""How many re-encoded copies of a render the re-upload check still catches, and how many
unrelated videos it mistakes for one.

    python -m tests.bench.reupload [--synthetic 8] [--tiny 3] [--unrelated 12]
    DATABASE_URL=postgresql://... python -m tests.bench.reupload --lookup-rows 1000000

Sources are made as a worker makes a render (`render_video`: the AI mark, H.264 at CRF 20, the
fingerprint of the file as an upload's): `--synthetic` clips of coloured shapes moving over a
gradient (structure, as a real model's output has), and `--tiny` renders of the tiny model (its
output is coloured noise, the hardest case for a perceptual hash). Each is re-encoded with PyAV
as a launderer would (scaled, cropped, at a lower or higher bitrate, at another frame rate, and
all at once) and looked up as an upload is (`server.upload_checks.video_fingerprint`: frames
decoded from the file, then a shared coarse key and the distance test of generation/fingerprint.py).

Printed per transformation: copies caught of those made, and false matches: the copies compared
with every other source, and `--unrelated` other videos (other shapes, the test suite's moving
pattern, other tiny renders) compared with every source.

With `--lookup-rows N` it measures the look-up instead, on a scratch database of the server's
schema: N remix renders with made-up fingerprints (a random hash per video, a tenth of its bits
changed in each slot, as motion does), then the time of the coarse-key query an upload runs
(`generation.store.remix_renders_sharing_keys`) and how many candidates it returns, for a copy
of a stored render (each slot 6 bits off) and for unrelated fingerprints. Uniform random hashes
collide less often than real ones, whose bits are biased: read the candidate counts as a floor.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from PIL import Image

from generation import fingerprint as fp
from generation import store as gstore
from generation.pipeline import GenerationRequest, VideoFrames
from generation.render import render_video
from server.upload_checks import video_fingerprint
from tests.videos import make_mp4, moving_shapes

WIDTH, HEIGHT, FPS, SECONDS = 240, 416, 16, 3.0
TINY_WIDTH, TINY_HEIGHT, TINY_FPS, TINY_SECONDS = 128, 224, 16, 2.0


@dataclass(frozen=True)
class Video:
    name: str
    path: Path
    duration: float
    prints: list[int]


class _Frames:
    """A VideoPipeline that returns frames made beforehand (render_video does the rest)."""

    def __init__(self, frames: np.ndarray, fps: int) -> None:
        self.frames, self.fps = frames, fps

    def generate(self, request: GenerationRequest, progress: Callable[[int, int], None]) -> VideoFrames:
        return VideoFrames(self.frames, self.fps)


def as_render(frames: np.ndarray, fps: int, out: Path, name: str) -> Video:
    request = GenerationRequest(prompt=name)
    result = render_video(_Frames(frames, fps), request, lambda s, t: None, out, provenance=None,
                          generator_name="bench", stem=name)
    return as_upload(name, result.video_path)


def tiny_renders(seeds: range, out: Path, prompt: str) -> list[Video]:
    """Renders of the tiny model (built once under `out`), one per seed."""
    from generation.config import GenerationConfig
    from generation.diffusers_pipeline import load_pipeline
    from generation.tiny import make_tiny_model

    model = out / "tiny-model"
    pipeline = load_pipeline(GenerationConfig(), model if model.exists() else make_tiny_model(model))
    renders = []
    for seed in seeds:
        request = GenerationRequest(prompt=f"{prompt}, take {seed}", width=TINY_WIDTH, height=TINY_HEIGHT,
                                    fps=TINY_FPS, duration_s=TINY_SECONDS, steps=2, seed=seed)
        result = render_video(pipeline, request, lambda s, t: None, out, provenance=None,
                              generator_name="tiny", stem=f"tiny{seed}")
        renders.append(as_upload(f"tiny{seed}", result.video_path))
    return renders


def decoded(path: Path) -> tuple[list[Image.Image], float]:
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        frames = [frame.to_image() for frame in container.decode(stream)]
        return frames, float(stream.average_rate)


@dataclass(frozen=True)
class Transform:
    name: str
    scale: float = 1.0
    crop: float = 0.0  # the part of each side's length removed, half from each end
    corner_crop: float = 0.0  # the part removed from the left and the top only
    crf: int = 23
    fps: float | None = None


TRANSFORMS = [
    Transform("same size, CRF 23"),
    Transform("scale 0.75x", scale=0.75),
    Transform("scale 0.5x", scale=0.5),
    Transform("scale 0.25x", scale=0.25),
    Transform("crop 5% (centred)", crop=0.05),
    Transform("crop 10% (centred)", crop=0.10),
    Transform("crop 20% (centred)", crop=0.20),
    Transform("crop 10% top-left (no mark)", corner_crop=0.10),
    Transform("CRF 12 (high bitrate)", crf=12),
    Transform("CRF 35 (low bitrate)", crf=35),
    Transform("CRF 45 (very low)", crf=45),
    Transform("24 fps", fps=24),
    Transform("10 fps", fps=10),
    Transform("0.5x + crop 5% + CRF 35 + 24 fps", scale=0.5, crop=0.05, crf=35, fps=24),
]


def transformed(source: Path, transform: Transform, out: Path) -> Path:
    frames, fps = decoded(source)
    width, height = frames[0].size
    left = round(width * (transform.crop / 2 + transform.corner_crop))
    top = round(height * (transform.crop / 2 + transform.corner_crop))
    right = width - round(width * transform.crop / 2)
    bottom = height - round(height * transform.crop / 2)
    size = (max(2, round((right - left) * transform.scale / 2) * 2),
            max(2, round((bottom - top) * transform.scale / 2) * 2))
    new_fps = transform.fps or fps
    count = max(1, round(len(frames) * new_fps / fps))
    with av.open(str(out), "w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=Fraction(new_fps).limit_denominator(1001))
        stream.width, stream.height, stream.pix_fmt = size[0], size[1], "yuv420p"
        stream.options = {"crf": str(transform.crf), "preset": "veryfast"}
        for index in range(count):
            frame = frames[min(len(frames) - 1, int(index * fps / new_fps))]
            picture = frame.crop((left, top, right, bottom)).resize(size, Image.Resampling.BILINEAR)
            container.mux(stream.encode(av.VideoFrame.from_image(picture)))
        container.mux(stream.encode())
    return out


def as_upload(name: str, path: Path) -> Video:
    """What the upload check sees: the length and frame rate inspect_upload reads, the frames."""
    with av.open(str(path)) as container:
        duration = container.duration / av.time_base
        fps = float(container.streams.video[0].average_rate)
    prints = video_fingerprint(path, duration, fps, deadline=time.monotonic() + 60)
    return Video(name, path, duration, prints)


def matches(upload: Video, render: Video) -> bool:
    """What the check decides, as the database would find it: a shared coarse key, a similar
    length, and the distance."""
    return bool(set(fp.band_keys(upload.prints)) & set(fp.band_keys(render.prints))) \
        and fp.similar_length(render.duration, upload.duration) and fp.is_copy(upload.prints, render.prints)


def _distance(upload: Video, render: Video) -> float:
    """The mean distance per frame; 64 when too few frames say anything."""
    found = fp.distance(upload.prints, render.prints)
    return 64.0 if found is None else found


def unrelated_videos(count: int, out: Path, tiny: int) -> list[Video]:
    videos = []
    for n in range(count):
        path = out / f"unrelated{n}.mp4"
        if n % 3 == 0:
            make_mp4(path, width=WIDTH, height=HEIGHT, seconds=SECONDS, fps=FPS)
            shifted = transformed(path, Transform("shift", crop=0.1 * (n % 5) / 5 + 0.01), out / f"u{n}.mp4")
            videos.append(as_upload(f"pattern{n}", shifted))
            continue
        videos.append(as_render(moving_shapes(1000 + n, WIDTH, HEIGHT, FPS, SECONDS), FPS, out, f"other{n}"))
    return videos + tiny_renders(range(100, 100 + tiny), out, "someone else")


def _made_up(rng: random.Random) -> list[int]:
    base = rng.getrandbits(64)
    return [base ^ sum(1 << bit for bit in rng.sample(range(64), 6)) for _ in range(fp.SAMPLES)]


def _nudged(prints: list[int], rng: random.Random, bits: int) -> list[int]:
    return [value ^ sum(1 << bit for bit in rng.sample(range(64), bits)) for value in prints]


async def lookup(rows: int, queries: int = 50) -> None:
    import asyncpg

    from server.db import migrate

    url = os.environ["DATABASE_URL"]
    name = f"likeness_bench_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(url)
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        conn = await asyncpg.connect(url.rsplit("/", 1)[0] + f"/{name}")
        await migrate(conn)
        rng = random.Random(0)
        stored = []
        started = time.perf_counter()
        for first in range(0, rows, 50_000):
            batch = [_made_up(rng) for _ in range(min(50_000, rows - first))]
            stored += batch[:queries]
            await conn.copy_records_to_table(
                "render_fingerprints", columns=["remix", "sha256", "duration", "frames", "band_keys"],
                records=[(True, rng.randbytes(32), 5.0, fp.as_signed(prints), fp.band_keys(prints))
                         for prints in batch])
        await conn.execute("ANALYZE render_fingerprints")
        print(f"{rows} renders stored and indexed in {time.perf_counter() - started:.0f} s")
        for label, uploads in (("copy of a stored render", [_nudged(p, rng, 6) for p in stored[:queries]]),
                               ("unrelated", [_made_up(rng) for _ in range(queries)])):
            times, found, candidates = [], 0, []
            for upload in uploads:
                started = time.perf_counter()
                rows_found = await gstore.remix_renders_sharing_keys(conn, fp.band_keys(upload), 200)
                found += any(fp.is_copy(upload, fp.as_unsigned(r["frames"])) for r in rows_found)
                times.append((time.perf_counter() - started) * 1000)
                candidates.append(len(rows_found))
            print(f"{label:<24} p50 {statistics.median(times):6.1f} ms  max {max(times):6.1f} ms"
                  f"  candidates mean {statistics.mean(candidates):6.1f}  matched {found} / {len(uploads)}")
        await conn.close()
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--synthetic", type=int, default=8)
    parser.add_argument("--tiny", type=int, default=3)
    parser.add_argument("--unrelated", type=int, default=12)
    parser.add_argument("--lookup-rows", type=int, default=0)
    args = parser.parse_args()
    if args.lookup_rows:
        asyncio.run(lookup(args.lookup_rows))
        return
    with tempfile.TemporaryDirectory() as directory:
        out = Path(directory)
        sources = [as_render(moving_shapes(seed, WIDTH, HEIGHT, FPS, SECONDS), FPS, out, f"shapes{seed}")
                   for seed in range(args.synthetic)]
        sources += tiny_renders(range(args.tiny), out, "a person dancing")
        unrelated = unrelated_videos(args.unrelated, out, args.tiny)
        print(f"{len(sources)} renders ({args.synthetic} moving shapes {WIDTH}x{HEIGHT} {SECONDS:g} s,"
              f" {args.tiny} tiny-model {TINY_WIDTH}x{TINY_HEIGHT} {TINY_SECONDS:g} s), {len(unrelated)}"
              f" unrelated videos; match: mean distance <= {fp.MATCH_DISTANCE:g} of 64 bits over"
              f" {fp.SAMPLES} frames")
        print(f"{'transformation':<36} {'caught':>9} {'of tiny':>8} {'mean d':>7} {'false':>9}")
        unrelated_false = sum(matches(video, source) for video in unrelated for source in sources)
        for transform in TRANSFORMS:
            caught = tiny_caught = false = 0
            distances = []
            for n, source in enumerate(sources):
                copy = as_upload(source.name, transformed(source.path, transform, out / f"copy{n}.mp4"))
                found = matches(copy, source)
                caught += found
                tiny_caught += found and source.name.startswith("tiny")
                distances.append(_distance(copy, source))
                false += sum(matches(copy, other) for other in sources if other is not source)
            comparisons = len(sources) * (len(sources) - 1)
            print(f"{transform.name:<36} {caught:>4} / {len(sources):<2} {tiny_caught:>3} / {args.tiny:<2}"
                  f" {sum(distances) / len(distances):>7.1f} {false:>3} / {comparisons}")
        closest = min(_distance(video, source) for video in unrelated for source in sources)
        print(f"unrelated videos against every render: {unrelated_false} false matches of"
              f" {len(unrelated) * len(sources)} (closest mean distance {closest:.1f})")


if __name__ == "__main__":
    main()
