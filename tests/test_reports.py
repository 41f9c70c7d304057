"""Reports and moderation on one instance, over HTTP: reporting posts, comments, cameos and
accounts; the moderators' queue; each action's effect as clients see it; who is told; the audit
log; the admin CLI; and the system report a held generation opens. The rules themselves
(policy/moderation.py) are tested as plain functions first."""

from __future__ import annotations

import asyncio
import dataclasses
from typing import Any

import pytest

from policy.moderation import (
    ModerationError,
    check_action,
    check_rank,
    check_report,
    check_text,
    report_move,
    warning,
)
from server.media_cleanup import remove_deleted_posts_media
from tests.conftest import PASSWORD, TEST_GENERATION, eventually
from tests.test_cameos import _create as create_cameo
from tests.videos import post_videos

# --- the rules ------------------------------------------------------------------------------------


def test_actions_per_target_kind():
    check_action("account", "suspend", local=False)
    check_action("account", "unsuspend", local=True)
    check_action("status", "hide", local=False)
    check_action("cameo", "pause", local=True)
    for kind, action, local in (("account", "hide", True), ("status", "suspend", True),
                                ("cameo", "sensitive", True), ("account", "disable", False),
                                ("account", "enable", False), ("status", "unsuspend", True),
                                ("nothing", "none", True)):
        with pytest.raises(ModerationError):
            check_action(kind, action, local=local)
    assert warning("account", "suspend") == "suspend"
    assert warning("status", "delete") == "delete_statuses"
    assert warning("account", "none") is None and warning("account", "unsuspend") is None


def test_report_moves():
    assert report_move("open", "resolve") == "resolved"
    assert report_move("open", "assign_to_self") == "open"
    assert report_move("resolved", "reopen") == "open"
    for state, move in (("open", "reopen"), ("resolved", "resolve"), ("resolved", "assign_to_self")):
        with pytest.raises(ModerationError, match=f"this report is {state}"):
            report_move(state, move)


def test_report_input_and_ranks():
    assert check_report(reporter_id=1, target_id=2, category=None, comment=" hi ", post_count=0) \
        == ("other", "hi")
    for kwargs, message in (({"category": "rude"}, "category must be one of"),
                            ({"comment": "x" * 1001}, "longer than 1000"),
                            ({"comment": "a\x00b"}, "control characters"),
                            ({"comment": 5}, "must be text"),
                            ({"target_id": 1}, "yourself"),
                            ({"post_count": 41}, "at most 40")):
        with pytest.raises(ModerationError, match=message):
            check_report(**{"reporter_id": 1, "target_id": 2, "category": "spam", "comment": "",
                            "post_count": 1, **kwargs})
    assert check_text("line one\nline two", "text", 100) == "line one\nline two"
    check_rank("moderator", "user", itself=False)
    check_rank("admin", "admin", itself=False)
    check_rank(None, None, itself=False)
    for args in (("moderator", "admin", False), ("moderator", "moderator", False), ("admin", "user", True)):
        with pytest.raises(ModerationError):
            check_rank(args[0], args[1], itself=args[2])


# --- over HTTP -------------------------------------------------------------------------------------

async def _me(a: Any, user: str) -> dict[str, Any]:
    return (await a.api(user, "GET", "/api/v1/accounts/verify_credentials")).json()


async def _post(a: Any, user: str, text: str, **extra: Any) -> dict[str, Any]:
    response = await a.api(user, "POST", "/api/v1/statuses", json={"status": text, **extra})
    assert response.status_code == 200, response.text
    return response.json()


async def _notifications(a: Any, user: str, kind: str) -> list[dict[str, Any]]:
    response = await a.api(user, "GET", "/api/v1/notifications", params={"types[]": kind})
    assert response.status_code == 200, response.text
    return response.json()


async def _count(a: Any, table: str) -> int:
    return await a.pool.fetchval(f"SELECT count(*) FROM {table}")


