"""The output safety check's cost on CPU: the open_nsfw classifier over the frames a worker
samples from a 10 s, 480x832, 16 fps video (synthetic frames: the cost does not depend on what
they show), on one core and on all cores; and the whole check of an uploaded video (sampling by
decoding the MP4, then scoring) for 720x1280 30 fps uploads of 10 s to 10 minutes with a keyframe
every 2 s, as phones record, and for one whose only keyframe is the first.

    python -m tests.bench.output_safety [--repeats 5] [--no-uploads]

`rows()` returns the table's rows, (measure, value), for other benchmarks to include.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from collections.abc import Sequence
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from policy.output_safety import check_frames, classifier, sample_frames, score_images
from server.upload_checks import video_verdict

WIDTH, HEIGHT, FPS, SECONDS = 480, 832, 16, 10.0


class _Video(Sequence[np.ndarray]):
    """A moving gradient with noise, one frame made when asked for: the whole clip would be
    190 MB, and the check only reads the frames it samples."""

    def __init__(self, frame_count: int) -> None:
        self.frame_count = frame_count
        self.noise = np.random.default_rng(0).integers(0, 32, (HEIGHT, WIDTH, 3), dtype=np.uint8)

    def __len__(self) -> int:
        return self.frame_count

    def __getitem__(self, index: int) -> np.ndarray:  # type: ignore[override]
        frame = self.noise.copy()
        frame[..., 0] += np.roll(np.linspace(0, 200, WIDTH, dtype=np.uint8), index * 4)
        frame[..., 2] += 96
        return frame


def _measure(threads: int | None, repeats: int) -> tuple[float, int, float]:
    """(seconds per frame, frames sampled, seconds per video) with `threads` onnxruntime threads,
    the model loaded and warmed up beforehand."""
    video = _Video(round(SECONDS * FPS))
    sampled = len(sample_frames(len(video), FPS))
    classifier(threads=threads)

    def score(images: Sequence[np.ndarray]) -> list[float]:
        return score_images(images, threads=threads)

    check_frames(video, FPS, 1.0, score=score)
    timings = []
    for _ in range(repeats):
        start = time.perf_counter()
        verdict = check_frames(video, FPS, 1.0, score=score)
        timings.append(time.perf_counter() - start)
        assert verdict.score is not None, verdict.reason
    per_video = statistics.median(timings)
    return per_video / sampled, sampled, per_video


def rows(repeats: int = 5) -> list[tuple[str, str]]:
    """The benchmark as (measure, value) rows: one core (this thread pinned to CPU 0, one
    onnxruntime thread) and all cores."""
    cores = len(os.sched_getaffinity(0))
    everywhere = _measure(None, repeats)
    allowed = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {min(allowed)})
    try:
        one = _measure(1, repeats)
    finally:
        os.sched_setaffinity(0, allowed)
    clip = f"{SECONDS:g} s {WIDTH}x{HEIGHT} video at {FPS} fps"
    return [
        ("NSFW check: frames sampled per " + clip, str(one[1])),
        ("NSFW check: seconds per frame, one core", f"{one[0]:.3f}"),
        ("NSFW check: seconds per " + clip + ", one core", f"{one[2]:.2f}"),
        (f"NSFW check: seconds per frame, all {cores} cores", f"{everywhere[0]:.3f}"),
        (f"NSFW check: seconds per {clip}, all {cores} cores", f"{everywhere[2]:.2f}"),
    ]


def _upload(path: Path, seconds: float, keyframe_every: int, fps: int = 30) -> Path:
    """A 720x1280 H.264 upload of a moving gradient, encoded fast (its content does not change
    the decoding cost much)."""
    base = np.zeros((1280, 720, 3), dtype=np.uint8)
    base[..., 0] = np.linspace(0, 255, 720, dtype=np.uint8)
    base[..., 2] = 96
    with av.open(str(path), "w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=Fraction(fps))
        stream.width, stream.height, stream.pix_fmt = 720, 1280, "yuv420p"
        stream.options = {"preset": "ultrafast",
                          "x264-params": f"keyint={keyframe_every}:min-keyint={keyframe_every}:scenecut=0"}
        for index in range(round(seconds * fps)):
            frame = av.VideoFrame.from_ndarray(np.roll(base, index * 4, axis=1), format="rgb24")
            container.mux(stream.encode(frame))
        container.mux(stream.encode())
    return path


def upload_rows() -> list[tuple[str, str]]:
    """Seconds to check an uploaded video on the worker, all cores."""
    table = []
    with tempfile.TemporaryDirectory() as scratch:
        for seconds, keyframe_every, label in ((10, 60, "every 2 s"), (60, 60, "every 2 s"),
                                               (600, 60, "every 2 s"), (60, 100_000, "only the first")):
            path = _upload(Path(scratch) / f"{seconds}-{keyframe_every}.mp4", seconds, keyframe_every)
            start = time.perf_counter()
            verdict = video_verdict(path, seconds, 30.0, 1.0, deadline=time.monotonic() + 600)
            took = time.perf_counter() - start
            assert verdict.score is not None, verdict.reason
            sampled = len(sample_frames(seconds * 30, 30.0))
            table.append((f"upload check: {seconds} s 720x1280 30 fps, keyframes {label}, {sampled} frames",
                          f"{took:.2f} s"))
    return table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--uploads", action=argparse.BooleanOptionalAction, default=True,
                        help="also time the check of uploaded videos (encodes 12 minutes of video first)")
    args = parser.parse_args()
    start = time.perf_counter()
    classifier()
    loaded = time.perf_counter() - start
    table = rows(args.repeats) + (upload_rows() if args.uploads else [])
    print(f"\noutput safety check (open_nsfw on onnxruntime, CPU), model load {loaded:.2f} s\n")
    print("| measure | value |")
    print("|---|---|")
    for measure, value in table:
        print(f"| {measure} | {value} |")


if __name__ == "__main__":
    main()
