"""The parts of Mastodon's client API that apps call at start-up or on every screen, over real
HTTP: followers and following, who liked and boosted, notifications as Mastodon types them (and
dismissing them, the unread count), bookmarks, favourites and pins, with Mastodon's paging."""

from __future__ import annotations

from typing import Any

from tests.conftest import RunningInstance, eventually
from tests.test_reports import _me, _post

AP = "application/activity+json"


async def _people(a: RunningInstance, names: list[str]) -> dict[str, str]:
    """Sign each up; their account ids."""
    ids = {}
    for name in names:
        await a.signup(name)
        ids[name] = (await _me(a, name))["id"]
    return ids


async def _follow(a: RunningInstance, user: str | None, response: Any, rel: str = "next") -> Any:
    """The page the Link header's `rel` names."""
    return await a.api(user, "GET", response.links[rel]["url"])


async def _notify(a: RunningInstance, username: str, kind: str, from_actor_id: str) -> None:
    """A notification of Likeness's own `kind`, which Mastodon apps do not know."""
    user_id = await a.pool.fetchval("SELECT id FROM users WHERE username = $1", username)
    await a.pool.execute("INSERT INTO notifications (user_id, type, from_actor_id) VALUES ($1, $2, $3)",
                         user_id, kind, int(from_actor_id))


async def test_followers_and_following_page_by_follow(make_instance):
    a = await make_instance()
    ids = await _people(a, ["alice", "bob", "carol", "dave"])
    for name in ("bob", "carol", "dave"):
        assert (await a.api(name, "POST", f"/api/v1/accounts/{ids['alice']}/follow")).status_code == 200
    followers = await a.api(None, "GET", f"/api/v1/accounts/{ids['alice']}/followers")
    assert followers.status_code == 200
    # The newest follow first, each a full Account with its counts.
    assert [f["username"] for f in followers.json()] == ["dave", "carol", "bob"]
    assert followers.json()[0]["following_count"] == 1
    # Not a full page: no next link, as Mastodon leaves it out.
    assert set(followers.links) == {"prev"}

    first = await a.api("bob", "GET", f"/api/v1/accounts/{ids['alice']}/followers", params={"limit": 2})
    assert [f["username"] for f in first.json()] == ["dave", "carol"]
    rest = await _follow(a, "bob", first)
    assert [f["username"] for f in rest.json()] == ["bob"]
    newer = await _follow(a, "bob", rest, "prev")
    assert [f["username"] for f in newer.json()] == ["dave", "carol"]
    # A limit past Mastodon's 80 is capped, not refused.
    assert (await a.api("bob", "GET", f"/api/v1/accounts/{ids['alice']}/followers",
                        params={"limit": 1000})).status_code == 200

    following = await a.api(None, "GET", f"/api/v1/accounts/{ids['bob']}/following")
    assert [f["username"] for f in following.json()] == ["alice"]
    assert (await a.api(None, "GET", f"/api/v1/accounts/{ids['alice']}/following")).json() == []

    # A follow request is no follow; whom alice blocks sees her lists empty.
    await a.api("alice", "POST", f"/api/v1/accounts/{ids['carol']}/block")
    assert (await a.api("carol", "GET", f"/api/v1/accounts/{ids['alice']}/followers")).json() == []
    assert [f["username"] for f in (await a.api(
        "bob", "GET", f"/api/v1/accounts/{ids['alice']}/followers")).json()] == ["dave", "bob"]

    for path, status in ((f"/api/v1/accounts/{ids['alice']}/followers?limit=many", 400),
                         (f"/api/v1/accounts/{ids['alice']}/followers?max_id=x", 400),
                         ("/api/v1/accounts/999999/followers", 404),
                         ("/api/v1/accounts/x/following", 404)):
        response = await a.api("bob", "GET", path)
        assert response.status_code == status, path
        assert response.json()["error"]