async def test_reports_queue_and_notifications(make_instance):
    a = await make_instance()
    for user in ("alice", "bob", "carol", "mod", "boss"):
        await a.signup(user)
    await a.set_role("mod", "moderator")
    await a.set_role("boss", "admin")
    alice, bob = await _me(a, "alice"), await _me(a, "bob")
    video = await _post(a, "alice", "a #video caption")
    comment = await _post(a, "bob", "a rude comment", in_reply_to_id=video["id"])
    cameo = (await create_cameo(a, "alice", name="Alice", permission="everyone")).json()
    private = await _post(a, "alice", "for followers", visibility="private")

    # Bad input: a clear error, and nothing written.
    for body, status, message in (
            ({}, 422, "nothing to report"),
            ({"account_id": "999999"}, 404, "there is no account"),
            ({"account_id": "x"}, 422, "account_id must be an id"),
            ({"account_id": alice["id"], "status_ids": [comment["id"]]}, 422, "is not by the reported"),
            ({"account_id": bob["id"], "cameo_id": cameo["id"]}, 422, "is not the reported account's"),
            ({"status_ids": ["999999"]}, 404, "there is no post"),
            ({"status_ids": [private["id"]]}, 404, "there is no post"),
            ({"cameo_id": "999999"}, 404, "there is no cameo"),
            ({"account_id": alice["id"], "category": "rude"}, 422, "category must be one of"),
            ({"account_id": alice["id"], "comment": "x" * 1001}, 422, "longer than 1000"),
            ({"account_id": bob["id"]}, 422, "yourself"),
            ({"status_ids": [video["id"], comment["id"]]}, 422, "one account's")):
        response = await a.api("bob", "POST", "/api/v1/reports", json=body)
        assert (response.status_code, message in response.json()["error"]) == (status, True), \
            (body, response.text)
    assert await _count(a, "reports") == 0 and await _count(a, "report_posts") == 0
    assert (await a.api(None, "POST", "/api/v1/reports", json={"account_id": alice["id"]})).status_code == 401

    # A post, then a cameo (the account comes from what is named), by carol; the second merges.
    response = await a.api("carol", "POST", "/api/v1/reports", json={
        "account_id": alice["id"], "status_ids": [video["id"]], "comment": "not ok",
        "category": "violation", "rule_ids": ["1"], "forward": True})
    assert response.status_code == 200, response.text
    first = response.json()
    assert first["status_ids"] == [video["id"]] and first["category"] == "violation"
    assert first["target_account"]["id"] == alice["id"] and first["action_taken"] is False
    assert first["forwarded"] is False  # alice is local: nothing to forward
    response = await a.api("carol", "POST", "/api/v1/reports", data={
        "cameo_id": cameo["id"], "comment": "uses my face", "category": "likeness"})
    merged = response.json()
    assert merged["id"] == first["id"] and merged["cameo_ids"] == [cameo["id"]]
    assert merged["comment"] == "not ok\n\nuses my face" and merged["category"] == "likeness"
    # bob's comment (a post too) and an account-only report by alice on bob.
    on_comment = (await a.api("carol", "POST", "/api/v1/reports", json={
        "status_ids": [comment["id"]], "category": "spam"})).json()
    on_bob = (await a.api("alice", "POST", "/api/v1/reports", json={"account_id": bob["id"]})).json()
    assert on_comment["id"] != on_bob["id"] and on_comment["status_ids"] == [comment["id"]]

    # Staff were told of each new report (not of the merge), with Mastodon's `report` field.
    told = await _notifications(a, "mod", "admin.report")
    assert [n["report"]["id"] for n in told] == [on_bob["id"], on_comment["id"], first["id"]]
    assert told[-1]["account"]["id"] == (await _me(a, "carol"))["id"]
    assert len(await _notifications(a, "boss", "admin.report")) == 3
    assert await _notifications(a, "carol", "admin.report") == []

    # The queue: staff only.
    assert (await a.api("carol", "GET", "/api/v1/admin/reports")).status_code == 403
    assert (await a.api(None, "GET", "/api/v1/admin/reports")).status_code == 401
    queue = (await a.api("mod", "GET", "/api/v1/admin/reports")).json()
    assert [r["id"] for r in queue] == [on_bob["id"], on_comment["id"], first["id"]]
    on_alice = queue[-1]
    assert on_alice["account"]["username"] == "carol" and on_alice["target_account"]["username"] == "alice"
    assert [s["id"] for s in on_alice["statuses"]] == [video["id"]]
    assert on_alice["cameos"][0]["name"] == "Alice" and on_alice["actions"] == []
    only_bob = (await a.api("mod", "GET", "/api/v1/admin/reports", params={"account_id": bob["id"]})).json()
    assert [r["id"] for r in only_bob] == [on_bob["id"], on_comment["id"]]
    paged = (await a.api("mod", "GET", "/api/v1/admin/reports",
                         params={"max_id": on_bob["id"], "limit": 1})).json()
    assert [r["id"] for r in paged] == [on_comment["id"]]

    # Assign, resolve, reopen; wrong moves are 409.
    path = f"/api/v1/admin/reports/{first['id']}"
    assigned = (await a.api("mod", "POST", f"{path}/assign_to_self")).json()
    assert assigned["assigned_account"]["username"] == "mod"
    assert (await a.api("mod", "POST", f"{path}/unassign")).json()["assigned_account"] is None
    assert (await a.api("mod", "POST", f"{path}/reopen")).status_code == 409
    resolved = (await a.api("mod", "POST", f"{path}/resolve")).json()
    assert resolved["action_taken"] is True and resolved["action_taken_by_account"]["username"] == "mod"
    assert (await a.api("mod", "POST", f"{path}/resolve")).status_code == 409
    assert [r["id"] for r in (await a.api("mod", "GET", "/api/v1/admin/reports",
                                          params={"resolved": "true"})).json()] == [first["id"]]
    # carol is told, without the moderator's name.
    [done] = await _notifications(a, "carol", "report_resolved")
    assert done["account"] is None and done["report"]["id"] == first["id"]
    assert done["report"]["action_taken"] is True and "mod" not in str(done)
    reopened = (await a.api("boss", "POST", f"{path}/reopen")).json()
    assert reopened["action_taken"] is False
    assert [x["action"] for x in reopened["actions"]] == ["assign_to_self", "unassign", "resolve", "reopen"]
    assert [x["moderator"] for x in reopened["actions"]] == ["mod", "mod", "mod", "boss"]
    assert (await a.api("mod", "GET", "/api/v1/admin/reports/999999")).status_code == 404
    assert (await a.api("mod", "POST", f"{path}/explode")).status_code == 404
    # A resolved report no longer takes merges: a new one opens.
    await a.api("mod", "POST", f"{path}/resolve")
    again = (await a.api("carol", "POST", "/api/v1/reports", json={"account_id": alice["id"]})).json()
    assert again["id"] != first["id"]


