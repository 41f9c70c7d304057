"""Delivery: one signed POST per distinct inbox, retries with backoff, unreachable peers,
410 Gone, the double knock, and nothing lost when Redis loses a job."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from federation import delivery, httpsig, inbox, keys, signing, store
from federation.context import Federation
from server.config import ConfigError, Settings
from tests.conftest import eventually
from tests.peers import AP, new_rsa_key, public_pem


async def _alice_with_remote_followers(a, peer, names=("mallory", "eve")) -> None:
    await a.signup("alice")
    alice = f"{a.base_url}/users/alice"
    for n, name in enumerate(names):
        peer.add_actor(name)
        response = await peer.post(name, f"{alice}/inbox", {
            "id": f"{peer.base}/follows/{n}", "type": "Follow", "actor": peer.actor_id(name),
            "object": alice})
        assert response.status_code == 202

    async def all_accepted() -> bool:
        return len([x for x in peer.received if x["type"] == "Accept"]) == len(names)

    await eventually(all_accepted)


async def _post(a, text="hello") -> None:
    response = await a.api("alice", "POST", "/api/v1/statuses", json={"status": text})
    assert response.status_code == 200


async def test_shared_inbox_gets_one_signed_delivery(make_instance, peer):
    a = await make_instance()
    await _alice_with_remote_followers(a, peer)
    await _post(a)

    async def created() -> list:
        return [x for x in peer.received if x["type"] == "Create"]

    await eventually(created)

    async def delivered() -> list:
        # The peer may have the POST before the worker marks the row done.
        rows = await a.pool.fetch("SELECT inbox, state FROM deliveries d JOIN outbox_activities o"
                                  " ON o.id = d.activity_id WHERE o.type = 'Create'")
        found = [(r["inbox"], r["state"]) for r in rows]
        return found if all(state != "queued" for _, state in found) else None

    assert await eventually(delivered) == [(f"{peer.base}/inbox", "done")]
    assert len(await created()) == 1
    headers = peer.received_headers[-1]
    info = httpsig.parse_signature("POST", f"{peer.base}/inbox", headers)
    assert info.key_id == f"{a.base_url}/users/alice#main-key"


async def test_failures_back_off_then_peer_is_unreachable(make_instance, peer):
    a = await make_instance()
    await _alice_with_remote_followers(a, peer, names=("mallory",))
    fed = a.instance.fed
    peer.inbox_answers = [503]
    await _post(a)
    row = await eventually(lambda: a.pool.fetchrow(
        "SELECT * FROM deliveries WHERE attempts = 1 AND state = 'queued'"))
    assert row["last_error"] == "HTTP 503"
    wait = (row["next_attempt_at"] - datetime.now(UTC)).total_seconds()
    assert delivery.BACKOFF[0] - 5 < wait <= delivery.BACKOFF[0]
    assert sum(delivery.BACKOFF) / 3600 > 36  # about two days of retries

    # The last retry fails: the delivery fails for good and the peer is skipped from then on.
    await a.pool.execute("UPDATE deliveries SET attempts = $2, next_attempt_at = now()"
                         " WHERE id = $1", row["id"], len(delivery.BACKOFF))
    peer.inbox_answers = [500]
    assert await delivery.deliver(fed, row["id"]) == "failed"
    assert await a.pool.fetchval("SELECT unreachable_since IS NOT NULL FROM peers WHERE host = $1",
                                 peer.domain)
    before = len(peer.received)
    await _post(a, "while it is down")
    await eventually(lambda: a.pool.fetchval(
        "SELECT count(*) = 1 FROM deliveries WHERE state = 'skipped'"))
    assert len(peer.received) == before

    # When the peer talks to us again it is reachable again.
    response = await peer.post("mallory", f"{a.base_url}/inbox", {
        "id": f"{peer.base}/likes/1", "type": "Like", "actor": peer.actor_id("mallory"),
        "object": f"{a.base_url}/users/alice"})
    assert response.status_code == 202
    assert await a.pool.fetchval("SELECT unreachable_since IS NULL FROM peers WHERE host = $1",
                                 peer.domain)


async def test_gone_actor_is_removed(make_instance, peer):
    a = await make_instance()
    await a.signup("alice")
    peer.add_actor("mallory")
    mallory = await a.api("alice", "GET", "/api/v2/search",
                          params={"q": peer.actor_id("mallory")})
    mallory_id = mallory.json()["accounts"][0]["id"]
    peer.inbox_answers = [410]
    response = await a.api("alice", "POST", f"/api/v1/accounts/{mallory_id}/follow")
    assert response.status_code == 200
    await eventually(lambda: a.pool.fetchval(
        "SELECT NOT EXISTS (SELECT 1 FROM actors WHERE uri = $1)", peer.actor_id("mallory")))


async def test_double_knock_remembers_what_worked(make_instance, peer):
    a = await make_instance()
    await _alice_with_remote_followers(a, peer, names=("mallory",))
    # The peer refuses the cavage signature once, then takes RFC 9421.
    peer.inbox_answers = [401]
    await _post(a, "first")
    await eventually(lambda: a.pool.fetchval(
        "SELECT signature_scheme = 'rfc9421-rsa' FROM peers WHERE host = $1", peer.domain))
    creates = [h for x, h in zip(peer.received, peer.received_headers, strict=True)
               if x["type"] == "Create"]
    assert "signature-input" in creates[-1]
    await _post(a, "second")
    await eventually(lambda: _count_creates(peer, 2))
    assert "signature-input" in peer.received_headers[-1]  # no knock needed any more


async def test_fetches_are_signed_as_the_peer_was_learned_to_want(make_instance, peer):
    """A server that takes only RFC 9421 on GET: once a delivery's double knock has learned so,
    key fetches and object fetches to it are signed that way too."""
    a = await make_instance()
    await _alice_with_remote_followers(a, peer, names=("mallory",))
    async with a.client() as client:
        instance_actor = (await client.get("/actor", headers={"Accept": AP})).json()
    peer.rfc9421_get_keys = {instance_actor["publicKey"]["id"]:
                             keys.load_public_key(instance_actor["publicKey"]["publicKeyPem"])}
    alice = f"{a.base_url}/users/alice"
    peer.add_actor("paula")

    def follow(n: int) -> dict:
        return {"id": f"{peer.base}/follows/paula/{n}", "type": "Follow", "actor": peer.actor_id("paula"),
                "object": alice}

    # Not known yet: the key fetch is signed with cavage, which this server refuses.
    assert (await peer.post("paula", f"{alice}/inbox", follow(1))).status_code == 401
    assert peer.get_schemes[-1] == "cavage"
    # A delivery learns that the server wants RFC 9421 (double knock) ...
    peer.inbox_answers = [401]
    await _post(a, "learn")
    await eventually(lambda: a.pool.fetchval(
        "SELECT signature_scheme = 'rfc9421-rsa' FROM peers WHERE host = $1", peer.domain))
    # ... and the key fetch of a new actor and a post's fetch are signed so.
    assert (await peer.post("paula", f"{alice}/inbox", follow(2))).status_code == 202
    assert peer.get_schemes[-1] == "rfc9421"
    note = f"{peer.base}/users/mallory/statuses/1"
    peer.objects[note] = {"@context": "https://www.w3.org/ns/activitystreams", "id": note, "type": "Note",
                          "attributedTo": peer.actor_id("mallory"), "content": "signed fetches only",
                          "to": ["https://www.w3.org/ns/activitystreams#Public"]}
    found = await a.api("alice", "GET", "/api/v2/search", params={"q": note, "resolve": "true"})
    assert [s["uri"] for s in found.json()["statuses"]] == [note]
    assert set(peer.get_schemes[-2:]) == {"rfc9421"}


async def _count_creates(peer, n: int) -> bool:
    return len([x for x in peer.received if x["type"] == "Create"]) == n


async def _unqueued_delivery(a, peer, text: str) -> int:
    """alice posts to one remote follower while Redis "loses" the post's job, after it has
    expanded the followers: the delivery row, as the sweeper or a dead worker's job would find it."""
    await _alice_with_remote_followers(a, peer, names=("mallory",))
    with _jobs_lost(a.instance.fed):
        await _post(a, text)
    async with a.pool.acquire() as conn:
        activity_id = await conn.fetchval("SELECT id FROM outbox_activities WHERE followers_pending_since"
                                          " IS NOT NULL")
        assert await store.expand_follower_deliveries(conn, activity_id) == 1
    return await a.pool.fetchval("SELECT id FROM deliveries WHERE state = 'queued'")


