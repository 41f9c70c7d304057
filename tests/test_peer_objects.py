"""What peers send, as Mastodon accepts and shows it (issue 14): every object shape in
tests/data/peer_objects.jsonl is delivered signed to the inbox and read back through
/api/v1/statuses/:id; then one test per rule (many-typed objects, attachments, other object
types, addressing, language, threads, quotes) and what malformed input must not do.

The corpus is data: each line is a shape with what it must show. `PEER` in it stands for the
scripted peer's base URL and `ACTOR` for its sending actor.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from tests.conftest import eventually

PUBLIC = "https://www.w3.org/ns/activitystreams#Public"
AS = "https://www.w3.org/ns/activitystreams"
CORPUS = Path(__file__).parent / "data" / "peer_objects.jsonl"
FINAL_STATES = ("done", "ignored", "failed")


def _corpus() -> list[dict[str, Any]]:
    return [json.loads(line) for line in CORPUS.read_text(encoding="utf-8").splitlines() if line]


def _placed(value: Any, peer, actor: str) -> Any:
    """A corpus value with its `PEER` and `ACTOR` placeholders filled in."""
    text = json.dumps(value).replace("ACTOR", actor).replace("PEER", peer.base)
    return json.loads(text)


async def _following(make_instance, peer, name: str = "mallory"):
    """An instance where alice follows `name`@peer, so that its posts are kept."""
    a = await make_instance()
    await a.signup("alice")
    actor = peer.add_actor(name)
    found = (await a.api("alice", "GET", "/api/v2/search", params={"q": actor})).json()
    assert found["accounts"], found
    await a.pool.execute(
        "INSERT INTO follows (uri, follower_id, followed_id, accepted) SELECT 'x:follow', l.id, r.id, true"
        " FROM actors l, actors r WHERE l.username = 'alice' AND l.local AND r.uri = $1", actor)
    return a, actor


async def _deliver(a, peer, name: str, obj: Any, n: Any, *, context: Any = AS, kind: Any = "Create",
                   expect_status: int = 202) -> str | None:
    """Sign and post one activity; its final inbox state (None when refused at the door)."""
    actor = peer.actor_id(name)
    activity = {"@context": context, "id": f"{peer.base}/activities/{n}", "type": kind, "actor": actor,
                "object": obj}
    response = await peer.post(name, f"{a.base_url}/inbox", activity)
    assert response.status_code == expect_status, response.text
    if response.status_code != 202:
        return None
    return await eventually(lambda: _final_state(a, activity["id"]), timeout=60)


async def _final_state(a, activity_uri: str) -> str | None:
    state = await a.pool.fetchval("SELECT state FROM inbox_activities WHERE activity_uri = $1",
                                  activity_uri)
    return state if state in FINAL_STATES else None


async def _status(a, uri: str, viewer: str | None = "alice") -> dict[str, Any] | None:
    post_id = await a.pool.fetchval("SELECT id FROM posts WHERE uri = $1", uri)
    if post_id is None:
        return None
    response = await a.api(viewer, "GET", f"/api/v1/statuses/{post_id}")
    assert response.status_code == 200, response.text
    return response.json()


def _problems(expect: dict[str, Any], status: dict[str, Any]) -> list[str]:
    """How a rendered status differs from what its corpus line expects."""
    found: list[str] = []

    def check(what: str, wanted: Any, got: Any) -> None:
        if wanted != got:
            found.append(f"{what}: wanted {wanted!r}, got {got!r}")

    media = status["media_attachments"]
    if "media" in expect:
        check("media types", expect["media"], [m["type"] for m in media])
    for m in media:
        if not m["url"] or not m["url"].startswith(("https://", "http://")):
            found.append(f"media without a playable url: {m}")
    first = media[0] if media else {}
    if "remote_url" in expect:
        check("chosen file", expect["remote_url"], first.get("url"))
    if "description" in expect:
        check("alt text", expect["description"], first.get("description"))
    if "blurhash" in expect:
        check("blurhash", expect["blurhash"], first.get("blurhash"))
    if "focus" in expect:
        focus = first.get("meta", {}).get("focus", {})
        check("focus", expect["focus"], [focus.get("x"), focus.get("y")])
    for key in ("content", "content_also", "link"):
        if expect.get(key) and expect[key] not in status["content"]:
            found.append(f"{key} {expect[key]!r} not in {status['content']!r}")
    for key in ("sensitive", "spoiler_text", "visibility", "language"):
        if key in expect:
            check(key, expect[key], status[key])
    if "language_in" in expect and status["language"] not in expect["language_in"]:
        found.append(f"language {status['language']!r} not one of {expect['language_in']}")
    if expect.get("url"):
        check("url", expect["url"], status["url"])
    if "tags" in expect:
        check("tags", expect["tags"], [t["name"] for t in status["tags"]])
    if "quote_state" in expect:
        check("quote state", expect["quote_state"], (status["quote"] or {}).get("state"))
    if "poll" in expect:
        poll = status["poll"]
        if expect["poll"] is None or poll is None:
            check("poll", expect["poll"], poll)
        else:
            check("poll", expect["poll"], {"multiple": poll["multiple"], "options": len(poll["options"]),
                                           "votes": poll["votes_count"], "expired": poll["expired"]})
    return found


async def test_corpus_of_peer_objects_is_stored_and_shown(make_instance, peer):
    """Every shape is delivered signed, then read back as a Mastodon status: stored, rendered,
    media shown. The few shapes not kept say why in the corpus (`reason`), as do the few
    attachments that are kept without media (`media_reason`)."""
    a, actor = await _following(make_instance, peer)
    shapes = _corpus()
    assert len(shapes) >= 300
    states: dict[str, str | None] = {}
    door = asyncio.Semaphore(8)

    async def send(n: int, shape: dict[str, Any]) -> None:
        obj = _placed(shape["object"], peer, actor)
        # A forged attribution is refused at the door (403), before any handling.
        refused = shape["expect"].get("stored") is False and obj["attributedTo"] != actor
        async with door:
            states[shape["name"]] = await _deliver(
                a, peer, "mallory", obj, f"corpus-{n}", context=_placed(shape["context"], peer, actor),
                expect_status=403 if refused else 202)

    await asyncio.gather(*(send(n, shape) for n, shape in enumerate(shapes)))
    failures: list[str] = []
    not_stored: dict[str, str] = {}
    shown = with_media = 0
    for shape in shapes:
        obj = _placed(shape["object"], peer, actor)
        expect = shape["expect"]
        status = await _status(a, obj["id"])
        if expect.get("stored") is False:
            if status is not None:
                failures.append(f"{shape['name']}: stored, but should not be ({expect['reason']})")
            not_stored[shape["name"]] = expect["reason"]
            continue
        if states[shape["name"]] != "done" or status is None:
            failures.append(f"{shape['name']}: not stored (inbox state {states[shape['name']]})")
            continue
        problems = _problems(_placed(expect, peer, actor), status)
        failures += [f"{shape['name']}: {problem}" for problem in problems]
        shown += not problems
        with_media += bool(status["media_attachments"])
    print(f"\npeer object corpus: {len(shapes)} shapes, {shown} stored and shown as expected"
          f" ({with_media} with media), {len(not_stored)} not kept:")
    for name, reason in not_stored.items():
        print(f"  shape {name.split(' ', 1)[0]}: {reason}")
    assert not failures, "\n".join(failures)
    assert len(not_stored) <= 5
    assert await a.pool.fetchval("SELECT count(*) FROM inbox_activities WHERE state = 'failed'") == 0


async def test_a_type_given_as_a_list(make_instance, peer):
    """`type` may be a list at every level: the activity, its object, the object's tags."""
    a, actor = await _following(make_instance, peer)
    note = {"id": f"{peer.base}/notes/1", "type": ["Note", "Article"], "attributedTo": actor,
            "content": "<p>many-typed</p>", "to": [PUBLIC],
            "tag": [{"type": ["Hashtag"], "name": "#Listed", "href": f"{peer.base}/tags/listed"}]}
    assert await _deliver(a, peer, "mallory", note, 1, kind=["Create", "https://example.org/ns#Thing"]) \
        == "done"
    status = await _status(a, note["id"])
    assert "many-typed" in status["content"] and [t["name"] for t in status["tags"]] == ["listed"]
    # An actor whose type is a list is still an actor; an Update of it is one too.
    peer.actor_extras["mallory"] = {"type": ["Person"]}
    assert await _deliver(a, peer, "mallory", {**peer.actor_document("mallory"), "type": ["Person"],
                                                "name": "Mallory Listed"}, 2, kind="Update") == "done"
    assert await a.pool.fetchval("SELECT type FROM actors WHERE uri = $1", actor) == "Person"
    # A type that is no string nor list of strings is refused at the door, never a 500.
    for n, bad in enumerate([[], [1, 2], {"a": "Create"}, None], start=3):
        assert await _deliver(a, peer, "mallory", note, n, kind=bad, expect_status=400) is None


