"""The generation job queue: durable rows, an atomic claim, heartbeats and a watchdog, fair
turns between people, quotas, cancel, and the API that shows progress (polling and SSE).

These tests render with `SteppedPipeline`, a stand-in whose speed they control, through the
real worker, encoder and media store; tests/test_generation_jobs_e2e.py uses the tiny model.
"""

from __future__ import annotations

import asyncio
import dataclasses
import io
import json
import threading
import time
import uuid
from datetime import datetime, timedelta
from typing import Any

import av
import numpy as np
import pytest
from PIL import Image

from generation import jobs
from generation import store as gstore
from generation.config import GenerationConfig
from generation.pipeline import GenerationError, GenerationRequest, Progress, VideoFrames
from generation.render import render_video
from generation.worker import GenerationWorker
from policy.prompts import MAX_PROMPT_CHARS
from server.media_store import new_key
from server.runtime import close_worker
from server.worker import generation_worker, in_process_worker, make_generation_worker
from tests.conftest import eventually

CONFIG = GenerationConfig(width=64, height=112, fps=8, steps=4, default_duration_s=0.5,
                          max_duration_s=2.0, provenance=False, max_active_jobs_per_user=10,
                          max_jobs_per_day=50, heartbeat_timeout_s=2.0)


class SteppedPipeline:
    """A VideoPipeline for tests: a moving gradient, `step_s` seconds per denoising step.

    `gate`, when given, holds the render before each step until it is set, so that a test can
    look at (or cancel) a job in the middle of its render."""

    def __init__(self, step_s: float = 0.0, gate: threading.Event | None = None,
                 error: GenerationError | None = None) -> None:
        self.step_s = step_s
        self.gate = gate
        self.error = error
        self.prompts: list[str] = []
        self.references: list[tuple[Image.Image, ...]] = []
        self.steps_done: list[int] = []

    def generate(self, request: GenerationRequest, progress: Progress) -> VideoFrames:
        self.prompts.append(request.prompt)
        self.references.append(request.reference_images)
        self.steps_done.append(0)
        for step in range(1, request.steps + 1):
            if self.gate is not None:
                self.gate.wait(30)
            time.sleep(self.step_s)
            if self.error is not None:
                raise self.error
            progress(step, request.steps)
            self.steps_done[-1] = step
        ramp = np.linspace(0, 255, request.width, dtype=np.uint8)
        frames = np.zeros((request.frame_count, request.height, request.width, 3), np.uint8)
        for n in range(request.frame_count):
            frames[n, :, :, 0] = np.roll(ramp, n * 4)
            frames[n, :, :, 2] = 128
        return VideoFrames(frames, request.fps)


class Workers:
    """In-process workers beside an instance started with run_workers=False: the federation
    worker (it runs the generation sweeper) and generation workers rendering with a given
    pipeline."""

    def __init__(self) -> None:
        self.running: list[tuple[Any, asyncio.Task[Any]]] = []

    def start(self, worker: Any) -> None:
        self.running.append((worker, asyncio.create_task(worker.async_run())))

    def sweeper(self, a: Any) -> Any:
        worker = in_process_worker(a.instance)
        self.start(worker)
        return worker

    def renderer(self, a: Any, pipeline: SteppedPipeline) -> GenerationWorker:
        renderer = dataclasses.replace(generation_worker(a.instance, "cpu"),
                                       load_pipeline=lambda: pipeline)
        self.start(make_generation_worker(a.instance, renderer, handle_signals=False))
        return renderer

    async def stop(self, worker: Any = None) -> None:
        # As Instance.stop does: every poll loop stops before any worker closes.
        stopping = [entry for entry in self.running if worker is None or entry[0] is worker]
        for _, task in stopping:
            task.cancel()
        await asyncio.gather(*(task for _, task in stopping), return_exceptions=True)
        for entry in stopping:
            await close_worker(entry[0])
            self.running.remove(entry)


@pytest.fixture
async def workers():
    running = Workers()
    yield running
    await running.stop()