@contextlib.contextmanager
def _jobs_lost(fed: Federation) -> Iterator[None]:
    """Redis "loses" the jobs queued meanwhile; and the work goes to the queue, not done at once
    by the process that queued it (`Leases.run`), as in a web process with no worker."""
    queue, fed.queue = fed.queue, None
    fed.leases.can_run = lambda: False
    try:
        yield
    finally:
        fed.queue = queue
        del fed.leases.can_run


async def test_a_job_lost_from_redis_is_delivered_by_the_sweeper(make_instance, peer):
    a = await make_instance()
    await _alice_with_remote_followers(a, peer, names=("mallory",))
    fed = a.instance.fed
    with _jobs_lost(fed):
        await _post(a, "lost job")
    # The post's followers were never expanded into deliveries: the sweep queues that again.
    await a.pool.execute("UPDATE outbox_activities SET followers_pending_since = now() - interval '5 minutes'"
                         " WHERE followers_pending_since IS NOT NULL")
    assert await delivery.sweep(fed) >= 1
    await eventually(lambda: _count_creates(peer, 1))
    assert await a.pool.fetchval("SELECT count(*) FROM deliveries WHERE state = 'queued'") == 0


async def test_a_worker_process_delivers_and_handles_at_once_without_the_queue(make_instance, peer):
    """A process running a worker sends the first deliveries it queues and handles what its
    inbox receives itself, leased, with no job: both happen with Redis losing every job."""
    a = await make_instance()
    await _alice_with_remote_followers(a, peer, names=("mallory",))
    fed = a.instance.fed
    assert fed.leases.can_run()
    queue, fed.queue = fed.queue, None
    try:
        await _post(a, "at once")
        await eventually(lambda: _count_creates(peer, 1))
        post = await a.api("alice", "POST", "/api/v1/statuses", json={"status": "like me"})
        like = {"id": f"{peer.base}/likes/at-once", "type": "Like", "actor": peer.actor_id("mallory"),
                "object": post.json()["uri"]}
        assert (await peer.post("mallory", f"{a.base_url}/inbox", like)).status_code == 202
        await eventually(lambda: a.pool.fetchval("SELECT count(*) = 1 FROM likes WHERE uri = $1", like["id"]))
    finally:
        fed.queue = queue
    states = await a.pool.fetch("SELECT state, leased_until FROM deliveries")
    assert [(r["state"], r["leased_until"]) for r in states] == [("done", None)] * len(states)