async def test_a_question_shows_as_a_mastodon_poll(make_instance, peer):
    a, actor = await _following(make_instance, peer)
    question = {"id": f"{peer.base}/questions/1", "type": "Question", "attributedTo": actor,
                "content": "<p>Tea or coffee?</p>", "to": [PUBLIC], "endTime": "2099-01-01T00:00:00Z",
                "votersCount": 5, "anyOf": [
                    {"type": "Note", "name": "Tea", "replies": {"type": "Collection", "totalItems": 3}},
                    {"type": "Note", "name": "Coffee", "replies": {"type": "Collection", "totalItems": 4}}]}
    assert await _deliver(a, peer, "mallory", question, 1) == "done"
    status = await _status(a, question["id"])
    assert status["poll"] == {
        "id": status["id"], "expires_at": "2099-01-01T00:00:00Z", "expired": False, "multiple": True,
        "votes_count": 7, "voters_count": 5, "emojis": [], "voted": False, "own_votes": [],
        "options": [{"title": "Tea", "votes_count": 3}, {"title": "Coffee", "votes_count": 4}]}
    # Its server closes it: an Update shows the final counts.
    closed = {**question, "closed": "2026-11-30T00:00:00Z", "updated": "2026-11-30T00:00:00Z"}
    assert await _deliver(a, peer, "mallory", closed, 2, kind="Update") == "done"
    poll = (await _status(a, question["id"]))["poll"]
    assert poll["expired"] and poll["expires_at"] == "2026-11-30T00:00:00Z"
    anonymous = await _status(a, question["id"], viewer=None)
    assert "voted" not in anonymous["poll"]