async def test_who_liked_and_boosted_only_what_the_viewer_may_see(make_instance):
    a = await make_instance()
    ids = await _people(a, ["alice", "bob", "carol", "eve"])
    public = await _post(a, "alice", "for all")
    for name in ("bob", "carol"):
        await a.api(name, "POST", f"/api/v1/statuses/{public['id']}/favourite")
        await a.api(name, "POST", f"/api/v1/statuses/{public['id']}/reblog")
    liked = await a.api(None, "GET", f"/api/v1/statuses/{public['id']}/favourited_by", params={"limit": 1})
    assert [x["username"] for x in liked.json()] == ["carol"]
    older = await _follow(a, None, liked)
    assert [x["username"] for x in older.json()] == ["bob"]
    boosted = await a.api("eve", "GET", f"/api/v1/statuses/{public['id']}/reblogged_by")
    assert [x["username"] for x in boosted.json()] == ["carol", "bob"]
    await a.api("carol", "POST", f"/api/v1/statuses/{public['id']}/unreblog")
    boosted = await a.api("eve", "GET", f"/api/v1/statuses/{public['id']}/reblogged_by")
    assert [x["username"] for x in boosted.json()] == ["bob"]

    # Followers-only: bob follows and may see who liked it; eve may not even learn it exists.
    await a.api("bob", "POST", f"/api/v1/accounts/{ids['alice']}/follow")
    private = await _post(a, "alice", "friends", visibility="private")
    await a.api("bob", "POST", f"/api/v1/statuses/{private['id']}/favourite")
    assert [x["username"] for x in (await a.api(
        "bob", "GET", f"/api/v1/statuses/{private['id']}/favourited_by")).json()] == ["bob"]
    for viewer in ("eve", None):
        for listing in ("favourited_by", "reblogged_by"):
            response = await a.api(viewer, "GET", f"/api/v1/statuses/{private['id']}/{listing}")
            assert response.status_code == 404 and response.json()["error"]
    assert (await a.api("bob", "GET", "/api/v1/statuses/999999/favourited_by")).status_code == 404
    assert (await a.api("bob", "GET", f"/api/v1/statuses/{public['id']}/reblogged_by?limit=-")
            ).status_code == 400


async def test_notifications_are_mastodons_types(make_instance):
    a = await make_instance()
    ids = await _people(a, ["alice", "bob"])
    post = await _post(a, "alice", "hello")
    await a.api("bob", "POST", f"/api/v1/accounts/{ids['alice']}/follow")
    await _post(a, "bob", "a reply", in_reply_to_id=post["id"])
    await a.api("bob", "POST", f"/api/v1/statuses/{post['id']}/favourite")
    await _notify(a, "alice", "remix_request", ids["bob"])

    notes = (await a.api("alice", "GET", "/api/v1/notifications")).json()
    assert [n["type"] for n in notes] == ["favourite", "mention", "follow"]
    favourite, mention, follow = notes
    # A follow has no `status` key at all (a null one crashes clients); a mention's is the reply.
    assert "status" not in follow and follow["account"]["username"] == "bob"
    assert mention["status"]["content"] == "<p>a reply</p>" and favourite["status"]["id"] == post["id"]
    assert set(follow) == {"id", "type", "created_at", "account"}

    # Clients that know Likeness's types ask for them.
    asked = (await a.api("alice", "GET", "/api/v1/notifications",
                         params={"include_types[]": ["remix_request", "nonsense"]})).json()
    assert [n["type"] for n in asked] == ["remix_request", "favourite", "mention", "follow"]
    assert "status" not in asked[0]

    async def listed(**params: Any) -> list[str]:
        response = await a.api("alice", "GET", "/api/v1/notifications", params=params)
        return [n["type"] for n in response.json()]

    assert await listed(**{"types[]": ["remix_request", "mention"]}) == ["remix_request", "mention"]
    assert await listed(**{"exclude_types[]": "mention"}) == ["favourite", "follow"]
    assert await listed(**{"types[]": "nonsense"}) == []

    # Paging: limit, then the Link header's next.
    first = await a.api("alice", "GET", "/api/v1/notifications", params={"limit": 2})
    assert [n["type"] for n in first.json()] == ["favourite", "mention"]
    rest = await _follow(a, "alice", first)
    assert [n["type"] for n in rest.json()] == ["follow"]

    # One by id; another person's is not found.
    one = await a.api("alice", "GET", f"/api/v1/notifications/{follow['id']}")
    assert one.status_code == 200 and one.json() == follow
    assert (await a.api("bob", "GET", f"/api/v1/notifications/{follow['id']}")).status_code == 404