async def _instance(make_instance: Any, **config: Any) -> Any:
    a = await make_instance(run_workers=False, generation=dataclasses.replace(CONFIG, **config))
    await a.signup("alice")
    await a.signup("bob")
    return a


def _jpeg(color: tuple[int, int, int]) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (48, 64), color).save(buffer, "JPEG")
    return buffer.getvalue()


async def _cameo(a: Any, user: str, **fields: str) -> dict[str, Any]:
    response = await a.api(user, "POST", "/api/v1/cameos", data={"name": user, **fields}, files=[
        ("references", ("r.jpg", _jpeg((200, 80, 40)), "image/jpeg")),
        ("preview", ("p.jpg", _jpeg((10, 10, 10)), "image/jpeg"))])
    assert response.status_code == 201, response.text
    return response.json()


async def _job(a: Any, job_id: str | int) -> Any:
    return await gstore.job(a.pool, int(job_id))


async def _state(a: Any, job_id: str | int, *states: str, timeout: float = 20) -> Any:
    async def check() -> Any:
        row = await _job(a, job_id)
        return row if row["state"] in states else None

    return await eventually(check, timeout=timeout, interval=0.05)


async def _generate(a: Any, user: str, prompt: str = "a cat surfing", **extra: Any) -> dict[str, Any]:
    response = await a.api(user, "POST", "/api/v1/generations", json={"prompt": prompt, **extra})
    assert response.status_code == 201, response.text
    return response.json()


async def _sse(a: Any, user: str, job_id: str) -> list[dict[str, Any]]:
    events = []
    async with a.client(user) as client, \
            client.stream("GET", f"/api/v1/generations/{job_id}/events") as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        async for line in response.aiter_lines():
            if line.startswith("data: "):
                events.append(json.loads(line[6:]))
    return events


async def test_job_runs_with_progress_and_leaves_a_draft(make_instance, workers):
    a = await _instance(make_instance, steps=6)
    workers.sweeper(a)
    workers.renderer(a, SteppedPipeline(step_s=0.25))
    cameo = await _cameo(a, "alice", instructions="always in a red scarf")
    job = await _generate(a, "alice", cameo_ids=[cameo["id"]], duration_s=1.0)
    assert job["state"] in ("queued", "running") and job["cameos"] == [cameo["uri"]]

    # Polling: a quarter second a step, so "running, step k of 6" is there to be seen.
    listener = asyncio.create_task(_sse(a, "alice", job["id"]))

    async def mid_render() -> Any:
        body = (await a.api("alice", "GET", f"/api/v1/generations/{job['id']}")).json()
        return body if body["state"] == "running" and body["progress"]["step"] >= 1 else None

    seen = await eventually(mid_render, timeout=10, interval=0.05)
    assert seen["progress"]["total_steps"] == 6 and seen["eta_s"] > 0
    events = await asyncio.wait_for(listener, 20)
    done = await _state(a, job["id"], "succeeded")
    assert done["attempts"] == 1 and done["render_prompt"] == "a cat surfing. always in a red scarf."

    # The event stream went queued/running -> steps -> succeeded, and ended there.
    states = [e["state"] for e in events]
    assert states[-1] == "succeeded" and "running" in states
    steps = [e["progress"]["step"] for e in events if e["state"] == "running"]
    assert steps == sorted(steps) and max(steps) >= 1
    result = events[-1]["result"]
    assert result["type"] == "video" and result["meta"]["original"]["size"] == "64x112"

    # The draft is served by the ordinary media routes and decodes to what was asked for.
    async with a.client() as client:
        video = await client.get(result["url"])
        poster = await client.get(result["preview_url"])
    assert video.status_code == 200 and video.headers["content-type"] == "video/mp4"
    assert poster.status_code == 200
    with av.open(io.BytesIO(video.content)) as container:
        frames = list(container.decode(video=0))
    assert len(frames) == 8 and (frames[0].width, frames[0].height) == (64, 112)
    listed = (await a.api("alice", "GET", "/api/v1/generations")).json()
    assert [j["id"] for j in listed] == [job["id"]]
    assert (await a.api("bob", "GET", f"/api/v1/generations/{job['id']}")).status_code == 404

    # Publishing the draft is the ordinary two-step post; it is marked AI-generated.
    status = await a.api("alice", "POST", "/api/v1/statuses",
                         json={"status": "my cat", "media_ids": [result["id"]]})
    assert status.status_code == 200, status.text
    assert status.json()["media_attachments"][0]["id"] == result["id"]
    published = status.json()
    assert published["ai_generated"] is True
    async with a.client() as client:
        note = (await client.get(published["uri"], headers={"Accept": "application/activity+json"})).json()
    assert note["aiGenerated"] is True and any(t["type"] == "Label" for t in note["tag"])
    assert events[-1]["generator"] and note["generator"]["name"] == events[-1]["generator"]


