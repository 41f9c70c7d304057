"""Generation with the real tiny Wan VACE model, through the worker `likeness serve` runs and
through `likeness worker` processes: a prompt and a cameo in, a signed draft MP4 out; a worker
killed in the middle of a render, and the job finished by another."""

from __future__ import annotations

import dataclasses
import io
import os
import signal
import subprocess
import sys
import time
from typing import Any

import av

from generation import jobs
from generation.provenance import TRAINED_ALGORITHMIC_MEDIA, verify
from server.config import Settings
from server.worker import generation_worker, make_generation_worker
from tests.conftest import eventually
from tests.test_generation_jobs import CONFIG, _cameo, _generate, _job, _sse, _state, workers

__all__ = ["workers"]  # the fixture, shared with test_generation_jobs


async def test_tiny_model_job_to_published_post(make_instance, tiny_model):
    config = dataclasses.replace(CONFIG, model_dir=tiny_model, steps=2, provenance=True)
    a = await make_instance(generation=config)  # the in-process workers, as `serve` runs them
    await a.signup("alice")
    await a.signup("bob")
    cameo = await _cameo(a, "alice")
    job = await _generate(a, "alice", "alice rides a bike", cameo_ids=[cameo["id"]], duration_s=1.0)
    events = await _sse(a, "alice", job["id"])
    assert [e["state"] for e in events][-1] == "succeeded", events[-1]
    # The real pipeline reported every denoising step (a render this small may end between two
    # looks of the event stream; test_generation_jobs watches one in the middle).
    assert events[-1]["progress"] == {"step": 2, "total_steps": 2, "fraction": 1.0}
    result = events[-1]["result"]
    assert events[-1]["generator"] == tiny_model.name

    async with a.client() as client:
        video = await client.get(result["url"])
    assert video.status_code == 200 and video.headers["content-type"] == "video/mp4"
    with av.open(io.BytesIO(video.content)) as container:
        stream = container.streams.video[0]
        frames = list(container.decode(stream))
        assert (stream.codec_context.name, stream.codec_context.pix_fmt) == ("h264", "yuv420p")
    assert len(frames) == 8 and (frames[0].width, frames[0].height) == (64, 112)
    row = await a.pool.fetchrow("SELECT * FROM media WHERE id = $1", int(result["id"]))
    assert row["post_id"] is None and row["duration"] == 1.0 and row["blurhash"]
    manifest = verify(a.instance.media.path(row["storage_key"]))
    assert manifest["digital_source_type"] == TRAINED_ALGORITHMIC_MEDIA

    # A draft is its owner's alone until published.
    status = await a.api("bob", "POST", "/api/v1/statuses", json={"media_ids": [result["id"]]})
    assert status.status_code == 422
    status = await a.api("alice", "POST", "/api/v1/statuses",
                         json={"status": "on a bike", "media_ids": [result["id"]]})
    assert status.status_code == 200, status.text
    # The draft's address was signed for alice; the post's is plain, and public.
    assert status.json()["media_attachments"][0]["url"] == result["url"].partition("?")[0]


# A first draft on the embedded default, on 2 CPU cores: building the tiny model, loading it,
# rendering the default clip, checking, encoding and signing it.
FIRST_DRAFT_S = 30


async def test_first_render_on_the_default_settings_takes_seconds(make_instance, tmp_path):
    """No LIKENESS_MODEL_DIR: the instance builds its tiny model and renders the default clip at
    the tiny model's own size and steps, and says that its model is the demo one."""
    a = await make_instance(generation=Settings.from_env({}).generation)
    instance = (await a.api(None, "GET", "/api/v2/instance")).json()
    assert instance["configuration"]["generation"] == {"demo_model": True}
    await a.signup("alice")
    started = time.monotonic()
    job = await _generate(a, "alice", "a cat on a skateboard")
    done = await _state(a, job["id"], "succeeded", "failed", timeout=120)
    elapsed = time.monotonic() - started
    assert done["state"] == "succeeded", done["failure_reason"]
    assert elapsed < FIRST_DRAFT_S, f"the first draft took {elapsed:.1f} s"
    row = await a.pool.fetchrow("SELECT * FROM media WHERE id = $1", done["result_media_id"])
    assert (row["width"], row["height"], row["duration"], row["frame_rate"]) == (64, 112, 5.0, 8)
    print(f"first draft on the default settings: {elapsed:.1f} s")

    # A real model's directory: the app is not told to warn about noise.
    real = tmp_path / "Wan2.1-VACE-1.3B-diffusers"
    real.mkdir()
    b = await make_instance("b", generation=Settings.from_env({"LIKENESS_MODEL_DIR": str(real)}).generation)
    instance = (await b.api(None, "GET", "/api/v2/instance")).json()
    assert instance["configuration"]["generation"] == {"demo_model": False}