async def test_unread_count_dismiss_and_clear(make_instance):
    a = await make_instance()
    ids = await _people(a, ["alice", "bob", "carol", "dave"])
    for name in ("bob", "carol", "dave"):
        await a.api(name, "POST", f"/api/v1/accounts/{ids['alice']}/follow")
    await _notify(a, "alice", "cameo_used", ids["bob"])

    async def unread(**params: Any) -> int:
        response = await a.api("alice", "GET", "/api/v1/notifications/unread_count", params=params)
        assert response.status_code == 200, response.text
        return response.json()["count"]

    # No marker yet: everything is unread, of the types asked for, up to `limit`.
    assert await unread() == 3
    assert await unread(**{"include_types[]": "cameo_used"}) == 4
    assert await unread(limit=2) == 2
    notes = (await a.api("alice", "GET", "/api/v1/notifications")).json()
    await a.api("alice", "POST", "/api/v1/markers", json={"notifications": {"last_read_id": notes[1]["id"]}})
    assert await unread() == 1

    dismissed = await a.api("alice", "POST", f"/api/v1/notifications/{notes[0]['id']}/dismiss")
    assert dismissed.status_code == 200 and dismissed.json() == {}
    assert await unread() == 0
    assert [n["id"] for n in (await a.api("alice", "GET", "/api/v1/notifications")).json()] == \
        [notes[1]["id"], notes[2]["id"]]
    # Not bob's to dismiss; nor a second time.
    for user, note in (("bob", notes[1]), ("alice", notes[0])):
        assert (await a.api(user, "POST", f"/api/v1/notifications/{note['id']}/dismiss")).status_code == 404

    bob_follow = await a.api("alice", "POST", f"/api/v1/accounts/{ids['bob']}/follow")
    assert bob_follow.status_code == 200
    cleared = await a.api("alice", "POST", "/api/v1/notifications/clear")
    assert cleared.status_code == 200 and cleared.json() == {}
    assert (await a.api("alice", "GET", "/api/v1/notifications",
                        params={"include_types[]": "cameo_used"})).json() == []
    # Only alice's were cleared.
    assert [n["type"] for n in (await a.api("bob", "GET", "/api/v1/notifications")).json()] == ["follow"]

    for path in ("/api/v1/notifications/unread_count?limit=0", "/api/v1/notifications/unread_count?limit=x"):
        assert (await a.api("alice", "GET", path)).status_code == 400
    assert (await a.api(None, "GET", "/api/v1/notifications/unread_count")).status_code == 401
    assert (await a.api(None, "POST", "/api/v1/notifications/clear")).status_code == 401


