"""The inbox door: signatures, digests, dates, origins, duplicates and malformed input.

Every refusal answers a clear 4xx and stores nothing; accepted activities are stored once.
"""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta

from federation import inbox
from tests.conftest import eventually
from tests.hostile import server_tracebacks
from tests.peers import new_rsa_key

PUBLIC = "https://www.w3.org/ns/activitystreams#Public"


async def _stored(instance) -> int:
    return await instance.pool.fetchval("SELECT count(*) FROM inbox_activities")


def _follow(peer, name: str, target: str, n: int = 1) -> dict:
    return {"@context": "https://www.w3.org/ns/activitystreams",
            "id": f"{peer.base}/activities/follow-{n}", "type": "Follow",
            "actor": peer.actor_id(name), "object": target}


def _note(peer, name: str, n: int, **extra) -> dict:
    return {"id": f"{peer.base}/notes/{n}", "type": "Note", "attributedTo": peer.actor_id(name),
            "content": f"<p>note {n}</p>", "to": [PUBLIC], "published": "2026-11-25T00:00:00Z",
            **extra}


async def test_follow_is_accepted_once_even_when_replayed(make_instance, peer):
    a = await make_instance()
    await a.signup("alice")
    peer.add_actor("mallory")
    inbox = f"{a.base_url}/users/alice/inbox"
    follow = _follow(peer, "mallory", f"{a.base_url}/users/alice")

    first = await peer.post("mallory", inbox, follow)
    again = await peer.post("mallory", inbox, follow)
    assert first.status_code == 202 and first.json()["status"] == "accepted"
    assert again.status_code == 202 and again.json()["status"] == "duplicate"
    assert await _stored(a) == 1

    async def accepted() -> list:
        return [x for x in peer.received if x["type"] == "Accept"]

    answers = await eventually(accepted)
    assert answers[0]["object"]["id"] == follow["id"]
    assert await a.pool.fetchval("SELECT count(*) FROM follows WHERE accepted") == 1


async def test_malformed_and_unsigned_requests_are_refused(make_instance, peer):
    a = await make_instance()
    await a.signup("alice")
    peer.add_actor("mallory")
    inbox = f"{a.base_url}/inbox"
    target = f"{a.base_url}/users/alice"
    cases = [
        (b"{not json", 400, "not valid JSON"),
        (b"[1, 2]", 400, "not a JSON object"),
        (json.dumps({"type": "Follow", "actor": peer.actor_id("mallory")}).encode(), 400, "'id'"),
        (json.dumps({**_follow(peer, "mallory", target), "type": 7}).encode(), 400, "type"),
        (json.dumps({**_follow(peer, "mallory", target), "id": "javascript:1"}).encode(), 400, "id"),
    ]
    for body, status, words in cases:
        response = await peer.post("mallory", inbox, body)
        assert response.status_code == status, (body, response.text)
        assert words in response.json()["error"]
    async with a.client() as client:
        unsigned = await client.post(inbox, json=_follow(peer, "mallory", target),
                                     headers={"Content-Type": "application/activity+json"})
    assert unsigned.status_code == 401 and unsigned.json()["error"]
    assert await _stored(a) == 0


async def test_bad_signatures_digests_and_dates_are_refused(make_instance, peer):
    a = await make_instance()
    await a.signup("alice")
    peer.add_actor("mallory")
    inbox = f"{a.base_url}/users/alice/inbox"
    follow = _follow(peer, "mallory", f"{a.base_url}/users/alice")
    body = json.dumps(follow).encode()

    wrong_key = await peer.post("mallory", inbox, follow, key=new_rsa_key())
    assert wrong_key.status_code == 401

    headers = peer.signed_headers("mallory", inbox, body)
    async with a.client() as client:
        tampered = await client.post(inbox, content=body.replace(b"Follow", b"Block "),
                                     headers=headers)
    assert tampered.status_code == 401 and "digest" in tampered.json()["error"].lower()

    stale = await peer.post("mallory", inbox, follow,
                            now=datetime.now(UTC) - timedelta(hours=13))
    assert stale.status_code == 401
    # A Date at most an hour ahead (Mastodon's clock skew margin), and not 61 minutes.
    ahead = await peer.post("mallory", inbox, follow, now=datetime.now(UTC) + timedelta(minutes=61))
    assert ahead.status_code == 401 and "future" in ahead.json()["error"]
    assert await _stored(a) == 0
    skewed = await peer.post("mallory", inbox, follow, now=datetime.now(UTC) + timedelta(minutes=59))
    assert skewed.status_code == 202, skewed.text