async def test_bad_requests_write_nothing(make_instance):
    a = await _instance(make_instance, max_duration_s=3.0)
    mine = await _cameo(a, "alice")
    theirs = await _cameo(a, "bob")
    cases = [
        ({"prompt": ""}, 422, "prompt must be non-empty"),
        ({"prompt": "   "}, 422, "prompt must be non-empty"),
        ({"prompt": 7}, 422, "prompt must be non-empty text"),
        ({"prompt": "x" * (MAX_PROMPT_CHARS + 1)}, 422, "longer than 2000"),
        ({"prompt": "a\x1bb"}, 422, "control characters"), ({"prompt": "a\x00b"}, 400, "NUL"),
        ({"prompt": "a cat", "duration_s": 3.5}, 422, "at most 3 seconds"),
        ({"prompt": "a cat", "duration_s": 0}, 422, "more than 0"),
        ({"prompt": "a cat", "duration_s": "long"}, 422, "number of seconds"),
        ({"prompt": "a cat", "cameo_ids": [theirs["id"]]}, 422, "not one of your cameos"),
        ({"prompt": "a cat", "cameo_ids": ["999999"]}, 422, "not one of your cameos"),
        ({"prompt": "a cat", "cameo_ids": [mine["id"]] * 5}, 422, "at most 4 cameos"),
        ({"prompt": "a cat", "cameo_ids": {"a": 1}}, 422, "list of cameo ids"),
    ]
    for body, status, message in cases:
        response = await a.api("alice", "POST", "/api/v1/generations", json=body)
        assert response.status_code == status, (body, response.text)
        assert message in response.json()["error"], (body, response.json())
    response = await a.api("alice", "POST", "/api/v1/generations", content=b"{not json",
                           headers={"Content-Type": "application/json"})
    assert response.status_code == 400 and response.json() == {"error": "body is not valid JSON"}
    response = await a.api(None, "POST", "/api/v1/generations", json={"prompt": "a cat"})
    assert response.status_code == 401 and "sign in" in response.json()["error"]
    assert await a.pool.fetchval("SELECT count(*) FROM generation_jobs") == 0
    for path in ("/api/v1/generations/999", "/api/v1/generations/abc"):
        assert (await a.api("alice", "GET", path)).status_code == 404


