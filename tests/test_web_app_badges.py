"""Unread badges on the navigation in a real browser: a new request to use a cameo shows on its
owner's Consent link without a reload, and opening Notifications clears its count."""

from __future__ import annotations

import re

from playwright.async_api import expect

from federation import streams
from tests.browser import PHONE, Person, nav
from tests.conftest import eventually
from tests.test_remix_consent import _cameo, _remix
from tests.videos import make_mp4, upload_video


async def test_a_new_consent_request_shows_a_badge_and_reading_clears_it(make_instance, browser):
    a = await make_instance()
    for user in ("alice", "bob"):
        await a.signup(user)
    cameo = await _cameo(a, "alice", permission="everyone", approval="manual")
    alice = await Person.open(browser, a.base_url, a.tokens["alice"])
    page = alice.page
    await alice.go("/app/for-you")
    consent, notifications = nav(page, "Consent"), nav(page, "Notifications")
    await expect(consent).to_be_visible()
    await expect(page.locator(".appnav .badge")).to_have_count(0)

    asked = await _remix(a, "bob", [cameo["uri"]])
    assert asked.status_code in (200, 201, 202), asked.text
    # The window comes back into view: the counts are asked for again, with no reload.
    await page.evaluate("window.dispatchEvent(new Event('focus'))")
    await expect(consent.locator(".badge")).to_have_text("1 new")
    await expect(consent).to_have_accessible_name("Consent 1 new")
    await expect(notifications.locator(".badge")).to_have_text("1 new")
    await alice.screenshot("badges-desktop", full_page=False)

    await notifications.click()
    await expect(page.locator(".notification")).to_have_count(1)
    await expect(notifications.locator(".badge")).to_have_count(0)
    await expect(consent.locator(".badge")).to_have_text("1 new")
    marker = (await a.api("alice", "GET", "/api/v1/markers?timeline[]=notifications")).json()
    latest = await a.pool.fetchval("SELECT max(id) FROM notifications")
    assert marker["notifications"]["last_read_id"] == str(latest)

    # Answering the request clears the Consent badge too; a reload keeps Notifications read.
    await consent.click()
    await page.get_by_role("button", name="Approve @bob's request").click()
    await expect(consent.locator(".badge")).to_have_count(0)
    await page.reload()
    await expect(consent).to_be_visible()
    await expect(page.locator(".appnav .badge")).to_have_count(0)
    await alice.close()


async def test_badges_on_a_phone(make_instance, browser):
    a = await make_instance()
    for user in ("alice", "bob"):
        await a.signup(user)
    cameo = await _cameo(a, "alice", permission="everyone", approval="manual")
    await _remix(a, "bob", [cameo["uri"]])
    alice = await Person.open(browser, a.base_url, a.tokens["alice"], viewport=PHONE)
    await alice.go("/app/cameos")
    await expect(nav(alice.page, "Consent").locator(".badge")).to_have_text("1 new")
    await expect(nav(alice.page, "Notifications").locator(".badge")).to_have_text("1 new")
    await alice.screenshot("badges-phone", full_page=False)
    await alice.close()


async def _streaming(instance, channel: str) -> bool:
    """Whether a page has subscribed to `channel` (federation/streams.py) on the server."""
    fed = instance.instance.fed
    [(_, count)] = await fed.queue.pubsub_numsub(streams.channel(fed, channel))
    return count > 0


async def test_the_stream_brings_badges_and_new_videos_live(make_instance, browser, tmp_path):
    """With the streaming API, a mention shows on the Notifications badge and a followed
    account's new video is offered above the feed, with no reload, focus or 30 s poll."""
    a = await make_instance()
    for user in ("alice", "bob"):
        await a.signup(user)
    bob = (await a.api("bob", "GET", "/api/v1/accounts/verify_credentials")).json()
    assert (await a.api("alice", "POST", f"/api/v1/accounts/{bob['id']}/follow")).status_code == 200
    alice_user = await a.pool.fetchval("SELECT id FROM users WHERE username = 'alice'")
    alice = await Person.open(browser, a.base_url, a.tokens["alice"])
    page = alice.page
    await alice.go("/app/following")
    await expect(page.locator(".feed-empty")).to_be_visible()
    await eventually(lambda: _streaming(a, streams.notifications_channel(alice_user)))
    await eventually(lambda: _streaming(a, streams.user_channel(alice_user)))

    mention = await a.api("bob", "POST", "/api/v1/statuses", json={"status": "@alice watch this"})
    assert mention.status_code == 200
    await expect(nav(page, "Notifications").locator(".badge")).to_have_text("1 new")

    clip = make_mp4(tmp_path / "clip.mp4", width=90, height=160, seconds=1.0, fps=8)
    media = await upload_video(a, "bob", clip)
    posted = await a.api("bob", "POST", "/api/v1/statuses",
                         json={"status": "fresh", "media_ids": [media["id"]]})
    assert posted.status_code == 200, posted.text
    offer = page.get_by_role("button", name="1 new video")
    await expect(offer).to_be_visible()
    await alice.screenshot("feed-new-video", full_page=False)
    await offer.click()
    await expect(page.locator(".reel")).to_have_count(1)
    await expect(offer).to_be_hidden()
    await alice.close()


async def test_badges_poll_while_the_stream_is_broken(make_instance, browser):
    """A stream that cannot stay open leaves the badges to the 30 s poll."""
    a = await make_instance()
    for user in ("alice", "bob"):
        await a.signup(user)
    alice = await Person.open(browser, a.base_url, a.tokens["alice"])
    page = alice.page
    await page.clock.install()
    # Every WebSocket to the streaming API is closed at once, as by a proxy that drops upgrades.
    await page.route_web_socket(re.compile(r"/api/v1/streaming$"), lambda ws: ws.close())
    await alice.go("/app/for-you")
    notifications = nav(page, "Notifications")
    await expect(notifications).to_be_visible()
    await expect(notifications.locator(".badge")).to_have_count(0)

    mention = await a.api("bob", "POST", "/api/v1/statuses", json={"status": "@alice are you there"})
    assert mention.status_code == 200
    await page.clock.fast_forward(31_000)
    await expect(notifications.locator(".badge")).to_have_text("1 new")
    await alice.close()
