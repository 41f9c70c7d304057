"""Generation speed on one GPU: a full-size Wan 2.1 VACE 1.3B with random weights.

    python -m tests.bench.generation [--steps 30] [--measure-steps 3] [--durations 5,10]
    python -m tests.bench.generation --tiny      # CPU smoke run with the tiny model

The pipeline is built from the real model's configuration (written below: nothing can be
downloaded) with random weights: the time of a step does not depend on the weights' values. Both
paths render through `DiffusersVideoPipeline.generate`, the code a worker runs, so a 10 s clip is
the chained segments a worker renders:

- plain: the diffusers defaults, float32, PyTorch SDPA, no compilation, the two guidance passes
  one after the other;
- tuned: bfloat16 (the VAE stays float32), a faster attention backend when this GPU has one,
  regional torch.compile of the transformer blocks, and the two guidance passes as one batch of
  two (`generation.diffusers_pipeline.prepare`, the same call a worker makes with
  LIKENESS_GENERATION_ATTENTION, LIKENESS_GENERATION_COMPILE and LIKENESS_GENERATION_BATCH_GUIDANCE).

Each clip runs `--measure-steps` denoising steps per segment; the step time is the median
interval between step callbacks (synchronised), the rest of the run (text encoder, VAE encode and
decode) is the fixed cost, and a clip at `--steps` is fixed + steps x segments x step time.

Model FLOPs are counted from the transformer's dimensions: per layer and token 12 d^2 + 4 d f for
the projections and the feed-forward network (d the model width, f the FFN width), 4 N d for
self-attention over N tokens and 4 T d for cross-attention over T = 512 text tokens, over the 30
main and 15 VACE blocks, twice per step for classifier-free guidance. N = latent frames (the
frames / 4 + 1, plus one per reference image) x (H / 16) x (W / 16). Utilisation is those FLOPs per
second over the GPU's dense bf16 peak (--peak-tflops; 989 for an H100 SXM).

Reported apart: one transformer forward timed as a batch of two against two in turn (what the
guidance batching alone gains), and first-block caching, which random weights cannot show
honestly: its skipped steps depend on how much outputs change between steps.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import torch
from PIL import Image

from generation.config import GenerationConfig
from generation.diffusers_pipeline import (
    OVERLAP_FRAMES,
    DiffusersVideoPipeline,
    load_pipeline,
    plan_segments,
    prepare,
)
from generation.pipeline import GenerationRequest
from generation.tiny import byte_tokenizer, ensure_tiny_model

# Wan-AI/Wan2.1-VACE-1.3B-diffusers, transformer/config.json.
WAN_VACE_1_3B = dict(
    patch_size=(1, 2, 2), num_attention_heads=12, attention_head_dim=128, in_channels=16, out_channels=16,
    text_dim=4096, freq_dim=256, ffn_dim=8960, num_layers=30, cross_attn_norm=True,
    qk_norm="rms_norm_across_heads", eps=1e-6, image_dim=None, added_kv_proj_dim=None, rope_max_seq_len=1024,
    vace_layers=list(range(0, 30, 2)), vace_in_channels=96,
)
# google/umt5-xxl's encoder, Wan's text encoder.
UMT5_XXL = dict(
    vocab_size=256384, d_model=4096, d_kv=64, d_ff=10240, num_layers=24, num_heads=64,
    relative_attention_num_buckets=32, relative_attention_max_distance=128, feed_forward_proj="gated-gelu",
    dropout_rate=0.0, layer_norm_epsilon=1e-6, tie_word_embeddings=False,
)
TEXT_TOKENS = 512
# Attention backends tried for the tuned path, fastest first; the first that runs is used.
TUNED_BACKENDS = ("_native_cudnn", "_native_flash", None)


def tokens(frames: int, height: int, width: int, references: int, config: dict[str, Any]) -> int:
    """Transformer sequence length of one segment."""
    patch_t, patch_h, patch_w = config["patch_size"]
    latent_frames = (frames - 1) // 4 + 1 + references
    return latent_frames // patch_t * (height // 8 // patch_h) * (width // 8 // patch_w)


def forward_flops(sequence: int, config: dict[str, Any]) -> float:
    """FLOPs of one transformer forward over `sequence` video tokens (see the module docstring)."""
    d = config["num_attention_heads"] * config["attention_head_dim"]
    f = config["ffn_dim"]
    blocks = config["num_layers"] + len(config["vace_layers"])
    per_block = (sequence * (12 * d * d + 4 * d * f) + 4 * sequence * sequence * d
                 + 4 * sequence * TEXT_TOKENS * d + 4 * TEXT_TOKENS * d * d)
    return blocks * per_block


def step_flops(frames: int, height: int, width: int, config: dict[str, Any]) -> float:
    """FLOPs of one denoising step of a whole clip: every segment, both guidance passes."""
    return sum(2 * forward_flops(tokens(length, height, width, 1, config), config)
               for length in plan_segments(frames))


def build_full(device: str) -> Any:
    """Wan 2.1 VACE 1.3B at full size, random weights, float32, made on `device`."""
    from diffusers import (
        AutoencoderKLWan,
        UniPCMultistepScheduler,
        WanVACEPipeline,
        WanVACETransformer3DModel,
    )
    from transformers import UMT5Config, UMT5EncoderModel

    torch.manual_seed(0)
    with torch.device(device):
        transformer = WanVACETransformer3DModel(**WAN_VACE_1_3B)
        vae = AutoencoderKLWan()  # its defaults are Wan 2.1's VAE
        text_encoder = UMT5EncoderModel(UMT5Config(**UMT5_XXL)).eval()
    scheduler = UniPCMultistepScheduler(prediction_type="flow_prediction", use_flow_sigmas=True,
                                        flow_shift=3.0)
    return WanVACEPipeline(tokenizer=byte_tokenizer(), text_encoder=text_encoder, vae=vae,
                           transformer=transformer, scheduler=scheduler)


def cast(pipe: Any, dtype: torch.dtype) -> None:
    """What load_pipeline's dtype does: everything in `dtype` but the VAE."""
    pipe.transformer.to(dtype)
    pipe.text_encoder.to(dtype)