async def test_a_claimed_delivery_is_not_sent_twice(make_instance, peer):
    a = await make_instance()
    delivery_id = await _unqueued_delivery(a, peer, "once")
    fed = a.instance.fed
    results = [await delivery.deliver(fed, delivery_id), await delivery.deliver(fed, delivery_id)]
    assert results == ["done", "not due"]
    assert await _count_creates(peer, 1)


async def test_remote_key_rotation_in_actor_update(make_instance, peer):
    """A rotated key: the first request signed with the new key refetches the actor once; after
    that the old key no longer verifies."""
    a = await make_instance()
    await _alice_with_remote_followers(a, peer, names=("mallory",))
    old_key = peer.keys["mallory"]
    peer.keys["mallory"] = new_rsa_key()
    update = {"id": f"{peer.base}/updates/1", "type": "Update", "actor": peer.actor_id("mallory"),
              "object": {**peer.actor_document("mallory"), "name": "Mallory Renamed"}}
    response = await peer.post("mallory", f"{a.base_url}/inbox", update)
    assert response.status_code == 202
    stored = await a.pool.fetchval("SELECT public_pem FROM public_keys WHERE key_id = $1",
                                   f"{peer.actor_id('mallory')}#main-key")
    assert stored == public_pem(peer.keys["mallory"])
    stale = await peer.post("mallory", f"{a.base_url}/inbox",
                            {**update, "id": f"{peer.base}/updates/2"}, key=old_key)
    assert stale.status_code == 401
    assert await a.pool.fetchval("SELECT count(*) FROM inbox_activities WHERE activity_uri = $1",
                                 f"{peer.base}/updates/2") == 0


