"""The rendering library on CPU with the tiny model: load, render, mark, encode, sign, fail cleanly.

The tiny model is built once per session (ensure_tiny_model) and loaded once through the same
`load_pipeline` a worker uses; renders are a few frames at 32-64 px, so the module takes seconds.
"""

from __future__ import annotations

import io
import json
import os
import shutil
from dataclasses import replace
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
import torch
from PIL import Image

from generation.config import TINY_FPS, TINY_HEIGHT, TINY_STEPS, TINY_WIDTH, GenerationConfig, is_tiny_model
from generation.diffusers_pipeline import DiffusersVideoPipeline, load_pipeline, plan_segments
from generation.encode import MARK_TEXT, add_mark, encode_mp4, mark_box
from generation.jobs import compose_prompt
from generation.pipeline import Cancelled, GenerationError, GenerationRequest
from generation.provenance import TRAINED_ALGORITHMIC_MEDIA, C2PASigner, signer_for, verify
from generation.render import render_video
from generation.tiny import ensure_tiny_model
from generation.worker import round_robin
from server.cli.main import main as cli_main
from server.config import ConfigError, Settings


@pytest.fixture(scope="session")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("generation-data")


@pytest.fixture(scope="session")
def tiny_dir(data_dir: Path) -> Path:
    return ensure_tiny_model(data_dir)


@pytest.fixture(scope="session")
def pipeline(tiny_dir: Path) -> DiffusersVideoPipeline:
    loaded = load_pipeline(GenerationConfig(), tiny_dir)
    assert isinstance(loaded, DiffusersVideoPipeline)
    return loaded


@pytest.fixture(scope="session")
def signer(data_dir: Path) -> C2PASigner:
    made = signer_for(GenerationConfig(), data_dir)
    assert made is not None
    return made


def _face(size: tuple[int, int] = (120, 160)) -> Image.Image:
    image = Image.new("RGB", size, (240, 200, 170))
    image.paste((40, 30, 20), (30, 40, 90, 70))
    return image


def _request(**changes: object) -> GenerationRequest:
    fields: dict[str, object] = dict(prompt="a person waves at the camera", reference_images=(_face(),),
                                     width=32, height=64, fps=8, duration_s=1.0, steps=2, seed=7)
    fields.update(changes)
    return GenerationRequest(**fields)  # type: ignore[arg-type]


def _decode(path: Path) -> tuple[list[np.ndarray], float, Fraction]:
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        frames = [frame.to_ndarray(format="rgb24") for frame in container.decode(stream)]
        return frames, float(stream.duration * stream.time_base), stream.average_rate


def test_tiny_model_is_deterministic_and_built_once(tiny_dir: Path, data_dir: Path, tmp_path: Path) -> None:
    assert tiny_dir == (data_dir / "models" / "tiny").resolve()
    index = json.loads((tiny_dir / "model_index.json").read_text())
    assert index["_class_name"] == "WanVACEPipeline"
    before = (tiny_dir / "model_index.json").stat().st_mtime_ns
    assert ensure_tiny_model(data_dir) == tiny_dir
    assert (tiny_dir / "model_index.json").stat().st_mtime_ns == before
    # The CLI builds the same bytes from the same seed, and replaces what is there.
    other = tmp_path / "tiny"
    other.mkdir()
    (other / "stale").write_text("x")
    assert cli_main(["generation", "make-tiny-model", str(other)]) == 0
    assert not (other / "stale").exists()
    for path in tiny_dir.rglob("*"):
        if path.is_file():
            assert path.read_bytes() == (other / path.relative_to(tiny_dir)).read_bytes(), path
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_ensure_tiny_model_replaces_a_half_built_directory(tmp_path: Path) -> None:
    (tmp_path / "models" / "tiny").mkdir(parents=True)
    (tmp_path / "models" / "tiny" / "transformer").mkdir()
    built = ensure_tiny_model(tmp_path)
    assert (built / "model_index.json").exists() and (built / "vae" / "config.json").exists()