async def test_status_and_cameo_actions(make_instance):
    a = await make_instance()
    for user in ("alice", "bob", "mod"):
        await a.signup(user)
    await a.set_role("mod", "moderator")
    alice = await _me(a, "alice")
    await a.api("bob", "POST", f"/api/v1/accounts/{alice['id']}/follow")
    hidden = await _post(a, "alice", "to hide #topic")
    doomed = await _post(a, "alice", "to delete")
    touchy = await _post(a, "alice", "to mark")
    report = (await a.api("bob", "POST", "/api/v1/reports", json={
        "account_id": alice["id"], "status_ids": [hidden["id"], doomed["id"]]})).json()

    async def act(kind: str, target: str, body: dict[str, Any], user: str = "mod") -> Any:
        return await a.api(user, "POST", f"/api/v1/admin/{kind}/{target}/action", json=body)

    assert (await act("statuses", hidden["id"], {"type": "hide"}, user="bob")).status_code == 403
    assert (await act("statuses", hidden["id"], {"type": "suspend"})).status_code == 422
    assert (await act("statuses", "999999", {"type": "hide"})).status_code == 404
    bad_report = await act("statuses", hidden["id"], {"type": "hide", "report_id": "999999"})
    assert bad_report.status_code == 422 and "no report" in bad_report.json()["error"]
    assert (await act("statuses", hidden["id"], {"type": "hide", "text": "\x07"})).status_code == 422
    assert await _count(a, "moderation_actions") == 0

    response = await act("statuses", hidden["id"], {"type": "hide", "report_id": report["id"],
                                                     "text": "no spoilers"})
    assert response.status_code == 200, response.text
    assert response.json()["action"] == "hide" and response.json()["moderator"] == "mod"
    # Hidden: 404 to others, shown to its author and staff, gone from every timeline.
    path = f"/api/v1/statuses/{hidden['id']}"
    assert (await a.api("bob", "GET", path)).status_code == 404
    assert (await a.api(None, "GET", path)).status_code == 404
    assert (await a.api("alice", "GET", path)).status_code == 200
    assert (await a.api("mod", "GET", path)).status_code == 200
    for user, timeline in (("bob", "home"), (None, "public"), (None, "tag/topic"), ("alice", "home")):
        ids = [s["id"] for s in (await a.api(user, "GET", f"/api/v1/timelines/{timeline}")).json()]
        assert hidden["id"] not in ids and doomed["id"] in ids or timeline == "tag/topic", (timeline, ids)
    ids = [s["id"] for s in (await a.api(None, "GET", f"/api/v1/accounts/{alice['id']}/statuses")).json()]
    assert hidden["id"] not in ids
    async with a.client() as client:
        assert (await client.get(f"/users/alice/statuses/{hidden['id']}",
                                 headers={"Accept": "application/activity+json"})).status_code == 404
    await act("statuses", hidden["id"], {"type": "unhide"})
    assert (await a.api("bob", "GET", path)).status_code == 200

    # Delete: as the author's own deletion.
    deleted = await act("statuses", doomed["id"], {"type": "delete", "report_id": report["id"]})
    assert deleted.status_code == 200
    assert (await a.api("alice", "GET", f"/api/v1/statuses/{doomed['id']}")).status_code == 404
    async with a.client() as client:
        assert (await client.get(f"/users/alice/statuses/{doomed['id']}",
                                 headers={"Accept": "application/activity+json"})).status_code == 410
    assert (await act("statuses", doomed["id"], {"type": "delete"})).status_code == 404

    # Sensitive.
    await act("statuses", touchy["id"], {"type": "sensitive"})
    assert (await a.api("bob", "GET", f"/api/v1/statuses/{touchy['id']}")).json()["sensitive"] is True

    # Cameos: pause, then delete.
    cameo = (await create_cameo(a, "alice", name="Alice")).json()
    assert (await act("cameos", cameo["id"], {"type": "hide"})).status_code == 422
    assert (await act("cameos", cameo["id"], {"type": "pause"})).json()["cameo_id"] == cameo["id"]
    assert (await a.api("alice", "GET", f"/api/v1/cameos/{cameo['id']}")).json()["paused"] is True
    await act("cameos", cameo["id"], {"type": "delete", "text": "not you"})
    assert (await a.api("alice", "GET", f"/api/v1/cameos/{cameo['id']}")).status_code == 404
    assert (await act("cameos", cameo["id"], {"type": "pause"})).status_code == 404

    # alice was warned of each (unhide excepted), as Mastodon's moderation_warning.
    warnings = [n["moderation_warning"] for n in await _notifications(a, "alice", "moderation_warning")]
    assert [w["action"] for w in warnings] == ["delete_cameo", "pause_cameo", "mark_statuses_as_sensitive",
                                               "delete_statuses", "hide_statuses"]
    assert warnings[-1]["text"] == "no spoilers" and warnings[-1]["status_ids"] == [hidden["id"]]
    assert warnings[0]["cameo_ids"] == [cameo["id"]] and warnings[0]["target_account"]["id"] == alice["id"]

    # The report lists what was done under it.
    detail = (await a.api("mod", "GET", f"/api/v1/admin/reports/{report['id']}")).json()
    assert [(x["action"], x["status_id"], x["text"]) for x in detail["actions"]] == [
        ("hide", hidden["id"], "no spoilers"), ("delete", doomed["id"], "")]
    assert detail["action_taken"] is False


