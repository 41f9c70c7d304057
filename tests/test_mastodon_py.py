"""Mastodon.py, a real Mastodon client library, against Likeness over real HTTP: register an
app, log in both ways (password and the authorization-code flow a browser completes), post a
video, read the home and tag timelines, find and follow an account on another instance."""

from __future__ import annotations

import asyncio
import re

from mastodon import Mastodon, StreamListener

from server.api import streaming
from tests.conftest import PASSWORD, eventually
from tests.videos import make_mp4

OOB = "urn:ietf:wg:oauth:2.0:oob"
SCOPES = ["read", "write", "follow"]


def _client(base: str, **kwargs) -> Mastodon:
    return Mastodon(api_base_url=base, version_check_mode="none", request_timeout=30, **kwargs)


async def test_mastodon_py_logs_in_posts_a_video_and_follows_remotely(make_instance, tmp_path):
    a = await make_instance("a")
    b = await make_instance("b")
    await a.signup("alice")
    await b.signup("bob")

    client_id, client_secret = await asyncio.to_thread(
        Mastodon.create_app, "Likeness test client", scopes=SCOPES, redirect_uris=OOB,
        api_base_url=a.base_url)
    api = _client(a.base_url, client_id=client_id, client_secret=client_secret)
    token = await asyncio.to_thread(api.log_in, "alice", PASSWORD, scopes=SCOPES, allow_http=True)
    assert token and (await asyncio.to_thread(api.account_verify_credentials))["username"] == "alice"
    instance = await asyncio.to_thread(api.instance)
    assert instance["version"].startswith("4.3.0")

    # The authorization-code flow, with a browser's part done over HTTP.
    url = await asyncio.to_thread(api.auth_request_url, redirect_uris=OOB, scopes=SCOPES, allow_http=True)
    async with a.client() as browser:
        form = await browser.get(url)
        assert form.status_code == 200
        fields = dict(re.findall(r'name="([a-z_]+)" value="([^"]*)"', form.text))
        page = await browser.post("/oauth/authorize", data={**fields, "username": "alice",
                                                           "password": PASSWORD, "decision": "allow"})
    code = re.search(r"<code>([^<]+)</code>", page.text).group(1)
    second = _client(a.base_url, client_id=client_id, client_secret=client_secret)
    assert await asyncio.to_thread(second.log_in, code=code, scopes=SCOPES, allow_http=True)

    video = make_mp4(tmp_path / "clip.mp4")
    # A video is checked on the worker first: 202 with no url, as Mastodon answers for videos.
    pending = await asyncio.to_thread(api.media_post, str(video), mime_type="video/mp4",
                                      description="a tiny clip")
    assert pending["type"] == "video" and pending["url"] is None
    media = await asyncio.to_thread(api.media_post, str(video), mime_type="video/mp4",
                                    description="a tiny clip", synchronous=True)
    assert media["type"] == "video" and media["url"]
    status = await asyncio.to_thread(second.status_post, "my first #clip", media_ids=[media["id"]])
    assert status["media_attachments"][0]["type"] == "video"
    home = await asyncio.to_thread(api.timeline_home)
    assert [s["id"] for s in home] == [status["id"]]
    tagged = await asyncio.to_thread(api.timeline_hashtag, "clip")
    assert [s["id"] for s in tagged] == [status["id"]]

    found = await asyncio.to_thread(api.account_search, f"@bob@{b.domain}", resolve=True)
    assert [f["acct"] for f in found] == [f"bob@{b.domain}"]
    relationship = await asyncio.to_thread(api.account_follow, found[0]["id"])
    assert relationship["following"] or relationship["requested"]

    async def followed() -> bool:
        rel = await asyncio.to_thread(api.account_relationships, found[0]["id"])
        return rel[0]["following"]

    await eventually(followed)
    followers = (await b.api("bob", "GET", "/api/v1/accounts/verify_credentials")).json()
    assert followers["followers_count"] == 1


async def test_mastodon_py_streams_the_home_timeline(make_instance, monkeypatch):
    """stream_user finds the streaming API through the instance entity and hands its listener
    the posts and notifications of the home timeline as they come."""
    # Closing the handle waits for its reading thread to get the next bytes: a heartbeat.
    monkeypatch.setattr(streaming, "HEARTBEAT_S", 0.5)
    a = await make_instance()
    await a.signup("alice")
    await a.signup("bob")
    bob = (await a.api("bob", "GET", "/api/v1/accounts/verify_credentials")).json()
    assert (await a.api("alice", "POST", f"/api/v1/accounts/{bob['id']}/follow")).status_code == 200
    client_id, client_secret = await asyncio.to_thread(
        Mastodon.create_app, "Likeness stream client", scopes=SCOPES, redirect_uris=OOB,
        api_base_url=a.base_url)
    api = _client(a.base_url, client_id=client_id, client_secret=client_secret)
    await asyncio.to_thread(api.log_in, "alice", PASSWORD, scopes=SCOPES, allow_http=True)

    class Listener(StreamListener):
        def __init__(self) -> None:
            self.updates: list[dict] = []
            self.notifications: list[dict] = []

        def on_update(self, status: dict) -> None:
            self.updates.append(status)

        def on_notification(self, notification: dict) -> None:
            self.notifications.append(notification)

    listener = Listener()
    handle = await asyncio.to_thread(api.stream_user, listener, run_async=True)
    try:
        await eventually(lambda: asyncio.sleep(0, handle.connection is not None))
        post = (await a.api("bob", "POST", "/api/v1/statuses", json={"status": "@alice live"})).json()
        await eventually(lambda: asyncio.sleep(0, listener.updates and listener.notifications))
        assert [s["id"] for s in listener.updates] == [post["id"]]
        assert listener.updates[0]["account"]["acct"] == "bob"
        assert listener.notifications[0]["type"] == "mention"
    finally:
        await asyncio.to_thread(handle.close)