async def test_oversized_body_is_refused(make_instance, peer):
    a = await make_instance()
    peer.add_actor("mallory")
    huge = _note(peer, "mallory", 1, content="x" * 1_100_000)
    response = await peer.post("mallory", f"{a.base_url}/inbox",
                               {"id": f"{peer.base}/c/1", "type": "Create",
                                "actor": peer.actor_id("mallory"), "object": huge})
    assert response.status_code == 413
    assert await _stored(a) == 0


async def test_spoofed_origins_are_refused(make_instance, peer):
    """CVE-2024-23832's class: ids on another host than the signer."""
    a = await make_instance()
    await a.signup("alice")
    peer.add_actor("mallory")
    peer.add_actor("eve")
    inbox = f"{a.base_url}/inbox"
    actor = peer.actor_id("mallory")
    cases = [
        # The activity's id is on Likeness' own host.
        {"id": f"{a.base_url}/users/alice#follows/9", "type": "Follow", "actor": actor,
         "object": f"{a.base_url}/users/alice"},
        # A Create of an object that lives elsewhere.
        {"id": f"{peer.base}/c/2", "type": "Create", "actor": actor,
         "object": {**_note(peer, "mallory", 2), "id": "https://example.org/notes/2"}},
        # A Create of a note attributed to someone else on the same host.
        {"id": f"{peer.base}/c/3", "type": "Create", "actor": actor,
         "object": _note(peer, "eve", 3)},
        # An Undo of someone else's activity.
        {"id": f"{peer.base}/u/1", "type": "Undo", "actor": actor,
         "object": {"id": f"{peer.base}/f/1", "type": "Follow", "actor": peer.actor_id("eve"),
                    "object": f"{a.base_url}/users/alice"}},
    ]
    for activity in cases:
        response = await peer.post("mallory", inbox, activity)
        assert response.status_code == 403, (activity, response.text)
    # Signed by mallory, claiming to be eve.
    as_eve = _follow(peer, "eve", f"{a.base_url}/users/alice", n=5)
    response = await peer.post("mallory", inbox, as_eve)
    assert response.status_code == 401
    assert await _stored(a) == 0


async def test_unknown_types_are_ignored_and_not_stored(make_instance, peer):
    a = await make_instance()
    peer.add_actor("mallory")
    response = await peer.post("mallory", f"{a.base_url}/inbox", {
        "id": f"{peer.base}/x/1", "type": "Dance", "actor": peer.actor_id("mallory")})
    assert response.status_code == 202 and response.json()["status"] == "ignored"
    assert await _stored(a) == 0


async def test_unknown_account_inbox_is_404(make_instance, peer):
    a = await make_instance()
    peer.add_actor("mallory")
    response = await peer.post("mallory", f"{a.base_url}/users/nobody/inbox",
                               _follow(peer, "mallory", f"{a.base_url}/users/nobody"))
    assert response.status_code == 404


async def test_public_aliases_and_key_rotation(make_instance, peer):
    """`as:Public` means public; a rotated key is refetched once and then verifies."""
    a = await make_instance()
    await a.signup("alice")
    peer.add_actor("mallory")
    inbox = f"{a.base_url}/inbox"
    assert (await peer.post("mallory", inbox, _follow(peer, "mallory",
                                                      f"{a.base_url}/users/alice"))).status_code == 202
    mallory_on_a = await eventually(lambda: a.pool.fetchval(
        "SELECT id FROM actors WHERE uri = $1", peer.actor_id("mallory")))
    # alice follows mallory, so mallory's posts are kept.
    await a.pool.execute("INSERT INTO follows (uri, follower_id, followed_id, accepted)"
                         " SELECT 'x:f', a.id, $1, true FROM actors a WHERE a.username = 'alice'"
                         " AND a.local", mallory_on_a)
    peer.keys["mallory"] = new_rsa_key()  # rotation: Likeness holds the old key
    for n, alias in enumerate(["as:Public", "Public", PUBLIC], start=10):
        create = {"@context": "https://www.w3.org/ns/activitystreams",
                  "id": f"{peer.base}/c/{n}", "type": "Create", "actor": peer.actor_id("mallory"),
                  "object": _note(peer, "mallory", n, to=[alias])}
        response = await peer.post("mallory", inbox, create)
        assert response.status_code == 202, response.text

    async def all_public() -> bool:
        rows = await a.pool.fetch("SELECT visibility FROM posts WHERE NOT local")
        return len(rows) == 3 and {r["visibility"] for r in rows} == {"public"}

    await eventually(all_public)