async def test_bookmarks_and_favourites(make_instance):
    a = await make_instance()
    await _people(a, ["alice", "bob", "eve"])
    posts = [await _post(a, "alice", f"post {n}") for n in range(3)]
    # Bookmarked out of order: the list is by bookmark, the latest first.
    for post in (posts[1], posts[0], posts[2]):
        marked = await a.api("bob", "POST", f"/api/v1/statuses/{post['id']}/bookmark")
        assert marked.status_code == 200 and marked.json()["bookmarked"] is True
    again = await a.api("bob", "POST", f"/api/v1/statuses/{posts[2]['id']}/bookmark")
    assert again.status_code == 200
    first = await a.api("bob", "GET", "/api/v1/bookmarks", params={"limit": 2})
    assert [s["id"] for s in first.json()] == [posts[2]["id"], posts[0]["id"]]
    rest = await _follow(a, "bob", first)
    assert [s["id"] for s in rest.json()] == [posts[1]["id"]] and "next" not in rest.links
    # Bookmarks are one's own: alice sees none, and bob's mark only on his view of the post.
    assert (await a.api("alice", "GET", "/api/v1/bookmarks")).json() == []
    assert (await a.api("alice", "GET", f"/api/v1/statuses/{posts[0]['id']}")).json()["bookmarked"] is False
    # A boost's original is what is kept.
    boost = (await a.api("eve", "POST", f"/api/v1/statuses/{posts[0]['id']}/reblog")).json()
    kept = await a.api("eve", "POST", f"/api/v1/statuses/{boost['id']}/bookmark")
    assert kept.json()["id"] == posts[0]["id"] and kept.json()["bookmarked"] is True

    unmarked = await a.api("bob", "POST", f"/api/v1/statuses/{posts[0]['id']}/unbookmark")
    assert unmarked.status_code == 200 and unmarked.json()["bookmarked"] is False
    assert [s["id"] for s in (await a.api("bob", "GET", "/api/v1/bookmarks")).json()] == \
        [posts[2]["id"], posts[1]["id"]]
    # A deleted post leaves the list; one bob may not see cannot be bookmarked.
    await a.api("alice", "DELETE", f"/api/v1/statuses/{posts[2]['id']}")
    assert [s["id"] for s in (await a.api("bob", "GET", "/api/v1/bookmarks")).json()] == [posts[1]["id"]]
    secret = await _post(a, "alice", "friends", visibility="private")
    assert (await a.api("bob", "POST", f"/api/v1/statuses/{secret['id']}/bookmark")).status_code == 404
    assert await a.pool.fetchval("SELECT count(*) FROM bookmarks WHERE post_id = $1", int(secret["id"])) == 0

    for post in (posts[0], posts[1]):
        await a.api("bob", "POST", f"/api/v1/statuses/{post['id']}/favourite")
    liked = await a.api("bob", "GET", "/api/v1/favourites")
    assert [s["id"] for s in liked.json()] == [posts[1]["id"], posts[0]["id"]]
    assert all(s["favourited"] for s in liked.json())
    one = await a.api("bob", "GET", "/api/v1/favourites", params={"limit": 1})
    older = await _follow(a, "bob", one)
    assert [s["id"] for s in older.json()] == [posts[0]["id"]]

    for method, path, status in (("GET", "/api/v1/bookmarks?limit=x", 400),
                                 ("GET", "/api/v1/favourites?min_id=-1", 400),
                                 ("POST", "/api/v1/statuses/999999/bookmark", 404)):
        assert (await a.api("bob", method, path)).status_code == status, path
    assert (await a.api(None, "GET", "/api/v1/bookmarks")).status_code == 401
    assert (await a.api(None, "GET", "/api/v1/favourites")).status_code == 401