async def test_discarding_a_draft(make_instance, workers):
    a = await _instance(make_instance)
    workers.sweeper(a)
    workers.renderer(a, SteppedPipeline())
    kept, dropped = await _generate(a, "alice", "kept"), await _generate(a, "alice", "dropped")
    for job in (kept, dropped):
        await _state(a, job["id"], "succeeded")
    media = await a.pool.fetchrow("SELECT m.* FROM media m JOIN generation_jobs j"
                                  " ON j.result_media_id = m.id WHERE j.id = $1", int(dropped["id"]))
    path = f"/api/v1/generations/{dropped['id']}"
    for user, target in [("bob", path), ("alice", "/api/v1/generations/abc"),
                         ("alice", "/api/v1/generations/999")]:
        assert (await a.api(user, "DELETE", target)).status_code == 404, (user, target)
    # Cancelling is for jobs on their way; a finished one is discarded with DELETE.
    cancel = await a.api("alice", "POST", f"{path}/cancel")
    assert cancel.status_code == 409 and "succeeded already" in cancel.json()["error"]
    assert a.instance.media.path(media["storage_key"]).exists()

    response = await a.api("alice", "DELETE", path)
    assert response.status_code == 200, response.text
    assert (response.json()["state"], response.json()["result"]) == ("discarded", None)
    assert await a.pool.fetchval("SELECT count(*) FROM media WHERE id = $1", media["id"]) == 0
    assert not a.instance.media.path(media["storage_key"]).exists()
    assert not a.instance.media.path(media["poster_key"]).exists()
    again = await a.api("alice", "DELETE", path)
    assert again.status_code == 409 and "discarded already" in again.json()["error"]
    assert [e["state"] for e in await _sse(a, "alice", dropped["id"])] == ["discarded"]

    # A published draft is the post's now: it goes when the post is deleted.
    kept = (await a.api("alice", "GET", f"/api/v1/generations/{kept['id']}")).json()
    status = await a.api("alice", "POST", "/api/v1/statuses", json={"media_ids": [kept["result"]["id"]]})
    assert status.status_code == 200, status.text
    refused = await a.api("alice", "DELETE", f"/api/v1/generations/{kept['id']}")
    assert refused.status_code == 409 and "delete the post" in refused.json()["error"]
    assert (await _job(a, kept["id"]))["state"] == "succeeded"
    assert (await a.api("alice", "GET", f"/api/v1/statuses/{status.json()['id']}")).status_code == 200


async def test_a_cameo_deleted_before_or_during_its_render(make_instance, workers):
    a = await _instance(make_instance)
    cameo = await _cameo(a, "alice")
    gate = threading.Event()
    pipeline = SteppedPipeline(gate=gate)
    running = await _generate(a, "alice", "alice waves", cameo_ids=[cameo["id"]])
    queued = await _generate(a, "alice", "alice jumps", cameo_ids=[cameo["id"]])
    workers.sweeper(a)
    workers.renderer(a, pipeline)
    await _state(a, running["id"], "running")
    assert (await a.api("alice", "DELETE", f"/api/v1/cameos/{cameo['id']}")).status_code == 200
    gate.set()
    # The render in flight is not kept, and the one in the queue never starts.
    for job in (running, queued):
        row = await _state(a, job["id"], "failed")
        assert (row["failure_reason"], row["result_media_id"]) == (jobs.CAMEO_DELETED, None)
    assert len(pipeline.prompts) == 1
    assert await a.pool.fetchval("SELECT count(*) FROM media WHERE kind = 'video'") == 0
    assert not [p for p in (a.instance.media.root / "videos").rglob("*") if p.is_file()]


async def test_the_model_sees_the_cameos_reference_images_in_turn(make_instance, workers):
    a = await _instance(make_instance, max_reference_images=4)
    five = await a.api("alice", "POST", "/api/v1/cameos", data={"name": "five"}, files=[
        *[("references", (f"r{n}.jpg", _jpeg((20 * n, 200, 100)), "image/jpeg")) for n in range(5)],
        ("preview", ("p.jpg", _jpeg((10, 10, 10)), "image/jpeg"))])
    assert five.status_code == 201, five.text
    one = await _cameo(a, "alice")  # its one image is (200, 80, 40)
    pipeline = SteppedPipeline()
    workers.sweeper(a)
    workers.renderer(a, pipeline)
    job = await _generate(a, "alice", "two of me", cameo_ids=[five.json()["id"], one["id"]])
    await _state(a, job["id"], "succeeded")
    [seen] = pipeline.references
    # The first of each cameo, then the second and third of the one that has more.
    assert [round(image.getpixel((24, 32))[1] / 10) for image in seen] == [20, 8, 20, 20]
    assert [round(image.getpixel((24, 32))[0] / 10) for image in seen] == [0, 20, 2, 4]


