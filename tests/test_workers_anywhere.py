"""A worker on "another machine": `likeness worker` with a data directory of its own, sharing
only PostgreSQL, Redis and the media bucket with the web server, renders a remix of a cameo of
its instance (whose reference images it reads from the bucket) and of another instance's (fetched
from there, as always), and the web server serves the draft."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import av
import httpx

from tests.conftest import eventually
from tests.s3_server import bucket_env
from tests.test_remix_consent import _cameo, _remix, _state


async def test_a_worker_with_its_own_disk_renders_a_remix_the_web_server_serves(
        make_instance, s3_bucket, tiny_model: Path, tmp_path: Path) -> None:
    a = await make_instance("a")  # the other instance, whose cameo is fetched from afar
    b = await make_instance("b", object_storage=s3_bucket, run_workers=False)  # the web server
    await a.signup("alice")
    await b.signup("bob")
    await b.signup("carol")
    theirs = await _cameo(a, "alice", permission="everyone", approval="automatic")
    ours = await _cameo(b, "carol", permission="everyone", approval="automatic")
    assert not (b.instance.settings.media_dir).exists(), "the web server keeps no file itself"

    worker_dir = tmp_path / "worker-machine"
    settings = b.instance.settings
    env = {**os.environ, "DATABASE_URL": settings.database_url, "REDIS_URL": settings.redis_url,
           "LIKENESS_DATA_DIR": str(worker_dir), "LIKENESS_ALLOW_PRIVATE_FETCH": "1",
           **bucket_env(s3_bucket),
           # The model is installed software, not shared state: the tiny one, built once per run.
           "LIKENESS_MODEL_DIR": str(tiny_model), "LIKENESS_GENERATION_STEPS": "2",
           "LIKENESS_GENERATION_WIDTH": "64", "LIKENESS_GENERATION_HEIGHT": "112",
           "LIKENESS_GENERATION_FPS": "8", "LIKENESS_GENERATION_DURATION_S": "0.5",
           "LIKENESS_GENERATION_PROVENANCE": "0"}
    for name in ("LIKENESS_DOMAIN", "LIKENESS_HTTPS"):  # the instance's origin, from the database
        env.pop(name, None)
    command = [sys.executable, "-m", "server.cli", "worker", "--federation", "--device", "cpu"]
    worker = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        remix = (await _remix(b, "bob", [ours["uri"], theirs["uri"]], "carol and alice dance")).json()

        async def rendered() -> dict | None:
            generation = (await _state(b, "bob", remix["id"])).get("generation")
            if generation is None:
                return None
            assert generation["state"] not in ("failed", "cancelled"), generation
            return generation if generation["state"] == "succeeded" else None

        draft = await eventually(rendered, timeout=120, interval=0.3)
    finally:
        worker.terminate()
        _, errors = worker.communicate(timeout=60)
    assert worker.returncode == 0, errors

    job = await b.pool.fetchrow("SELECT * FROM generation_jobs WHERE id = $1", int(draft["id"]))
    # The remix keeps its cameos by URI, not in the order asked (the ports in the URIs are random).
    assert sorted(job["cameo_uris"]) == sorted([ours["uri"], theirs["uri"]])
    row = await b.pool.fetchrow("SELECT * FROM media WHERE id = $1", job["result_media_id"])
    # The draft went to the bucket, not to either machine's disk.
    assert await b.instance.media.exists(row["storage_key"])
    assert not (worker_dir / "media").exists() and not settings.media_dir.exists()

    # The web server serves it to its requester, by the link signed for them.
    async with httpx.AsyncClient(follow_redirects=True, timeout=30) as client:
        video = await client.get(draft["result"]["url"])
        stranger = await client.get(draft["result"]["url"].partition("?")[0])
    assert video.status_code == 200 and video.headers["content-type"] == "video/mp4"
    assert stranger.status_code == 404
    with av.open(io.BytesIO(video.content)) as container:
        frames = list(container.decode(container.streams.video[0]))
    assert (frames[0].width, frames[0].height) == (64, 112)
    # Alice heard that her likeness was used: the worker fetched her cameo's references from A.
    assert any(n["type"] == "cameo_used" for n in (await a.api(
        "alice", "GET", "/api/v1/notifications", params={"include_types[]": "cameo_used"})).json())
