"""The output safety check: the open_nsfw classifier over sampled frames (pure), generations held
for a moderator and released or rejected over HTTP with the tiny model, cameo and post images
refused, and a check that fails holding rather than passing."""

from __future__ import annotations

import asyncio
import dataclasses
import io
import logging
import math
import threading
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from generation import jobs
from policy.output_safety import (
    DEFAULT_THRESHOLD,
    HELD_FOR_REVIEW,
    MAX_SAMPLES,
    SafetyCheckError,
    Verdict,
    check_frames,
    check_images,
    classifier,
    judge,
    sample_frames,
    score_images,
)
from server.config import ConfigError, Settings
from server.worker import generation_worker, make_generation_worker
from tests.conftest import TEST_GENERATION, eventually
from tests.test_admin_rules import _cli, cli_env
from tests.test_cameos import _create as _create_cameo
from tests.test_cameos import _jpeg
from tests.test_generation_jobs import CONFIG, SteppedPipeline, _generate, _sse, _state, workers
from tests.test_remix_consent import _cameo, _remix

__all__ = ["cli_env", "workers"]  # fixtures, shared with test_admin_rules and test_generation_jobs

REFUSED = "was refused by the safety check: it looks like sexual content"


def _gradient(height: int = 832, width: int = 480, shift: int = 0) -> np.ndarray:
    frame = np.zeros((height, width, 3), np.uint8)
    frame[..., 0] = np.roll(np.linspace(0, 255, width, dtype=np.uint8), shift)
    frame[..., 2] = 128
    return frame


def _benign() -> list[np.ndarray]:
    rng = np.random.default_rng(5)
    return [np.zeros((832, 480, 3), np.uint8), np.full((832, 480, 3), 255, np.uint8), _gradient(),
            rng.integers(0, 256, (832, 480, 3), dtype=np.uint8)]


# --- pure --------------------------------------------------------------------------------------

def test_scores_are_probabilities_and_benign_frames_pass():
    frames = _benign()
    scores = score_images(frames + [Image.fromarray(frames[2])])
    assert len(scores) == len(frames) + 1
    assert all(isinstance(s, float) and 0.0 <= s <= 1.0 for s in scores)
    # The same picture as an array or a PIL image scores the same.
    assert math.isclose(scores[2], scores[-1], abs_tol=1e-6)
    assert max(scores) < DEFAULT_THRESHOLD
    assert score_images([]) == []
    verdict = check_frames(np.stack([_gradient(shift=4 * n) for n in range(32)]), 16, DEFAULT_THRESHOLD)
    assert verdict.allowed and verdict.frame in (0, 16, 31) and verdict.score < DEFAULT_THRESHOLD


