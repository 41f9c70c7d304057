"""Two Likeness instances on loopback: follow, accept, post a video, like, comment, delete."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import eventually
from tests.videos import make_mp4, upload_video


async def _upload_video(instance, username: str, path: Path) -> str:
    return (await upload_video(instance, username, path, description="a tiny clip"))["id"]


async def _account_id(instance, username: str, handle: str) -> str:
    response = await instance.api(username, "GET", "/api/v2/search",
                                  params={"q": f"@{handle}", "resolve": "true"})
    assert response.status_code == 200, response.text
    accounts = response.json()["accounts"]
    assert accounts, f"{handle} not found"
    return accounts[0]["id"]


async def test_follow_post_like_comment_delete_unfollow(make_instance, tmp_path):
    a = await make_instance("a")
    b = await make_instance("b")
    await a.signup("alice")
    await b.signup("bob")

    # alice@A follows bob@B; B accepts automatically.
    bob_on_a = await _account_id(a, "alice", b.handle("bob"))
    response = await a.api("alice", "POST", f"/api/v1/accounts/{bob_on_a}/follow")
    assert response.status_code == 200, response.text

    async def following() -> bool:
        rel = await a.api("alice", "GET", "/api/v1/accounts/relationships", params={"id[]": bob_on_a})
        return rel.json()[0]["following"]

    await eventually(following)
    bob_account = (await b.api("bob", "GET", "/api/v1/accounts/verify_credentials")).json()
    assert bob_account["followers_count"] == 1

    # bob posts a video; it reaches alice's home timeline on A with its attachment.
    media_id = await _upload_video(b, "bob", make_mp4(tmp_path / "clip.mp4"))
    response = await b.api("bob", "POST", "/api/v1/statuses",
                           json={"status": "my first #remix", "media_ids": [media_id], "ai_generated": True})
    assert response.status_code == 200, response.text
    bob_post = response.json()
    assert bob_post["media_attachments"][0]["type"] == "video"

    async def in_home() -> dict | None:
        timeline = (await a.api("alice", "GET", "/api/v1/timelines/home")).json()
        return next((s for s in timeline if s["uri"] == bob_post["uri"]), None)

    remote = await eventually(in_home)
    assert "my first" in remote["content"]
    attachment = remote["media_attachments"][0]
    assert attachment["type"] == "video"
    assert attachment["meta"]["original"]["width"] == 360
    assert attachment["url"].startswith(b.base_url)
    # bob said it is AI-generated (an upload is not, unless its poster says so): A reads his label.
    assert remote["ai_generated"] is True

    # The video is served with Range support where the attachment says.
    async with a.client() as client:
        head = await client.head(attachment["url"])
        assert head.status_code == 200 and head.headers["content-type"] == "video/mp4"
        part = await client.get(attachment["url"], headers={"Range": "bytes=0-99"})
        assert part.status_code == 206 and len(part.content) == 100

    # alice likes and comments; bob sees both.
    response = await a.api("alice", "POST", f"/api/v1/statuses/{remote['id']}/favourite")
    assert response.status_code == 200 and response.json()["favourited"] is True
    response = await a.api("alice", "POST", "/api/v1/statuses",
                           json={"status": f"@{b.handle('bob')} love it", "in_reply_to_id": remote["id"]})
    assert response.status_code == 200, response.text

    async def bob_sees_both() -> bool:
        status = (await b.api("bob", "GET", f"/api/v1/statuses/{bob_post['id']}")).json()
        context = (await b.api("bob", "GET", f"/api/v1/statuses/{bob_post['id']}/context")).json()
        return status["favourites_count"] == 1 and len(context["descendants"]) == 1

    await eventually(bob_sees_both)
    notes = (await b.api("bob", "GET", "/api/v1/notifications")).json()
    assert {"favourite", "follow"} <= {n["type"] for n in notes}
    assert "mention" in {n["type"] for n in notes}

    # bob deletes; the post disappears on A.
    response = await b.api("bob", "DELETE", f"/api/v1/statuses/{bob_post['id']}")
    assert response.status_code == 200

    async def gone_from_a() -> bool:
        return await in_home() is None and (
            await a.api("alice", "GET", f"/api/v1/statuses/{remote['id']}")).status_code == 404

    await eventually(gone_from_a)

    # alice unfollows; bob's follower count drops.
    response = await a.api("alice", "POST", f"/api/v1/accounts/{bob_on_a}/unfollow")
    assert response.status_code == 200 and response.json()["following"] is False

    async def unfollowed() -> bool:
        me = (await b.api("bob", "GET", "/api/v1/accounts/verify_credentials")).json()
        return me["followers_count"] == 0

    await eventually(unfollowed)