async def test_media_part_without_content_type_is_sniffed(make_instance, tmp_path):
    a = await make_instance()
    await a.signup("alice")
    video = make_mp4(tmp_path / "clip.mp4").read_bytes()
    boundary = "likenessboundary"
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"upload\"\r\n\r\n"
            .encode() + video + f"\r\n--{boundary}--\r\n".encode())
    response = await a.api("alice", "POST", "/api/v2/media", content=body,
                           headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})
    assert response.status_code == 202, response.text
    assert response.json()["type"] == "video"


async def test_mastodon_py_edits_a_post_and_reads_its_history(make_instance, tmp_path):
    a = await make_instance("a")
    await a.signup("alice")
    client_id, client_secret = await asyncio.to_thread(
        Mastodon.create_app, "Likeness test client", scopes=SCOPES, redirect_uris=OOB,
        api_base_url=a.base_url)
    api = _client(a.base_url, client_id=client_id, client_secret=client_secret)
    assert await asyncio.to_thread(api.log_in, "alice", PASSWORD, scopes=SCOPES, allow_http=True)
    media = await asyncio.to_thread(api.media_post, str(make_mp4(tmp_path / "clip.mp4")),
                                    mime_type="video/mp4", description="a clip", synchronous=True)
    status = await asyncio.to_thread(api.status_post, "first words", media_ids=[media["id"]])

    # mastodon-py sends media_attributes (and so JSON) with the media the post keeps.
    attributes = [{"id": media["id"], "description": "a described clip"}]
    edited = await asyncio.to_thread(api.status_update, status["id"], "second words",
                                     spoiler_text="cw", media_attributes=attributes)
    assert "second words" in edited["content"] and edited["edited_at"] is not None
    assert edited["media_attachments"][0]["description"] == "a described clip"
    history = await asyncio.to_thread(api.status_history, status["id"])
    assert ["first words" in v["content"] for v in history] == [True, False]
    assert [v["spoiler_text"] for v in history] == ["", "cw"]
    source = await asyncio.to_thread(api.status_source, status["id"])
    assert source["text"] == "second words" and source["spoiler_text"] == "cw"


