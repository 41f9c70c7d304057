"""One instance on several machines: two `likeness serve` processes on two loopback addresses
(127.0.0.1 and 127.0.0.2, the same port, as two machines behind one load balancer that keeps the
Host header) and two `likeness worker` processes, each with a data directory of its own, sharing
PostgreSQL, Redis and the bucket (moto's S3 server) and nothing else. What is done through one
machine holds on the other: accounts and tokens, posts (API, ActivityPub, streaming, delivery),
uploaded videos, rate limits, domain rules and prompt rules, and an admin's change is seen
without a restart; renders are signed under the instance's one C2PA root whichever machine made
them, and a peer one machine gave up on is taken back by any."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
import websockets
from redis.asyncio import Redis

from federation import delivery, streams
from generation.provenance import C2PASigner, signed_by
from server import accounts, store
from server.runtime import Instance
from server.worker import render_signer
from tests.conftest import PASSWORD, TEST_GENERATION, _with_database, eventually
from tests.peers import AP, FakePeer, start_peer, stop_peer
from tests.s3_server import bucket_env, new_bucket
from tests.test_delivery import _alice_with_remote_followers, _post
from tests.test_oauth import CALLBACK, _code
from tests.videos import make_mp4

ADDRESSES = ("127.0.0.1", "127.0.0.2")
# Login attempts per account, low enough to run out of in a test.
LOGIN_LIMIT = 4
# How soon another machine must see an admin's change (domain and prompt rules): their caches look
# at a version counter in Redis once a second.
PROPAGATION_S = 3.0


def _shared_port() -> int:
    """A port free on both loopback addresses."""
    for _ in range(50):
        with socket.socket() as first:
            first.bind((ADDRESSES[0], 0))
            port = first.getsockname()[1]
            with socket.socket() as second:
                try:
                    second.bind((ADDRESSES[1], port))
                except OSError:
                    continue
                return port
    raise RuntimeError("no port is free on both loopback addresses")


@dataclass
class Machine:
    """One web process, reached at its own address with the instance's Host header."""

    address: str
    port: int
    domain: str

    @property
    def url(self) -> str:
        return f"http://{self.address}:{self.port}"

    def client(self, token: str | None = None, **headers: str) -> httpx.AsyncClient:
        if token:
            headers["Authorization"] = f"Bearer {token}"
        return httpx.AsyncClient(base_url=self.url, headers={"Host": self.domain, **headers}, timeout=30)

    async def request(self, method: str, path: str, token: str | None = None,
                      **kwargs: Any) -> httpx.Response:
        async with self.client(token, **kwargs.pop("headers", {})) as client:
            return await client.request(method, path, **kwargs)


@dataclass
class Cluster:
    a: Machine
    b: Machine
    domain: str
    database_url: str
    redis_url: str
    # Where each process keeps its data directory (named as the process).
    root: Path

    @property
    def base_url(self) -> str:
        return f"http://{self.domain}"


def _spawn(name: str, argv: list[str], env: dict[str, str], logs: Path) -> subprocess.Popen[bytes]:
    log = (logs / f"{name}.log").open("wb")
    return subprocess.Popen([sys.executable, "-m", "server.cli", *argv], env=env, stdout=log,
                            stderr=subprocess.STDOUT)


@contextlib.contextmanager
def _processes(env: dict[str, str], root: Path, port: int) -> Iterator[dict[str, subprocess.Popen[bytes]]]:
    """Both web servers and both workers, started together on a new database (so that their first
    starts race, as on a real deploy); each stopped with SIGTERM, which must end it cleanly (uvicorn
    raises SIGTERM again once it has shut down, so a web process ends by the signal)."""
    logs = root / "logs"
    logs.mkdir()
    started: dict[str, subprocess.Popen[bytes]] = {}
    try:
        for name, argv in (("web-a", ["serve", "--host", ADDRESSES[0], "--port", str(port)]),
                           ("web-b", ["serve", "--host", ADDRESSES[1], "--port", str(port)]),
                           ("worker-1", ["worker"]), ("worker-2", ["worker"])):
            started[name] = _spawn(name, argv, {**env, "LIKENESS_DATA_DIR": str(root / name)}, logs)
        yield started
    finally:
        for process in started.values():
            process.terminate()
        codes = {name: process.wait(timeout=30) for name, process in started.items()}
        clean = {name: (0, -signal.SIGTERM) if name.startswith("web") else (0,) for name in started}
        failed = {name: (logs / f"{name}.log").read_text()[-3000:] for name, code in codes.items()
                  if code not in clean[name]}
        assert not failed, f"processes ended badly: {codes}\n{failed}"


