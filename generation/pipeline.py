"""The one generation interface: a request and a progress callback in, video frames out.

Everything that renders (the diffusers implementation, a test double) implements
`VideoPipeline`; the job runner knows nothing else about it, so a worker can swap models
without the queue, the API or the encoder changing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
from PIL import Image


class GenerationError(Exception):
    """A render failed for a reason the requester should read (bad prompt, bad reference image,
    out of memory, broken model directory). `reason` is short and safe to show."""

    def __init__(self, reason: str, *, retryable: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        # Retryable failures (out of memory on a busy GPU) go back to the queue; the rest fail for good.
        self.retryable = retryable


class Cancelled(Exception):
    """The progress callback raises this when the job was cancelled: the render stops at the
    next denoising step."""


@dataclass(frozen=True)
class GenerationRequest:
    prompt: str
    negative_prompt: str = ""
    # Cameo reference images, already validated and decoded (RGB).
    reference_images: tuple[Image.Image, ...] = field(default_factory=tuple)
    width: int = 480
    height: int = 832
    fps: int = 16
    duration_s: float = 5.0
    steps: int = 30
    guidance_scale: float = 5.0
    seed: int = 0

    @property
    def frame_count(self) -> int:
        return max(1, round(self.duration_s * self.fps))


@dataclass(frozen=True)
class VideoFrames:
    # (frames, height, width, 3), uint8 RGB.
    frames: np.ndarray
    fps: int

    @property
    def duration_s(self) -> float:
        return len(self.frames) / self.fps


# Called as progress(step, total_steps) after every denoising step; may raise Cancelled.
Progress = Callable[[int, int], None]


class VideoPipeline(Protocol):
    def generate(self, request: GenerationRequest, progress: Progress) -> VideoFrames:
        """Render synchronously (the caller runs it in a thread); raise GenerationError on failure."""
        ...
