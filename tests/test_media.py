"""Media storage, upload inspection and serving, on real files."""

from __future__ import annotations

import io
import os
import random
import re
from pathlib import Path

import av
import blurhash
import httpx
import pytest
from PIL import Image
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from server.media import MediaError, inspect_upload, media_response
from server.media_store import LocalMediaStore, new_key
from tests.videos import make_mp4

LIMIT = 99 * 1024 * 1024


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_mp4(tmp_path_factory.mktemp("clip") / "clip.mp4")


def _image_bytes(image_format: str, size: tuple[int, int] = (48, 32)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (200, 40, 90)).save(buffer, image_format)
    return buffer.getvalue()


async def _refusal(path: Path, *, max_bytes: int = LIMIT) -> str:
    with pytest.raises(MediaError) as caught:
        await inspect_upload(path, max_bytes=max_bytes)
    return str(caught.value)


# --- storage -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "key",
    [
        "", "../x", "videos/../../etc/passwd", "/etc/passwd", "a\\b", "a//b", "a/", ".hidden",
        "videos/.x.tmp", "a b", "vidéo.mp4", "a/..b", "x" * 600,
    ],
)
async def test_store_refuses_unsafe_keys(tmp_path: Path, key: str) -> None:
    store = LocalMediaStore(tmp_path)
    with pytest.raises(ValueError):
        store.path(key)
    with pytest.raises(ValueError):
        await store.put_bytes(key, b"x")
    with pytest.raises(ValueError):
        await store.exists(key)
    assert list(tmp_path.iterdir()) == []


def test_new_key_is_random_fanned_out_and_valid(tmp_path: Path) -> None:
    keys = {new_key("videos", "mp4") for _ in range(100)}
    assert len(keys) == 100
    store = LocalMediaStore(tmp_path)
    for key in keys:
        match = re.fullmatch(r"videos/([\w-]{2})/([\w-]{2})/([\w-]{24})\.mp4", key)
        assert match and match[3].startswith(match[1] + match[2])
        store.path(key)
    with pytest.raises(ValueError):
        new_key("../videos", "mp4")
    with pytest.raises(ValueError):
        new_key("videos", "mp4/x")


async def test_store_put_size_exists_delete(tmp_path: Path) -> None:
    store = LocalMediaStore(tmp_path / "media")
    source = tmp_path / "upload.bin"
    source.write_bytes(b"v" * 300_000)
    video, poster = new_key("videos", "mp4"), new_key("posters", "jpg")

    assert not await store.exists(video)
    await store.put_file(video, source)
    await store.put_bytes(poster, b"jpeg bytes")
    assert source.exists(), "put_file copies; the caller owns its upload file"
    assert await store.exists(video) and await store.exists(poster)
    assert await store.size(video) == 300_000
    assert store.path(video).read_bytes() == source.read_bytes()
    assert store.path(poster).read_bytes() == b"jpeg bytes"
    assert store.path(video).stat().st_mode & 0o777 == 0o644

    await store.put_bytes(poster, b"replaced")
    assert store.path(poster).read_bytes() == b"replaced"

    await store.delete(video)
    await store.delete(video)  # deleting twice is fine: retries must not fail
    assert not await store.exists(video)
    with pytest.raises(FileNotFoundError):
        await store.size(video)

    files = [p for p in (tmp_path / "media").rglob("*") if p.is_file()]
    assert files == [store.path(poster)], "no temporary files are left behind"


async def test_failed_write_leaves_no_temporary_file(tmp_path: Path) -> None:
    store = LocalMediaStore(tmp_path)
    key = new_key("videos", "mp4")
    with pytest.raises(FileNotFoundError):
        await store.put_file(key, tmp_path / "missing.mp4")
    assert not await store.exists(key)
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == []


# --- inspection: accepted ----------------------------------------------------------------------


async def test_video_is_measured(clip: Path) -> None:
    info = await inspect_upload(clip, max_bytes=LIMIT)
    assert (info.kind, info.media_type, info.extension) == ("video", "video/mp4", "mp4")
    assert (info.width, info.height) == (360, 640)
    assert info.duration == pytest.approx(1.0, abs=0.07)
    assert info.frame_rate == pytest.approx(16)
    assert info.byte_size == clip.stat().st_size
    assert blurhash.is_valid_blurhash(info.blurhash)
    assert info.poster_jpeg is not None and info.poster_jpeg.startswith(b"\xff\xd8\xff")
    with Image.open(io.BytesIO(info.poster_jpeg)) as poster:
        assert (poster.format, poster.size) == ("JPEG", (360, 640))