async def test_pins_on_the_profile_and_in_the_featured_collection(make_instance):
    a = await make_instance()
    ids = await _people(a, ["alice", "bob"])
    posts = [await _post(a, "alice", f"post {n}") for n in range(6)]
    private = await _post(a, "alice", "friends", visibility="private")
    direct = await _post(a, "alice", "@bob hi", visibility="direct")
    for post in (posts[0], private):
        pinned = await a.api("alice", "POST", f"/api/v1/statuses/{post['id']}/pin")
        assert pinned.status_code == 200 and pinned.json()["pinned"] is True
    assert (await a.api("alice", "POST", f"/api/v1/statuses/{posts[0]['id']}/pin")).status_code == 200
    refused = [
        await a.api("bob", "POST", f"/api/v1/statuses/{posts[1]['id']}/pin"),
        await a.api("alice", "POST", f"/api/v1/statuses/{direct['id']}/pin"),
    ]
    boost = (await a.api("alice", "POST", f"/api/v1/statuses/{posts[1]['id']}/reblog")).json()
    refused.append(await a.api("alice", "POST", f"/api/v1/statuses/{boost['id']}/pin"))
    for post in posts[1:4]:
        await a.api("alice", "POST", f"/api/v1/statuses/{post['id']}/pin")
    refused.append(await a.api("alice", "POST", f"/api/v1/statuses/{posts[4]['id']}/pin"))
    for response in refused:
        assert response.status_code == 422 and response.json()["error"]
    assert "5" in refused[-1].json()["error"]
    assert await a.pool.fetchval("SELECT count(*) FROM pins") == 5

    pinned = (await a.api(None, "GET", f"/api/v1/accounts/{ids['alice']}/statuses",
                          params={"pinned": "true"})).json()
    # The latest pinned first; a visitor does not see the followers-only one.
    assert [s["id"] for s in pinned] == [posts[3]["id"], posts[2]["id"], posts[1]["id"], posts[0]["id"]]
    assert all(s["pinned"] is False for s in pinned)
    mine = (await a.api("alice", "GET", f"/api/v1/accounts/{ids['alice']}/statuses",
                        params={"pinned": "true"})).json()
    assert mine[3]["id"] == private["id"] and all(s["pinned"] for s in mine)

    async with a.client() as client:
        actor = (await client.get(f"{a.base_url}/users/alice", headers={"Accept": AP})).json()
        assert actor["featured"] == f"{a.base_url}/users/alice/collections/featured"
        assert actor["@context"][-1]["featured"] == {"@id": "toot:featured", "@type": "@id"}
        featured = (await client.get(actor["featured"], headers={"Accept": AP})).json()
        assert featured["type"] == "OrderedCollection" and featured["totalItems"] == 4
        assert [note["id"] for note in featured["orderedItems"]] == [p["uri"] for p in pinned]
        assert (await client.get(f"{a.base_url}/users/nobody/collections/featured",
                                 headers={"Accept": AP})).status_code == 404

    unpinned = await a.api("alice", "POST", f"/api/v1/statuses/{posts[0]['id']}/unpin")
    assert unpinned.status_code == 200 and unpinned.json()["pinned"] is False
    assert (await a.api("alice", "POST", f"/api/v1/statuses/{posts[0]['id']}/unpin")).status_code == 200
    left = await a.api("alice", "GET", f"/api/v1/accounts/{ids['alice']}/statuses?pinned=true")
    assert len(left.json()) == 4
    assert (await a.api("alice", "GET", f"/api/v1/accounts/{ids['alice']}/statuses?pinned=maybe")
            ).status_code == 400
    assert (await a.api(None, "POST", f"/api/v1/statuses/{posts[0]['id']}/pin")).status_code == 401


async def test_what_apps_ask_at_start_up(make_instance):
    a = await make_instance()
    await a.signup("alice")
    preferences = await a.api("alice", "GET", "/api/v1/preferences")
    assert preferences.json() == {
        "posting:default:visibility": "public", "posting:default:sensitive": False,
        "posting:default:language": None, "reading:expand:media": "default",
        "reading:expand:spoilers": False}
    assert (await a.api(None, "GET", "/api/v1/custom_emojis")).json() == []
    assert (await a.api("alice", "GET", "/api/v1/announcements")).json() == []
    for path in ("/api/v1/preferences", "/api/v1/announcements"):
        assert (await a.api(None, "GET", path)).status_code == 401


