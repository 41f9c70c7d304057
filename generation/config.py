"""Generation settings: what the worker renders with, and how much each person may ask for.

`server.config.Settings` builds one of these from the environment (it stays the one settings
object); the generation layer takes it as a plain value and never reads the environment itself.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from policy.output_safety import DEFAULT_THRESHOLD


@dataclass(frozen=True)
class GenerationConfig:
    # A diffusers model directory; None means the instance's tiny model (built on first start).
    model_dir: Path | None = None
    device: str = "cpu"
    dtype: str = "float32"
    steps: int = 30
    width: int = 480
    height: int = 832
    fps: int = 16
    default_duration_s: float = 5.0
    max_duration_s: float = 10.0
    # Whether the result is signed with C2PA (needs c2pa-python and the instance's CA).
    provenance: bool = True
    # Fairness and quotas: jobs one person may have queued or running, and renders per day.
    max_active_jobs_per_user: int = 3
    max_jobs_per_day: int = 50
    max_attempts: int = 5
    # A running job whose worker has not beaten its heart for this long goes back to the queue.
    heartbeat_timeout_s: float = 60.0
    # The C2PA signing chain (PEM, leaf first) and its key, from a CA a deployment trusts; without
    # them the instance signs under its own root CA, made on first start.
    c2pa_cert_chain: Path | None = None
    c2pa_private_key: Path | None = None
    # A diffusers attention backend ("_native_flash", "_native_cudnn", "flash", ...); None is SDPA.
    attention_backend: str | None = None
    # Regional torch.compile of the transformer blocks: faster steps after a slow first render.
    compile: bool = False
    # Each step's two guidance passes as one batch of two (generation/guidance.py).
    batch_guidance: bool = True
    # Reference images the model sees in one render, taken from the cameos in turn so that each
    # cameo (at most 4) gets one before any gets two. Each is one more latent frame in every
    # segment: 4 over 21 latent frames is about a fifth more work per step, 20 about double.
    max_reference_images: int = 4
    # A draft its requester has not published is deleted this many days after it was made (or
    # released by a moderator); 0 keeps drafts until their requester discards them.
    draft_retention_days: int = 30
    # The output safety check: a draft whose worst sampled frame scores at or above this NSFW
    # probability is held for a moderator, and a cameo image at or above it is refused
    # (policy.output_safety says why this default).
    nsfw_threshold: float = DEFAULT_THRESHOLD


# `make_tiny_model` writes this file into the directory it builds: a model directory that has it
# holds the tiny model, wherever it lies.
TINY_MODEL_MARKER = "likeness-tiny-model.txt"
# The tiny model's own render size, steps and frame rate. Its output is noise at any size, and on
# 2 CPU cores the default 480x832 at 30 steps takes about 30 s a step; at this size a 5 s clip
# takes seconds, most of them in the VAE, whose work grows with the frames.
TINY_WIDTH, TINY_HEIGHT, TINY_STEPS, TINY_FPS = 64, 112, 2, 8


def is_tiny_model(model_dir: Path | None) -> bool:
    """Whether `model_dir` holds the tiny model: None is the instance's own tiny model, and a
    directory is tiny if `make_tiny_model` marked it."""
    return model_dir is None or (Path(model_dir) / TINY_MODEL_MARKER).is_file()


def defaults_for(model_dir: Path | None) -> GenerationConfig:
    """The defaults for rendering with `model_dir`: the tiny model's own size, steps and frame
    rate for the tiny model, Wan 2.1's (GenerationConfig's) for a real one. Settings an operator gives win."""
    defaults = GenerationConfig(model_dir=model_dir)
    if not is_tiny_model(model_dir):
        return defaults
    return replace(defaults, width=TINY_WIDTH, height=TINY_HEIGHT, steps=TINY_STEPS, fps=TINY_FPS)