async def test_only_the_images_the_model_sees_are_fetched_from_another_instance(make_instance, workers):
    a = await _instance(make_instance, max_reference_images=4)
    asked: list[tuple[str, int]] = []

    async def remote_references(uri: str, requester: int, most: int) -> list[bytes]:
        asked.append((uri, most))
        return [_jpeg((30 * n, 60, 60)) for n in range(min(most, 5))]

    pipeline = SteppedPipeline()
    workers.sweeper(a)
    renderer = dataclasses.replace(generation_worker(a.instance, "cpu"), load_pipeline=lambda: pipeline,
                                   remote_references=remote_references)
    workers.start(make_generation_worker(a.instance, renderer, handle_signals=False))
    far = ["https://far.example/users/ann/cameos/1", "https://far.example/users/ben/cameos/2"]
    job_id = await _create(a, "alice", "two friends", cameo_uris=far)
    await _state(a, job_id, "succeeded")
    # Two cameos and four images: one cameo may give three at most, so no more is fetched.
    assert asked == [(far[0], 3), (far[1], 3)] and len(pipeline.references[0]) == 4


async def test_drafts_not_published_in_time_are_discarded(make_instance, workers):
    a = await _instance(make_instance, draft_retention_days=2)
    workers.sweeper(a)
    workers.renderer(a, SteppedPipeline())
    posted, kept, old = [await _generate(a, "alice", prompt) for prompt in ("posted", "kept", "old")]
    for job in (posted, kept, old):
        await _state(a, job["id"], "succeeded")
    posted = (await a.api("alice", "GET", f"/api/v1/generations/{posted['id']}")).json()
    assert (await a.api("alice", "POST", "/api/v1/statuses",
                        json={"media_ids": [posted["result"]["id"]]})).status_code == 200
    # Three days ago, for the published one and the old one.
    await a.pool.execute("UPDATE generation_jobs SET finished_at = finished_at - interval '3 days'"
                         " WHERE id = ANY ($1::bigint[])", [int(posted["id"]), int(old["id"])])
    shown = {job["id"]: job for job in (await a.api("alice", "GET", "/api/v1/generations")).json()}
    finished = datetime.fromisoformat(shown[kept["id"]]["finished_at"])
    assert datetime.fromisoformat(shown[kept["id"]]["expires_at"]) - finished == timedelta(days=2)
    assert shown[posted["id"]]["expires_at"] is None
    old_media = await a.pool.fetchrow("SELECT m.* FROM media m JOIN generation_jobs j"
                                      " ON j.result_media_id = m.id WHERE j.id = $1", int(old["id"]))

    assert await jobs.remove_expired_drafts(a.instance.jobs, a.instance.media) == 1
    gone = (await a.api("alice", "GET", f"/api/v1/generations/{old['id']}")).json()
    assert (gone["state"], gone["failure_reason"], gone["result"], gone["expires_at"]) == (
        "discarded", "not published within 2 days", None, None)
    assert not a.instance.media.path(old_media["storage_key"]).exists()
    for job in (posted, kept):
        assert (await _job(a, job["id"]))["state"] == "succeeded"
    assert await jobs.remove_expired_drafts(a.instance.jobs, a.instance.media) == 0
    # With no retention period, drafts stay and say so.
    await a.pool.execute("UPDATE generation_jobs SET finished_at = finished_at - interval '3 days'")
    forever = dataclasses.replace(a.instance.jobs, config=dataclasses.replace(CONFIG, draft_retention_days=0))
    assert await jobs.remove_expired_drafts(forever, a.instance.media) == 0


async def test_quotas(make_instance):
    a = await _instance(make_instance, max_active_jobs_per_user=2, max_jobs_per_day=3)
    first = await _generate(a, "alice")
    await _generate(a, "alice")
    response = await a.api("alice", "POST", "/api/v1/generations", json={"prompt": "a third"})
    assert response.status_code == 429
    assert "2 generations queued or running" in response.json()["error"]
    assert "retry-after" not in response.headers
    # Another person is not held back by alice's jobs.
    await _generate(a, "bob")

    assert (await a.api("alice", "DELETE", f"/api/v1/generations/{first['id']}")).status_code == 200
    third = await _generate(a, "alice")
    await a.api("alice", "POST", f"/api/v1/generations/{third['id']}/cancel")
    response = await a.api("alice", "POST", "/api/v1/generations", json={"prompt": "a fourth"})
    assert response.status_code == 429 and "3 generations in the last 24 hours" in response.json()["error"]
    assert 86_000 < int(response.headers["retry-after"]) <= 86_401
    assert await a.pool.fetchval("SELECT count(*) FROM generation_jobs") == 4


