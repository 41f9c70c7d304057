"""From a request to finished files: render, mark, encode, poster, blurhash, sign.

This is what the job runner calls (with `load_pipeline` and `ensure_tiny_model`; the prompt it
renders was composed when the job was queued, `jobs.compose_prompt`). Files appear whole or not
at all: everything is written under temporary names in `out_dir` and renamed at the end, and a
failure removes what it wrote.
"""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from .encode import add_mark, blurhash_of, encode_mp4, even, poster_jpeg
from .fingerprint import file_sha256
from .pipeline import GenerationError, GenerationRequest, Progress, VideoPipeline
from .provenance import C2PASigner, ProvenanceError


@dataclass(frozen=True, kw_only=True)
class RenderResult:
    video_path: Path
    poster_path: Path
    blurhash: str
    width: int
    height: int
    duration_s: float
    frame_count: int
    fps: int
    byte_size: int
    media_type: str = "video/mp4"
    # The model that made it, as named in the C2PA manifest and the post's `generator`.
    generator: str
    # Whether a C2PA manifest is embedded.
    signed: bool
    # The file's SHA-256 and its perceptual fingerprint (generation/fingerprint.py), which an
    # upload of this render or of a copy of it is refused by; the worker adds the fingerprint.
    sha256: bytes
    fingerprint: list[int] = field(default_factory=list)


def render_video(pipeline: VideoPipeline, request: GenerationRequest, progress: Progress, out_dir: Path, *,
                 provenance: C2PASigner | None, generator_name: str, stem: str = "video") -> RenderResult:
    """Render `request` to out_dir/<stem>.mp4 and out_dir/<stem>.jpg.

    Raises GenerationError (or Cancelled, from `progress`) and leaves nothing behind then.
    """
    video = pipeline.generate(request, progress)
    frames = add_mark(even(video.frames))
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    video_path, poster_path = out_dir / f"{stem}.mp4", out_dir / f"{stem}.jpg"
    token = uuid.uuid4().hex
    encoded = out_dir / f".{stem}.{token}.encoded.mp4"
    signed = out_dir / f".{stem}.{token}.signed.mp4"
    poster = out_dir / f".{stem}.{token}.jpg"
    try:
        encode_mp4(frames, video.fps, encoded)
        final = encoded
        if provenance is not None:
            try:
                provenance.sign(encoded, signed, generator=generator_name, title=f"{stem}.mp4")
            except ProvenanceError as exc:
                raise GenerationError(str(exc)) from exc
            final = signed
        poster.write_bytes(poster_jpeg(frames[0]))
        blurhash = blurhash_of(frames[0])
        byte_size = final.stat().st_size
        sha256 = file_sha256(final)
        os.replace(poster, poster_path)
        os.replace(final, video_path)
    finally:
        for temporary in (encoded, signed, poster):
            temporary.unlink(missing_ok=True)
    return RenderResult(
        video_path=video_path, poster_path=poster_path, blurhash=blurhash,
        width=frames.shape[2], height=frames.shape[1], duration_s=len(frames) / video.fps,
        frame_count=len(frames), fps=video.fps, byte_size=byte_size, generator=generator_name,
        signed=provenance is not None, sha256=sha256,
    )