def _sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


@dataclass
class Run:
    seconds: float
    step_s: float
    segments: int
    steps: int
    peak_gib: float | None


def render(pipeline: DiffusersVideoPipeline, request: GenerationRequest, device: str) -> Run:
    stamps: list[tuple[int, float]] = []

    def progress(step: int, total: int) -> None:
        _sync(device)
        stamps.append((step, time.perf_counter()))

    if device.startswith("cuda"):
        torch.cuda.reset_peak_memory_stats()
    _sync(device)
    start = time.perf_counter()
    pipeline.generate(request, progress)
    _sync(device)
    seconds = time.perf_counter() - start
    # Intervals within a segment only: the first step of each also carries the VAE encode.
    intervals = [b - a for (n, a), (_, b) in zip(stamps, stamps[1:], strict=False) if n % request.steps]
    step_s = statistics.median(intervals) if intervals else seconds / max(1, len(stamps))
    peak = torch.cuda.max_memory_allocated() / 2**30 if device.startswith("cuda") else None
    return Run(seconds, step_s, len(plan_segments(request.frame_count)), request.steps, peak)


def clip_seconds(run: Run, steps: int) -> float:
    """The measured run's fixed cost plus `steps` steps per segment."""
    fixed = max(0.0, run.seconds - run.step_s * run.steps * run.segments)
    return fixed + run.step_s * steps * run.segments