async def test_a_slow_delivery_keeps_its_lease_while_its_worker_lives(make_instance, peer):
    """The lease is two seconds; the peer takes four to answer. The worker renews the lease
    while it waits, so the row is never taken for abandoned and goes out once."""
    a = await make_instance(federation_lease_s=2.0)
    await _alice_with_remote_followers(a, peer, names=("mallory",))
    fed = a.instance.fed
    peer.inbox_delay = 4.0
    await _post(a, "slow")
    await eventually(lambda: _count_creates(peer, 1))
    for _ in range(8):
        assert await delivery.resume_abandoned(fed) == 0
        assert await a.pool.fetchval("SELECT leased_until > now() FROM deliveries WHERE state = 'queued'")
        await asyncio.sleep(0.4)
    await eventually(lambda: a.pool.fetchval(
        "SELECT count(*) = 0 FROM deliveries WHERE state = 'queued'"), timeout=10)
    assert await a.pool.fetchval("SELECT leased_until FROM deliveries d JOIN outbox_activities o"
                                 " ON o.id = d.activity_id WHERE o.type = 'Create'") is None
    assert await _count_creates(peer, 1)


async def test_a_dead_workers_delivery_resumes_when_its_lease_runs_out(make_instance, peer):
    """A worker claimed a delivery and died (nobody renews its lease): once the lease has run out
    the sweeper queues it again, and another worker sends it; within the lease nobody may."""
    a = await make_instance(federation_lease_s=1.0)
    delivery_id = await _unqueued_delivery(a, peer, "in flight at the crash")
    fed = a.instance.fed
    assert await store.claim_deliveries(a.pool, [delivery_id], 1.0)  # the dead worker's
    assert await delivery.deliver(fed, delivery_id) == "not due"
    assert await delivery.resume_abandoned(fed) == 0
    await asyncio.sleep(1.2)
    await delivery.resume_abandoned(fed)  # or the worker's sweep did, every 5 s
    await eventually(lambda: _count_creates(peer, 1))
    await eventually(lambda: a.pool.fetchval("SELECT state = 'done' FROM deliveries WHERE id = $1",
                                             delivery_id))