async def test_trends_count_recent_public_use(make_instance):
    a = await make_instance()
    await _people(a, ["alice", "bob", "carol"])
    await _post(a, "alice", "#cats #dogs")
    await _post(a, "bob", "#dogs again")
    await _post(a, "bob", "#dogs and #dogs")
    await _post(a, "carol", "#hidden", visibility="private")
    liked = await _post(a, "carol", "a quiet #cats")
    await _post(a, "carol", "nobody likes this")
    await a.api("alice", "POST", f"/api/v1/statuses/{liked['id']}/favourite")

    tags = await a.api(None, "GET", "/api/v1/trends/tags")
    # By accounts that used them (two each), then uses; never a tag only private posts carry.
    assert [t["name"] for t in tags.json()] == ["dogs", "cats"]
    dogs = tags.json()[0]
    assert len(dogs["history"]) == 7 and dogs["history"][0] == {
        "day": dogs["history"][0]["day"], "uses": "3", "accounts": "2"}
    assert dogs["history"][1]["uses"] == "0" and int(dogs["history"][0]["day"]) % 86400 == 0
    assert "following" not in dogs and dogs["url"] == f"{a.base_url}/tags/dogs"
    first = await a.api(None, "GET", "/api/v1/trends", params={"limit": 1})
    assert [t["name"] for t in first.json()] == ["dogs"]
    second = await _follow(a, None, first)
    assert [t["name"] for t in second.json()] == ["cats"] and "prev" in second.links

    statuses = (await a.api("bob", "GET", "/api/v1/trends/statuses")).json()
    assert [s["id"] for s in statuses] == [liked["id"]]

    await _post(a, "alice", "read https://news.example/story and https://blog.example/post")
    await _post(a, "bob", "this: https://news.example/story @alice #news")
    await _post(a, "carol", "https://secret.example/ for friends", visibility="private")
    links = await a.api(None, "GET", "/api/v1/trends/links")
    assert [card["url"] for card in links.json()] == ["https://news.example/story", "https://blog.example/post"]
    story = links.json()[0]
    assert story["type"] == "link" and story["provider_name"] == "news.example"
    assert story["history"][0]["accounts"] == "2" and story["history"][0]["uses"] == "2"
    one = await a.api(None, "GET", "/api/v1/trends/links", params={"limit": 1, "offset": 1})
    assert [card["url"] for card in one.json()] == ["https://blog.example/post"] and "next" not in one.links
    for path in ("/api/v1/trends/tags?limit=x", "/api/v1/trends/statuses?offset=-1",
                 "/api/v1/trends/links?offset=x"):
        assert (await a.api(None, "GET", path)).status_code == 400


async def test_followed_tags_join_the_home_timeline(make_instance):
    a = await make_instance()
    await _people(a, ["alice", "bob"])
    before = await _post(a, "bob", "#Cats before")
    followed = await a.api("alice", "POST", "/api/v1/tags/%23Cats/follow")
    assert followed.status_code == 200
    assert followed.json()["name"] == "cats" and followed.json()["following"] is True
    assert len(followed.json()["history"]) == 7
    await a.api("alice", "POST", "/api/v1/tags/dogs/follow")
    await a.api("alice", "POST", "/api/v1/tags/dogs/follow")
    tagged = await _post(a, "bob", "more #cats")
    await _post(a, "bob", "#cats but only for followers", visibility="private")
    await _post(a, "bob", "untagged")
    home = (await a.api("alice", "GET", "/api/v1/timelines/home")).json()
    assert [s["id"] for s in home] == [tagged["id"], before["id"]]

    first = await a.api("alice", "GET", "/api/v1/followed_tags", params={"limit": 1})
    assert [t["name"] for t in first.json()] == ["dogs"]
    assert [t["name"] for t in (await _follow(a, "alice", first)).json()] == ["cats"]
    assert (await a.api("bob", "GET", "/api/v1/tags/cats")).json()["following"] is False
    assert "following" not in (await a.api(None, "GET", "/api/v1/tags/cats")).json()

    unfollowed = await a.api("alice", "POST", "/api/v1/tags/cats/unfollow")
    assert unfollowed.json()["following"] is False
    assert (await a.api("alice", "GET", "/api/v1/timelines/home")).json() == []
    for method, path, status in (("POST", "/api/v1/tags/no%20such/follow", 404),
                                 ("GET", "/api/v1/tags/-", 404),
                                 ("GET", "/api/v1/followed_tags?limit=x", 400)):
        response = await a.api("alice", method, path)
        assert response.status_code == status and response.json()["error"], path
    assert await a.pool.fetchval("SELECT count(*) FROM followed_tags") == 1
    assert (await a.api(None, "POST", "/api/v1/tags/cats/follow")).status_code == 401


