"""What is not public is not served to strangers: a draft's files and other uploads in no post
yet are their owner's (by token, or a signed link that expires), a held draft is for staff;
a cameo only its owner may use does not exist for anyone else."""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from federation import fetch
from federation.signing import instance_signer
from tests.conftest import eventually
from tests.test_cameos import _create, _png
from tests.test_generation_jobs import SteppedPipeline, _generate, _instance, _state, workers
from tests.test_remix_consent import _cameo, _remix
from tests.test_remix_consent import _state as _remix_state

__all__ = ["workers"]  # the fixture, shared with test_generation_jobs

AP = "application/activity+json"


def _key(url: str) -> str:
    return urlsplit(url).path.removeprefix("/media/")


def _query(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


async def _status(a: Any, user: str | None, path: str, **params: str) -> int:
    """The status of what a client ends at: a bucket's files are served by a redirect to it."""
    return (await a.api(user, "GET", path, params=params or None, follow_redirects=True)).status_code


async def test_a_draft_is_its_requesters_until_published(make_instance, workers):
    a = await _instance(make_instance)
    await a.signup("mod")
    await a.set_role("mod", "moderator")
    workers.sweeper(a)
    workers.renderer(a, SteppedPipeline())
    job = await _generate(a, "alice", duration_s=0.5)
    await _state(a, job["id"], "succeeded")
    result = (await a.api("alice", "GET", f"/api/v1/generations/{job['id']}")).json()["result"]
    links = a.instance.links

    for url in (result["url"], result["preview_url"]):
        key, signed = _key(url), _query(url)
        assert set(signed) == {"expires", "signature"}
        assert time.time() < int(signed["expires"]) <= time.time() + 3600
        path = f"/media/{key}"
        # Strangers, signed in or not, and staff (it is not held) get 404, as for no file at all.
        for user in (None, "bob", "mod"):
            response = await a.api(user, "GET", path)
            assert response.status_code == 404 and response.json() == {"error": "no such file"}, user
        # Its requester, by token; anyone holding the signed link, which a <video> can use.
        assert await _status(a, "alice", path) == 200
        served = await a.api(None, "GET", url)
        assert served.status_code == 200 and served.headers["cache-control"] == "private, no-store"
        assert (await a.api(None, "GET", url, headers={"Range": "bytes=0-9"})).status_code == 206
        # Tampered, expired, for another key, or malformed: 404.
        flipped = signed["signature"][:-1] + ("0" if signed["signature"][-1] != "0" else "1")
        expired = _query(links.url(a.base_url, key, now=time.time() - 3601))
        other = _query(links.url(a.base_url, "videos/xx/yy/other.mp4"))
        for bad in ({**signed, "signature": flipped},
                    {**signed, "expires": str(int(signed["expires"]) + 1)},
                    expired, other, {"expires": signed["expires"]},
                    {"signature": signed["signature"]},
                    {**signed, "expires": "9" * 40}, {**signed, "expires": "-1"},
                    {**signed, "signature": "zz"}, {**signed, "signature": signed["signature"] + "00"}):
            assert await _status(a, None, path, **bad) == 404, bad
            assert await _status(a, "bob", path, **bad) == 404, bad

    # Held for review, it is for staff only: its requester's token and link no longer open it.
    await a.pool.execute("UPDATE generation_jobs SET state = 'held' WHERE id = $1", int(job["id"]))
    path = f"/media/{_key(result['url'])}"
    assert await _status(a, "mod", path) == 200
    for user in (None, "alice", "bob"):
        assert await _status(a, user, path) == 404, user
    assert await _status(a, None, result["url"]) == 404
    await a.pool.execute("UPDATE generation_jobs SET state = 'succeeded' WHERE id = $1", int(job["id"]))

    # Published, its files belong to the post, and are public as its media are.
    posted = await a.api("alice", "POST", "/api/v1/statuses",
                         json={"status": "look", "media_ids": [result["id"]]})
    assert posted.status_code == 200, posted.text
    attachment = posted.json()["media_attachments"][0]
    assert attachment["url"] == result["url"].partition("?")[0]
    for url in (attachment["url"], attachment["preview_url"]):
        served = await a.api(None, "GET", url)
        assert served.status_code == 200 and "public" in served.headers["cache-control"]
        assert await _status(a, "bob", url) == 200


async def test_an_upload_in_no_post_is_its_owners(make_instance, media_store):
    a = await make_instance(**media_store)
    await a.signup("alice")
    await a.signup("bob")
    upload = await a.api("alice", "POST", "/api/v2/media", files={"file": ("p.png", _png(), "image/png")})
    assert upload.status_code == 200, upload.text
    media = upload.json()
    assert media["preview_url"] == media["url"] and "signature=" in media["url"]
    path = f"/media/{_key(media['url'])}"
    assert await _status(a, None, path) == 404
    assert await _status(a, "bob", path) == 404
    assert await _status(a, "alice", path) == 200
    assert await _status(a, None, media["url"]) == 200
    # Mastodon's GET /api/v1/media/:id signs it for its owner again.
    again = (await a.api("alice", "GET", f"/api/v1/media/{media['id']}")).json()
    assert _key(again["url"]) == _key(media["url"]) and await _status(a, None, again["url"]) == 200

    posted = await a.api("alice", "POST", "/api/v1/statuses",
                         json={"status": "hi", "media_ids": [media["id"]]})
    assert posted.status_code == 200, posted.text
    assert await _status(a, None, posted.json()["media_attachments"][0]["url"]) == 200


@pytest.fixture
async def two(make_instance):
    a = await make_instance("a")
    b = await make_instance("b")
    await a.signup("alice")
    await a.signup("bob")
    await b.signup("carol")
    return a, b


async def _signed_fetch(b: Any, uri: str) -> dict[str, Any]:
    fed = b.instance.fed
    fetched = await fetch.fetch_document(fed.client, uri, sign=await instance_signer(fed),
                                         max_bytes=fed.max_document_bytes)
    return fetched.document


async def test_an_only_me_cameo_is_its_owners_alone(two):
    a, b = two
    mine = (await _create(a, "alice", name="Secret", instructions="never in red")).json()
    shared = (await _create(a, "alice", name="Shared", permission="everyone")).json()
    assert mine["permission"] == "only_me"  # the default
    alice_id = (await a.api("alice", "GET", "/api/v1/accounts/verify_credentials")).json()["id"]

    # Its document: to the owner only; 404 to anyone else, a signed fetch of another server too.
    for user in (None, "bob"):
        response = await a.api(user, "GET", mine["uri"], headers={"Accept": AP})
        assert response.status_code == 404 and "Secret" not in response.text, user
    with pytest.raises(fetch.GoneError):
        await _signed_fetch(b, mine["uri"])
    own = await a.api("alice", "GET", mine["uri"], headers={"Accept": AP})
    assert own.status_code == 200 and own.json()["name"] == "Secret"
    # Looked up, here or from another server: no such cameo, but for its owner.
    lookup = "/api/v1/cameos/lookup"
    response = await a.api("bob", "GET", lookup, params={"uri": mine["uri"]})
    assert response.status_code == 404 and "Secret" not in response.text
    assert (await b.api("carol", "GET", lookup, params={"uri": mine["uri"]})).status_code == 404
    found = (await a.api("alice", "GET", lookup, params={"uri": mine["uri"]})).json()
    assert found["name"] == "Secret" and "signature=" in found["preview_url"]
    # Not listed for others; listed for its owner.
    listed = f"/api/v1/accounts/{alice_id}/cameos"
    for user in (None, "bob"):
        assert [c["name"] for c in (await a.api(user, "GET", listed)).json()] == ["Shared"]
    assert [c["name"] for c in (await a.api("alice", "GET", listed)).json()] == ["Secret", "Shared"]
    # A remix of it is asked for no such cameo, here and from another server.
    response = await _remix(a, "bob", [mine["uri"]])
    assert response.status_code == 422 and response.json()["error"] == "no such cameo"
    assert (await _remix(b, "carol", [mine["uri"]])).status_code == 422
    assert await a.pool.fetchval("SELECT count(*) FROM remix_requests") == 0
    # Nor can it be reported by its id, which would tell that it exists.
    report = await a.api("bob", "POST", "/api/v1/reports", json={"cameo_id": mine["id"]})
    assert report.status_code == 404 and report.json()["error"] == f"there is no cameo {mine['id']}"

    # Its preview: the owner's views sign it; to anyone else the file does not exist.
    preview = mine["preview_url"]
    assert "signature=" in preview and "signature=" not in shared["preview_url"]
    assert await _status(a, None, preview) == 200
    for user in (None, "bob"):
        assert await _status(a, user, preview.partition("?")[0]) == 404, user
    assert await _status(a, "alice", preview.partition("?")[0]) == 200

    # A cameo others may use is public as before.
    assert (await a.api(None, "GET", shared["uri"], headers={"Accept": AP})).json()["name"] == "Shared"
    assert (await _signed_fetch(b, shared["uri"]))["name"] == "Shared"
    assert await _status(a, None, shared["preview_url"]) == 200
    assert (await b.api("carol", "GET", lookup, params={"uri": shared["uri"]})).json()["name"] == "Shared"


async def test_a_post_of_its_owner_tells_other_servers_only_whose_it_is(two):
    """A server receiving the owner's post that stars it checks whose the cameo is: a signed
    fetch then gets the owner, and nothing else of it."""
    a, b = two
    mine = (await _create(a, "alice", name="Secret", instructions="never in red")).json()
    posted = (await a.api("alice", "POST", "/api/v1/statuses", json={"status": "me"})).json()
    await a.pool.execute("INSERT INTO post_cameos (post_id, position, cameo_uri, owner_uri)"
                         " VALUES ($1, 0, $2, $3)", int(posted["id"]), mine["uri"],
                         f"{a.base_url}/users/alice")
    stub = await _signed_fetch(b, mine["uri"])
    assert {k: v for k, v in stub.items() if k != "@context"} == {
        "id": mine["uri"], "type": "Cameo", "attributedTo": f"{a.base_url}/users/alice"}
    assert await _status(a, None, mine["uri"]) == 404
    assert await _status(a, "bob", mine["uri"]) == 404
    # Once the post is deleted, nothing again.
    assert (await a.api("alice", "DELETE", f"/api/v1/statuses/{posted['id']}")).status_code == 200
    with pytest.raises(fetch.GoneError):
        await _signed_fetch(b, mine["uri"])


async def test_made_only_me_a_cameo_withdraws_its_consents(two):
    a, b = two
    cameo = await _cameo(a, "alice", permission="everyone", approval="automatic")
    granted = (await _remix(b, "carol", [cameo["uri"]], "one")).json()

    async def authorized():
        return (await _remix_state(b, "carol", granted["id"]))["state"] == "authorized"

    await eventually(authorized)
    await a.api("alice", "PATCH", f"/api/v1/cameos/{cameo['id']}", json={"approval": "manual"})
    waiting = (await _remix(b, "carol", [cameo["uri"]], "two")).json()

    async def asked():
        return await a.pool.fetchval("SELECT count(*) FROM remix_requests WHERE state = 'pending'") == 1

    await eventually(asked)
    changed = await a.api("alice", "PATCH", f"/api/v1/cameos/{cameo['id']}", json={"permission": "only_me"})
    assert changed.status_code == 200 and changed.json()["permission"] == "only_me"
    # The granted consent is revoked and the waiting request refused, on A and on B.
    states = await a.pool.fetch("SELECT state FROM remix_requests ORDER BY id")
    assert [r["state"] for r in states] == ["revoked", "rejected"]

    async def withdrawn_on_b():
        return [(await _remix_state(b, "carol", r["id"]))["state"] for r in (granted, waiting)] \
            == ["revoked", "rejected"]

    await eventually(withdrawn_on_b)
    with pytest.raises(fetch.GoneError):
        await _signed_fetch(b, cameo["uri"])
    # Nothing more to withdraw when it stays only the owner's.
    again = await a.api("alice", "PATCH", f"/api/v1/cameos/{cameo['id']}", json={"name": "Me again"})
    assert again.status_code == 200
