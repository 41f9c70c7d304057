"""The diffusers implementation of `VideoPipeline`: Wan 2.1 VACE from a local directory.

Why Wan 2.1 VACE: it is the one open text-to-video model in diffusers whose conditioning input is
a set of subject reference images (`reference_images`, R2V), which is what a cameo is: identity
from a few photos, with motion and scene from the prompt. Image-to-video pipelines (Wan I2V, LTX)
make the photo the first frame instead, so the person starts frozen in the photo's pose and
identity drifts as they move. VACE 1.3B renders 480x832 at 16 fps on one GPU; the 14B checkpoint
loads through the same code.

Why 10 s is chained segments and not one long pass: Wan is trained on 81 frames (5 s) and
degrades past that, while the native long pipelines (LTX) only condition on an image at a frame
index. So a clip longer than one segment is rendered as segments of at most 81 frames, each
conditioned on the cameo references again (identity does not drift) and on the previous
segment's last `OVERLAP_FRAMES` frames through VACE's mask (black = keep: the "extend a clip"
task), which carries motion across the cut. It is also cheaper for the real model: attention
grows with the square of the frames in a pass, so three 61-frame segments (10 s at 16 fps) take
about 40% fewer transformer FLOPs per step than one 161-frame pass (1.3B at 480x832: 0.89 against
1.44 PFLOP per forward, by `tests.bench.generation`'s estimate). Measured on 2 CPU cores with the
tiny model, where the VAE and not attention dominates, the two cost about the same (160 frames at
64x112, 2 steps: 3.8 s chained, 3.1 s in one pass).

Loading is offline only: `local_files_only=True` and HF_HUB_OFFLINE=1, so a missing file is an
error and never a download.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from .config import GenerationConfig
from .pipeline import GenerationError, GenerationRequest, Progress, VideoFrames, VideoPipeline

if TYPE_CHECKING:
    import torch
    from diffusers import WanVACEPipeline

# Before diffusers is imported: huggingface_hub reads it once, at import.
os.environ["HF_HUB_OFFLINE"] = "1"
log = logging.getLogger(__name__)

# Wan 2.1 is trained on 81-frame clips; longer passes degrade (Wan-Video/Wan2.1#54).
SEGMENT_FRAMES = 81
# Frames of the previous segment that condition the next: two latent frames, so that the next
# segment sees which way things were moving, not only where they were.
OVERLAP_FRAMES = 9
MIN_REFERENCE_SIDE = 16
# Wan's text encoder context (UMT5 tokens), as diffusers' Wan pipelines use it.
TEXT_TOKENS = 512
DTYPES = ("float32", "bfloat16", "float16")


def plan_segments(frame_count: int, temporal_factor: int = 4, min_length: int = 1) -> list[int]:
    """Frame counts of the segments that render `frame_count` frames (the last ones trimmed).

    Each is 4k+1 frames (the VAE's temporal factor), at least `min_length` and at most
    SEGMENT_FRAMES (or `min_length`, if that is more); segments after the first start with
    OVERLAP_FRAMES frames of the one before.
    """
    def whole(frames: int) -> int:
        return math.ceil((max(frames, min_length) - 1) / temporal_factor) * temporal_factor + 1

    if frame_count <= SEGMENT_FRAMES:
        return [whole(max(1, frame_count))]
    fresh = SEGMENT_FRAMES - OVERLAP_FRAMES
    count = math.ceil((frame_count - OVERLAP_FRAMES) / fresh)
    length = whole(math.ceil((frame_count - OVERLAP_FRAMES) / count) + OVERLAP_FRAMES)
    return [length] * count


def _torch_dtype(name: str) -> torch.dtype:
    import torch

    if name not in DTYPES:
        raise GenerationError(f"unsupported dtype {name!r}; use one of {', '.join(DTYPES)}")
    return getattr(torch, name)


def load_pipeline(config: GenerationConfig, model_dir: Path) -> VideoPipeline:
    """Load the Wan VACE pipeline at `model_dir` onto `config.device`, never from the hub.

    A missing or broken directory, or one holding another kind of pipeline, raises a
    GenerationError that is not retryable: the operator has to fix the directory.
    """
    model_dir = Path(model_dir)
    if not model_dir.is_dir():
        raise GenerationError(f"the model directory {model_dir} does not exist")
    if not (model_dir / "model_index.json").is_file():
        raise GenerationError(f"{model_dir} is not a diffusers model directory (no model_index.json)")
    dtype = _torch_dtype(config.dtype)

    import diffusers
    import huggingface_hub
    import torch
    import transformers
    from diffusers import DiffusionPipeline, WanVACEPipeline

    # In case something imported the hub client before this module set HF_HUB_OFFLINE.
    huggingface_hub.constants.HF_HUB_OFFLINE = True

    # Progress bars are for terminals; a worker's log gets one line per load instead.
    diffusers.utils.logging.disable_progress_bar()
    transformers.utils.logging.disable_progress_bar()
    try:
        # Wan's VAE stays float32 whatever the rest is, as diffusers' Wan docs advise for quality.
        pipe = DiffusionPipeline.from_pretrained(
            str(model_dir), local_files_only=True, dtype={"default": dtype, "vae": torch.float32},
        )
    except (OSError, ValueError, TypeError, KeyError, RuntimeError, AttributeError) as exc:
        raise GenerationError(f"the model in {model_dir} could not be loaded: {exc}") from exc
    if not isinstance(pipe, WanVACEPipeline):
        raise GenerationError(f"{model_dir} holds a {type(pipe).__name__}; Likeness renders with a"
                              " WanVACEPipeline (Wan 2.1 VACE)")
    log.info("loaded %s from %s on %s (%s)", type(pipe).__name__, model_dir, config.device, config.dtype)
    return prepare(pipe, config, name=model_dir.name)


def prepare(pipe: WanVACEPipeline, config: GenerationConfig, *, name: str) -> DiffusersVideoPipeline:
    """Move a pipeline to the device and apply the configured speed-ups; shared with the
    benchmark, so that what it times is what a worker runs."""
    try:
        pipe.to(config.device)
        if config.attention_backend:
            pipe.transformer.set_attention_backend(config.attention_backend)
        if config.compile:
            pipe.transformer.compile_repeated_blocks(fullgraph=True)
    except (RuntimeError, ValueError, ImportError) as exc:
        raise GenerationError(f"the model could not be set up on {config.device}: {exc}") from exc
    pipe.set_progress_bar_config(disable=True)
    return DiffusersVideoPipeline(pipe, name=name, batch_guidance=config.batch_guidance)


def _reference(image: Image.Image, number: int, width: int, height: int) -> Image.Image:
    """Decoded RGB, transparency on white (VACE's convention for subject cut-outs), and no bigger
    than the frame: the pipeline letterboxes it onto a white frame."""
    try:
        image.load()
        if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
            rgba = image.convert("RGBA")
            rgb = Image.new("RGB", rgba.size, (255, 255, 255))
            rgb.paste(rgba, mask=rgba.getchannel("A"))
        else:
            rgb = image.convert("RGB")
    except (OSError, ValueError, UnidentifiedImageError) as exc:
        raise GenerationError(f"reference image {number} could not be decoded: {exc}") from exc
    if min(rgb.size) < MIN_REFERENCE_SIDE:
        raise GenerationError(f"reference image {number} is {rgb.width}x{rgb.height}; it needs at least"
                              f" {MIN_REFERENCE_SIDE} pixels a side")
    if rgb.width > width or rgb.height > height:
        rgb = ImageOps.contain(rgb, (width, height), Image.Resampling.LANCZOS)
    return rgb


def _round(value: int, multiple: int) -> int:
    return max(multiple, round(value / multiple) * multiple)


class DiffusersVideoPipeline:
    """A loaded WanVACEPipeline behind the `VideoPipeline` interface."""

    def __init__(self, pipe: WanVACEPipeline, *, name: str, batch_guidance: bool = False) -> None:
        self.pipe = pipe
        self.name = name
        self.batch_guidance = batch_guidance

    @property
    def size_multiple(self) -> int:
        # The VAE's spatial factor times the transformer's patch: 8 x 2 for Wan 2.1.
        return self.pipe.vae_scale_factor_spatial * self.pipe.transformer.config.patch_size[1]

    def generate(self, request: GenerationRequest, progress: Progress) -> VideoFrames:
        """Render `request`; width and height are rounded to a multiple of 16, and exactly
        `request.frame_count` frames come back."""
        import torch

        from .guidance import batched_guidance

        prompt = request.prompt.strip()
        if not prompt:
            raise GenerationError("the prompt is empty")
        width = _round(request.width, self.size_multiple)
        height = _round(request.height, self.size_multiple)
        references = [_reference(image, number, width, height)
                      for number, image in enumerate(request.reference_images, start=1)]
        # Each reference image takes a latent frame before the video's, and diffusers' VACE
        # (0.42) pads the mask for them with a slice of the video's latent frames: a segment
        # needs at least as many latent frames as references, so a short one renders longer.
        temporal = self.pipe.vae_scale_factor_temporal
        segments = plan_segments(request.frame_count, temporal,
                                 min_length=temporal * (len(references) - 1) + 1)
        generator = torch.Generator(device="cpu").manual_seed(request.seed)
        try:
            prompt_embeds, negative_embeds = self._embeddings(prompt, request)
            batching = (batched_guidance(self.pipe.transformer, prompt_embeds, negative_embeds)
                        if self.batch_guidance and negative_embeds is not None else contextlib.nullcontext())
            with batching:
                frames = self._segments(request, segments, prompt_embeds, negative_embeds, references,
                                        width, height, generator, progress)
        except (torch.OutOfMemoryError, MemoryError) as exc:
            if torch.cuda.is_available():
                torch.cuda.empty_cache()
            raise GenerationError("out of memory while rendering; it will be tried again",
                                  retryable=True) from exc
        return VideoFrames(frames=np.ascontiguousarray(frames[: request.frame_count]), fps=request.fps)

    def _embeddings(self, prompt: str, request: GenerationRequest
                    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """The prompt's and the negative prompt's text embeddings, once for every segment, in the
        transformer's dtype (so that the pipeline passes these very tensors on)."""
        import torch

        guided = request.guidance_scale > 1.0
        with torch.no_grad():
            prompt_embeds, negative_embeds = self.pipe.encode_prompt(
                prompt=prompt, negative_prompt=request.negative_prompt or None,
                do_classifier_free_guidance=guided, max_sequence_length=TEXT_TOKENS,
                device=self.pipe._execution_device)
        dtype = self.pipe.transformer.dtype
        return prompt_embeds.to(dtype), negative_embeds.to(dtype) if guided else None

    def _segments(self, request: GenerationRequest, segments: list[int], prompt_embeds: torch.Tensor,
                  negative_embeds: torch.Tensor | None, references: list[Image.Image], width: int,
                  height: int, generator: torch.Generator, progress: Progress) -> np.ndarray:
        total = request.steps * len(segments)
        frames: np.ndarray | None = None
        for index, length in enumerate(segments):
            done = index * request.steps

            def on_step(pipe: Any, step: int, timestep: Any, tensors: dict, done: int = done) -> dict:
                progress(done + step + 1, total)
                return tensors

            video = mask = None
            if frames is not None:
                video, mask = self._continuation(frames[-OVERLAP_FRAMES:], length, width, height)
            output = self.pipe(
                prompt_embeds=prompt_embeds, negative_prompt_embeds=negative_embeds,
                video=video, mask=mask, reference_images=references or None,
                height=height, width=width, num_frames=length,
                num_inference_steps=request.steps, guidance_scale=request.guidance_scale,
                generator=generator, output_type="np", callback_on_step_end=on_step,
            ).frames[0]
            segment = (np.clip(output, 0.0, 1.0) * 255.0).round().astype(np.uint8)
            frames = segment if frames is None else np.concatenate([frames, segment[OVERLAP_FRAMES:]])
        assert frames is not None
        return frames

    @staticmethod
    def _continuation(tail: np.ndarray, length: int, width: int, height: int,
                      ) -> tuple[list[Image.Image], list[Image.Image]]:
        """VACE's extend task: the previous segment's last frames kept (black mask), the rest
        grey and generated (white mask)."""
        grey = Image.new("RGB", (width, height), (127, 127, 127))
        keep = Image.new("L", (width, height), 0)
        generate = Image.new("L", (width, height), 255)
        video = [Image.fromarray(frame) for frame in tail] + [grey] * (length - len(tail))
        mask = [keep] * len(tail) + [generate] * (length - len(tail))
        return video, mask