def test_render_video_makes_a_signed_marked_mp4(pipeline: DiffusersVideoPipeline, signer: C2PASigner,
                                                tmp_path: Path) -> None:
    steps: list[tuple[int, int]] = []
    result = render_video(pipeline, _request(), lambda step, total: steps.append((step, total)), tmp_path,
                          provenance=signer, generator_name="tiny-wan-vace")
    assert steps == [(1, 2), (2, 2)]
    assert result.video_path == tmp_path / "video.mp4" and result.poster_path == tmp_path / "video.jpg"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["video.jpg", "video.mp4"]
    assert (result.width, result.height, result.frame_count, result.fps) == (32, 64, 8, 8)
    assert result.duration_s == 1.0 and result.media_type == "video/mp4" and result.signed
    assert result.byte_size == result.video_path.stat().st_size
    frames, duration, rate = _decode(result.video_path)
    assert len(frames) == 8 and frames[0].shape == (64, 32, 3)
    assert duration == pytest.approx(1.0) and rate == 8
    data = result.video_path.read_bytes()
    assert data.index(b"moov") < data.index(b"mdat")  # faststart survives signing
    with Image.open(result.poster_path) as poster:
        assert poster.format == "JPEG" and poster.size == (32, 64)
    assert isinstance(result.blurhash, str) and len(result.blurhash) == 28

    report = verify(result.video_path, trust_anchor=signer.trust_anchor)
    assert report["state"] == "Trusted" and report["valid"] and report["trusted"]
    assert report["digital_source_type"] == TRAINED_ALGORITHMIC_MEDIA
    assert report["claim_generator"] == ["Likeness"] and report["software_agent"] == "tiny-wan-vace"
    # Without the instance root as an anchor the signature still checks out, untrusted.
    assert verify(result.video_path)["state"] == "Valid"

    tampered = bytearray(data)
    tampered[data.index(b"mdat") + 64] ^= 0x01
    (tmp_path / "tampered.mp4").write_bytes(tampered)
    broken = verify(tmp_path / "tampered.mp4", trust_anchor=signer.trust_anchor)
    assert broken["state"] == "Invalid" and not broken["valid"]
    assert "assertion.bmffHash.mismatch" in broken["failures"]


def test_same_seed_same_video_other_seed_other_video(pipeline: DiffusersVideoPipeline) -> None:
    first = pipeline.generate(_request(), lambda s, t: None).frames
    again = pipeline.generate(_request(), lambda s, t: None).frames
    other = pipeline.generate(_request(seed=8), lambda s, t: None).frames
    assert first.dtype == np.uint8 and first.shape == (8, 64, 32, 3)
    assert np.array_equal(first, again) and not np.array_equal(first, other)


