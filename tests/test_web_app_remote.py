"""Another server's profile in the web app: its videos and the cameos its server lets this one
show arrive on the open page (fetched in the background the first time it is looked at), and a
follow brings the cameos it keeps for its followers; at desktop and phone size."""

from __future__ import annotations

import re

from playwright.async_api import expect

from tests.browser import PHONE, Person
from tests.test_cameos import _create
from tests.test_remote_profiles import _account_id
from tests.videos import make_mp4, upload_video


async def test_remote_profile_shows_videos_and_cameos(make_instance, browser, tmp_path):
    a = await make_instance("a")
    b = await make_instance("b")
    token = await a.signup("alice")
    await b.signup("bob")
    media_id = (await upload_video(b, "bob", make_mp4(tmp_path / "clip.mp4"), description="bob waves"))["id"]
    response = await b.api("bob", "POST", "/api/v1/statuses",
                           json={"status": "hello", "media_ids": [media_id]})
    assert response.status_code == 200, response.text
    for name, permission in (("Bob in a hat", "everyone"), ("Bob for followers", "followers")):
        assert (await _create(b, "bob", name=name, permission=permission)).status_code == 201
    # alice has found bob (as a search would): A knows his account, none of his posts yet.
    await _account_id(a, "alice", f"@{b.handle('bob')}")

    person = await Person.open(browser, a.base_url, token)
    page = person.page
    await person.go(f"/app/@{b.handle('bob')}")
    await expect(page.get_by_role("heading", name="bob", level=1)).to_be_visible()
    # Without a reload, his video and the cameo open to everyone arrive.
    await expect(page.get_by_role("link", name=re.compile("^bob waves"))).to_be_visible(timeout=30_000)
    await expect(page.get_by_role("heading", name="Bob in a hat")).to_be_visible(timeout=30_000)
    await expect(page.get_by_role("link", name="Ask to use in a remix")).to_have_count(1)
    await expect(page.get_by_role("heading", name="Bob for followers")).to_have_count(0)
    await expect(page.locator(".stats strong").first).to_have_text("1")

    # Following him brings the cameo he keeps for his followers, still without a reload.
    await page.get_by_role("button", name="Follow").click()
    await expect(page.get_by_role("heading", name="Bob for followers")).to_be_visible(timeout=30_000)
    await expect(page.get_by_role("link", name="Ask to use in a remix")).to_have_count(2)
    await person.screenshot("remote-profile")
    # Asking to use one opens the composer with it.
    await page.get_by_role("link", name="Ask to use in a remix").first.click()
    await expect(page).to_have_url(re.compile(r"/app/compose\?cameo="))
    await person.close()

    phone = await Person.open(browser, a.base_url, token, viewport=PHONE, is_mobile=True, has_touch=True)
    await phone.go(f"/app/@{b.handle('bob')}")
    await expect(phone.page.get_by_role("link", name=re.compile("^bob waves"))).to_be_visible()
    await expect(phone.page.get_by_role("heading", name="Bob for followers")).to_be_visible()
    await phone.screenshot("remote-profile-phone")
    await phone.close()