async def test_a_post_addressed_to_a_local_account_without_a_mention_is_kept(make_instance, peer):
    """Mastodon keeps what names a local account in `to` or `cc` (a "silent" mention): the
    account may see it, even when nobody here follows the author; nobody is notified."""
    a, _ = await _following(make_instance, peer)
    await a.signup("bob")
    eve = peer.add_actor("eve")
    alice = f"{a.base_url}/users/alice"
    direct = {"id": f"{peer.base}/notes/dm", "type": "Note", "attributedTo": eve,
              "content": "<p>just for alice</p>", "to": [alice]}
    assert await _deliver(a, peer, "eve", direct, 1) == "done"
    status = await _status(a, direct["id"])
    # Mastodon's `limited` (addressed, not mentioned), which its API calls `private`.
    assert status["visibility"] == "private" and "just for alice" in status["content"]
    assert status["mentions"] == []  # silent: not listed
    post_id = status["id"]
    assert (await a.api("bob", "GET", f"/api/v1/statuses/{post_id}")).status_code == 404
    assert (await a.api("alice", "GET", "/api/v1/notifications")).json() == []
    # Named by a Mention tag as well: a mention like any other, listed and notified.
    cc = {**direct, "id": f"{peer.base}/notes/cc", "to": [PUBLIC], "cc": [alice],
          "tag": [{"type": "Mention", "href": alice, "name": "@alice"}]}
    assert await _deliver(a, peer, "eve", cc, 2) == "done"
    assert [m["username"] for m in (await _status(a, cc["id"]))["mentions"]] == ["alice"]
    assert [n["type"] for n in (await a.api("alice", "GET", "/api/v1/notifications")).json()] == ["mention"]
    # Addressed to no account here (a collection of ours is not an account): dropped.
    nobody = {**direct, "id": f"{peer.base}/notes/none", "to": [f"{a.base_url}/users/alice/followers",
                                                                  f"{a.base_url}/users/nobody"]}
    assert await _deliver(a, peer, "eve", nobody, 3) == "ignored"