@pytest.fixture(scope="module")
async def cluster(postgres_url: str, redis_url: str, s3_endpoint: str,
                  tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Cluster]:
    root = tmp_path_factory.mktemp("machines")
    name = f"likeness_test_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(postgres_url)
    await admin.execute(f'CREATE DATABASE "{name}"')
    port = _shared_port()
    domain = f"{ADDRESSES[0]}:{port}"
    env = {**os.environ, "DATABASE_URL": _with_database(postgres_url, name), "REDIS_URL": redis_url,
           "LIKENESS_DOMAIN": domain, "LIKENESS_HTTPS": "0", "LIKENESS_ALLOW_PRIVATE_FETCH": "1",
           "LIKENESS_RUN_WORKERS": "0", "LIKENESS_RATE_LIMIT_LOGIN_ACCOUNT": f"{LOGIN_LIMIT}/5m",
           "LIKENESS_GENERATION_MAX_ACTIVE_JOBS": "100", **bucket_env(new_bucket(s3_endpoint))}
    try:
        with _processes(env, root, port) as processes:
            machines = [Machine(address, port, domain) for address in ADDRESSES]

            async def up() -> bool:
                for machine in machines:
                    for name, process in processes.items():
                        log = root / "logs" / f"{name}.log"
                        assert process.poll() is None, f"{name} ended: {log.read_text()}"
                    with contextlib.suppress(httpx.TransportError):
                        if (await machine.request("GET", "/api/v1/instance")).status_code == 200:
                            continue
                    return False
                return True

            await eventually(up, timeout=60, interval=0.2)
            yield Cluster(*machines, domain, env["DATABASE_URL"], redis_url, root)
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


@pytest.fixture(scope="module")
async def remote() -> AsyncIterator[FakePeer]:
    running = await start_peer()
    yield running
    await stop_peer(running)


async def _signup(machine: Machine, username: str) -> str:
    response = await machine.request("POST", "/api/v1/accounts", json={
        "username": username, "email": f"{username}@example.com", "password": PASSWORD})
    assert response.status_code == 200, response.text
    return response.json()["access_token"]


async def _login(machine: Machine, username: str, password: str = PASSWORD) -> httpx.Response:
    return await machine.request("POST", "/oauth/token", data={
        "grant_type": "password", "username": username, "password": password})


async def _admin(cluster: Cluster, username: str) -> str:
    """An account made through A and made admin, as `likeness admin set-role` does."""
    token = await _signup(cluster.a, username)
    conn = await asyncpg.connect(cluster.database_url)
    try:
        assert await store.set_role(conn, username, "admin")
    finally:
        await conn.close()
    return token


async def _inbox_post(peer: FakePeer, machine: Machine, sender: str, path: str,
                      activity: dict[str, Any]) -> httpx.Response:
    """A signed POST from `peer` to `machine`, signed for the instance's own URL (the Host header
    the load balancer passes on)."""
    body = json.dumps(activity).encode()
    headers = peer.signed_headers(sender, f"http://{machine.domain}{path}", body)
    async with httpx.AsyncClient(base_url=machine.url, timeout=30) as client:
        return await client.post(path, content=body, headers=headers)


async def _revoke_and_see_streams_end(cluster: Cluster, token: str, ws: Any, sse: httpx.Response) -> None:
    revoked = await cluster.a.request("POST", "/oauth/revoke", data={"token": token})
    assert revoked.status_code == 200, revoked.text
    with pytest.raises(websockets.ConnectionClosedOK):
        await asyncio.wait_for(ws.recv(), 10)
    assert ws.close_reason == "the access token was revoked"
    await asyncio.wait_for(sse.aread(), 10)  # the response ends


async def _listening(cluster: Cluster, token_hash: bytes) -> bool:
    """Whether a web process listens on the token's channel (one subscription serves all its
    streams)."""
    conn = await asyncpg.connect(cluster.database_url)
    try:
        instance_id = json.loads(await store.setting(conn, "instance_id"))  # no JSON codec here
    finally:
        await conn.close()
    redis = Redis.from_url(cluster.redis_url)
    try:
        channel = f"likeness:{instance_id}:{streams.token_channel(token_hash)}"
        [(_, listening)] = await redis.pubsub_numsub(channel)
    finally:
        await redis.aclose()
    return listening > 0


