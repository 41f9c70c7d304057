"""`likeness worker` as its own process: what the web process queued is delivered by a worker
started later (a restart loses nothing), on the same PostgreSQL and Redis."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys

from server import worker as worker_module
from tests.conftest import eventually


async def test_worker_process_delivers_what_was_queued(make_instance, peer):
    a = await make_instance(run_workers=False)
    await a.signup("alice")
    alice = f"{a.base_url}/users/alice"
    peer.add_actor("mallory")
    response = await peer.post("mallory", f"{alice}/inbox", {
        "id": f"{peer.base}/follows/1", "type": "Follow", "actor": peer.actor_id("mallory"),
        "object": alice})
    assert response.status_code == 202
    assert (await a.api("alice", "POST", "/api/v1/statuses", json={"status": "queued"})).status_code == 200
    assert peer.received == []  # no worker yet: the Follow waits in the inbox table

    settings = a.instance.settings
    env = {**os.environ, "DATABASE_URL": settings.database_url, "REDIS_URL": settings.redis_url,
           "LIKENESS_DOMAIN": settings.domain, "LIKENESS_HTTPS": "0",
           "LIKENESS_ALLOW_PRIVATE_FETCH": "1", "LIKENESS_DATA_DIR": str(settings.data_dir)}
    worker = subprocess.Popen([sys.executable, "-m", "server.cli", "worker"], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        async def accepted() -> bool:
            return any(x["type"] == "Accept" for x in peer.received)

        await eventually(accepted, timeout=30)
        # The post was made before mallory followed, so only the Accept goes out; a new post
        # made now reaches mallory through the worker process.
        assert (await a.api("alice", "POST", "/api/v1/statuses", json={"status": "live"})).status_code == 200

        async def created() -> bool:
            return any(x["type"] == "Create" for x in peer.received)

        await eventually(created, timeout=30)
    finally:
        worker.terminate()
        _, errors = worker.communicate(timeout=30)
    assert worker.returncode == 0, errors


async def test_a_signal_stops_the_worker_cleanly_when_arq_reraises_a_cancelled_job(make_instance,
                                                                                monkeypatch):
    """arq's close() gathers the jobs it cancelled at shutdown, and one cancelled while storing
    its result raises CancelledError from it (seen once in CI: exit status 1). After a signal
    `run_worker` has handled its own cancellation, so that one is not taken for it."""
    a = await make_instance(run_workers=False)

    class ClosingRaises:
        async def async_run(self) -> None:
            await asyncio.Event().wait()

        async def close(self) -> None:
            raise asyncio.CancelledError

    monkeypatch.setattr(worker_module, "make_worker", lambda instance, handle_signals: ClosingRaises())
    running = asyncio.create_task(worker_module.run_worker(a.instance.settings))
    await asyncio.sleep(0.5)
    running.cancel()  # what SIGTERM's handler does
    await asyncio.wait_for(running, 30)
    assert not running.cancelled()