async def test_a_daily_quota_of_zero_turns_generation_off(make_instance):
    a = await _instance(make_instance, max_jobs_per_day=0)
    response = await a.api("alice", "POST", "/api/v1/generations", json={"prompt": "a cat"})
    assert response.status_code == 429 and "turned off" in response.json()["error"]
    assert "retry-after" not in response.headers
    assert await a.pool.fetchval("SELECT count(*) FROM generation_jobs") == 0


async def _create(a: Any, user: str, prompt: str = "a cat", **kwargs: Any) -> int:
    actor_id = await a.pool.fetchval("SELECT id FROM actors WHERE username = $1 AND local", user)
    return await jobs.create_job(a.instance.jobs, actor_id=actor_id, prompt=prompt, **kwargs)


async def test_fair_turns_and_own_users_first(make_instance):
    a = await _instance(make_instance)
    queue = a.instance.jobs
    alice = [await _create(a, "alice", f"alice {n}") for n in range(4)]
    remote = await _create(a, "bob", "asked from elsewhere", local=False)
    bob = await _create(a, "bob", "bob's only one")

    async def claim() -> int:
        lease = await jobs.claim(queue, f"test:{uuid.uuid4()}", "test-worker")
        assert lease is not None
        return lease.id

    # Two workers: alice's first request, then bob's, though alice asked for four before.
    assert [await claim(), await claim()] == [alice[0], bob]
    # Alice and (remotely) bob now each have one running: own users' jobs come first.
    assert await claim() == alice[1]
    assert [await claim() for _ in range(3)] == [alice[2], alice[3], remote]
    assert await jobs.claim(queue, "test:none", "test-worker") is None


async def test_a_job_completes_once(make_instance, tmp_path):
    a = await _instance(make_instance)
    queue = a.instance.jobs
    job_id = await _create(a, "alice")
    # Two workers race for one job: one lease.
    leases = await asyncio.gather(*(jobs.claim(queue, f"test:{n}", f"worker-{n}") for n in range(2)))
    first = next(lease for lease in leases if lease is not None)
    assert sum(lease is not None for lease in leases) == 1

    # Its worker goes quiet; the watchdog gives the job to another worker.
    await a.pool.execute("UPDATE generation_jobs SET heartbeat_at = now() - interval '1 hour'")
    assert (await jobs.sweep(queue, a.instance.media))["requeued"] == 1
    second = await jobs.claim(queue, "test:2", "worker-2")
    assert second is not None and second.job["attempts"] == 2

    results = []
    for n in range(2):
        out = tmp_path / str(n)
        out.mkdir()
        results.append(render_video(SteppedPipeline(), GenerationRequest(
            prompt="a cat", width=64, height=112, fps=8, duration_s=0.5, steps=2), lambda s, t: None,
            out, provenance=None, generator_name="test"))
    # The first worker wakes up: its lease is gone, so its result is dropped, files and all.
    assert not await jobs.heartbeat(queue, first, 1, 2, 1.0)
    files_before = sorted(p for p in a.instance.media.root.rglob("*") if p.is_file())
    media = a.instance.media
    assert not await jobs.succeed(queue, first, results[0], media, new_key)
    assert sorted(p for p in media.root.rglob("*") if p.is_file()) == files_before
    assert await jobs.succeed(queue, second, results[1], media, new_key)
    assert not await jobs.succeed(queue, second, results[1], media, new_key)
    row = await _job(a, job_id)
    assert row["state"] == "succeeded" and row["result_media_id"] is not None
    assert await a.pool.fetchval("SELECT count(*) FROM media") == 1


