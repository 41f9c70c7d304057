"""Uploaded videos go through the NSFW check on the worker before they can be posted or fetched:
202 and `pending` at upload, then ready or refused with a reason; lost checks are found again."""

from __future__ import annotations

import dataclasses
import time
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image

from policy.output_safety import check_images
from server import media_cleanup, upload_checks, upload_queue
from server.media_files import CheckTimeout, video_frames_at
from tests.conftest import TEST_GENERATION, eventually
from tests.videos import make_mp4, upload_video


def _numbered_mp4(path: Path, frames: int, fps: int, keyframe_every: int) -> Path:
    """Grey frames whose level says their index (6 levels apart: YUV rounding moves it by 2),
    keyframes as asked."""
    with av.open(str(path), "w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=Fraction(fps))
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        stream.options = {"x264-params": f"keyint={keyframe_every}:min-keyint={keyframe_every}:scenecut=0",
                          "qp": "0"}
        for index in range(frames):
            picture = Image.new("RGB", (64, 48), (6 * index,) * 3)
            container.mux(stream.encode(av.VideoFrame.from_image(picture)))
        container.mux(stream.encode())
    return path


def _index(image: Image.Image) -> int:
    return round(float(np.asarray(image.convert("L")).mean()) / 6)


@pytest.mark.parametrize("keyframe_every", [8, 1000])
def test_frames_are_sampled_at_their_times(tmp_path, keyframe_every):
    # 40 frames at 10 fps; keyframes every 0.8 s (2.4 s on is reached by seeking) or only the
    # first (decoded straight on).
    video = _numbered_mp4(tmp_path / "n.mp4", 40, 10, keyframe_every)
    deadline = time.monotonic() + 30
    frames = video_frames_at(video, [0.0, 0.5, 2.9, 3.0, 3.9, 5.0], long_side=32, deadline=deadline)
    # Past the end is the last frame.
    assert [_index(f) for f in frames] == [0, 5, 29, 30, 39, 39]
    assert frames[0].size == (32, 24)


def test_sampling_stops_at_its_deadline(tmp_path):
    video = _numbered_mp4(tmp_path / "n.mp4", 20, 10, 1000)
    with pytest.raises(CheckTimeout):
        video_frames_at(video, [0.0, 1.0], long_side=32, deadline=time.monotonic() - 1)


async def _upload(a, clip: Path, endpoint: str = "/api/v2/media"):
    files = {"file": ("c.mp4", clip.read_bytes(), "video/mp4")}
    return await a.api("alice", "POST", endpoint, files=files)


async def _post(a, media_id: str):
    return await a.api("alice", "POST", "/api/v1/statuses", json={"status": "hi", "media_ids": [media_id]})


async def _media_files(a) -> set[Path]:
    root = a.instance.media.root
    return {p for p in root.rglob("*") if p.is_file()} if root.exists() else set()


async def _storage_keys(a, media_id: str) -> tuple[str, str]:
    row = await a.pool.fetchrow("SELECT storage_key, poster_key FROM media WHERE id = $1", int(media_id))
    return row["storage_key"], row["poster_key"]


async def test_a_video_is_pending_until_checked_then_posts(make_instance, tmp_path, monkeypatch):
    a = await make_instance()
    await a.signup("alice")
    # The check's job is lost on the way to Redis: the video stays pending.
    lost: list[int] = []

    async def lose(fed, media_id):
        lost.append(media_id)

    monkeypatch.setattr(upload_queue, "queue_check", lose)
    clip = make_mp4(tmp_path / "clip.mp4", width=90, height=160, seconds=1.0, fps=8)
    response = await _upload(a, clip)
    assert response.status_code == 202, response.text
    pending = response.json()
    assert pending["url"] is None and pending["preview_url"] is None and lost == [int(pending["id"])]
    shown = await a.api("alice", "GET", f"/api/v1/media/{pending['id']}")
    assert shown.status_code == 206 and shown.json()["url"] is None
    posted = await _post(a, pending["id"])
    assert posted.status_code == 422
    assert posted.json()["error"] == (f"video {pending['id']} is still being checked for safety:"
                                      " try again in a moment")
    assert await a.pool.fetchval("SELECT count(*) FROM posts") == 0
    # Neither the file nor its poster is served before the check.
    async with a.client() as client:
        for key in await _storage_keys(a, pending["id"]):
            assert (await client.get(f"/media/{key}")).status_code == 404

    # The sweeper finds the lost check and the worker does it.
    monkeypatch.undo()
    monkeypatch.setattr(upload_checks, "LOST_AFTER_S", 0.0)
    assert await upload_checks.sweep(a.instance.fed) == 1

    async def ready():
        media = await a.api("alice", "GET", f"/api/v1/media/{pending['id']}")
        return media.json() if media.status_code == 200 else None

    media = await eventually(ready)
    # Signed for its owner while in no post (test_media_privacy).
    assert media["url"] and media["preview_url"].partition("?")[0].endswith(".jpg")
    assert await upload_checks.sweep(a.instance.fed) == 0
    posted = await _post(a, media["id"])
    assert posted.status_code == 200, posted.text
    async with a.client() as client:
        for key in await _storage_keys(a, media["id"]):
            assert (await client.get(f"/media/{key}")).status_code == 200


async def _refused(a, media_id: str) -> str:
    async def settled():
        media = await a.api("alice", "GET", f"/api/v1/media/{media_id}")
        return media if media.status_code != 206 else None

    media = await eventually(settled)
    assert media.status_code == 422, media.text
    return media.json()["error"]


@pytest.mark.parametrize("cause", ["flagged", "broken classifier", "deadline"])
async def test_a_refused_video_is_deleted_and_says_why(make_instance, tmp_path, monkeypatch, cause):
    threshold = 0.0 if cause == "flagged" else TEST_GENERATION.nsfw_threshold
    a = await make_instance(generation=dataclasses.replace(TEST_GENERATION, nsfw_threshold=threshold))
    await a.signup("alice")
    if cause == "broken classifier":
        def broken(images):
            raise RuntimeError("the model file is gone")

        def check(frames, threshold, positions):
            return check_images(frames, threshold, positions=positions, score=broken)

        monkeypatch.setattr(upload_checks, "check_images", check)
    if cause == "deadline":
        monkeypatch.setattr(upload_checks, "CHECK_DEADLINE_S", -1.0)
    expected = {"flagged": upload_checks.LOOKS_SEXUAL, "broken classifier": upload_checks.UNCHECKABLE,
                "deadline": upload_checks.TOO_LONG}[cause]

    clip = make_mp4(tmp_path / "clip.mp4", width=90, height=160, seconds=1.0, fps=8)
    response = await _upload(a, clip)
    assert response.status_code == 202, response.text
    media_id = response.json()["id"]
    assert await _refused(a, media_id) == expected
    # The file and its poster are gone; the row keeps the reason for the uploader.
    assert await _media_files(a) == set()
    posted = await _post(a, media_id)
    assert posted.status_code == 422
    assert posted.json()["error"] == f"media {media_id} cannot be published: {expected}"
    assert await a.pool.fetchval("SELECT count(*) FROM posts") == 0
    # Someone else's media id is not found, refused or not.
    await a.signup("bob")
    assert (await a.api("bob", "GET", f"/api/v1/media/{media_id}")).status_code == 404


async def test_a_benign_video_passes_the_default_threshold(make_instance, tmp_path):
    a = await make_instance()
    await a.signup("alice")
    media = await upload_video(a, "alice", make_mp4(tmp_path / "clip.mp4", seconds=3.0))
    row = await a.pool.fetchrow("SELECT check_state, check_reason FROM media WHERE id = $1", int(media["id"]))
    assert (row["check_state"], row["check_reason"]) == ("ready", None)


async def test_the_v1_upload_answers_once_checked(make_instance, tmp_path):
    # Mastodon's v1 endpoint is synchronous: clients that use it post the media right away.
    a = await make_instance()
    await a.signup("alice")
    clip = make_mp4(tmp_path / "clip.mp4", width=90, height=160, seconds=1.0, fps=8)
    response = await _upload(a, clip, "/api/v1/media")
    assert response.status_code == 200, response.text
    assert response.json()["url"]
    assert (await _post(a, response.json()["id"])).status_code == 200


async def test_uploads_never_posted_are_removed_after_a_day(make_instance, tmp_path):
    from tests.test_generation_jobs import _generate, _state

    a = await make_instance()
    await a.signup("alice")
    posted, young, stale = [
        int((await upload_video(a, "alice", make_mp4(tmp_path / f"{n}.mp4", width=90, height=160)))["id"])
        for n in range(3)]
    assert (await _post(a, str(posted))).status_code == 200
    job = await _generate(a, "alice")
    draft = (await _state(a, job["id"], "succeeded"))["result_media_id"]
    # All but `young` are two days old: only the stale upload goes, a posted one and a generation
    # draft (which its requester may still publish) stay.
    await a.pool.execute("UPDATE media SET created_at = now() - interval '2 days' WHERE id = ANY($1)",
                         [posted, stale, draft])
    keys = {row["id"]: {row["storage_key"], row["poster_key"]} - {None}
            for row in await a.pool.fetch("SELECT * FROM media")}
    assert await media_cleanup.remove_unposted_uploads(a.pool, a.instance.media) == 1
    assert {r["id"] for r in await a.pool.fetch("SELECT id FROM media")} == {posted, young, draft}
    files = {p.relative_to(a.instance.media.root).as_posix() for p in await _media_files(a)}
    assert keys[stale] and not keys[stale] & files
    assert keys[posted] | keys[young] | keys[draft] <= files
    assert await media_cleanup.remove_unposted_uploads(a.pool, a.instance.media) == 0