def test_classifier_loads_once_per_process_across_threads():
    found: list[Any] = []
    threads = [threading.Thread(target=lambda: found.append(classifier(threads=1))) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(found) == 4 and all(c is found[0] for c in found)
    assert classifier(threads=1) is found[0]


@pytest.mark.parametrize(("frames", "fps", "expected"), [
    (160, 16, [0, 16, 32, 48, 64, 80, 96, 112, 128, 144, 159]),  # 10 s at 16 fps
    (80, 16, [0, 16, 32, 48, 64, 79]),
    (16, 16, [0, 15]),
    (17, 16, [0, 16]),  # the last frame is a second in: sampled once
    (4, 8, [0, 3]),  # the test renders: half a second at 8 fps
    (1, 16, [0]),
    (0, 16, []),
    (45, 7.5, [0, 8, 15, 22, 30, 38, 44]),  # fractional rates round to the nearest frame
])
def test_sampling_one_frame_a_second_plus_first_and_last(frames, fps, expected):
    assert sample_frames(frames, fps) == expected


def test_sampling_is_capped_and_spread():
    picked = sample_frames(60 * 16, 16)  # a minute
    assert len(picked) == MAX_SAMPLES and picked[0] == 0 and picked[-1] == 959
    gaps = np.diff(picked)
    assert gaps.min() >= 30 and gaps.max() <= 31
    assert sample_frames(100, 100, per_second=100, limit=5) == [0, 25, 50, 74, 99]
    for bad in ((10, 0), (10, -1)):
        with pytest.raises(ValueError):
            sample_frames(*bad)


def test_verdict_at_the_threshold_edges():
    held = judge([0.1, 0.8, 0.3], 0.8, [0, 16, 31])
    assert held == Verdict(False, 0.8, 16, held.reason) and "at or above the threshold 0.8" in held.reason
    allowed = judge([0.1, 0.7999, 0.3], 0.8, [0, 16, 31])
    assert allowed.allowed and (allowed.score, allowed.frame) == (0.7999, 16)
    # At 0.0 everything is held, a score of exactly 0 too; at 1.0 only a certain 1.0.
    assert not judge([0.0], 0.0).allowed
    assert judge([0.999999], 1.0).allowed and not judge([1.0], 1.0).allowed
    # Nothing scored, or something that is not a probability, holds.
    for scores in ([], [float("nan")], [1.5], [-0.1], ["0.1"]):
        verdict = judge(scores, 0.8)
        assert not verdict.allowed and verdict.score is None and verdict.frame is None, scores
    assert not judge([0.1, 0.2], 0.8, [0]).allowed  # positions that do not match
    for threshold in (-0.1, 1.1):
        with pytest.raises(ValueError):
            judge([0.1], threshold)


def test_fails_closed_when_the_model_breaks(tmp_path, caplog):
    broken = tmp_path / "open-nsfw.onnx"
    broken.write_bytes(b"not an onnx model")
    with pytest.raises(SafetyCheckError, match="could not be loaded"):
        score_images([_gradient()], model_path=broken)
    with pytest.raises(SafetyCheckError, match="could not be loaded"):
        score_images([_gradient()], model_path=tmp_path / "missing.onnx")

    frames = np.stack([_gradient()] * 20)
    with caplog.at_level(logging.ERROR, logger="policy.output_safety"):
        verdict = check_frames(frames, 16, 0.99, score=lambda images: score_images(images, model_path=broken))
    assert not verdict.allowed and verdict.score is None
    assert "the safety check failed" in verdict.reason and "could not be loaded" in verdict.reason
    assert "holding" in caplog.text

    def wrong_count(images):
        return [0.0]

    def raises(images):
        raise MemoryError("out of memory")

    assert not check_frames(frames, 16, 0.99, score=wrong_count).allowed
    assert "MemoryError" in check_images([frames[0]], 0.99, score=raises).reason
    # A picture the classifier cannot read holds too.
    assert not check_images([np.zeros((4, 4, 7), np.float64)], 0.99).allowed
    # And a working model afterwards still works: failures are not remembered.
    assert check_frames(frames, 16, 0.99).allowed


def test_threshold_setting():
    assert Settings.from_env({}).generation.nsfw_threshold == DEFAULT_THRESHOLD
    assert Settings.from_env({"LIKENESS_NSFW_THRESHOLD": "0.35"}).generation.nsfw_threshold == 0.35
    assert Settings.from_env({"LIKENESS_NSFW_THRESHOLD": "0"}).generation.nsfw_threshold == 0.0
    for bad in ("1.5", "-0.1", "high", "nan"):
        with pytest.raises(ConfigError, match="LIKENESS_NSFW_THRESHOLD"):
            Settings.from_env({"LIKENESS_NSFW_THRESHOLD": bad})


# --- over HTTP ---------------------------------------------------------------------------------

async def _settled(a: Any, user: str, job_id: str) -> dict[str, Any]:
    events = await asyncio.wait_for(_sse(a, user, job_id), 60)
    return events[-1]


async def _files(a: Any) -> set[Path]:
    root = a.instance.media.root
    return {p for p in root.rglob("*") if p.is_file()} if root.exists() else set()


async def test_held_generation_released_and_rejected(make_instance, tiny_model):
    # At a threshold of 0 every frame is "at or above": every render is held.
    a = await make_instance(generation=dataclasses.replace(TEST_GENERATION, model_dir=tiny_model,
                                                           nsfw_threshold=0.0))
    for user in ("alice", "bob", "mod", "boss"):
        await a.signup(user)
    await a.set_role("mod", "moderator")
    await a.set_role("boss", "admin")

    job = await _generate(a, "alice", "a cat surfing", duration_s=1.0)
    last = await _settled(a, "alice", job["id"])
    assert (last["state"], last["result"], last["held_reason"]) == ("held", None, HELD_FOR_REVIEW)
    assert last["failure_reason"] is None and last["eta_s"] is None
    polled = (await a.api("alice", "GET", f"/api/v1/generations/{job['id']}")).json()
    assert (polled["state"], polled["result"], polled["held_reason"]) == ("held", None, HELD_FOR_REVIEW)
    assert "score" not in str(polled)
    row = await a.pool.fetchrow("SELECT * FROM generation_jobs WHERE id = $1", int(job["id"]))
    assert 0.0 <= row["safety_score"] <= 1.0 and row["safety_frame"] in sample_frames(8, 8)
    assert "at or above the threshold 0" in row["held_reason"]
    media = await a.pool.fetchrow("SELECT * FROM media WHERE id = $1", row["result_media_id"])
    video_path = a.instance.media.path(media["storage_key"])
    assert video_path.is_file()
    # Nobody notified yet, and the requester cannot cancel it away.
    cancel = await a.api("alice", "POST", f"/api/v1/generations/{job['id']}/cancel")
    assert cancel.status_code == 409 and HELD_FOR_REVIEW in cancel.json()["error"]

    # The file and its poster: 404 to everyone but staff, who get it uncached.
    for key in (media["storage_key"], media["poster_key"]):
        for user in (None, "alice", "bob"):
            assert (await a.api(user, "GET", f"/media/{key}")).status_code == 404, (key, user)
        served = await a.api("mod", "GET", f"/media/{key}")
        assert served.status_code == 200 and served.headers["cache-control"] == "private, no-store"
    # It cannot be published, even by guessing its id.
    status = await a.api("alice", "POST", "/api/v1/statuses",
                         json={"status": "look", "media_ids": [str(media["id"])]})
    assert status.status_code == 409 and HELD_FOR_REVIEW in status.json()["error"]
    assert await a.pool.fetchval("SELECT count(*) FROM posts") == 0

    # Staff see it in the queue, with the verdict and the draft.
    assert (await a.api(None, "GET", "/api/v1/admin/generations")).status_code == 401
    assert (await a.api("alice", "GET", "/api/v1/admin/generations")).status_code == 403
    queue = (await a.api("mod", "GET", "/api/v1/admin/generations")).json()
    assert [j["id"] for j in queue] == [job["id"]]
    assert queue[0]["safety"]["score"] == row["safety_score"] and queue[0]["account"]["username"] == "alice"
    assert queue[0]["result"]["url"].endswith(media["storage_key"])
    for user, status_code in ((None, 401), ("alice", 403), ("bob", 403)):
        for action in ("release", "reject"):
            response = await a.api(user, "POST", f"/api/v1/admin/generations/{job['id']}/{action}")
            assert response.status_code == status_code, (user, action, response.text)

    # A moderator releases it: the requester's draft, served and publishable like any other.
    released = await a.api("mod", "POST", f"/api/v1/admin/generations/{job['id']}/release")
    assert released.status_code == 200, released.text
    assert released.json()["state"] == "succeeded" and released.json()["reviewed_at"]
    mine = (await a.api("alice", "GET", f"/api/v1/generations/{job['id']}")).json()
    assert mine["state"] == "succeeded" and mine["held_reason"] is None
    assert mine["result"]["id"] == str(media["id"])
    assert (await a.api("alice", "GET", f"/media/{media['storage_key']}")).status_code == 200
    assert (await a.api(None, "GET", mine["result"]["url"])).status_code == 200
    assert (await a.api(None, "GET", f"/media/{media['storage_key']}")).status_code == 404
    again = await a.api("boss", "POST", f"/api/v1/admin/generations/{job['id']}/release")
    assert again.status_code == 409 and "succeeded, not held" in again.json()["error"]
    assert (await a.api("boss", "POST", f"/api/v1/admin/generations/{job['id']}/reject")).status_code == 409
    status = await a.api("alice", "POST", "/api/v1/statuses",
                         json={"status": "look", "media_ids": [str(media["id"])]})
    assert status.status_code == 200, status.text
    assert (await a.api("mod", "GET", "/api/v1/admin/generations")).json() == []

    # Another, rejected by an admin: failed with the reason, its media row and files gone.
    second = await _generate(a, "alice", "a dog surfing")
    assert (await _settled(a, "alice", second["id"]))["state"] == "held"
    row = await a.pool.fetchrow("SELECT * FROM generation_jobs WHERE id = $1", int(second["id"]))
    media = await a.pool.fetchrow("SELECT * FROM media WHERE id = $1", row["result_media_id"])
    paths = [a.instance.media.path(media[k]) for k in ("storage_key", "poster_key")]
    assert all(p.is_file() for p in paths)
    path = f"/api/v1/admin/generations/{second['id']}/reject"
    for bad in ({"reason": "x" * 501}, {"reason": "two\nlines"}, {"reason": 7}):
        response = await a.api("boss", "POST", path, json=bad)
        assert response.status_code == 422 and "reason" in response.json()["error"], bad
    rejected = await a.api("boss", "POST", path, json={"reason": "nudity"})
    assert rejected.status_code == 200, rejected.text
    assert rejected.json()["result"] is None
    mine = (await a.api("alice", "GET", f"/api/v1/generations/{second['id']}")).json()
    assert (mine["state"], mine["failure_reason"], mine["result"]) == (
        "failed", "rejected by a moderator: nudity", None)
    assert not any(p.exists() for p in paths)
    assert await a.pool.fetchval("SELECT count(*) FROM media WHERE id = $1", media["id"]) == 0
    assert (await a.api("boss", "GET", f"/media/{media['storage_key']}")).status_code == 404
    assert (await a.api("boss", "POST", path)).status_code == 409
    reviewer = await a.pool.fetchval("SELECT id FROM users WHERE username = 'boss'")
    assert (await a.pool.fetchrow("SELECT reviewed_by FROM generation_jobs WHERE id = $1",
                                  int(second["id"])))["reviewed_by"] == reviewer
    failed = (await a.api("mod", "GET", "/api/v1/admin/generations", params={"state": "failed"})).json()
    assert [j["id"] for j in failed] == [second["id"]]

    # Bad input to the staff API.
    for bad, status_code in (({"state": "evil"}, 422), ({"limit": "0"}, 400), ({"max_id": "x"}, 400)):
        response = await a.api("mod", "GET", "/api/v1/admin/generations", params=bad)
        assert response.status_code == status_code, (bad, response.text)
    for job_id in ("999999", "abc"):
        assert (await a.api("mod", "GET", f"/api/v1/admin/generations/{job_id}")).status_code == 404
        assert (await a.api("mod", "POST", f"/api/v1/admin/generations/{job_id}/release")).status_code == 404
    # The state machine lists the moves these jobs made.
    assert "held" in jobs.TRANSITIONS["running"] and {"succeeded", "failed"} <= jobs.TRANSITIONS["held"]
    assert "held" not in jobs.TERMINAL and "held" in jobs.SETTLED


async def test_held_remix_draft_cannot_publish(make_instance, tiny_model):
    a = await make_instance("a")
    b = await make_instance("b", generation=dataclasses.replace(TEST_GENERATION, model_dir=tiny_model,
                                                                nsfw_threshold=0.0))
    await a.signup("alice")
    await b.signup("bob")
    await b.signup("mod")
    await b.set_role("mod", "moderator")
    cameo = await _cameo(a, "alice", permission="everyone", approval="automatic")
    remix = (await _remix(b, "bob", [cameo["uri"]], "alice surfing")).json()

    async def held() -> Any:
        state = (await b.api("bob", "GET", f"/api/v1/remixes/{remix['id']}")).json()
        return state if state["generation"] and state["generation"]["state"] == "held" else None

    state = await eventually(held, timeout=60)
    assert state["state"] == "authorized" and state["generation"]["result"] is None
    publish = f"/api/v1/remixes/{remix['id']}/publish"
    response = await b.api("bob", "POST", publish, json={"status": "surf's up"})
    assert response.status_code == 409 and HELD_FOR_REVIEW in response.json()["error"]
    media_id = await b.pool.fetchval("SELECT result_media_id FROM generation_jobs")
    response = await b.api("bob", "POST", publish, json={"media_id": str(media_id)})
    assert response.status_code == 409 and HELD_FOR_REVIEW in response.json()["error"]
    # Asking for the render again gives the held job back rather than rendering again.
    again = await b.api("bob", "POST", f"/api/v1/remixes/{remix['id']}/generation")
    assert again.status_code == 202 and again.json()["generation"]["id"] == state["generation"]["id"]
    assert await b.pool.fetchval("SELECT count(*) FROM generation_jobs") == 1
    assert await b.pool.fetchval("SELECT state FROM remixes") == "authorized"

    # Released, it publishes.
    job_id = state["generation"]["id"]
    assert (await b.api("mod", "POST", f"/api/v1/admin/generations/{job_id}/release")).status_code == 200
    response = await b.api("bob", "POST", publish, json={"status": "surf's up"})
    assert response.status_code == 201, response.text


async def test_default_threshold_passes_a_render(make_instance, tiny_model):
    a = await make_instance(generation=dataclasses.replace(TEST_GENERATION, model_dir=tiny_model))
    await a.signup("alice")
    assert a.instance.settings.generation.nsfw_threshold == DEFAULT_THRESHOLD
    job = await _generate(a, "alice", "a cat surfing")
    last = await _settled(a, "alice", job["id"])
    assert last["state"] == "succeeded" and last["held_reason"] is None and last["result"]["url"]
    assert (await a.api(None, "GET", "/api/v1/admin/generations")).status_code == 401


async def test_a_failing_check_holds_and_the_worker_goes_on(make_instance, workers, tmp_path, caplog):
    a = await make_instance(run_workers=False, generation=CONFIG)
    await a.signup("alice")
    workers.sweeper(a)
    broken = tmp_path / "open-nsfw.onnx"
    broken.write_bytes(b"\x00" * 1024)
    calls = []

    def first_broken(images):
        # The model file is broken for the first job, repaired for the next.
        calls.append(len(images))
        return score_images(images, model_path=broken if len(calls) == 1 else None)

    renderer = dataclasses.replace(generation_worker(a.instance, "cpu"),
                                   load_pipeline=lambda: SteppedPipeline(), score_frames=first_broken)
    workers.start(make_generation_worker(a.instance, renderer, handle_signals=False))
    with caplog.at_level(logging.WARNING):
        first = await _generate(a, "alice", "a cat surfing")
        row = await _state(a, first["id"], "held", "succeeded", "failed")
        second = await _generate(a, "alice", "a dog surfing")
        done = await _state(a, second["id"], "held", "succeeded", "failed")
    assert row["state"] == "held" and row["safety_score"] is None
    assert row["held_reason"].startswith("the safety check failed: SafetyCheckError")
    assert "could not be loaded" in row["held_reason"]
    assert f"generation job {first['id']} held for moderation" in caplog.text
    assert done["state"] == "succeeded" and calls == [2, 2]


# --- uploads -----------------------------------------------------------------------------------

async def test_cameo_images_over_the_threshold_are_refused(make_instance):
    a = await make_instance(generation=dataclasses.replace(TEST_GENERATION, nsfw_threshold=0.0))
    await a.signup("alice")
    response = await _create_cameo(a, "alice", references=[_jpeg(), _jpeg((10, 10, 10))])
    assert response.status_code == 422
    assert response.json()["error"] == f"reference 1 {REFUSED}"
    assert await a.pool.fetchval("SELECT count(*) FROM cameos") == 0
    assert await a.pool.fetchval("SELECT count(*) FROM cameo_references") == 0
    assert await _files(a) == set()
    assert not any((a.instance.settings.data_dir / "tmp").glob("*"))


async def test_cameo_preview_is_checked_too(make_instance):
    # A threshold between a dark reference's score and a skin-toned preview's: only the preview
    # is refused (the scores are measured here, not assumed).
    dark, skin = _jpeg((10, 10, 10)), _jpeg((230, 180, 150))
    low, high = score_images([Image.open(io.BytesIO(d)).convert("RGB") for d in (dark, skin)])
    assert high - low > 0.05
    a = await make_instance(generation=dataclasses.replace(TEST_GENERATION, nsfw_threshold=(low + high) / 2))
    await a.signup("alice")
    response = await _create_cameo(a, "alice", references=[dark], preview=skin)
    assert response.status_code == 422 and response.json()["error"].startswith("preview was refused")
    assert await a.pool.fetchval("SELECT count(*) FROM cameos") == 0 and await _files(a) == set()
    response = await _create_cameo(a, "alice", references=[dark], preview=dark)
    assert response.status_code == 201, response.text


async def test_post_images_are_checked_on_upload(make_instance):
    # Videos are checked on the worker: tests/test_upload_checks.py.
    a = await make_instance(generation=dataclasses.replace(TEST_GENERATION, nsfw_threshold=0.0))
    await a.signup("alice")
    response = await a.api("alice", "POST", "/api/v2/media",
                           files={"file": ("p.jpg", _jpeg(), "image/jpeg")})
    assert response.status_code == 422
    assert response.json()["error"] == f"the image {REFUSED}"
    assert await a.pool.fetchval("SELECT count(*) FROM media") == 0 and await _files(a) == set()
    assert not any((a.instance.settings.data_dir / "tmp").glob("*"))


async def test_held_generations_from_the_cli(make_instance, tiny_model, cli_env, monkeypatch, capsys):
    a = await make_instance(generation=dataclasses.replace(TEST_GENERATION, model_dir=tiny_model,
                                                           nsfw_threshold=0.0))
    for user in ("alice", "mod"):
        await a.signup(user)
    await a.set_role("mod", "moderator")
    first = await _generate(a, "alice", "a cat surfing", duration_s=1.0)
    second = await _generate(a, "alice", "a dog surfing", duration_s=1.0)
    for job in (first, second):
        assert (await _settled(a, "alice", job["id"]))["state"] == "held"
    cli_env(a)
    # The operator's shell shares the server's data directory, where the drafts are.
    monkeypatch.setenv("LIKENESS_DATA_DIR", str(a.instance.settings.data_dir))

    code, out, _ = await _cli(capsys, "admin", "held", "list")
    assert code == 0 and "a dog surfing" in out and "a cat surfing" in out
    code, _, err = await _cli(capsys, "admin", "held", "release", first["id"], "--as", "alice")
    assert code == 1 and "not a moderator" in err
    code, _, err = await _cli(capsys, "admin", "held", "reject", second["id"], "--as", "mod",
                              "--reason", "two\nlines")
    assert code == 1 and "one line" in err
    code, out, _ = await _cli(capsys, "admin", "held", "release", first["id"], "--as", "mod")
    assert code == 0 and "succeeded" in out
    files = await _files(a)
    code, out, _ = await _cli(capsys, "admin", "held", "reject", second["id"], "--as", "mod",
                              "--reason", "not for here")
    assert code == 0 and "failed" in out
    assert len(await _files(a)) == len(files) - 2  # the video and its poster
    code, _, err = await _cli(capsys, "admin", "held", "reject", second["id"], "--as", "mod")
    assert code == 1 and "not held" in err
    code, _, err = await _cli(capsys, "admin", "held", "release", "999999", "--as", "mod")
    assert code == 1 and "no such generation" in err
    rejected = (await a.api("alice", "GET", f"/api/v1/generations/{second['id']}")).json()
    assert rejected["state"] == "failed" and "not for here" in rejected["failure_reason"]
    released = (await a.api("alice", "GET", f"/api/v1/generations/{first['id']}")).json()
    assert released["state"] == "succeeded" and released["result"] is not None