async def test_watchdog_gives_up_after_max_attempts(make_instance):
    a = await _instance(make_instance)
    queue = a.instance.jobs
    job_id = await _create(a, "alice")
    for attempt in range(1, CONFIG.max_attempts + 1):
        lease = await jobs.claim(queue, f"test:{attempt}", "a-worker-that-dies")
        assert lease is not None and lease.job["attempts"] == attempt
        await a.pool.execute("UPDATE generation_jobs SET heartbeat_at = now() - interval '1 hour'")
        counts = await jobs.sweep(queue, a.instance.media)
        row = await _job(a, job_id)
        if attempt < CONFIG.max_attempts:
            assert counts["requeued"] == 1 and row["state"] == "queued"
            assert row["last_error"] == jobs.STALLED
    assert counts["failed"] == 1
    assert (row["state"], row["attempts"]) == ("failed", 5)
    body = (await a.api("alice", "GET", f"/api/v1/generations/{job_id}")).json()
    assert body["failure_reason"] == "gave up after 5 attempts: the worker stopped responding"
    assert await jobs.claim(queue, "test:6", "worker") is None


async def test_stalled_job_is_requeued_by_the_cron_watchdog(make_instance, workers):
    a = await _instance(make_instance)
    workers.sweeper(a)
    job_id = await _create(a, "alice")
    lease = await jobs.claim(a.instance.jobs, "test:dead", "a-worker-that-dies")
    assert lease is not None
    # Nobody beats its heart: after heartbeat_timeout_s the watchdog puts it back, and a worker
    # that comes along renders it.
    await _state(a, job_id, "queued")
    workers.renderer(a, SteppedPipeline())
    row = await _state(a, job_id, "succeeded")
    assert row["attempts"] == 2


async def test_lost_arq_job_is_sent_again(make_instance, workers):
    a = await _instance(make_instance)
    job_id = await _create(a, "alice")
    row = await _job(a, job_id)
    queue = a.instance.jobs
    # Redis forgets the job (a flush, a failover): the row still says it is queued.
    assert await a.instance.redis.delete(f"arq:job:{row['arq_job_id']}") == 1
    await a.instance.redis.zrem(queue.name, row["arq_job_id"])
    await a.pool.execute("UPDATE generation_jobs SET enqueued_at = now() - interval '1 minute'")
    workers.sweeper(a)
    workers.renderer(a, SteppedPipeline())
    done = await _state(a, job_id, "succeeded")
    assert done["arq_job_id"] != row["arq_job_id"] and done["attempts"] == 1


async def test_cancel_queued_and_running(make_instance, workers):
    a = await _instance(make_instance, steps=50)
    gate = threading.Event()
    pipeline = SteppedPipeline(step_s=0.02, gate=gate)
    workers.sweeper(a)
    workers.renderer(a, pipeline)
    running = await _generate(a, "alice", "a long one")
    queued = await _generate(a, "alice", "waits its turn")
    gate.set()

    async def rendering() -> bool:
        return bool(pipeline.steps_done) and pipeline.steps_done[0] >= 2

    await eventually(rendering, timeout=10, interval=0.02)
    gate.clear()  # the render waits before its next step while the cancels go in
    response = await a.api("alice", "POST", f"/api/v1/generations/{queued['id']}/cancel")
    assert response.status_code == 200 and response.json()["state"] == "cancelled"
    response = await a.api("alice", "DELETE", f"/api/v1/generations/{running['id']}")
    assert response.status_code == 200 and response.json()["state"] == "cancelled"
    held_at = pipeline.steps_done[0]
    await asyncio.sleep(0.6)  # longer than a heartbeat: the worker knows
    gate.set()

    # The worker is free again at once: the next job runs, and the cancelled one never did.
    after = await _generate(a, "alice", "after")
    await _state(a, after["id"], "succeeded")
    assert pipeline.prompts == ["a long one", "after"]
    # It stopped at the first step after the gate opened (one was in flight when it closed).
    assert pipeline.steps_done[0] <= held_at + 1
    assert (await _job(a, running["id"]))["result_media_id"] is None
    assert (await _job(a, queued["id"]))["started_at"] is None
    response = await a.api("alice", "DELETE", f"/api/v1/generations/{running['id']}")
    assert response.status_code == 409 and "cancelled already" in response.json()["error"]