async def test_an_account_made_through_one_machine_signs_in_through_the_other(cluster):
    """Tokens, logins and authorization codes are rows in PostgreSQL: any machine takes them."""
    token = await _signup(cluster.a, "ada")
    me = await cluster.b.request("GET", "/api/v1/accounts/verify_credentials", token)
    assert me.status_code == 200 and me.json()["username"] == "ada"
    login = await _login(cluster.b, "ada")
    assert login.status_code == 200, login.text
    second = login.json()["access_token"]
    assert (await cluster.a.request("GET", "/api/v1/accounts/verify_credentials", second)).status_code == 200
    # A token revoked through one machine is refused by the other at once (nothing caches tokens),
    # and the streams it has open on the other end, the WebSocket and server-sent events alike.
    stream = f"ws://{cluster.b.address}:{cluster.b.port}/api/v1/streaming?stream=user"
    async with websockets.connect(stream, additional_headers={"Authorization": f"Bearer {second}"}) as ws:
        # B listens for the token once for all its streams; the event stream's is made before its
        # response starts.
        await eventually(lambda: _listening(cluster, accounts.secret_hash(second)))
        async with cluster.b.client(second) as client, client.stream("GET", "/api/v1/streaming/user") as sse:
            assert sse.status_code == 200
            await _revoke_and_see_streams_end(cluster, second, ws, sse)
    assert (await cluster.b.request("GET", "/api/v1/accounts/verify_credentials", second)).status_code == 401

    # An app registered through A, authorized through B, its code redeemed through A.
    app = await cluster.a.request("POST", "/api/v1/apps", json={
        "client_name": "Two machines", "redirect_uris": CALLBACK, "scopes": "read"})
    assert app.status_code == 200, app.text
    params = {"response_type": "code", "client_id": app.json()["client_id"], "redirect_uri": CALLBACK,
              "scope": "read"}
    allowed = await cluster.b.request("POST", "/oauth/authorize", data={
        **params, "username": "ada", "password": PASSWORD, "decision": "allow"})
    redeemed = await cluster.a.request("POST", "/oauth/token", data={
        "grant_type": "authorization_code", "code": _code(allowed), "redirect_uri": CALLBACK,
        "client_id": app.json()["client_id"], "client_secret": app.json()["client_secret"]})
    assert redeemed.status_code == 200, redeemed.text
    third = redeemed.json()["access_token"]
    assert (await cluster.b.request("GET", "/api/v1/accounts/verify_credentials", third)).status_code == 200


async def test_a_post_through_one_machine_is_served_streamed_and_delivered_by_the_others(cluster, remote):
    alice = await _signup(cluster.a, "alice")
    bob = await _signup(cluster.b, "bob")
    alice_uri = f"{cluster.base_url}/users/alice"
    # bob follows alice through B; a remote server's carol follows her through A's inbox.
    found = await cluster.b.request("GET", "/api/v1/accounts/lookup", bob, params={"acct": "alice"})
    followed = await cluster.b.request("POST", f"/api/v1/accounts/{found.json()['id']}/follow", bob)
    assert followed.status_code == 200 and followed.json()["following"], followed.text
    remote.add_actor("carol")
    follow = {"id": f"{remote.base}/follows/carol", "type": "Follow", "actor": remote.actor_id("carol"),
              "object": alice_uri}
    assert (await _inbox_post(remote, cluster.a, "carol", "/users/alice/inbox", follow)).status_code == 202

    async def accepted() -> bool:
        return any(x["type"] == "Accept" for x in remote.received)

    await eventually(accepted, timeout=30)

    stream = f"ws://{cluster.b.address}:{cluster.b.port}/api/v1/streaming?stream=user"
    async with websockets.connect(stream, additional_headers={"Authorization": f"Bearer {bob}"}) as ws:
        posted = await cluster.a.request("POST", "/api/v1/statuses", alice,
                                         json={"status": "one instance, two machines"})
        assert posted.status_code == 200, posted.text
        status = posted.json()

        async def update() -> dict[str, Any]:
            while True:
                message = json.loads(await ws.recv())
                if message.get("event") == "update":
                    return json.loads(message["payload"])

        streamed = await asyncio.wait_for(update(), 15)
    assert streamed["id"] == status["id"] and "two machines" in streamed["content"]

    # B serves it through the API and as ActivityPub.
    read = await cluster.b.request("GET", f"/api/v1/statuses/{status['id']}")
    assert read.status_code == 200 and read.json()["uri"] == status["uri"]
    note = await cluster.b.request("GET", status["uri"].removeprefix(cluster.base_url),
                                   headers={"Accept": AP})
    assert note.status_code == 200, note.text
    assert note.json()["id"] == status["uri"] and note.json()["attributedTo"] == alice_uri
    outbox = await cluster.b.request("GET", "/users/alice/outbox", params={"page": "1"},
                                     headers={"Accept": AP})
    assert outbox.status_code == 200, outbox.text
    assert status["uri"] in json.dumps(outbox.json())

    # A worker (either: they share the queue) delivers it to carol.
    async def delivered() -> dict[str, Any] | None:
        creates = [x for x in remote.received if x["type"] == "Create"]
        return creates[0] if creates else None

    create = await eventually(delivered, timeout=30)
    assert create["object"]["id"] == status["uri"]