async def _login(a: Any, user: str) -> int:
    async with a.client() as client:
        response = await client.post("/oauth/token", data={"grant_type": "password", "username": user,
                                                           "password": PASSWORD})
    return response.status_code


async def test_account_actions(make_instance):
    a = await make_instance()
    for user in ("alice", "bob", "carol", "mod", "boss"):
        await a.signup(user)
    await a.set_role("mod", "moderator")
    await a.set_role("boss", "admin")
    alice, boss = await _me(a, "alice"), await _me(a, "boss")
    await a.api("bob", "POST", f"/api/v1/accounts/{alice['id']}/follow")
    post = await _post(a, "alice", "hello #all")
    report = (await a.api("carol", "POST", "/api/v1/reports", json={"account_id": alice["id"]})).json()

    async def act(action: str, body: dict[str, Any] | None = None, target: str = alice["id"],
                  user: str = "mod") -> Any:
        path = f"/api/v1/admin/accounts/{target}/" + ("action" if body is not None else action)
        return await a.api(user, "POST", path, json=body if body is not None else {})

    assert (await act("action", {"type": "suspend"}, target=boss["id"])).status_code == 403
    assert (await act("action", {"type": "suspend"}, target=(await _me(a, "mod"))["id"])).status_code == 403
    assert (await act("action", {"type": "explode"})).status_code == 422
    assert (await act("unexplode")).status_code == 404
    assert (await act("action", {"type": "suspend"}, user="carol")).status_code == 403

    def in_timeline(user: str | None, timeline: str) -> Any:
        async def check() -> bool:
            rows = (await a.api(user, "GET", f"/api/v1/timelines/{timeline}")).json()
            return post["id"] in [s["id"] for s in rows]
        return check

    # Sensitive: every post of theirs renders sensitive.
    assert (await act("action", {"type": "sensitive"})).json()["sensitized"] is True
    assert (await a.api("bob", "GET", f"/api/v1/statuses/{post['id']}")).json()["sensitive"] is True
    assert (await act("unsensitive")).json()["sensitized"] is False
    assert (await a.api("bob", "GET", f"/api/v1/statuses/{post['id']}")).json()["sensitive"] is False

    # Silence: out of the public timelines, still at home for a follower.
    assert (await act("action", {"type": "silence"})).json()["silenced"] is True
    assert not await in_timeline(None, "public")() and not await in_timeline(None, "tag/all")()
    assert await in_timeline("bob", "home")()
    await act("unsilence")
    assert await in_timeline(None, "public")()

    # Disable: the token and the password stop working; enable restores both.
    assert (await act("action", {"type": "disable", "text": "cool off"})).json()["disabled"] is True
    assert (await a.api("alice", "GET", "/api/v1/accounts/verify_credentials")).status_code == 401
    assert await _login(a, "alice") == 403
    await act("enable")
    assert (await a.api("alice", "GET", "/api/v1/accounts/verify_credentials")).status_code == 200

    # Suspend, under the report (which it resolves): no sign-in, no token, the actor says
    # `suspended` (its profile withheld, its keys kept), its posts are refused, but not as gone
    # (410) for good; unsuspend brings it all back.
    profile = await a.api("alice", "PATCH", "/api/v1/accounts/update_credentials",
                          json={"display_name": "Alice A.", "note": "hi"})
    assert profile.status_code == 200, profile.text
    suspended = await act("action", {"type": "suspend", "report_id": report["id"], "text": "spam"})
    assert suspended.json()["suspended"] is True
    assert (await a.api("alice", "GET", "/api/v1/accounts/verify_credentials")).status_code == 401
    assert await _login(a, "alice") == 403
    async with a.client() as client:
        actor = await client.get("/users/alice", headers={"Accept": "application/activity+json"})
        assert actor.status_code == 200 and actor.json()["suspended"] is True
        assert (actor.json()["name"], actor.json()["summary"]) == ("alice", "")
        assert actor.json()["publicKey"]["id"] == f"{a.base_url}/users/alice#main-key"
        assert (await client.get(f"/users/alice/statuses/{post['id']}",
                                 headers={"Accept": "application/activity+json"})).status_code == 403
    assert (await a.api("bob", "GET", f"/api/v1/statuses/{post['id']}")).status_code == 404
    assert not await in_timeline("bob", "home")() and not await in_timeline(None, "public")()
    detail = (await a.api("mod", "GET", f"/api/v1/admin/reports/{report['id']}")).json()
    assert detail["action_taken"] is True
    assert [x["action"] for x in detail["actions"]] == ["suspend", "resolve"]
    assert detail["actions"][0]["text"] == "spam" and detail["target_account"]["suspended"] is True
    assert [n["report"]["id"] for n in await _notifications(a, "carol", "report_resolved")] == [report["id"]]
    unsuspended = await act("unsuspend")
    assert unsuspended.json()["suspended"] is False
    assert (await a.api("alice", "GET", "/api/v1/accounts/verify_credentials")).status_code == 200
    assert await _login(a, "alice") == 200
    assert await in_timeline("bob", "home")() and await in_timeline(None, "public")()
    async with a.client() as client:
        actor = await client.get("/users/alice", headers={"Accept": "application/activity+json"})
        assert actor.status_code == 200 and "suspended" not in actor.json()
        assert actor.json()["name"] == "Alice A."
        assert (await client.get(f"/users/alice/statuses/{post['id']}",
                                 headers={"Accept": "application/activity+json"})).status_code == 200

    # alice was warned of what was done, never of `none` or of its undoing.
    await act("action", {"type": "none", "text": "just a note"})
    warnings = [n["moderation_warning"] for n in await _notifications(a, "alice", "moderation_warning")]
    assert [w["action"] for w in warnings] == ["suspend", "disable", "silence", "sensitive"]
    assert warnings[0]["text"] == "spam" and warnings[1]["text"] == "cool off"
    admin_view = (await a.api("mod", "GET", f"/api/v1/admin/accounts/{alice['id']}")).json()
    assert admin_view["email"] == "alice@example.com" and admin_view["role"] == {"name": "user"}