async def test_failures_are_clean(make_instance, workers):
    a = await _instance(make_instance, max_attempts=3)
    workers.sweeper(a)
    pipeline = SteppedPipeline(error=GenerationError("out of memory", retryable=True))
    workers.renderer(a, pipeline)
    retried = await _generate(a, "alice")
    row = await _state(a, retried["id"], "failed")
    assert row["attempts"] == 3 and row["failure_reason"] == "gave up after 3 attempts: out of memory"
    pipeline.error = GenerationError("the prompt was refused by the model")
    refused = await _generate(a, "alice")
    row = await _state(a, refused["id"], "failed")
    assert row["attempts"] == 1 and row["failure_reason"] == "the prompt was refused by the model"
    pipeline.error = ZeroDivisionError()  # a bug: reported shortly, and the worker goes on
    crashed = await _generate(a, "alice")
    row = await _state(a, crashed["id"], "failed")
    assert row["failure_reason"] == "internal error (ZeroDivisionError)"
    pipeline.error = None
    await _state(a, (await _generate(a, "alice"))["id"], "succeeded")


async def test_remix_job_waits_for_consent(make_instance, workers):
    a = await _instance(make_instance)
    cameo = await _cameo(a, "alice", permission="everyone", approval="manual")

    async def remix(prompt: str) -> tuple[int, int]:
        response = await a.api("bob", "POST", "/api/v1/remixes",
                               json={"prompt": prompt, "cameos": [cameo["uri"]]})
        assert response.status_code == 201, response.text
        remix_id = int(response.json()["id"])
        return remix_id, await _create(a, "bob", prompt, cameo_uris=[cameo["uri"]], remix_id=remix_id)

    async def decide(action: str, prompt: str) -> None:
        requests = (await a.api("alice", "GET", "/api/v1/remix_requests")).json()
        request = next(r for r in requests if r["prompt"] == prompt)
        response = await a.api("alice", "POST", f"/api/v1/remix_requests/{request['id']}/{action}")
        assert response.status_code == 200, response.text

    kept_id, kept = await remix("bob and alice dance")
    withdrawn_id, withdrawn = await remix("bob and alice sing")
    assert (await _job(a, kept))["state"] == "waiting"
    # Asking again for the same remix gives the same job.
    assert await _create(a, "bob", "bob and alice dance", remix_id=kept_id) == kept
    workers.sweeper(a)
    await decide("approve", "bob and alice dance")
    await decide("approve", "bob and alice sing")
    await _state(a, kept, "queued")
    await _state(a, withdrawn, "queued")
    # Alice changes her mind before a worker gets to it: the claim re-checks and refuses.
    await decide("revoke", "bob and alice sing")
    pipeline = SteppedPipeline()
    workers.renderer(a, pipeline)
    row = await _state(a, withdrawn, "failed")
    assert row["failure_reason"] == jobs.CONSENT_WITHDRAWN and row["started_at"] is not None
    await _state(a, kept, "succeeded")
    assert pipeline.prompts == ["bob and alice dance"]

    # Alice is told of the generation that used her cameo (a draft, not yet a post).
    alice_user = await a.pool.fetchval("SELECT id FROM users WHERE username = 'alice'")
    bob_actor = await a.pool.fetchval("SELECT id FROM actors WHERE username = 'bob' AND local")
    notes = await a.pool.fetch("SELECT * FROM notifications WHERE type = 'cameo_used'")
    assert [(n["user_id"], n["from_actor_id"]) for n in notes] == [(alice_user, bob_actor)]
    # A remix whose consent is refused outright fails while it waits.
    refused_id, refused = await remix("bob and alice fight")
    await decide("reject", "bob and alice fight")
    row = await _state(a, refused, "failed")
    assert row["failure_reason"] == jobs.CONSENT_WITHDRAWN and withdrawn_id != refused_id