async def test_poster_is_scaled_down(tmp_path: Path) -> None:
    info = await inspect_upload(
        make_mp4(tmp_path / "wide.mp4", width=1920, height=1080, seconds=0.125), max_bytes=LIMIT
    )
    assert (info.width, info.height) == (1920, 1080)
    assert info.poster_jpeg is not None
    with Image.open(io.BytesIO(info.poster_jpeg)) as poster:
        assert poster.size == (1280, 720)


async def test_rotated_video_reports_its_display_shape(tmp_path: Path) -> None:
    """A phone recording stores landscape pixels plus a display rotation (and, as here, often
    its moov index after the media data)."""
    path = tmp_path / "rotated.mp4"
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=16)
        stream.width, stream.height, stream.pix_fmt = 64, 32, "yuv420p"
        stream.set_display_rotation(90)
        for _ in range(4):
            frame = av.VideoFrame.from_image(Image.new("RGB", (64, 32), (10, 200, 10)))
            container.mux(stream.encode(frame))
        container.mux(stream.encode())
    info = await inspect_upload(path, max_bytes=LIMIT)
    assert (info.width, info.height) == (32, 64)
    assert info.poster_jpeg is not None
    with Image.open(io.BytesIO(info.poster_jpeg)) as poster:
        assert poster.size == (32, 64)


async def test_vertical_4k_is_within_limits(tmp_path: Path) -> None:
    info = await inspect_upload(
        make_mp4(tmp_path / "tall.mp4", width=2160, height=3840, seconds=0.0625), max_bytes=LIMIT
    )
    assert (info.width, info.height) == (2160, 3840)


@pytest.mark.parametrize(
    ("image_format", "media_type", "extension"),
    [("JPEG", "image/jpeg", "jpg"), ("PNG", "image/png", "png"), ("WEBP", "image/webp", "webp")],
)
async def test_images_are_accepted(
    tmp_path: Path, image_format: str, media_type: str, extension: str
) -> None:
    path = tmp_path / "upload"
    path.write_bytes(_image_bytes(image_format))
    info = await inspect_upload(path, max_bytes=LIMIT)
    assert (info.kind, info.media_type, info.extension) == ("image", media_type, extension)
    assert (info.width, info.height) == (48, 32)
    assert info.duration is None and info.frame_rate is None and info.poster_jpeg is None
    assert blurhash.is_valid_blurhash(info.blurhash)


async def test_type_comes_from_content_not_name(tmp_path: Path) -> None:
    """A JPEG named .mp4 (and sent as video/mp4) is a JPEG."""
    path = tmp_path / "video.mp4"
    path.write_bytes(_image_bytes("JPEG"))
    info = await inspect_upload(path, max_bytes=LIMIT)
    assert (info.kind, info.media_type, info.extension) == ("image", "image/jpeg", "jpg")


async def test_exif_orientation_is_applied_to_image_size(tmp_path: Path) -> None:
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90° clockwise to display
    path = tmp_path / "photo.jpg"
    Image.new("RGB", (48, 32), (1, 2, 3)).save(path, "JPEG", exif=exif)
    info = await inspect_upload(path, max_bytes=LIMIT)
    assert (info.width, info.height) == (32, 48)


