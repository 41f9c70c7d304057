"""Every button beside a video says what it does: a word or a count under its icon that is part
of its accessible name, the full name as a tooltip, on a phone and on a desktop; a dialog's
close button (an icon alone) has a tooltip and a name. Screenshots in test-artifacts/."""

from __future__ import annotations

import pytest
from playwright.async_api import expect

from tests.browser import DESKTOP, PHONE, Person
from tests.videos import post_videos

NAMES = ["Like 0", "Comments 0", "Boost 0", "Copy link", "Remix", "Sound", "More or less like this", "Report"]


@pytest.mark.parametrize("size", ["phone", "desktop"])
async def test_video_actions_have_visible_labels_and_names(make_instance, browser, tmp_path, size):
    a = await make_instance()
    await a.signup("erin")
    token = await a.signup("finn")
    await post_videos(a, "erin", tmp_path, ["waves"])
    viewport = PHONE if size == "phone" else DESKTOP
    person = await Person.open(browser, a.base_url, token, viewport=viewport)
    page = person.page
    await person.go("/app/for-you")
    actions = page.locator(".reel[data-active] .reel-actions button")
    await expect(actions).to_have_count(len(NAMES))
    for n, name in enumerate(NAMES):
        button = actions.nth(n)
        await expect(button).to_have_accessible_name(name)
        await expect(button).to_have_attribute("title", name.removesuffix(" 0"))
        word = button.locator(".action-label, .count")
        await expect(word).to_be_visible()
        # What is seen is part of what is read out (WCAG's "label in name").
        assert (await word.inner_text()).lower() in name.lower(), name
        box = await word.bounding_box()
        assert box["width"] > 0 and box["height"] > 0
    await person.screenshot(f"reel-actions-{size}", full_page=False)

    await actions.nth(1).click()
    close = page.get_by_role("dialog", name="Comments").get_by_role("button", name="Close")
    await expect(close).to_have_attribute("title", "Close")
    await close.click()
    await person.close()