async def test_deleted_posts_lose_their_files_once_no_open_report_needs_them(make_instance, tmp_path):
    a = await make_instance()
    for user in ("alice", "carol", "mod"):
        await a.signup(user)
    await a.set_role("mod", "moderator")
    plain, reported = await post_videos(a, "alice", tmp_path, ["plain", "reported"])
    files = {post: await a.pool.fetchrow("SELECT * FROM media WHERE post_id = $1", int(post))
             for post in (plain, reported)}
    alice = await _me(a, "alice")
    report = (await a.api("carol", "POST", "/api/v1/reports",
                          json={"account_id": alice["id"], "status_ids": [reported]})).json()
    for post in (plain, reported):
        assert (await a.api("alice", "DELETE", f"/api/v1/statuses/{post}")).status_code == 200

    def on_disk(post: str) -> bool:
        row = files[post]
        return a.instance.media.path(row["storage_key"]).exists() and a.instance.media.path(
            row["poster_key"]).exists()

    # (The worker's sweeper does this every 30 s; the test does not wait for it.)
    await remove_deleted_posts_media(a.pool, a.instance.media)
    async with a.client() as client:
        assert (await client.get(f"/media/{files[plain]['storage_key']}")).status_code == 404
        assert (await client.get(f"/media/{files[reported]['storage_key']}")).status_code == 410
    assert not on_disk(plain) and on_disk(reported)
    assert await remove_deleted_posts_media(a.pool, a.instance.media) == 0  # each post once
    # The moderators decide on the report with the video in front of them; then it goes too.
    assert (await a.api("mod", "POST", f"/api/v1/admin/reports/{report['id']}/resolve")).status_code == 200
    await remove_deleted_posts_media(a.pool, a.instance.media)
    assert not on_disk(reported) and await a.pool.fetchval("SELECT count(*) FROM media") == 0


