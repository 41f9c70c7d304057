"""The crash test, short: `likeness serve` and two `likeness worker` processes killed with SIGKILL
under inbound and outbound load, then started again (tests/bench/crash.py; run it there at length
with the real lease). Nothing answered 2xx is lost, nothing due is left undelivered, and only the
deliveries in flight at the kill are sent twice, once their (here three-second) lease ran out."""

from __future__ import annotations

from tests.bench import crash


async def test_kill_9_under_load_loses_nothing_and_resumes_what_was_in_flight(database, redis_url, tmp_path):
    report = await crash.run(database, redis_url, kills=1, followers=6, lease_s=3.0, phase_s=4.0,
                             post_every_s=0.5, inbound_every_s=0.2, inbox_delay_s=1.0, drain_s=45.0,
                             workdir=tmp_path)
    print("\n" + report.table())
    assert report.load.accepted and report.load.posts
    assert report.lost_inbound == set()
    assert report.lost_deliveries == set()
    assert report.unexplained == set()
    (kill,) = report.kills
    assert kill.leases["deliveries"], "the kill came when no delivery was in flight"
    assert len(report.duplicates) <= len(kill.leases["deliveries"])
    # Restarting takes several seconds here; the lease and the 5 s sweep add at most 8.
    assert kill.resumed_after is not None and kill.resumed_after < 30