async def test_conversations_of_direct_posts(make_instance):
    a = await make_instance()
    await _people(a, ["alice", "bob", "carol", "eve"])
    opening = await _post(a, "alice", "@bob a secret", visibility="direct")
    answer = await _post(a, "bob", "@alice got it", visibility="direct", in_reply_to_id=opening["id"])
    await _post(a, "alice", "a public post")
    carols = await _post(a, "carol", "@bob psst", visibility="direct")

    async def listed(user: str, **params: Any) -> Any:
        response = await a.api(user, "GET", "/api/v1/conversations", params=params)
        assert response.status_code == 200, response.text
        return response

    bobs = (await listed("bob")).json()
    assert [(c["id"], c["last_status"]["id"], c["unread"]) for c in bobs] == [
        (carols["id"], carols["id"], True), (opening["id"], answer["id"], False)]
    assert [x["username"] for x in bobs[1]["accounts"]] == ["alice"]
    first = await listed("bob", limit=1)
    assert [c["id"] for c in (await _follow(a, "bob", first)).json()] == [opening["id"]]

    [thread] = (await listed("alice")).json()
    assert thread["unread"] is True and [x["username"] for x in thread["accounts"]] == ["bob"]
    read = await a.api("alice", "POST", f"/api/v1/conversations/{thread['id']}/read")
    assert read.status_code == 200 and read.json()["unread"] is False
    assert (await listed("alice")).json()[0]["unread"] is False

    # Taken out of the list, it comes back with a newer post, unread.
    assert (await a.api("alice", "DELETE", f"/api/v1/conversations/{thread['id']}")).json() == {}
    assert (await listed("alice")).json() == []
    later = await _post(a, "bob", "@alice one more", visibility="direct", in_reply_to_id=answer["id"])
    [back] = (await listed("alice")).json()
    assert back["id"] == opening["id"] and back["last_status"]["id"] == later["id"] and back["unread"]

    assert (await listed("eve")).json() == []
    for method, path in (("POST", f"/api/v1/conversations/{thread['id']}/read"),
                         ("DELETE", f"/api/v1/conversations/{thread['id']}")):
        assert (await a.api("eve", method, path)).status_code == 404
    assert (await a.api("bob", "GET", "/api/v1/conversations?limit=x")).status_code == 400
    assert (await a.api(None, "GET", "/api/v1/conversations")).status_code == 401


async def test_pins_are_told_to_remote_followers(make_instance, peer):
    a = await make_instance()
    await a.signup("alice")
    alice = f"{a.base_url}/users/alice"
    mallory = peer.add_actor("mallory")
    await peer.post("mallory", f"{a.base_url}/inbox", {
        "id": f"{peer.base}/follows/1", "type": "Follow", "actor": mallory, "object": alice})
    await eventually(lambda: _received(peer, "Accept"))
    post = await _post(a, "alice", "pinned for all")
    private = await _post(a, "alice", "pinned for followers", visibility="private")
    for status in (post, private):
        assert (await a.api("alice", "POST", f"/api/v1/statuses/{status['id']}/pin")).status_code == 200
    added = await eventually(lambda: _received(peer, "Add"))
    assert added["actor"] == alice and added["object"] == post["uri"]
    assert added["target"] == f"{alice}/collections/featured"
    await a.api("alice", "POST", f"/api/v1/statuses/{post['id']}/unpin")
    removed = await eventually(lambda: _received(peer, "Remove"))
    assert removed["object"] == post["uri"] and removed["target"] == added["target"]
    # The followers-only pin is not in the collection other servers read, so it is not told.
    assert [x["object"] for x in peer.received if x["type"] in ("Add", "Remove")] == [post["uri"]] * 2


async def _received(peer: Any, kind: str) -> dict[str, Any] | None:
    return next((x for x in peer.received if x["type"] == kind), None)