async def test_admin_cli(make_instance, monkeypatch, capsys):
    from server.cli.main import main

    a = await make_instance()
    for user in ("alice", "carol"):
        await a.signup(user)
    alice = await _me(a, "alice")
    report = (await a.api("carol", "POST", "/api/v1/reports",
                          json={"account_id": alice["id"], "comment": "spam bot"})).json()
    settings = a.instance.settings
    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    monkeypatch.setenv("REDIS_URL", settings.redis_url)
    monkeypatch.setenv("LIKENESS_DOMAIN", settings.domain)
    monkeypatch.setenv("LIKENESS_HTTPS", "0")
    monkeypatch.setenv("LIKENESS_DATA_DIR", str(settings.data_dir))

    def run(*argv: str) -> tuple[int, str, str]:
        code = main(["admin", *argv])
        out = capsys.readouterr()
        return code, out.out, out.err

    async def cli(*argv: str) -> tuple[int, str, str]:
        # The CLI runs its own event loop, as it does from a shell.
        return await asyncio.to_thread(run, *argv)

    code, out, _ = await cli("reports")
    assert code == 0 and f"#{report['id']}" in out and "@alice" in out and "open" in out
    code, out, _ = await cli("report", report["id"])
    assert code == 0 and "spam bot" in out and "reported by @carol" in out
    code, _, err = await cli("report", "999999")
    assert code == 1 and "no report 999999" in err
    code, out, _ = await cli("report", report["id"], "resolve", "--action", "silence", "--text", "quiet now")
    assert code == 0 and "resolved" in out
    assert await a.pool.fetchval("SELECT silenced FROM actors WHERE id = $1", int(alice["id"]))
    code, out, _ = await cli("reports")
    assert f"#{report['id']}" not in out
    code, out, _ = await cli("reports", "--all")
    assert f"#{report['id']}" in out and "resolved" in out
    code, out, _ = await cli("report", report["id"])
    assert "silence" in out and "quiet now" in out and "(command line)" in out
    code, _, err = await cli("report", report["id"], "resolve")
    assert code == 1 and "resolved" in err

    code, out, _ = await cli("suspend", "alice")
    assert code == 0 and "suspended" in out
    assert (await a.api("alice", "GET", "/api/v1/accounts/verify_credentials")).status_code == 401
    code, out, _ = await cli("unsuspend", "alice")
    assert code == 0
    assert (await a.api("alice", "GET", "/api/v1/accounts/verify_credentials")).status_code == 200
    code, _, err = await cli("suspend", "nobody")
    assert code == 1 and "no account" in err

    # set-role is in the audit log of the account, by the command line; no user, no entry.
    code, out, _ = await cli("set-role", "carol", "moderator")
    assert code == 0 and "now moderator" in out
    carol = await _me(a, "carol")
    assert (await a.api("carol", "GET", "/api/v1/admin/reports")).status_code == 200
    log = (await a.api("carol", "GET", f"/api/v1/admin/accounts/{carol['id']}")).json()["actions"]
    assert [(x["action"], x["moderator"], x["old_role"], x["new_role"]) for x in log] == [
        ("change_role", None, "user", "moderator")]
    code, _, err = await cli("set-role", "nobody", "admin")
    assert code == 1 and "no user" in err
    assert await a.pool.fetchval("SELECT count(*) FROM moderation_actions WHERE action = 'change_role'") == 1
    warned = await _notifications(a, "alice", "moderation_warning")
    assert [(n["moderation_warning"]["action"], n["moderation_warning"]["text"]) for n in warned] == [
        ("suspend", ""), ("silence", "quiet now")]
    [resolved] = await _notifications(a, "carol", "report_resolved")
    assert resolved["report"]["id"] == report["id"]

    # Deleting an account from the shell takes a suspension first, as the admin API does.
    code, _, err = await cli("delete-account", "alice")
    assert code == 1 and "suspend the account first" in err
    assert await a.pool.fetchval("SELECT deleted_at FROM actors WHERE id = $1", int(alice["id"])) is None
    assert (await cli("suspend", "alice"))[0] == 0
    code, out, _ = await cli("delete-account", "@alice")
    assert code == 0 and "@alice is deleted" in out
    assert await a.pool.fetchval("SELECT deleted_at FROM actors WHERE id = $1", int(alice["id"])) is not None
    assert await a.pool.fetchval("SELECT disabled FROM users WHERE username = 'alice'")
    code, _, err = await cli("delete-account", "alice")
    assert code == 1 and "deleted already" in err
    code, _, err = await cli("delete-account", "nobody")
    assert code == 1 and "no account" in err