async def test_an_inbox_activity_is_handled_once_and_resumes_after_its_worker_died(make_instance, peer):
    a = await make_instance(federation_lease_s=1.0)
    await _alice_with_remote_followers(a, peer, names=("mallory",))
    fed = a.instance.fed
    post = await a.api("alice", "POST", "/api/v1/statuses", json={"status": "like me"})
    like = {"id": f"{peer.base}/likes/1", "type": "Like", "actor": peer.actor_id("mallory"),
            "object": post.json()["uri"]}
    with _jobs_lost(fed):
        assert (await peer.post("mallory", f"{a.base_url}/inbox", like)).status_code == 202
    row_id = await a.pool.fetchval("SELECT id FROM inbox_activities WHERE activity_uri = $1", like["id"])
    assert await store.claim_inbox_activity(a.pool, row_id, 1.0) is not None  # the dead worker's
    # While the lease holds, a second job (a sweep's) leaves the activity alone.
    assert await inbox.process(fed, row_id) == "gone"
    assert await a.pool.fetchval("SELECT count(*) FROM likes") == 0
    await asyncio.sleep(1.2)
    await delivery.resume_abandoned(fed)
    await eventually(lambda: a.pool.fetchval("SELECT count(*) = 1 FROM likes WHERE uri = $1", like["id"]))
    row = await a.pool.fetchrow("SELECT * FROM inbox_activities WHERE id = $1", row_id)
    assert (row["state"], row["attempts"], row["leased_until"]) == ("done", 2, None)


def test_lease_setting():
    assert Settings.from_env({}).federation_lease_s == 45.0
    assert Settings.from_env({"LIKENESS_FEDERATION_LEASE_S": "2.5"}).federation_lease_s == 2.5
    for bad in ("0", "-1", "a minute", "7200"):
        with pytest.raises(ConfigError, match="LIKENESS_FEDERATION_LEASE_S"):
            Settings.from_env({"LIKENESS_FEDERATION_LEASE_S": bad})


async def _alice_with_sixty_inboxes(a, peer, monkeypatch) -> list[tuple]:
    """alice, followed by 60 actors with inboxes of their own; the jobs queued from then on,
    recorded instead of queued, and none of the work done at once by this process, as in a web
    process with no worker (`Leases.run`)."""
    await a.signup("alice")
    queued: list[tuple] = []

    async def enqueue(function, *args, job_id=None, defer_by=None):
        queued.append((function, *args))

    monkeypatch.setattr(a.instance.fed, "enqueue", enqueue)
    monkeypatch.setattr(a.instance.fed.leases, "can_run", lambda: False)
    names = [f"f{n}" for n in range(60)]
    await a.pool.execute(
        "INSERT INTO actors (uri, local, username, domain, inbox)"
        " SELECT $1 || n, false, n, $2, $1 || n || '/inbox' FROM unnest($3::text[]) AS n",
        f"{peer.base}/users/", peer.domain, names)
    await a.pool.execute(
        "INSERT INTO follows (uri, follower_id, followed_id, accepted) SELECT a.uri || '#follow', a.id,"
        " (SELECT id FROM actors WHERE username = 'alice' AND local), true FROM actors a WHERE NOT a.local")
    return queued


async def test_a_fan_out_is_one_job_shared_in_batches_and_each_inbox_gets_it_once(make_instance, peer,
                                                                                  monkeypatch):
    """A post to 60 inboxes queues one job and writes no delivery: the job expands the followers
    into deliveries, queues the other drainers and, with them, claims batches until none is left;
    each inbox gets the post once, and a delivery that failed waits for its own retry instead of
    being claimed again by the drain."""
    a = await make_instance()
    fed = a.instance.fed
    queued = await _alice_with_sixty_inboxes(a, peer, monkeypatch)
    await _post(a, "to sixty inboxes")
    [(function, activity_id)] = [job for job in queued if job[0] != "deliver"]
    assert function == delivery.EXPAND_FUNCTION
    assert await a.pool.fetchval("SELECT count(*) FROM deliveries WHERE activity_id = $1", activity_id) == 0

    queued.clear()
    peer.inbox_answers = [503]
    counts = await delivery.expand(fed, activity_id)
    assert counts == {"done": 59, "retry": 1}
    ids = [r["id"] for r in await a.pool.fetch("SELECT id FROM deliveries ORDER BY id")]
    drainers = [job for job in queued if job[0] == delivery.BATCH_FUNCTION]
    assert drainers == [(delivery.BATCH_FUNCTION, ids, False)] * 2  # 60 rows: 3 batches, 3 drainers
    assert [job[0] for job in queued if job not in drainers] == ["deliver"]  # the retry's own job
    paths = [path for path, _ in peer.received_at]
    assert len(paths) == len(set(paths)) == 59
    states = await a.pool.fetch("SELECT state, attempts, next_attempt_at > now() AS later, count(*) AS n"
                                " FROM deliveries GROUP BY 1, 2, 3 ORDER BY 1")
    assert [tuple(r) for r in states] == [("done", 1, False, 59), ("queued", 1, True, 1)]
    # The other drainers find nothing left to claim, and a second expansion nothing to do.
    assert await delivery.deliver_batch(fed, ids, False) == {}
    assert await delivery.expand(fed, activity_id) == {}
    assert await a.pool.fetchval("SELECT count(*) FROM deliveries") == 60
    assert len(peer.received) == 59