# --- inspection: refused -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "content",
    [
        b"",
        os.urandom(4096),
        b"<!DOCTYPE html><html><body><script>alert(1)</script></body></html>",
        b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + bytes(100),
    ],
    ids=["empty", "random", "html", "heif"],
)
async def test_unknown_content_is_refused(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "upload.mp4"
    path.write_bytes(content)
    assert await _refusal(path) == "not an MP4, JPEG, PNG or WebP file"


async def test_fake_mp4_is_refused(clip: Path, tmp_path: Path) -> None:
    """Well-formed boxes around noise, and a real index over noise, are both refused."""
    noise = random.Random(1).randbytes(5000)
    boxes = b"".join(
        (len(body) + 8).to_bytes(4, "big") + name + body
        for name, body in [(b"ftyp", b"isom\0\0\2\0isomiso2"), (b"moov", noise), (b"mdat", noise)]
    )
    path = tmp_path / "fake.mp4"
    path.write_bytes(boxes)
    assert await _refusal(path) == "video has no video stream"

    data = bytearray(clip.read_bytes())
    media = data.index(b"mdat") + 4
    data[media:] = random.Random(2).randbytes(len(data) - media)
    path.write_bytes(data)
    assert await _refusal(path) == "video could not be decoded"


@pytest.mark.parametrize("keep", [0.02, 0.5, 0.9, -1])
async def test_truncated_mp4_is_refused(clip: Path, tmp_path: Path, keep: float) -> None:
    """Cut inside the moov index, early and late in the media data, and by one byte."""
    data = clip.read_bytes()
    path = tmp_path / "cut.mp4"
    path.write_bytes(data[: int(len(data) * keep) if keep > 0 else keep])
    assert await _refusal(path) == "video file is incomplete"


async def test_missing_samples_are_found(clip: Path, tmp_path: Path) -> None:
    """A file whose boxes are whole but whose media data was cut (the mdat box shrunk to fit)."""
    data = bytearray(clip.read_bytes())
    mdat = data.index(b"mdat") - 4
    cut = mdat + (len(data) - mdat) // 2
    data[mdat : mdat + 4] = (cut - mdat).to_bytes(4, "big")
    path = tmp_path / "short.mp4"
    path.write_bytes(data[:cut])
    assert await _refusal(path) == "video file is incomplete"


async def test_oversized_file_is_refused(clip: Path, tmp_path: Path) -> None:
    message = await _refusal(clip, max_bytes=clip.stat().st_size - 1)
    assert message.startswith("file is larger than")
    big = tmp_path / "big.mp4"
    with open(big, "wb") as file:
        file.truncate(LIMIT + 1)  # sparse: the size is checked before anything is read
    assert await _refusal(big) == "file is larger than 99 MB"


async def test_too_large_dimensions_are_refused(tmp_path: Path) -> None:
    wide = make_mp4(tmp_path / "wide.mp4", width=3856, height=16, seconds=0.0625)
    assert await _refusal(wide) == "video is 3856x16; the limit is 3840x2160"


async def test_too_high_frame_rate_is_refused(tmp_path: Path) -> None:
    fast = make_mp4(tmp_path / "fast.mp4", width=32, height=32, seconds=0.05, fps=240)
    assert await _refusal(fast) == "video is 240 fps; the limit is 120"


async def test_too_long_video_is_refused(tmp_path: Path) -> None:
    long = make_mp4(tmp_path / "long.mp4", width=16, height=16, seconds=601, fps=1)
    assert await _refusal(long) == "video is 601 seconds long; the limit is 600"


async def test_unsupported_codec_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "mpeg4.mp4"
    with av.open(str(path), "w", format="mp4") as container:
        stream = container.add_stream("mpeg4", rate=16)
        stream.width, stream.height, stream.pix_fmt = 32, 32, "yuv420p"
        container.mux(stream.encode(av.VideoFrame.from_image(Image.new("RGB", (32, 32)))))
        container.mux(stream.encode())
    assert (await _refusal(path)).startswith("video codec mpeg4 is not supported")


async def test_audio_only_mp4_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "audio.mp4"
    with av.open(str(path), "w", format="mp4") as container:
        stream = container.add_stream("aac", rate=48000, layout="mono")
        for index in range(4):
            frame = av.AudioFrame(format="fltp", layout="mono", samples=1024)
            frame.planes[0].update(bytes(4096))
            frame.sample_rate, frame.pts = 48000, index * 1024
            container.mux(stream.encode(frame))
        container.mux(stream.encode())
    assert await _refusal(path) == "video has no video stream"


async def test_truncated_image_is_refused(tmp_path: Path) -> None:
    data = _image_bytes("PNG", (300, 200))
    path = tmp_path / "cut.png"
    path.write_bytes(data[: len(data) // 2])
    assert await _refusal(path) == "image could not be decoded"


@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")
@pytest.mark.parametrize(
    ("size", "message"),
    [
        ((8000, 5001), "image is 8000x5001; the limit is 40 megapixels"),
        ((10000, 9000), "image is larger than 40 megapixels"),  # Pillow's own bomb check
    ],
)
async def test_decompression_bomb_is_refused(
    tmp_path: Path, size: tuple[int, int], message: str
) -> None:
    path = tmp_path / "bomb.png"
    Image.new("1", size).save(path, "PNG")  # a few KB of zeros that would decode to 40+ MP
    assert await _refusal(path) == message


# --- serving -----------------------------------------------------------------------------------

BODY = os.urandom(200_000)  # more than three of FileResponse's 64 KiB chunks


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> httpx.AsyncClient:
    path = tmp_path_factory.mktemp("serve") / "file.mp4"
    path.write_bytes(BODY)

    async def serve(request: Request) -> Response:
        return media_response(request, path, "video/mp4", cache_seconds=3600)

    async def missing(request: Request) -> Response:
        return media_response(request, path.with_name("gone.mp4"), "video/mp4")

    app = Starlette(routes=[Route("/v.mp4", serve), Route("/gone.mp4", missing)])
    return httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://test")


async def test_full_get(client: httpx.AsyncClient) -> None:
    response = await client.get("/v.mp4")
    assert response.status_code == 200
    assert response.content == BODY
    headers = response.headers
    assert headers["content-length"] == str(len(BODY))
    assert headers["content-type"] == "video/mp4"
    assert headers["accept-ranges"] == "bytes"
    assert headers["cache-control"] == "public, max-age=3600, immutable"
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["etag"].startswith('"') and headers["last-modified"].endswith("GMT")


async def test_head_has_headers_and_no_body(client: httpx.AsyncClient) -> None:
    get, head = await client.get("/v.mp4"), await client.head("/v.mp4")
    assert head.status_code == 200 and head.content == b""
    for name in ("content-length", "content-type", "etag", "last-modified", "accept-ranges",
                 "cache-control", "x-content-type-options"):
        assert head.headers[name] == get.headers[name]


@pytest.mark.parametrize(
    ("range_", "start", "end"),
    [
        ("bytes=0-99", 0, 100),
        ("bytes=70000-140000", 70000, 140001),
        ("bytes=-500", len(BODY) - 500, len(BODY)),
        ("bytes=199950-", 199950, len(BODY)),
        ("bytes=199990-300000", 199990, len(BODY)),
    ],
    ids=["first", "middle", "suffix", "open-ended", "past-end"],
)
async def test_range(client: httpx.AsyncClient, range_: str, start: int, end: int) -> None:
    response = await client.get("/v.mp4", headers={"Range": range_})
    assert response.status_code == 206
    assert response.content == BODY[start:end]
    assert response.headers["content-length"] == str(end - start)
    assert response.headers["content-range"] == f"bytes {start}-{end - 1}/{len(BODY)}"
    head = await client.head("/v.mp4", headers={"Range": range_})
    assert head.status_code == 206 and head.content == b""
    assert head.headers["content-range"] == response.headers["content-range"]


@pytest.mark.parametrize("range_", [f"bytes={len(BODY)}-", "bytes=-0"])
async def test_unsatisfiable_range(client: httpx.AsyncClient, range_: str) -> None:
    response = await client.get("/v.mp4", headers={"Range": range_})
    assert response.status_code == 416
    assert response.headers["content-range"] == f"bytes */{len(BODY)}"


async def test_several_ranges_are_multipart(client: httpx.AsyncClient) -> None:
    response = await client.get("/v.mp4", headers={"Range": "bytes=0-9,100-109"})
    assert response.status_code == 206
    assert response.headers["content-type"].startswith("multipart/byteranges; boundary=")
    assert BODY[0:10] in response.content and BODY[100:110] in response.content


async def test_if_none_match(client: httpx.AsyncClient) -> None:
    etag = (await client.head("/v.mp4")).headers["etag"]
    for value in (etag, f"W/{etag}", f'"other", {etag}', "*"):
        response = await client.get("/v.mp4", headers={"If-None-Match": value})
        assert response.status_code == 304 and response.content == b""
        assert response.headers["etag"] == etag
        assert response.headers["cache-control"] == "public, max-age=3600, immutable"
    changed = await client.get("/v.mp4", headers={"If-None-Match": '"other"'})
    assert changed.status_code == 200 and changed.content == BODY


async def test_missing_file_is_404(client: httpx.AsyncClient) -> None:
    assert (await client.get("/gone.mp4")).status_code == 404
