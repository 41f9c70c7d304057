"""The output safety check's cost on CPU: the open_nsfw classifier over the frames a worker
samples from a 10 s, 480x832, 16 fps video (synthetic frames: the cost does not depend on what
they show), on one core and on all cores.

    python -m tests.bench.output_safety [--repeats 5]

`rows()` returns the table's rows, (measure, value), for other benchmarks to include.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Sequence

import numpy as np

from policy.output_safety import check_frames, classifier, sample_frames, score_images

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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    start = time.perf_counter()
    classifier()
    loaded = time.perf_counter() - start
    table = rows(args.repeats)
    print(f"\noutput safety check (open_nsfw on onnxruntime, CPU), model load {loaded:.2f} s\n")
    print("| measure | value |")
    print("|---|---|")
    for measure, value in table:
        print(f"| {measure} | {value} |")


if __name__ == "__main__":
    main()
