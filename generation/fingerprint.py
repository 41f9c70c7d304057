"""What identifies a render after it leaves the server: its bytes, and how it looks.

A requester could download a remix's draft and upload it as an ordinary video, with no cameo
owner's consent attached (server/upload_checks.py refuses that). The same bytes are caught by
their SHA-256; a re-encoded copy (scaled, cropped a little, at another bitrate or frame rate) by
a perceptual fingerprint: SAMPLES frames taken at the same fractions of the video's length, each
reduced to a 64-bit DCT hash (pHash: the signs of the lowest 8x8 frequencies of a 32x32 grey
picture of the frame without its outer tenth, against their median), compared slot by slot in
Hamming distance. The border is left out because every render has the same AI mark in its top
left corner, and the tiny model the same pattern at its edges: with them, renders unrelated to
each other look alike (tests/bench/reupload.py measured both).

Looking an upload up among every render is kept cheap by a coarse key (multi-index hashing):
each slot's hash is cut into BANDS pieces of 16 bits, tagged with the slot and the piece. A copy
a few bits off in each of 16 slots all but surely has one piece unchanged, so it shares a key with
its render, which an index finds (a GIN index on PostgreSQL arrays); a random fingerprint shares
one with about 1 render in 1,000, and only those candidates are compared in full.

Pure functions on PIL images and numpy; blocking, run them in a thread. The caller decodes the
frames, and a render is fingerprinted from its file, decoded as an upload of it would be (the
server passes the generation worker its decoder), so that the same file gives the same hashes.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image

# Frames sampled per video, one in the middle of each of SAMPLES equal parts of it.
SAMPLES = 16
# The picture a frame is reduced to before its DCT, and the low frequencies kept.
HASH_SIDE = 32
KEEP = 8
# The part of each side left out (the AI mark is in the top tenth).
BORDER = 0.1
# A frame whose low frequencies hardly vary (a flat colour) says nothing: its slot is 0 and is
# left out of comparisons, so that two black screens never match.
FLAT_SPREAD = 2.0
# A copy: at most this many bits differ per slot on average (of 63; unrelated videos differ by
# about 32, and by 25 at the least in tests/bench/reupload.py), over at least MIN_SHARED slots
# both videos have.
MATCH_DISTANCE = 18.0
MIN_SHARED = SAMPLES // 2
BANDS = 4
BAND_BITS = 64 // BANDS
# Videos' lengths may differ by up to this fraction (a frame rate change keeps the length).
DURATION_TOLERANCE = 0.1
# The part of a file read at a time for its hash.
CHUNK = 1 << 20


def sample_indices(frame_count: int) -> list[int]:
    """The frames sampled: the first of the middle of each of SAMPLES equal parts (a frame, not a
    time between two, so that a decoder finds the same one)."""
    return [min(frame_count - 1, (2 * slot + 1) * frame_count // (2 * SAMPLES))
            for slot in range(SAMPLES)] if frame_count > 0 else []


def sample_times(duration: float, fps: float) -> list[float]:
    """When the sampled frames of a video are shown."""
    return [index / fps for index in sample_indices(max(1, round(duration * fps)))]


def _dct_matrix(size: int) -> np.ndarray:
    """The orthonormal DCT-II matrix: D @ x is the DCT of the column x."""
    k = np.arange(size)[:, None]
    n = np.arange(size)[None, :]
    matrix = np.cos(np.pi * (2 * n + 1) * k / (2 * size)) * np.sqrt(2 / size)
    matrix[0] /= np.sqrt(2)
    return matrix


_DCT = _dct_matrix(HASH_SIDE)


def frame_hash(image: Image.Image) -> int:
    """The 64-bit DCT hash of one frame, 0 for a flat one."""
    width, height = image.size
    inside = (round(width * BORDER), round(height * BORDER),
              width - round(width * BORDER), height - round(height * BORDER))
    grey = image.convert("L").resize((HASH_SIDE, HASH_SIDE), Image.Resampling.BOX, box=inside)
    pixels = np.asarray(grey, dtype=np.float64)
    low = (_DCT @ pixels @ _DCT.T)[:KEEP, :KEEP].flatten()
    # The DC term only says how bright the frame is; the others say where things are.
    if low[1:].std() < FLAT_SPREAD:
        return 0
    bits = low > np.median(low[1:])
    bits[0] = False
    value = int(sum(1 << i for i, bit in enumerate(bits) if bit))
    return value or 1


def fingerprint(frames: Sequence[Image.Image]) -> list[int]:
    """The hashes of the sampled frames (unsigned 64-bit)."""
    return [frame_hash(frame) for frame in frames]


def distance(one: Sequence[int], other: Sequence[int]) -> float | None:
    """The mean Hamming distance over the slots both fingerprints have (neither flat); None when
    too few are shared to tell."""
    shared = [(a ^ b).bit_count() for a, b in zip(one, other, strict=False) if a and b]
    if len(shared) < MIN_SHARED:
        return None
    return sum(shared) / len(shared)


def is_copy(upload: Sequence[int], render: Sequence[int]) -> bool:
    found = distance(upload, render)
    return found is not None and found <= MATCH_DISTANCE


def band_keys(hashes: Sequence[int]) -> list[int]:
    """The coarse keys of a fingerprint: each 16-bit piece of each slot's hash, tagged with its
    slot and piece (so they fit an int4)."""
    mask = (1 << BAND_BITS) - 1
    return [(slot * BANDS + band) << BAND_BITS | (value >> (band * BAND_BITS)) & mask
            for slot, value in enumerate(hashes) if value for band in range(BANDS)]


def similar_length(one: float, other: float) -> bool:
    return abs(one - other) <= DURATION_TOLERANCE * max(one, other, 0.5)


def as_signed(hashes: Sequence[int]) -> list[int]:
    """For a bigint[] column: the same 64 bits, as PostgreSQL's signed integers."""
    return [value - (1 << 64) if value >= 1 << 63 else value for value in hashes]


def as_unsigned(hashes: Sequence[int]) -> list[int]:
    return [value & ((1 << 64) - 1) for value in hashes]


def file_sha256(path: Path) -> bytes:
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        while chunk := file.read(CHUNK):
            digest.update(chunk)
    return digest.digest()