def _reference(width: int, height: int) -> Image.Image:
    image = Image.new("RGB", (width, height), (255, 255, 255))
    image.paste((200, 160, 140), (width // 4, height // 6, 3 * width // 4, 5 * height // 6))
    return image


def _tuned_backend(pipe: Any, config: GenerationConfig, request: GenerationRequest,
                   device: str) -> GenerationConfig:
    """The first attention backend in TUNED_BACKENDS that runs a step here."""
    for backend in TUNED_BACKENDS:
        try:
            pipe.transformer.set_attention_backend(backend or "native")
            DiffusersVideoPipeline(pipe, name="probe").generate(
                replace(request, steps=1, duration_s=1 / request.fps), lambda s, t: None)
            return replace(config, attention_backend=backend)
        except (RuntimeError, ValueError, ImportError) as exc:
            print(f"  attention backend {backend}: not usable here ({str(exc).splitlines()[0][:80]})")
    return config


def cfg_batching(pipe: Any, request: GenerationRequest, device: str, repeats: int = 3) -> tuple[float, float]:
    """Seconds of the two guidance passes of one step of a 5 s segment: one after the other, and as
    one batch of two."""
    transformer = pipe.transformer
    dtype = transformer.dtype
    config = transformer.config
    frames = plan_segments(round(5 * request.fps))[0]
    latent_frames = (frames - 1) // 4 + 1 + 1
    shape = (1, config.in_channels, latent_frames, request.height // 8, request.width // 8)
    latents = torch.randn(shape, device=device, dtype=dtype)
    control = torch.randn((1, config.vace_in_channels, *shape[2:]), device=device, dtype=dtype)
    text = torch.randn((1, TEXT_TOKENS, config.text_dim), device=device, dtype=dtype)
    timestep = torch.tensor([500.0], device=device)
    scale = torch.ones(len(config.vace_layers), device=device, dtype=dtype)

    def forward(batch: int) -> None:
        transformer(hidden_states=latents.expand(batch, -1, -1, -1, -1),
                    timestep=timestep.expand(batch), encoder_hidden_states=text.expand(batch, -1, -1),
                    control_hidden_states=control.expand(batch, -1, -1, -1, -1),
                    control_hidden_states_scale=scale, return_dict=False)

    def timed(run: Callable[[], None]) -> float:
        run()
        _sync(device)
        start = time.perf_counter()
        for _ in range(repeats):
            run()
        _sync(device)
        return (time.perf_counter() - start) / repeats

    with torch.inference_mode():
        sequential = timed(lambda: (forward(1), forward(1)))
        batched = timed(lambda: forward(2))
    return sequential, batched


def first_block_cache(pipe: Any, config: GenerationConfig, request: GenerationRequest, device: str
                      ) -> tuple[Run, Run]:
    """A clip without and with first-block caching, on the tuned path less compilation: the cache's
    hooks decide in Python whether to skip, which a full-graph compile of the blocks cannot trace."""
    from diffusers import FirstBlockCacheConfig

    pipeline = prepare(pipe, replace(config, compile=False), name="cache")
    pipeline.generate(replace(request, steps=2), lambda s, t: None)
    without = render(pipeline, request, device)
    pipe.transformer.enable_cache(FirstBlockCacheConfig(threshold=0.2))
    try:
        return without, render(pipeline, request, device)
    finally:
        pipe.transformer.disable_cache()


def _peak_tflops(device: str, override: float | None) -> float | None:
    if override is not None:
        return override
    if not device.startswith("cuda"):
        return None
    name = torch.cuda.get_device_name(device)
    known = (("H200", 989.0), ("H100", 989.0), ("A100", 312.0), ("L40", 362.0), ("4090", 165.0))
    for marker, tflops in known:
        if marker in name:
            return tflops
    return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.bench.generation",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("--tiny", action="store_true", help="the tiny model on CPU (a smoke run)")
    parser.add_argument("--device", help="default cuda, or cpu with --tiny")
    parser.add_argument("--width", type=int, help="default 480 (32 with --tiny)")
    parser.add_argument("--height", type=int, help="default 832 (64 with --tiny)")
    parser.add_argument("--fps", type=int, default=16)
    parser.add_argument("--durations", default="5,10", help="clip lengths in seconds (default 5,10)")
    parser.add_argument("--steps", type=int, default=30, help="steps of the clip reported (default 30)")
    parser.add_argument("--measure-steps", type=int, default=3, help="steps run per segment (default 3)")
    parser.add_argument("--paths", default="plain,tuned", help="which paths to run (default plain,tuned)")
    parser.add_argument("--compile", action=argparse.BooleanOptionalAction, default=None,
                        help="torch.compile in the tuned path (default: on CUDA only)")
    parser.add_argument("--peak-tflops", type=float, help="the GPU's dense bf16 peak, for utilisation")
    args = parser.parse_args(argv)

    device = args.device or ("cpu" if args.tiny else "cuda")
    if device.startswith("cuda") and not torch.cuda.is_available():
        print("no CUDA device: run with --tiny for a CPU smoke run", file=sys.stderr)
        return 2
    width = args.width or (32 if args.tiny else 480)
    height = args.height or (64 if args.tiny else 832)
    durations = [float(value) for value in args.durations.split(",")]
    compile_tuned = device.startswith("cuda") if args.compile is None else args.compile
    peak = _peak_tflops(device, args.peak_tflops)

    with tempfile.TemporaryDirectory() as scratch:
        if args.tiny:
            tiny_dir = ensure_tiny_model(Path(scratch))
            pipe = load_pipeline(GenerationConfig(device=device), tiny_dir).pipe
            model_config = dict(pipe.transformer.config)
            name = "tiny Wan VACE"
        else:
            pipe = build_full(device)
            model_config = WAN_VACE_1_3B
            name = "Wan 2.1 VACE 1.3B (random weights)"
    params = sum(p.numel() for p in pipe.transformer.parameters()) / 1e6
    print(f"# {name}, transformer {params:,.1f}M parameters, {width}x{height} at {args.fps} fps, "
          f"{device}{' ' + torch.cuda.get_device_name(device) if device.startswith('cuda') else ''}")
    print(f"# {args.measure_steps} steps measured per segment, clips reported at {args.steps} steps;"
          f" 10 s is {len(plan_segments(round(10 * args.fps)))} chained segments"
          f" ({OVERLAP_FRAMES} frames overlap)\n")

    request = GenerationRequest(prompt="a person dancing on a beach at sunset, handheld camera",
                                reference_images=(_reference(width, height),), width=width, height=height,
                                fps=args.fps, steps=args.measure_steps, seed=0)
    rows: list[tuple[str, float, Run]] = []
    tuned_pipeline: DiffusersVideoPipeline | None = None
    cache_runs: tuple[Run, Run] | None = None
    cache_error = ""
    for path in [path for path in ("plain", "tuned") if path in args.paths.split(",")]:
        config = GenerationConfig(device=device, batch_guidance=path == "tuned")
        if path == "tuned":
            if not args.tiny:
                cast(pipe, torch.bfloat16)
            config = _tuned_backend(pipe, config, request, device)
            # Before compilation, which the cache's hooks do not survive.
            try:
                shortest = replace(request, duration_s=durations[0])
                cache_runs = first_block_cache(pipe, config, shortest, device)
            except (RuntimeError, ValueError) as exc:
                cache_error = str(exc).splitlines()[0][:80]
            config = replace(config, compile=compile_tuned)
            print(f"  tuned: {'bfloat16' if not args.tiny else 'float32'}, attention"
                  f" {config.attention_backend or 'SDPA'}, compile {config.compile}")
        pipeline = prepare(pipe, config, name=path)
        # Warm up (and compile) every segment shape the clips below use.
        warm_start = time.perf_counter()
        for duration in durations:
            pipeline.generate(replace(request, steps=2, duration_s=duration), lambda s, t: None)
        print(f"  {path}: warm-up{' and compilation' if config.compile else ''}"
              f" {time.perf_counter() - warm_start:.1f} s")
        for duration in durations:
            rows.append((path, duration, render(pipeline, replace(request, duration_s=duration), device)))
        if path == "tuned":
            tuned_pipeline = pipeline

    print("\n| path | clip | seconds per clip | seconds per step | peak GPU memory | model TFLOP/s | MFU |")
    print("|---|---|---|---|---|---|---|")
    for path, duration, run in rows:
        frames = round(duration * args.fps)
        flops = step_flops(frames, height, width, model_config)
        rate = flops / run.step_s / 1e12
        mfu = f"{rate / peak:.1%}" if peak else "n/a"
        memory = f"{run.peak_gib:.1f} GiB" if run.peak_gib is not None else "n/a"
        print(f"| {path} | {duration:g} s ({frames} frames) | {clip_seconds(run, args.steps):.1f} |"
              f" {run.step_s:.3f} | {memory} | {rate:.3g} | {mfu} |")
    plain = {d: r for p, d, r in rows if p == "plain"}
    tuned = {d: r for p, d, r in rows if p == "tuned"}
    print()
    for duration in sorted(set(plain) & set(tuned)):
        print(f"tuned vs plain, {duration:g} s: "
              f"{clip_seconds(plain[duration], args.steps) / clip_seconds(tuned[duration], args.steps):.2f}x")

    if tuned_pipeline is not None:
        sequential, batched = cfg_batching(tuned_pipeline.pipe, request, device)
        print(f"\nGuidance as one batch of two (in the tuned path): {batched:.3f} s against"
              f" {sequential:.3f} s for the two passes in turn ({sequential / batched:.2f}x per step)")
        print("\nUntested speed-ups (random weights cannot show their effect on quality or skip rate):")
        if cache_runs is None:
            print(f"- first-block cache (threshold 0.2): did not run here ({cache_error})")
        else:
            without, cached = cache_runs
            print(f"- first-block cache (threshold 0.2), tuned path without compilation:"
                  f" {cached.step_s:.3f} s per step at {durations[0]:g} s against {without.step_s:.3f} s"
                  f" without the cache")
    return 0


if __name__ == "__main__":
    sys.exit(main())