async def test_a_lost_expansion_is_queued_again_by_the_sweep_and_done_once(make_instance, peer,
                                                                           monkeypatch):
    """The posting call commits and its job is lost (Redis, or a worker dead before the
    expansion committed): once the mark is older than a lease the sweep queues the expansion
    again, which sends the post to every inbox once, one that has its delivery already (a
    mention's) included."""
    a = await make_instance()
    fed = a.instance.fed
    queued = await _alice_with_sixty_inboxes(a, peer, monkeypatch)
    await _post(a, "to sixty inboxes")
    activity_id = await a.pool.fetchval("SELECT id FROM outbox_activities WHERE type = 'Create'")
    assert (delivery.EXPAND_FUNCTION, activity_id) in queued
    assert await a.pool.fetchval("SELECT count(*) FROM deliveries") == 0
    await store.insert_deliveries(a.pool, activity_id, [f"{peer.base}/users/f7/inbox"])

    queued.clear()
    await delivery.sweep(fed)
    assert (delivery.EXPAND_FUNCTION, activity_id) not in queued  # not a lease old yet
    await a.pool.execute("UPDATE outbox_activities SET followers_pending_since = now()"
                         " - make_interval(secs => $2) WHERE id = $1", activity_id, fed.leases.lease_s + 1)
    await delivery.sweep(fed)
    assert (delivery.EXPAND_FUNCTION, activity_id) in queued
    assert await delivery.expand(fed, activity_id) == {"done": 60}
    paths = [path for path, _ in peer.received_at]
    assert len(paths) == len(set(paths)) == 60
    assert await a.pool.fetchval("SELECT followers_pending_since FROM outbox_activities"
                                 " WHERE id = $1", activity_id) is None
    queued.clear()
    await delivery.sweep(fed)
    assert (delivery.EXPAND_FUNCTION, activity_id) not in queued
    # An activity that is gone (its author deleted since) leaves nothing to do.
    assert await delivery.expand(fed, activity_id + 1000) == {}


async def test_a_cold_worker_parses_an_actors_keys_once_however_many_ask(make_instance, monkeypatch):
    """A fresh worker's first fan-out asks for the author's keys from every delivery at once:
    one parse serves them all, and an actor without keys fails every asker and is asked again."""
    a = await make_instance()
    await a.signup("alice")
    fed = a.instance.fed
    alice = await a.pool.fetchval("SELECT id FROM actors WHERE username = 'alice' AND local")
    fed.key_cache.clear()
    reads = []
    real = store.actor_keys

    async def counted(conn, actor_id):
        reads.append(actor_id)
        return await real(conn, actor_id)

    monkeypatch.setattr(store, "actor_keys", counted)
    found = await asyncio.gather(*(signing.signing_keys(fed, alice) for _ in range(50)))
    assert reads == [alice] and all(keys is found[0] for keys in found)
    for _ in range(2):
        with pytest.raises(LookupError):
            await signing.signing_keys(fed, -1)
    assert reads == [alice, -1, -1]
