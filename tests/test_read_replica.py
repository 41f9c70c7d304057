"""DATABASE_REPLICA_URL over real HTTP, against a real streaming replica (tests/pg_replica.py).

With the standby's replay paused, what the instance writes lands on the primary alone: the
reads that go to the replica (timelines, For You, profiles, public collections) do not see it
yet, while the answer to the post, the status its author asks for and verify_credentials do;
resumed, the replica catches up and they all see it. pg_stat_activity shows the instance's
connections on the standby. Bad input: an unreachable replica stops the start, naming it; a
writable primary given as the replica works.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator, Iterator

import asyncpg
import pytest

from server.config import ConfigError, Settings
from tests.conftest import eventually
from tests.pg_replica import ReplicaPair, why_not
from tests.test_cameos import _create as create_cameo
from tests.test_cli import _free_port
from tests.test_federation_e2e import _account_id
from tests.videos import make_mp4, upload_video

AP = {"Accept": "application/activity+json"}
# The name the instance's replica connections carry, to find them in pg_stat_activity.
REPLICA_APP = "likeness-read"
TOKEN = "metrics-token"
LAG = re.compile(r"^likeness_replica_replay_lag_bytes (\S+)$", re.M)


@pytest.fixture(scope="module")
def pair() -> Iterator[ReplicaPair]:
    reason = why_not()
    if reason is not None:
        pytest.skip(reason)
    started = ReplicaPair().start()
    try:
        yield started
    finally:
        started.stop()


@pytest.fixture
async def replicated(pair: ReplicaPair) -> AsyncIterator[tuple[str, str]]:
    """A fresh database on the primary, once the standby has it: (primary URL, standby URL)."""
    name = f"likeness_replica_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(pair.primary.url())
    await admin.execute(f'CREATE DATABASE "{name}"')
    await pair.caught_up()
    try:
        yield pair.primary.url(name), f"{pair.standby.url(name)}?application_name={REPLICA_APP}"
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


async def _post_video(a, user, text, tmp_path):
    media = await upload_video(a, user, make_mp4(tmp_path / f"{uuid.uuid4().hex}.mp4", seconds=0.25))
    response = await a.api(user, "POST", "/api/v1/statuses",
                           json={"status": text, "media_ids": [media["id"]]})
    assert response.status_code == 200, response.text
    return response.json()


async def _ids(a, user, path, **params):
    response = await a.api(user, "GET", path, params=params)
    assert response.status_code == 200, (path, response.text)
    return [s["id"] for s in response.json()]


async def _ap(a, path):
    async with a.client() as client:
        response = await client.get(path, headers=AP)
    assert response.status_code == 200, (path, response.text)
    return response.json()


async def _replay_lag(a) -> float | None:
    """The replica's lag in bytes as /metrics gives it, or None where it gives none."""
    response = await a.api(None, "GET", "/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200, response.text
    found = LAG.search(response.text)
    return None if found is None else float(found.group(1))


async def _caught_up(a) -> bool:
    return await _replay_lag(a) == 0


async def _read_paths(a, alice_id, list_id):
    """What each read that goes to the replica shows: post ids, counts, collection sizes."""
    outbox = await _ap(a, "/users/alice/outbox")
    followers = await _ap(a, "/users/alice/followers")
    featured = await _ap(a, "/users/alice/collections/featured")
    cameos = await _ap(a, "/users/alice/cameos")
    profile = (await a.api(None, "GET", f"/api/v1/accounts/{alice_id}")).json()
    lookup = (await a.api(None, "GET", "/api/v1/accounts/lookup", params={"acct": "alice"})).json()
    return {
        "home": await _ids(a, "bob", "/api/v1/timelines/home"),
        "public": await _ids(a, None, "/api/v1/timelines/public"),
        "tag": await _ids(a, None, "/api/v1/timelines/tag/cats"),
        "list": await _ids(a, "bob", f"/api/v1/timelines/list/{list_id}"),
        "for_you": await _ids(a, None, "/api/v1/timelines/for_you"),
        "profile_statuses": await _ids(a, "bob", f"/api/v1/accounts/{alice_id}/statuses"),
        "profile_counts": (profile["statuses_count"], profile["followers_count"]),
        "lookup_count": lookup["statuses_count"],
        "outbox": outbox["totalItems"],
        "followers": followers["totalItems"],
        "featured": [item["id"] for item in featured["orderedItems"]],
        "cameos": cameos["totalItems"],
    }


async def test_reads_come_from_the_replica_and_writes_from_the_primary(make_instance, replicated, pair,
                                                                       tmp_path):
    primary_url, replica_url = replicated
    a = await make_instance("r", database_url=primary_url, database_replica_url=replica_url,
                            metrics_token=TOKEN)
    assert a.instance.read_pool is not a.instance.pool
    for name in ("alice", "bob", "carol"):
        await a.signup(name)
    alice_id = await _account_id(a, "bob", a.handle("alice"))
    assert (await a.api("bob", "POST", f"/api/v1/accounts/{alice_id}/follow")).status_code == 200
    made = await a.api("bob", "POST", "/api/v1/lists", json={"title": "friends"})
    list_id = made.json()["id"]
    added = await a.api("bob", "POST", f"/api/v1/lists/{list_id}/accounts", json={"account_ids": [alice_id]})
    assert added.status_code == 200, added.text
    first = await _post_video(a, "alice", "a first clip #cats", tmp_path)
    await pair.caught_up()
    before = await _read_paths(a, alice_id, list_id)
    assert before == {
        "home": [first["id"]], "public": [first["id"]], "tag": [first["id"]], "list": [first["id"]],
        "for_you": [first["id"]], "profile_statuses": [first["id"]], "profile_counts": (1, 1),
        "lookup_count": 1, "outbox": 1, "followers": 1, "featured": [], "cameos": 0}

    await pair.pause_replay()
    # Writes go to the primary (the standby is read-only and paused besides), and what the
    # writer reads of them at once comes from the primary too.
    second = await _post_video(a, "alice", "a second clip #cats", tmp_path)
    assert second["content"] and second["account"]["id"] == alice_id
    got = await a.api("alice", "GET", f"/api/v1/statuses/{second['id']}")
    assert got.status_code == 200 and got.json()["id"] == second["id"]
    me = (await a.api("alice", "GET", "/api/v1/accounts/verify_credentials")).json()
    assert me["statuses_count"] == 2
    assert await _ids(a, "alice", f"/api/v1/accounts/{alice_id}/statuses") == [second["id"], first["id"]]
    pinned = await a.api("alice", "POST", f"/api/v1/statuses/{second['id']}/pin")
    assert pinned.status_code == 200, pinned.text
    assert (await a.api("carol", "POST", f"/api/v1/accounts/{alice_id}/follow")).status_code == 200
    cameo = await create_cameo(a, "alice", name="Alice", permission="everyone")
    assert cameo.status_code == 201, cameo.text
    assert await a.pool.fetchval("SELECT count(*) FROM posts WHERE id = $1", int(second["id"])) == 1

    # The replica has none of it yet: every read path it serves shows the state before.
    assert await _read_paths(a, alice_id, list_id) == before
    assert await _replay_lag(a) > 0
    standby = await asyncpg.connect(replica_url)
    try:
        assert await standby.fetchval("SELECT pg_is_in_recovery()")
        # The instance's replica pool is connected to the standby (and not to the primary).
        assert await standby.fetchval("SELECT count(*) FROM pg_stat_activity WHERE application_name = $1"
                                      " AND datname = current_database()", REPLICA_APP) >= 2
    finally:
        await standby.close()
    assert await a.pool.fetchval("SELECT count(*) FROM pg_stat_activity WHERE application_name = $1",
                                 REPLICA_APP) == 0

    await pair.resume_replay()
    after = await _read_paths(a, alice_id, list_id)
    both = [second["id"], first["id"]]
    assert after == {
        "home": both, "public": both, "tag": both, "list": both, "for_you": both,
        "profile_statuses": both, "profile_counts": (2, 2), "lookup_count": 2, "outbox": 2,
        "followers": 2, "featured": [second["uri"]], "cameos": 1}
    # The background log records PostgreSQL writes on its own may keep it above 0 for a moment.
    await eventually(lambda: _caught_up(a))


async def test_readyz_names_the_replica_when_it_is_down(make_instance, replicated, pair):
    primary_url, replica_url = replicated
    a = await make_instance("r", database_url=primary_url, database_replica_url=replica_url)
    assert (await a.api(None, "GET", "/readyz")).json() == {"status": "ok"}
    pair.stop_standby()
    try:
        down = await a.api(None, "GET", "/readyz")
        assert down.status_code == 503
        assert down.json() == {"status": "unavailable", "failed": ["postgresql_replica"]}
    finally:
        pair.start_standby()


async def test_an_unreachable_replica_stops_the_start(make_instance, replicated, pair):
    primary_url, _ = replicated
    # A port nothing listens on.
    unreachable = f"postgresql://postgres@127.0.0.1:{_free_port()}/nowhere"
    with pytest.raises(ConfigError, match=r"DATABASE_REPLICA_URL: cannot connect to the replica at"
                                          r" 127\.0\.0\.1"):
        await make_instance("r", database_url=primary_url, database_replica_url=unreachable)


async def test_a_writable_primary_as_the_replica_works(make_instance, database, tmp_path):
    a = await make_instance("w", database_url=database, database_replica_url=database, metrics_token=TOKEN)
    assert a.instance.read_pool is not a.instance.pool
    await a.signup("alice")
    posted = await _post_video(a, "alice", "at once #cats", tmp_path)
    assert await _ids(a, None, "/api/v1/timelines/public") == [posted["id"]]
    assert (await a.api(None, "GET", "/readyz")).json() == {"status": "ok"}
    # A writable server lags nothing, and has no lag to report.
    assert await _replay_lag(a) is None


async def test_unset_reads_the_primary(make_instance):
    a = await make_instance()
    assert a.instance.read_pool is a.instance.pool


@pytest.mark.parametrize(("env", "message"), [
    ({"DATABASE_REPLICA_URL": "postgresql://replica/db"}, "DATABASE_REPLICA_URL needs DATABASE_URL"),
    ({"DATABASE_URL": "postgresql://primary/db", "DATABASE_REPLICA_URL": "mysql://user:secret@replica/db"},
     "must be a postgresql:// URL"),
])
def test_replica_url_bad_input(env, message):
    with pytest.raises(ConfigError, match=message) as raised:
        Settings.from_env(env)
    assert "secret" not in str(raised.value)


def test_replica_url_read():
    env = {"DATABASE_URL": "postgresql://primary/db", "DATABASE_REPLICA_URL": " postgresql://replica/db "}
    assert Settings.from_env(env).database_replica_url == "postgresql://replica/db"
    assert Settings.from_env({"DATABASE_URL": "postgresql://primary/db"}).database_replica_url is None