async def test_the_parents_of_a_reply_are_fetched_within_bounds(make_instance, peer):
    """A reply into a thread we never saw brings its ancestors, fetched from their origin and
    checked as incoming posts are, at most MAX_ANCESTORS of them."""
    from federation.posts import MAX_ANCESTORS

    a, actor = await _following(make_instance, peer)
    eve = peer.add_actor("eve")
    chain = [f"{peer.base}/thread/{k}" for k in range(MAX_ANCESTORS + 3)]
    for k, uri in enumerate(chain):
        peer.objects[uri] = {"@context": AS, "id": uri, "type": "Note", "attributedTo": eve,
                             "content": f"<p>level {k}</p>", "to": [PUBLIC],
                             "inReplyTo": chain[k - 1] if k else None}
    reply = {"id": f"{peer.base}/notes/reply", "type": "Note", "attributedTo": actor,
             "content": "<p>the reply</p>", "to": [PUBLIC], "inReplyTo": chain[-1]}
    assert await _deliver(a, peer, "mallory", reply, 1) == "done"
    status = await _status(a, reply["id"])
    context = (await a.api("alice", "GET", f"/api/v1/statuses/{status['id']}/context")).json()
    ancestors = [s["uri"] for s in context["ancestors"]]
    assert ancestors == chain[-MAX_ANCESTORS:]
    assert status["in_reply_to_id"] == context["ancestors"][-1]["id"]
    # A parent that fails the checks (attributed to another server) is not kept; the reply is.
    forged = f"{peer.base}/forged/1"
    peer.objects[forged] = {"@context": AS, "id": forged, "type": "Note", "content": "<p>x</p>",
                            "attributedTo": "https://elsewhere.example/users/x", "to": [PUBLIC]}
    orphan = {**reply, "id": f"{peer.base}/notes/orphan", "inReplyTo": forged}
    assert await _deliver(a, peer, "mallory", orphan, 2) == "done"
    assert await a.pool.fetchval("SELECT count(*) FROM posts WHERE uri = $1", forged) == 0
    assert (await _status(a, orphan["id"]))["in_reply_to_id"] is None


async def test_quote_posts_show_mastodons_quote(make_instance, peer):
    """FEP-044f `quote` with the quoted author's stamp shows the quoted post; a self-quote
    needs none; an older `quoteUrl` quote stays pending; a quote of one of our posts is
    accepted by the stamp we issued (federation/quotes.py)."""
    a, actor = await _following(make_instance, peer)
    eve = peer.add_actor("eve")
    quoted = f"{peer.base}/notes/quoted"
    peer.objects[quoted] = {"@context": AS, "id": quoted, "type": "Note", "attributedTo": eve,
                            "content": "<p>quote me</p>", "to": [PUBLIC]}
    stamp = f"{peer.base}/users/eve/stamps/1"
    quote = {"id": f"{peer.base}/notes/q1", "type": "Note", "attributedTo": actor, "to": [PUBLIC],
             "content": "<p>look</p>", "quote": quoted, "quoteAuthorization": stamp}
    peer.objects[stamp] = {"@context": AS, "id": stamp, "type": "QuoteAuthorization", "attributedTo": eve,
                           "interactingObject": quote["id"], "interactionTarget": quoted}
    assert await _deliver(a, peer, "mallory", quote, 1) == "done"
    status = await _status(a, quote["id"])
    assert status["quote"]["state"] == "accepted"
    assert status["quote"]["quoted_status"]["uri"] == quoted
    assert "quote me" in status["quote"]["quoted_status"]["content"]
    # A stamp for another quote approves nothing.
    other = {**quote, "id": f"{peer.base}/notes/q2"}
    assert await _deliver(a, peer, "mallory", other, 2) == "done"
    assert (await _status(a, other["id"]))["quote"] == {"state": "pending", "quoted_status": None}
    # Misskey's quoteUrl: shown as a pending quote, the text keeping its "RE:" link.
    legacy = {"id": f"{peer.base}/notes/q3", "type": "Note", "attributedTo": actor, "to": [PUBLIC],
              "content": f"<p>RE: {quoted}</p>", "quoteUrl": quoted}
    assert await _deliver(a, peer, "mallory", legacy, 3) == "done"
    assert (await _status(a, legacy["id"]))["quote"] == {"state": "pending", "quoted_status": None}
    # Quoting oneself needs no stamp; a quote inside the quoted post is shallow.
    own = {"id": f"{peer.base}/notes/q4", "type": "Note", "attributedTo": actor, "to": [PUBLIC],
           "content": "<p>me again</p>", "_misskey_quote": quote["id"]}
    assert await _deliver(a, peer, "mallory", own, 4) == "done"
    shown = (await _status(a, own["id"]))["quote"]
    assert shown["state"] == "accepted"
    assert shown["quoted_status"]["quote"] == {"state": "accepted",
                                               "quoted_status_id": status["quote"]["quoted_status"]["id"]}
    # A quote of alice's post: mallory asks, we stamp, the Create names our stamp.
    mine = (await a.api("alice", "POST", "/api/v1/statuses", json={"status": "quotable"})).json()
    q5 = f"{peer.base}/notes/q5"
    request = {"@context": AS, "id": f"{peer.base}/quote-requests/1", "type": "QuoteRequest",
               "actor": actor, "object": mine["uri"], "instrument": q5}
    assert (await peer.post("mallory", f"{a.base_url}/inbox", request)).status_code == 202
    accept = await eventually(lambda: _received(peer, "Accept"))
    ours = {"id": q5, "type": "Note", "attributedTo": actor, "to": [PUBLIC], "content": "<p>nice</p>",
            "quote": mine["uri"], "quoteAuthorization": accept["result"]}
    assert await _deliver(a, peer, "mallory", ours, 6) == "done"
    shown = (await _status(a, q5))["quote"]
    assert shown["state"] == "accepted" and shown["quoted_status"]["id"] == mine["id"]
    forged = {**ours, "id": f"{peer.base}/notes/q6"}
    assert await _deliver(a, peer, "mallory", forged, 7) == "done"
    assert (await _status(a, forged["id"]))["quote"]["state"] == "rejected"
    # Quoting one of our posts is reason enough to keep a post, as a reply to it would be.
    eve_quote = {"id": f"{peer.base}/notes/q7", "type": "Note", "attributedTo": eve, "to": [PUBLIC],
                 "content": "<p>eve quotes</p>", "quoteUrl": mine["uri"]}
    assert await _deliver(a, peer, "eve", eve_quote, 8) == "done"
    # Once the quoted post is deleted, an accepted quote says so.
    await a.api("alice", "DELETE", f"/api/v1/statuses/{mine['id']}")
    assert (await _status(a, q5))["quote"] == {"state": "deleted", "quoted_status": None}