def _like(peer, name: str, n: int, target: str, **extra) -> dict:
    return {"@context": "https://www.w3.org/ns/activitystreams", "id": f"{peer.base}/likes/{n}",
            "type": "Like", "actor": peer.actor_id(name), "object": target, **extra}


async def test_activities_posted_at_once_are_each_kept_once_as_they_came(make_instance, peer):
    """Concurrent POSTs share one INSERT: each is kept once, a redelivery in the same batch is a
    duplicate, and bodies that jsonb cannot take as sent (a BOM, UTF-16, a number past numeric's
    range) are kept as Python read them, without failing the others."""
    a = await make_instance()
    await a.signup("alice")
    peer.add_actor("mallory")
    inbox, target = f"{a.base_url}/inbox", f"{a.base_url}/users/alice"
    plain = [json.dumps(_like(peer, "mallory", n, target)).encode() for n in range(4)]
    bodies = [*plain, plain[0],
              b"\xef\xbb\xbf" + json.dumps(_like(peer, "mallory", 10, target)).encode(),
              json.dumps(_like(peer, "mallory", 11, target)).encode("utf-16-le"),
              json.dumps(_like(peer, "mallory", 12, target))[:-1].encode() + b', "extra": 1e-20000}']
    with server_tracebacks() as tracebacks:
        responses = await asyncio.gather(*(peer.post("mallory", inbox, body) for body in bodies))
    assert tracebacks == []
    assert [r.status_code for r in responses] == [202] * len(bodies), [r.text for r in responses]
    first, again = responses[0].json()["status"], responses[4].json()["status"]
    assert sorted([first, again]) == ["accepted", "duplicate"]
    assert await _stored(a) == 7
    kept = {row["activity_uri"]: row["body"] for row in await a.pool.fetch(
        "SELECT activity_uri, body FROM inbox_activities")}
    assert kept[f"{peer.base}/likes/10"]["object"] == target
    assert kept[f"{peer.base}/likes/11"]["object"] == target
    assert kept[f"{peer.base}/likes/12"]["extra"] == 0


async def test_one_activity_that_jsonb_refuses_does_not_fail_its_batch(make_instance, peer):
    """Kept in one statement when added at once; the one whose text PostgreSQL cannot read as
    sent is kept as Python read it, and the others as they came."""
    a = await make_instance()
    fed = a.instance.fed
    actor = peer.add_actor("mallory")
    likes = [_like(peer, "mallory", n, f"{a.base_url}/users/alice") for n in range(3)]
    texts = [json.dumps(likes[0]).encode(), json.dumps(likes[1])[:-1].encode() + b', "extra": 1e-20000}',
             json.dumps(likes[2]).encode()]
    likes[1]["extra"] = 0.0
    rows = await asyncio.gather(*(inbox._keep(fed, like, "Like", actor, text, None)
                                  for like, text in zip(likes, texts, strict=True)))
    assert None not in rows
    ids = [row["id"] for row in rows]
    assert len(set(ids)) == 3
    again = await asyncio.gather(*(inbox._keep(fed, like, "Like", actor, text, None)
                                   for like, text in zip(likes, texts, strict=True)))
    assert again == [None, None, None]
    bodies = [await a.pool.fetchval("SELECT body FROM inbox_activities WHERE id = $1", row_id)
              for row_id in ids]
    assert bodies == likes


async def test_a_web_process_without_a_worker_keeps_the_activity_and_queues_its_job(make_instance, peer):
    """Where no worker runs in the process, the activity is in PostgreSQL when the 202 comes and
    its job reaches the queue for the workers elsewhere."""
    a = await make_instance(run_workers=False)
    await a.signup("alice")
    peer.add_actor("mallory")
    response = await peer.post("mallory", f"{a.base_url}/inbox",
                               _like(peer, "mallory", 1, f"{a.base_url}/users/alice"))
    assert response.status_code == 202 and response.json()["status"] == "accepted"
    row = await a.pool.fetchrow("SELECT id, state FROM inbox_activities")
    assert row["state"] == "pending"
    fed = a.instance.fed
    assert await eventually(lambda: fed.queue.exists(f"arq:job:{fed.queue_name}:inbox:{row['id']}"))