async def test_own_cameo_drafts_carry_the_cameo_and_go_with_it(make_instance, tiny_model):
    """A post of one's own generation names the model and carries one's cameo (which needs no
    authorization); deleting the cameo deletes the drafts not yet published that show it."""
    a = await make_instance()
    await a.signup("alice")
    cameo = await _cameo(a, "alice")
    posted, dropped, plain = [
        await _generate(a, "alice", prompt, **extra) for prompt, extra in [
            ("alice rides a bike", {"cameo_ids": [cameo["id"]]}),
            ("alice on a boat", {"cameo_ids": [cameo["id"]]}), ("a boat at sea", {})]]
    for job in (posted, dropped, plain):
        await _state(a, job["id"], "succeeded", timeout=60)
    posted, dropped = [(await a.api("alice", "GET", f"/api/v1/generations/{job['id']}")).json()
                       for job in (posted, dropped)]
    status = await a.api("alice", "POST", "/api/v1/statuses",
                         json={"status": "on a bike", "media_ids": [posted["result"]["id"]]})
    assert status.status_code == 200, status.text
    async with a.client() as client:
        note = (await client.get(status.json()["uri"],
                                 headers={"Accept": "application/activity+json"})).json()
    assert note["cameos"] == [{"cameo": cameo["uri"]}]
    assert note["generator"] == {"type": "Application", "name": tiny_model.name}
    assert note["aiGenerated"] is True

    dropped_media = await a.pool.fetchrow("SELECT * FROM media WHERE id = $1",
                                          int(dropped["result"]["id"]))
    assert (await a.api("alice", "DELETE", f"/api/v1/cameos/{cameo['id']}")).status_code == 200
    gone = (await a.api("alice", "GET", f"/api/v1/generations/{dropped['id']}")).json()
    assert (gone["state"], gone["failure_reason"], gone["result"]) == (
        "failed", jobs.CAMEO_DELETED, None)
    assert await a.pool.fetchval("SELECT count(*) FROM media WHERE id = $1", dropped_media["id"]) == 0
    assert not a.instance.media.path(dropped_media["storage_key"]).exists()
    # The video without the cameo stays a draft, and the published one stays published.
    kept = (await a.api("alice", "GET", f"/api/v1/generations/{plain['id']}")).json()
    assert kept["state"] == "succeeded" and kept["result"] is not None
    assert (await a.api("alice", "GET", f"/api/v1/statuses/{status.json()['id']}")).status_code == 200


async def test_killed_worker_job_finishes_on_another(make_instance, workers, tiny_model):
    # Short enough to keep the test short, long enough that a live worker on a busy 2-core
    # machine (it beats every 1.6 s) is never taken for dead: only the killed one is.
    config = dataclasses.replace(CONFIG, model_dir=tiny_model, steps=2, heartbeat_timeout_s=8.0)
    a = await make_instance(run_workers=False, generation=config)
    await a.signup("alice")
    sweeper = workers.sweeper(a)
    job = await _generate(a, "alice", "a long render", duration_s=1.0)

    worker = _worker_process(a, tiny_model)
    try:
        await eventually(_rendering(a, job), timeout=90, interval=0.1)
        first = await _job(a, job["id"])
    finally:
        worker.send_signal(signal.SIGKILL)
        _, errors = worker.communicate(timeout=30)
    assert worker.returncode == -signal.SIGKILL, errors

    # Nobody renders it now; the watchdog sees the silence and queues it again, and a worker
    # that comes along later finishes it.
    await _state(a, job["id"], "queued")
    # The watchdog has done its part; it stops here, so that the attempts count is the killed
    # worker's and the next one's alone.
    await workers.stop(sweeper)
    workers.start(make_generation_worker(a.instance, generation_worker(a.instance, "cpu"),
                                         handle_signals=False))
    done = await _state(a, job["id"], "succeeded", timeout=60)
    assert done["attempts"] == 2 and done["last_error"] == jobs.STALLED
    assert done["worker"] != first["worker"]
    assert await a.pool.fetchval("SELECT count(*) FROM media") == 1


async def test_stopped_worker_hands_its_job_back(make_instance, workers, tiny_model):
    """A worker stopped the polite way (SIGTERM, as systemd and Kubernetes do) gives its job back
    at once, without the attempt counting and without waiting for the watchdog."""
    config = dataclasses.replace(CONFIG, model_dir=tiny_model, steps=2, heartbeat_timeout_s=600.0)
    a = await make_instance(run_workers=False, generation=config)
    await a.signup("alice")
    job = await _generate(a, "alice", "a long render", duration_s=1.0)
    worker = _worker_process(a, tiny_model)
    try:
        await eventually(_rendering(a, job), timeout=90, interval=0.1)
        worker.send_signal(signal.SIGTERM)
        _, errors = worker.communicate(timeout=60)
    finally:
        worker.kill()
    assert worker.returncode == 0, errors
    # No sweeper runs and the heartbeat timeout is ten minutes: only the worker could do this.
    back = await _job(a, job["id"])
    assert (back["state"], back["attempts"], back["last_error"]) == ("queued", 0, "the worker shut down")
    workers.start(make_generation_worker(a.instance, generation_worker(a.instance, "cpu"),
                                         handle_signals=False))
    done = await _state(a, job["id"], "succeeded", timeout=60)
    assert done["attempts"] == 1


def _rendering(a, job) -> Any:
    async def check() -> Any:
        body = (await a.api("alice", "GET", f"/api/v1/generations/{job['id']}")).json()
        return body if body["state"] == "running" and body["progress"]["step"] >= 1 else None

    return check


def _worker_process(a, tiny_model) -> subprocess.Popen[str]:
    """`likeness worker --device cpu` for instance `a`, rendering slowly enough to be caught at it."""
    settings = a.instance.settings
    env = {**os.environ, "DATABASE_URL": settings.database_url, "REDIS_URL": settings.redis_url,
           "LIKENESS_DOMAIN": settings.domain, "LIKENESS_HTTPS": "0",
           "LIKENESS_DATA_DIR": str(settings.data_dir), "LIKENESS_MODEL_DIR": str(tiny_model),
           # Bigger and slower than the instance's own renders: long enough to be caught at it.
           "LIKENESS_GENERATION_STEPS": "100", "LIKENESS_GENERATION_WIDTH": "256",
           "LIKENESS_GENERATION_HEIGHT": "448", "LIKENESS_GENERATION_FPS": "8",
           "LIKENESS_GENERATION_PROVENANCE": "0"}
    return subprocess.Popen([sys.executable, "-m", "server.cli", "worker", "--device", "cpu"],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