async def test_a_video_uploaded_through_one_machine_is_checked_by_a_worker_and_served_by_the_other(
        cluster, tmp_path):
    token = await _signup(cluster.a, "gina")
    clip = make_mp4(tmp_path / "clip.mp4", width=90, height=160, seconds=1.0, fps=8)
    uploaded = await cluster.a.request("POST", "/api/v2/media", token,
                                       files={"file": ("clip.mp4", clip.read_bytes(), "video/mp4")})
    assert uploaded.status_code == 202, uploaded.text

    # A worker with a disk of its own checks it (reading it from the bucket); B answers for it.
    async def ready() -> dict[str, Any] | None:
        media = await cluster.b.request("GET", f"/api/v1/media/{uploaded.json()['id']}", token)
        assert media.status_code in (200, 206), media.text
        return media.json() if media.status_code == 200 else None

    media = await eventually(ready, timeout=30, interval=0.2)
    posted = await cluster.a.request("POST", "/api/v1/statuses", token,
                                     json={"status": "a clip", "media_ids": [media["id"]]})
    assert posted.status_code == 200, posted.text
    read = await cluster.b.request("GET", f"/api/v1/statuses/{posted.json()['id']}")
    attachment = read.json()["media_attachments"][0]
    assert attachment["url"].startswith(f"{cluster.base_url}/media/")
    async with cluster.b.client() as client:
        served = await client.get(attachment["url"].removeprefix(cluster.base_url), follow_redirects=True)
        poster = await client.get(attachment["preview_url"].removeprefix(cluster.base_url),
                                  follow_redirects=True)
    assert served.status_code == 200 and served.content == clip.read_bytes()
    assert poster.status_code == 200 and poster.content.startswith(b"\xff\xd8")
    assert not list(cluster.root.rglob("*.mp4")), "no machine keeps the file on its own disk"


async def test_login_attempts_are_counted_across_machines(cluster):
    await _signup(cluster.a, "dora")
    machines = [cluster.a, cluster.b] * LOGIN_LIMIT
    for machine in machines[:LOGIN_LIMIT]:
        assert (await _login(machine, "dora", "wrong password")).status_code in (400, 401)
    refused = await _login(machines[LOGIN_LIMIT], "dora")
    assert refused.status_code == 429, refused.text
    assert "login attempts" in refused.json()["error"]


async def test_a_domain_block_through_one_machine_is_enforced_by_the_other(cluster, remote):
    admin = await _admin(cluster, "root_admin")
    await _signup(cluster.a, "erin")
    remote.add_actor("mallory")

    async def follow(n: int) -> httpx.Response:
        activity = {"id": f"{remote.base}/follows/mallory/{n}", "type": "Follow",
                    "actor": remote.actor_id("mallory"), "object": f"{cluster.base_url}/users/erin"}
        return await _inbox_post(remote, cluster.b, "mallory", "/users/erin/inbox", activity)

    # B has read the rules already (and keeps them in memory) when A's admin changes them.
    assert (await follow(0)).status_code == 202
    blocked = await cluster.a.request("POST", "/api/v1/admin/domain_blocks", admin,
                                      json={"domain": remote.domain, "severity": "suspend"})
    assert blocked.status_code == 200, blocked.text
    since = time.monotonic()
    attempts = iter(range(1, 1000))

    async def refused() -> httpx.Response | None:
        response = await follow(next(attempts))
        return response if response.status_code == 403 else None

    response = await eventually(refused, timeout=PROPAGATION_S)
    assert "does not federate" in response.json()["error"]
    assert time.monotonic() - since < PROPAGATION_S


