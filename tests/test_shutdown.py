"""`likeness admin shutdown-notice`: every local account is told (a notification and the web app's
banner, Mastodon's announcements), every known server gets an Update of the instance actor saying
when it closes, every account's archive is built and kept until then; the same notice twice does
nothing more, and a past date is refused."""

from __future__ import annotations

from datetime import timedelta

from federation.objects import iso, now
from server.cli.main import parser
from server.cli.shutdown import shutdown_notice
from tests.conftest import eventually

AP = "application/activity+json"


async def test_shutdown_notice_reaches_accounts_and_peers(make_instance, peer, capsys):
    a = await make_instance("a")
    await a.signup("alice")
    await a.signup("bob")
    # A knows the peer: one of its people follows alice.
    peer.add_actor("pat")
    follow = {"@context": "https://www.w3.org/ns/activitystreams", "id": f"{peer.base}/follows/1",
              "type": "Follow", "actor": peer.actor_id("pat"), "object": f"{a.base_url}/users/alice"}
    assert (await peer.post("pat", f"{a.base_url}/inbox", follow)).status_code in (200, 202)

    async def follow_accepted():
        return [r for r in peer.received if r.get("type") == "Accept"]

    await eventually(follow_accepted)

    def command(*words: str):
        return parser().parse_args(["admin", "shutdown-notice", *words])

    assert await shutdown_notice(command("--until", "2020-01-31"), a.instance) == 1
    assert "must be in the future" in capsys.readouterr().err
    assert await a.pool.fetchval("SELECT count(*) FROM notifications WHERE type = 'shutdown_notice'") == 0
    until = (now() + timedelta(days=30)).replace(microsecond=0)
    args = command("--until", until.isoformat(), "--message", "We close <for good>: take your cameos.")
    assert await shutdown_notice(args, a.instance) == 0
    assert "2 accounts notified, 2 archives asked for" in capsys.readouterr().out

    async def update():
        return [r for r in peer.received if r.get("type") == "Update"]

    [sent] = await eventually(update)
    instance_actor = sent["object"]
    assert instance_actor["id"] == f"{a.base_url}/actor" and instance_actor["type"] == "Application"
    assert instance_actor["endTime"] == iso(until)
    assert "We close &lt;for good&gt;: take your cameos." in instance_actor["summary"]
    assert "This server closes on" in instance_actor["summary"]
    # The instance actor says it to whoever fetches it, and the server keeps answering.
    async with a.client() as client:
        served = (await client.get(f"{a.base_url}/actor", headers={"Accept": AP})).json()
    assert served["endTime"] == iso(until)

    for user in ("alice", "bob"):
        kinds = [n["type"] for n in (await a.api(user, "GET", "/api/v1/notifications",
                                                 params={"types[]": "shutdown_notice"})).json()]
        assert kinds == ["shutdown_notice"]
        [banner] = (await a.api(user, "GET", "/api/v1/announcements")).json()
        assert banner["ends_at"] == iso(until) and "closes on" in banner["content"]

        async def archive_ready(user=user):
            rows = (await a.api(user, "GET", "/api/v1/archives")).json()
            return rows[0] if rows and rows[0]["state"] == "ready" else None

        archive = await eventually(archive_ready, timeout=60)
        # Kept until the server closes, not only the usual 7 days.
        assert archive["expires_at"] >= iso(until)

    # The same notice again: nobody told twice, no second Update, no second archive.
    assert await shutdown_notice(args, a.instance) == 0
    assert "0 accounts notified, 0 archives asked for" in capsys.readouterr().out
    assert await a.pool.fetchval("SELECT count(*) FROM notifications WHERE type = 'shutdown_notice'") == 2
    assert await a.pool.fetchval("SELECT count(*) FROM outbox_activities WHERE type = 'Update'") == 1
    assert await a.pool.fetchval("SELECT count(*) FROM archives") == 2
