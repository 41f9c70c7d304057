"""The output safety check in the worker: what a pipeline renders is scored before it is
encoded.

The frames are still in memory then, so no MP4 is decoded again, and the scoring runs in the
render thread, so the heartbeat keeps flowing. The verdict itself is `policy.output_safety`'s.
"""

from __future__ import annotations

from dataclasses import dataclass

from policy.output_safety import Scorer, Verdict, check_frames, score_images

from .pipeline import GenerationRequest, Progress, VideoFrames, VideoPipeline


@dataclass
class CheckedPipeline:
    """The worker's pipeline for one render, keeping the verdict on the frames it returned."""

    pipeline: VideoPipeline
    threshold: float
    score: Scorer = score_images
    # Set once the render returned its frames.
    verdict: Verdict | None = None

    def generate(self, request: GenerationRequest, progress: Progress) -> VideoFrames:
        video = self.pipeline.generate(request, progress)
        self.verdict = check_frames(video.frames, video.fps, self.threshold, score=self.score)
        return video