def test_batched_guidance_renders_what_two_passes_render(pipeline: DiffusersVideoPipeline,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    from generation import guidance

    batchers: list[guidance.GuidanceBatcher] = []
    original = guidance.GuidanceBatcher.__init__

    def recording(self: guidance.GuidanceBatcher, *args: object) -> None:
        original(self, *args)  # type: ignore[arg-type]
        batchers.append(self)

    monkeypatch.setattr(guidance.GuidanceBatcher, "__init__", recording)
    request = _request(fps=10, duration_s=9.0, width=16, height=32, guidance_scale=5.0)
    pipeline.batch_guidance = True
    try:
        batched = pipeline.generate(request, lambda s, t: None).frames
    finally:
        pipeline.batch_guidance = False
    # Every step of both segments ran as one batch, and the forward is the model's own again.
    assert [b.batched for b in batchers] == [4]
    assert "forward" not in vars(pipeline.pipe.transformer)
    plain = pipeline.generate(request, lambda s, t: None).frames
    assert np.abs(batched.astype(int) - plain.astype(int)).max() <= 1
    # Without guidance there is nothing to batch.
    pipeline.batch_guidance = True
    try:
        pipeline.generate(_request(guidance_scale=1.0), lambda s, t: None)
    finally:
        pipeline.batch_guidance = False
    assert len(batchers) == 1


def test_the_gpu_dtype_renders_with_batched_guidance(tiny_dir: Path) -> None:
    # What a GPU worker runs (LIKENESS_GENERATION_DTYPE=bfloat16): transformer and text encoder in
    # bfloat16, the VAE in float32, guidance batched, over two chained segments. No GPU is needed
    # to find a dtype that does not meet another: CPU kernels take bfloat16 too.
    loaded = load_pipeline(GenerationConfig(dtype="bfloat16", batch_guidance=True), tiny_dir)
    assert isinstance(loaded, DiffusersVideoPipeline)
    pipe = loaded.pipe
    assert (pipe.transformer.dtype, pipe.text_encoder.dtype, pipe.vae.dtype) == \
        (torch.bfloat16, torch.bfloat16, torch.float32)
    video = loaded.generate(_request(fps=10, duration_s=9.0, width=16, height=32), lambda s, t: None)
    assert video.frames.shape == (90, 32, 16, 3) and video.frames.dtype == np.uint8
    # Random weights give noise, but not a constant or broken picture.
    assert video.frames.std() > 1


def test_sizes_are_rounded_to_what_wan_takes(pipeline: DiffusersVideoPipeline) -> None:
    video = pipeline.generate(_request(width=44, height=70, fps=5, duration_s=1.4, reference_images=()),
                              lambda s, t: None)
    assert video.frames.shape == (7, 64, 48, 3) and video.fps == 5


def test_segments_plan() -> None:
    assert plan_segments(1) == [1] and plan_segments(8) == [9] and plan_segments(80) == [81]
    assert plan_segments(81) == [81]
    assert plan_segments(160) == [61, 61, 61]  # 10 s at 16 fps
    # A latent frame per reference image, 20 of them: every segment is at least 77 frames.
    assert plan_segments(8, min_length=77) == [77] and plan_segments(90, min_length=77) == [77, 77]
    assert plan_segments(160, min_length=13) == [61, 61, 61]
    for frames in (82, 100, 160, 161, 240, 320):
        segments = plan_segments(frames)
        assert all(length <= 81 and length % 4 == 1 for length in segments)
        assert segments[0] + sum(length - 9 for length in segments[1:]) >= frames


def test_long_clip_is_chained_with_progress_over_all_segments(pipeline: DiffusersVideoPipeline) -> None:
    steps: list[tuple[int, int]] = []
    video = pipeline.generate(_request(fps=10, duration_s=9.0, width=16, height=32),
                              lambda step, total: steps.append((step, total)))
    assert video.frames.shape == (90, 32, 16, 3) and video.duration_s == 9.0
    assert steps == [(n, 4) for n in range(1, 5)]


def test_mark_is_burned_in_and_readable(tmp_path: Path) -> None:
    frames = np.full((4, 416, 240, 3), 200, dtype=np.uint8)
    encode_mp4(add_mark(frames), 8, tmp_path / "marked.mp4")
    decoded, _, _ = _decode(tmp_path / "marked.mp4")
    left, top, right, bottom = mark_box(240, 416)
    assert right - left > 6 * (bottom - top) // 2  # wide enough for "AI-generated" on one line
    for frame in decoded:
        badge = frame[top:bottom, left:right].astype(int).sum(axis=2) / 3
        assert (badge > 230).sum() > 40  # white letters
        assert np.median(badge) < 110  # on a dark box
        assert abs(frame[bottom + 20:, right + 20:].astype(int).mean() - 200) < 3  # the rest untouched
    assert MARK_TEXT == "AI-generated"


def test_mark_fits_tiny_frames() -> None:
    marked = add_mark(np.zeros((2, 20, 14, 3), dtype=np.uint8))
    assert marked.shape == (2, 20, 14, 3) and marked.max() > 0


def test_render_without_provenance_is_unsigned(pipeline: DiffusersVideoPipeline, tmp_path: Path) -> None:
    result = render_video(pipeline, _request(duration_s=0.5), lambda s, t: None, tmp_path, provenance=None,
                          generator_name="tiny", stem="clip")
    assert result.video_path.name == "clip.mp4" and not result.signed
    assert verify(result.video_path)["state"] == "Missing"


def test_cancel_stops_the_render_and_leaves_nothing(pipeline: DiffusersVideoPipeline, signer: C2PASigner,
                                                   tmp_path: Path) -> None:
    calls: list[int] = []

    def progress(step: int, total: int) -> None:
        calls.append(step)
        raise Cancelled

    with pytest.raises(Cancelled):
        render_video(pipeline, _request(steps=5), progress, tmp_path, provenance=signer, generator_name="t")
    assert calls == [1]
    assert list(tmp_path.iterdir()) == []


def test_a_signing_failure_leaves_nothing(pipeline: DiffusersVideoPipeline, tmp_path: Path) -> None:
    bad = C2PASigner(b"not a certificate", b"not a key")
    with pytest.raises(GenerationError) as caught:
        render_video(pipeline, _request(duration_s=0.5), lambda s, t: None, tmp_path, provenance=bad,
                     generator_name="t")
    assert "C2PA" in caught.value.reason and not caught.value.retryable
    assert list(tmp_path.iterdir()) == []


def test_missing_and_broken_model_directories(tiny_dir: Path, tmp_path: Path) -> None:
    config = GenerationConfig()
    for directory, words in [(tmp_path / "nowhere", "does not exist"), (tmp_path, "no model_index.json")]:
        with pytest.raises(GenerationError) as caught:
            load_pipeline(config, directory)
        assert words in caught.value.reason and not caught.value.retryable
    broken = tmp_path / "broken"
    shutil.copytree(tiny_dir, broken)
    weights = broken / "transformer" / "diffusion_pytorch_model.safetensors"
    weights.write_bytes(weights.read_bytes()[:100])
    with pytest.raises(GenerationError) as caught:
        load_pipeline(config, broken)
    assert "could not be loaded" in caught.value.reason and not caught.value.retryable
    index = json.loads((tiny_dir / "model_index.json").read_text())
    shutil.rmtree(broken)
    shutil.copytree(tiny_dir, broken)
    index["_class_name"] = "WanPipeline"
    del index["vae"], index["transformer"], index["transformer_2"]
    (broken / "model_index.json").write_text(json.dumps(index))
    with pytest.raises(GenerationError):
        load_pipeline(config, broken)
    with pytest.raises(GenerationError) as caught:
        load_pipeline(GenerationConfig(dtype="float8"), tiny_dir)
    assert "dtype" in caught.value.reason


def test_loading_never_reaches_for_the_hub(tiny_dir: Path) -> None:
    import huggingface_hub

    load_pipeline(GenerationConfig(), tiny_dir)
    assert os.environ["HF_HUB_OFFLINE"] == "1" and huggingface_hub.constants.is_offline_mode()


def test_bad_reference_images_and_prompts(pipeline: DiffusersVideoPipeline) -> None:
    buffer = io.BytesIO()
    Image.effect_noise((200, 200), 50).save(buffer, format="PNG")
    truncated = Image.open(io.BytesIO(buffer.getvalue()[:2000]))
    for image, words in [(truncated, "reference image 2 could not be decoded"),
                         (Image.new("RGB", (8, 300)), "reference image 2 is 8x300")]:
        with pytest.raises(GenerationError) as caught:
            pipeline.generate(_request(reference_images=(_face(), image)), lambda s, t: None)
        assert words in caught.value.reason and not caught.value.retryable
    with pytest.raises(GenerationError) as caught:
        pipeline.generate(_request(prompt="  "), lambda s, t: None)
    assert caught.value.reason == "the prompt is empty"


def test_transparent_and_large_references_are_accepted(pipeline: DiffusersVideoPipeline) -> None:
    cutout = Image.new("RGBA", (400, 900), (0, 0, 0, 0))
    cutout.paste((200, 150, 120, 255), (100, 100, 300, 800))
    video = pipeline.generate(_request(reference_images=(cutout, _face((2000, 1500)))), lambda s, t: None)
    assert video.frames.shape == (8, 64, 32, 3)


def test_more_references_than_a_segment_has_latent_frames(pipeline: DiffusersVideoPipeline) -> None:
    # 4 cameos of 5 references each are 20 latent frames of references; half a second at 8 fps
    # is 5 frames, 2 latent ones, and 9 s at 10 fps two segments of 14.
    faces = tuple(_face((120 + n, 160)) for n in range(20))
    for fps, duration in ((8, 0.5), (8, 1.0), (10, 9.0)):
        video = pipeline.generate(_request(fps=fps, duration_s=duration, reference_images=faces,
                                           width=16, height=32, steps=1), lambda s, t: None)
        assert video.frames.shape == (round(fps * duration), 32, 16, 3)


def test_references_are_shared_between_the_cameos() -> None:
    cameos = [["a1", "a2", "a3"], ["b1"], ["c1", "c2"]]
    assert round_robin(cameos, 4) == ["a1", "b1", "c1", "a2"]
    assert round_robin(cameos, 20) == ["a1", "b1", "c1", "a2", "c2", "a3"]
    assert round_robin([], 4) == [] and round_robin([[], ["b1"]], 4) == ["b1"]


def test_out_of_memory_is_retryable(pipeline: DiffusersVideoPipeline,
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    def exhausted(*args: object, **kwargs: object) -> None:
        raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 20.00 GiB")

    monkeypatch.setattr(type(pipeline.pipe), "__call__", exhausted)
    with pytest.raises(GenerationError) as caught:
        pipeline.generate(_request(), lambda s, t: None)
    assert caught.value.retryable and "out of memory" in caught.value.reason


def test_compose_prompt() -> None:
    assert compose_prompt(" a dance on the beach ", []) == "a dance on the beach"
    assert compose_prompt("a dance on the beach", ["always wear a red jacket", "No close-ups!",
                                                   "  always  wear a red jacket ", ""]) == (
        "a dance on the beach. always wear a red jacket. No close-ups!")


def test_instance_chain_and_deployment_chain(data_dir: Path, signer: C2PASigner, tmp_path: Path) -> None:
    directory = data_dir / "c2pa"
    assert (directory / "root.key").stat().st_mode & 0o777 == 0o600
    assert (directory / "signer.key").stat().st_mode & 0o777 == 0o600
    again = signer_for(GenerationConfig(), data_dir)
    assert again is not None and again.cert_chain == signer.cert_chain  # made once, then reused
    assert signer_for(GenerationConfig(provenance=False), data_dir) is None
    (tmp_path / "chain.pem").write_bytes(signer.cert_chain)
    (tmp_path / "key.pem").write_bytes(signer.private_key)
    deployment = signer_for(GenerationConfig(c2pa_cert_chain=tmp_path / "chain.pem",
                                             c2pa_private_key=tmp_path / "key.pem"), data_dir)
    assert deployment is not None and deployment.trust_anchor is None
    frames = np.full((4, 32, 32, 3), 90, dtype=np.uint8)
    encode_mp4(frames, 8, tmp_path / "plain.mp4")
    deployment.sign(tmp_path / "plain.mp4", tmp_path / "signed.mp4", generator="m", title="t")
    assert verify(tmp_path / "signed.mp4", trust_anchor=signer.trust_anchor)["state"] == "Trusted"


def test_generation_settings_from_the_environment(tmp_path: Path) -> None:
    settings = Settings.from_env({})
    assert settings.generation == replace(GenerationConfig(), width=TINY_WIDTH, height=TINY_HEIGHT,
                                          steps=TINY_STEPS, fps=TINY_FPS)
    settings = Settings.from_env({
        "LIKENESS_MODEL_DIR": str(tmp_path), "LIKENESS_GENERATION_DEVICE": "cuda:1",
        "LIKENESS_GENERATION_DTYPE": "bf16", "LIKENESS_GENERATION_STEPS": "12",
        "LIKENESS_GENERATION_WIDTH": "720", "LIKENESS_GENERATION_HEIGHT": "1280",
        "LIKENESS_GENERATION_FPS": "24", "LIKENESS_GENERATION_MAX_DURATION_S": "8",
        "LIKENESS_GENERATION_DURATION_S": "4", "LIKENESS_GENERATION_PROVENANCE": "0",
        "LIKENESS_GENERATION_ATTENTION": "_native_flash", "LIKENESS_GENERATION_COMPILE": "1",
        "LIKENESS_C2PA_CERT_CHAIN": str(tmp_path / "c.pem"), "LIKENESS_C2PA_PRIVATE_KEY": str(tmp_path / "k"),
        "LIKENESS_GENERATION_MAX_REFERENCE_IMAGES": "8", "LIKENESS_DRAFT_RETENTION_DAYS": "0",
    })
    g = settings.generation
    assert (g.model_dir, g.device, g.dtype, g.steps) == (tmp_path.resolve(), "cuda:1", "bfloat16", 12)
    assert (g.width, g.height, g.fps, g.max_duration_s, g.default_duration_s) == (720, 1280, 24, 8.0, 4.0)
    assert not g.provenance and g.compile and g.attention_backend == "_native_flash"
    assert g.c2pa_cert_chain == (tmp_path / "c.pem").resolve() and g.max_reference_images == 8
    assert g.draft_retention_days == 0


def test_the_tiny_model_renders_at_its_own_size_and_a_real_model_as_configured(tiny_dir: Path,
                                                                               tmp_path: Path) -> None:
    tiny = (TINY_WIDTH, TINY_HEIGHT, TINY_STEPS, TINY_FPS)
    configured = {"LIKENESS_GENERATION_STEPS": "12", "LIKENESS_GENERATION_WIDTH": "720",
                  "LIKENESS_GENERATION_HEIGHT": "1280", "LIKENESS_GENERATION_FPS": "24"}
    # A real model's directory: a diffusers pipeline without the tiny model's marker.
    real = tmp_path / "Wan2.1-VACE-1.3B-diffusers"
    real.mkdir()
    (real / "model_index.json").write_text(json.dumps({"_class_name": "WanVACEPipeline"}))
    # The default (no LIKENESS_MODEL_DIR), a directory that make_tiny_model built, a real model.
    for model, expected in [({}, tiny), ({"LIKENESS_MODEL_DIR": str(tiny_dir)}, tiny),
                            ({"LIKENESS_MODEL_DIR": str(real)}, (480, 832, 30, 16))]:
        g = Settings.from_env(model).generation
        assert (g.width, g.height, g.steps, g.fps) == expected, model
        assert is_tiny_model(g.model_dir) == (expected == tiny)
        # What the operator sets holds for any model.
        g = Settings.from_env(configured | model).generation
        assert (g.width, g.height, g.steps, g.fps) == (720, 1280, 12, 24), model


@pytest.mark.parametrize("env", [
    {"LIKENESS_GENERATION_DEVICE": "gpu"},
    {"LIKENESS_GENERATION_DEVICE": "cuda:x"},
    {"LIKENESS_GENERATION_DTYPE": "float8"},
    {"LIKENESS_GENERATION_STEPS": "many"},
    {"LIKENESS_GENERATION_STEPS": "0"},
    {"LIKENESS_GENERATION_WIDTH": "-480"},
    {"LIKENESS_GENERATION_FPS": "1000"},
    {"LIKENESS_GENERATION_MAX_DURATION_S": "ten"},
    {"LIKENESS_GENERATION_MAX_DURATION_S": "5", "LIKENESS_GENERATION_DURATION_S": "6"},
    {"LIKENESS_GENERATION_PROVENANCE": "maybe"},
    {"LIKENESS_GENERATION_ATTENTION": "flash; rm"},
    {"LIKENESS_C2PA_CERT_CHAIN": "/etc/chain.pem"},
    {"LIKENESS_GENERATION_MAX_REFERENCE_IMAGES": "3"},  # fewer than the cameos a render may have
    {"LIKENESS_GENERATION_MAX_REFERENCE_IMAGES": "21"},
    {"LIKENESS_DRAFT_RETENTION_DAYS": "-1"},
    {"LIKENESS_DRAFT_RETENTION_DAYS": "a month"},
])
def test_bad_generation_settings_are_refused(env: dict[str, str]) -> None:
    with pytest.raises(ConfigError):
        Settings.from_env(env)