async def test_held_generation_opens_a_system_report(make_instance, tiny_model):
    a = await make_instance(generation=dataclasses.replace(TEST_GENERATION, model_dir=tiny_model,
                                                           nsfw_threshold=0.0))
    for user in ("alice", "mod"):
        await a.signup(user)
    await a.set_role("mod", "moderator")
    response = await a.api("alice", "POST", "/api/v1/generations",
                           json={"prompt": "a cat surfing", "duration_s": 1.0})
    assert response.status_code == 201, response.text
    job = response.json()

    async def queued() -> Any:
        return (await a.api("mod", "GET", "/api/v1/admin/reports")).json()

    [report] = await eventually(queued, timeout=60)
    assert report["account"] is None and report["generation_id"] == job["id"]
    assert report["target_account"]["username"] == "alice"
    assert "held" in report["comment"] and "threshold" in report["comment"]
    [told] = await _notifications(a, "mod", "admin.report")
    assert told["report"]["id"] == report["id"] and told["account"] is None
    state = await a.pool.fetchval("SELECT state FROM generation_jobs WHERE id = $1", int(job["id"]))
    assert state == "held"
    # Releasing the draft is what the report asked for: it leaves the open queue, logged.
    released = await a.api("mod", "POST", f"/api/v1/admin/generations/{job['id']}/release")
    assert released.status_code == 200, released.text
    assert (await a.api("mod", "GET", "/api/v1/admin/reports")).json() == []
    done = (await a.api("mod", "GET", f"/api/v1/admin/reports/{report['id']}")).json()
    assert done["action_taken"] is True
    assert "the held generation was released" in str(done)