async def test_mastodon_py_reads_lists_of_accounts_and_posts_and_manages_notifications(make_instance):
    """What apps call on their home, profile and notifications screens: followers, who liked or
    boosted, bookmarks, favourites, pins, notifications of Mastodon's types, with Link paging."""
    a = await make_instance()
    await a.signup("alice")
    client_id, client_secret = await asyncio.to_thread(
        Mastodon.create_app, "Likeness test client", scopes=SCOPES, redirect_uris=OOB,
        api_base_url=a.base_url)
    alice = _client(a.base_url, client_id=client_id, client_secret=client_secret)
    await asyncio.to_thread(alice.log_in, "alice", PASSWORD, scopes=SCOPES, allow_http=True)
    others = {}
    for name in ("bob", "carol", "dave"):
        others[name] = _client(a.base_url, access_token=await a.signup(name))
    me = await asyncio.to_thread(alice.me)
    post = await asyncio.to_thread(alice.status_post, "pin me")
    for client in others.values():
        await asyncio.to_thread(client.account_follow, me["id"])
        await asyncio.to_thread(client.status_favourite, post["id"])
        await asyncio.to_thread(client.status_reblog, post["id"])
    await asyncio.to_thread(others["bob"].status_post, "a reply", in_reply_to_id=post["id"])

    first = await asyncio.to_thread(alice.account_followers, me["id"], limit=2)
    assert [f["username"] for f in first] == ["dave", "carol"]
    rest = await asyncio.to_thread(alice.fetch_next, first)
    assert [f["username"] for f in rest] == ["bob"]
    assert [f["username"] for f in await asyncio.to_thread(alice.status_favourited_by, post["id"])] == \
        ["dave", "carol", "bob"]
    assert len(await asyncio.to_thread(alice.status_reblogged_by, post["id"])) == 3

    notes = await asyncio.to_thread(alice.notifications)
    kinds = [n["type"] for n in notes]
    assert set(kinds) == {"mention", "reblog", "favourite", "follow"} and len(kinds) == 10
    follows = await asyncio.to_thread(alice.notifications, types=["follow"])
    assert len(follows) == 3 and all(n.get("status") is None for n in follows)
    assert await asyncio.to_thread(alice.notifications_unread_count) == {"count": 10}
    await asyncio.to_thread(alice.notifications_dismiss, notes[0]["id"])
    assert len(await asyncio.to_thread(alice.notifications)) == 9
    await asyncio.to_thread(alice.notifications_clear)
    assert await asyncio.to_thread(alice.notifications) == []

    pinned = await asyncio.to_thread(alice.status_pin, post["id"])
    assert pinned["pinned"] is True
    profile = await asyncio.to_thread(others["bob"].account_statuses, me["id"], pinned=True)
    assert [s["id"] for s in profile] == [post["id"]]
    marked = await asyncio.to_thread(alice.status_bookmark, post["id"])
    assert marked["bookmarked"] is True
    assert [s["id"] for s in await asyncio.to_thread(alice.bookmarks)] == [post["id"]]
    await asyncio.to_thread(others["carol"].status_favourite, post["id"])
    assert [s["id"] for s in await asyncio.to_thread(others["carol"].favourites)] == [post["id"]]
    await asyncio.to_thread(alice.status_unbookmark, post["id"])
    assert await asyncio.to_thread(alice.bookmarks) == []

    # Mutes, one for an hour and without its notifications, paged as the other lists.
    bob_id, carol_id = rest[0]["id"], first[1]["id"]
    muted = await asyncio.to_thread(alice.account_mute, bob_id, notifications=False, duration=3600)
    assert muted["muting"] and not muted["muting_notifications"] and muted["muting_expires_at"]
    await asyncio.to_thread(alice.account_mute, carol_id)
    page = await asyncio.to_thread(alice.mutes, limit=1)
    assert [m["username"] for m in page] == ["carol"] and page[0]["mute_expires_at"] is None
    older = await asyncio.to_thread(alice.fetch_next, page)
    assert [m["username"] for m in older] == ["bob"] and older[0]["mute_expires_at"]
    assert not (await asyncio.to_thread(alice.account_unmute, bob_id))["muting"]
    assert [m["username"] for m in await asyncio.to_thread(alice.mutes)] == ["carol"]


async def test_mastodon_py_start_up_calls_filters_lists_tags_and_conversations(make_instance):
    """What apps call at start-up and on their other screens: preferences, emojis,
    announcements, trends, followed tags, filters, lists and conversations."""
    a = await make_instance()
    alice = _client(a.base_url, access_token=await a.signup("alice"))
    bob = _client(a.base_url, access_token=await a.signup("bob"))
    bob_id = (await asyncio.to_thread(bob.me))["id"]
    assert (await asyncio.to_thread(alice.preferences))["posting:default:visibility"] == "public"
    assert await asyncio.to_thread(alice.custom_emojis) == []
    assert await asyncio.to_thread(alice.announcements) == []

    assert (await asyncio.to_thread(alice.tag_follow, "cats"))["following"] is True
    assert [t["name"] for t in await asyncio.to_thread(alice.followed_tags)] == ["cats"]
    tagged = await asyncio.to_thread(bob.status_post, "the finale of #cats https://cats.example/")
    await asyncio.to_thread(alice.status_favourite, tagged["id"])
    assert [t["name"] for t in await asyncio.to_thread(alice.trending_tags)] == ["cats"]
    assert [s["id"] for s in await asyncio.to_thread(alice.trending_statuses)] == [tagged["id"]]
    assert [card["url"] for card in await asyncio.to_thread(alice.trending_links)] == ["https://cats.example/"]

    made = await asyncio.to_thread(alice.create_filter_v2, "spoilers", ["home"], "warn",
                                   keywords_attributes=[{"keyword": "finale", "whole_word": True}])
    assert [f["id"] for f in await asyncio.to_thread(alice.filters_v2)] == [made["id"]]
    [home] = await asyncio.to_thread(alice.timeline_home)
    assert home["id"] == tagged["id"] and home["filtered"][0]["keyword_matches"] == ["finale"]

    await asyncio.to_thread(alice.account_follow, bob_id)
    friends = await asyncio.to_thread(alice.list_create, "friends")
    await asyncio.to_thread(alice.list_accounts_add, friends["id"], [bob_id])
    assert [x["id"] for x in await asyncio.to_thread(alice.list_accounts, friends["id"])] == [bob_id]
    assert [x["id"] for x in await asyncio.to_thread(alice.account_lists, bob_id)] == [friends["id"]]
    assert [s["id"] for s in await asyncio.to_thread(alice.timeline_list, friends["id"])] == [tagged["id"]]

    secret = await asyncio.to_thread(bob.status_post, "@alice hello", visibility="direct")
    [conversation] = await asyncio.to_thread(alice.conversations)
    assert conversation["last_status"]["id"] == secret["id"] and conversation["unread"] is True
    assert (await asyncio.to_thread(alice.conversations_read, conversation["id"]))["unread"] is False