async def test_a_prompt_term_added_through_one_machine_is_refused_by_the_other(cluster):
    admin = await _admin(cluster, "prompt_admin")
    user = await _signup(cluster.b, "frank")

    async def generate(prompt: str) -> httpx.Response:
        return await cluster.b.request("POST", "/api/v1/generations", user, json={"prompt": prompt})

    # B has read the prompt rules (and keeps them in memory) when A's admin adds a term.
    assert (await generate("a zorblat dancing in the rain")).status_code == 201
    added = await cluster.a.request("POST", "/api/v1/admin/prompt_terms", admin,
                                    json={"category": "violence", "term": "zorblat"})
    assert added.status_code == 201, added.text
    since = time.monotonic()

    async def refused() -> httpx.Response | None:
        response = await generate("a zorblat juggling")
        return response if response.status_code == 422 else None

    response = await eventually(refused, timeout=PROPAGATION_S, interval=0.25)
    assert response.json()["rule"] == "admin.violence"
    assert time.monotonic() - since < PROPAGATION_S


async def test_every_machine_signs_renders_under_the_instances_one_c2pa_root(make_instance, tmp_path):
    """Two machines' workers: a render one signs is recognised by the other's upload check. The
    second machine had made a root of its own on its disk before; the instance's replaces it."""
    generation = dataclasses.replace(TEST_GENERATION, provenance=True)
    first = await make_instance("first", generation=generation, run_workers=False)
    stale = C2PASigner.for_instance(tmp_path / "second" / "c2pa")
    second = Instance(first.instance.settings.with_(data_dir=tmp_path / "second"))
    await second.start(workers=False)
    try:
        signers = [render_signer(machine.settings) for machine in (first.instance, second)]
    finally:
        await second.stop()
    assert signers[0] is not None and signers[1] is not None
    assert signers[0].trust_anchor == signers[1].trust_anchor != stale.trust_anchor
    stored = await first.pool.fetchval("SELECT value FROM instance_settings WHERE key = 'c2pa_root'")
    assert stored["cert"].encode() == signers[0].trust_anchor
    clip = make_mp4(tmp_path / "clip.mp4", width=64, height=112, seconds=0.5, fps=8)
    for n, signer in enumerate(signers):
        signer.sign(clip, tmp_path / f"render{n}.mp4", generator="g", title="t")
    assert signed_by(tmp_path / "render0.mp4", signers[1]) and signed_by(tmp_path / "render1.mp4", signers[0])
    stale.sign(clip, tmp_path / "stale.mp4", generator="g", title="t")
    assert not signed_by(tmp_path / "stale.mp4", signers[0])


async def test_a_peer_one_machine_gave_up_on_is_cleared_when_it_talks_to_another(make_instance, peer):
    """A worker on one machine marks a peer unreachable (deliveries to it are skipped from then on);
    the peer then talks to another machine's web server, which had noted it reachable a moment
    before: the mark is cleared all the same."""
    a = await make_instance()
    await _alice_with_remote_followers(a, peer, names=("mallory",))  # a notes the peer reachable
    worker = dataclasses.replace(a.instance.fed, peers_seen=None)  # another machine's worker
    peer.inbox_answers = [503]
    await _post(a)
    row = await eventually(lambda: a.pool.fetchrow(
        "SELECT * FROM deliveries WHERE attempts = 1 AND state = 'queued'"))
    await a.pool.execute("UPDATE deliveries SET attempts = $2, next_attempt_at = now() WHERE id = $1",
                         row["id"], len(delivery.BACKOFF))
    peer.inbox_answers = [500]
    assert await delivery.deliver(worker, row["id"]) == "failed"
    unreachable = "SELECT unreachable_since IS NOT NULL FROM peers WHERE host = $1"
    assert await a.pool.fetchval(unreachable, peer.domain)
    likes = iter(range(1000))

    async def cleared() -> bool:
        response = await peer.post("mallory", f"{a.base_url}/inbox", {
            "id": f"{peer.base}/likes/{next(likes)}", "type": "Like", "actor": peer.actor_id("mallory"),
            "object": f"{a.base_url}/users/alice"})
        assert response.status_code == 202
        return not await a.pool.fetchval(unreachable, peer.domain)

    await eventually(cleared, timeout=PROPAGATION_S, interval=0.25)