async def _received(peer, kind: str) -> dict[str, Any] | None:
    return next((x for x in peer.received if x["type"] == kind), None)


async def test_malformed_attachments_never_fail_and_never_half_store(make_instance, peer):
    """Whatever an attachment list holds, the post is kept whole (with the media that make
    sense) or not at all: the inbox never answers 5xx and no handling fails."""
    a, actor = await _following(make_instance, peer)
    malformed: list[Any] = [
        "https://files.example/a.jpg", 5, None, [[[]]], {"url": {"href": 5}},
        [None, 5, "x", True, {"type": "Image"}, {"type": "Image", "url": [[["https://f.example/a.jpg"]]]}],
        [{"type": "Image", "url": "https://f.example/a.jpg", "focalPoint": ["a", "b"], "width": "big",
          "height": -4, "blurhash": 5, "name": {"x": 1}, "duration": "forever", "mediaType": 7}],
        [{"type": "Image", "url": "https://f.example/b.jpg", "focalPoint": [1e300, -1e300], "width": 10**12,
          "blurhash": "not a blurhash!", "mediaType": "image/" + "x" * 500}],
        [{"type": "Document", "url": [
            {"type": "Link", "href": "javascript:alert(1)", "mediaType": "image/png"},
            {"type": "Link", "href": "https://f.example/c.png", "tag": "x"}]}],
        [{"type": "Document", "url": "https://f.example/" + "d" * 5000 + ".png"}],
        [{"type": "Video", "url": [{"type": "Link", "tag": [{"tag": [{"tag": []}]}]}] * 50}],
    ]
    for n, attachment in enumerate(malformed):
        note = {"id": f"{peer.base}/bad/{n}", "type": "Note", "attributedTo": actor, "to": [PUBLIC],
                "content": f"<p>bad {n}</p>", "attachment": attachment}
        assert await _deliver(a, peer, "mallory", note, n) == "done", attachment
        status = await _status(a, note["id"])
        assert f"bad {n}" in status["content"]
        for media in status["media_attachments"]:
            assert media["url"].startswith("https://") and media["type"] in ("image", "video", "unknown")
            assert -1 <= media["meta"]["focus"]["x"] <= 1
    rows = await a.pool.fetch("SELECT m.* FROM media m JOIN posts p ON p.id = m.post_id WHERE NOT p.local")
    assert all(r["remote_url"].startswith("https://") for r in rows)
    assert await a.pool.fetchval("SELECT count(*) FROM inbox_activities WHERE state = 'failed'") == 0
