"""The composer shows each cameo owner's instructions before the prompt is sent: on the cameos
found by a handle, and on every cameo chosen to star, one's own included. Screenshot in
test-artifacts/."""

from __future__ import annotations

import re

from playwright.async_api import expect

from tests.browser import PHONE, Person
from tests.test_remix_consent import _cameo

INSTRUCTIONS = "Keep it friendly. No hats, no politics."


async def test_the_composer_shows_each_cameos_instructions(make_instance, browser):
    a = await make_instance()
    await a.signup("alice")
    token = await a.signup("bob")
    await _cameo(a, "alice", name="Alice", instructions=INSTRUCTIONS, permission="everyone")
    await _cameo(a, "bob", name="Bob", instructions="Only in the blue coat.")

    bob = await Person.open(browser, a.base_url, token=token, viewport=PHONE, is_mobile=True, has_touch=True)
    page = bob.page
    await bob.go("/app/compose")
    await page.get_by_label("Handle or cameo link").fill("@alice")
    await page.get_by_role("button", name="Find").click()
    await expect(page.get_by_role("button", name="Add Alice")).to_be_visible()
    await page.get_by_role("button", name="Add Alice").click()
    await page.get_by_role("checkbox", name="Star Bob").check()

    # Under "Starring", above the prompt: each owner's words, in their own voice.
    starring = page.locator(".starring")
    alices = starring.locator("li").filter(has=page.get_by_role("heading", name="Alice"))
    await expect(alices.locator(".cameo-instructions")).to_have_text(f"@alice asks: {INSTRUCTIONS}")
    bobs = starring.locator("li").filter(has=page.get_by_role("heading", name="Bob"))
    await expect(bobs.locator(".cameo-instructions")).to_have_text(
        "Your instructions: Only in the blue coat.")
    prompt = page.get_by_label("Prompt")
    instructions_box = await alices.locator(".cameo-instructions").bounding_box()
    assert instructions_box["y"] < (await prompt.bounding_box())["y"]
    await prompt.fill("alice and bob dancing")
    await expect(page.get_by_role("button", name=re.compile("Ask for consent"))).to_be_visible()
    await bob.screenshot("composer-instructions")
    await bob.close()


async def test_a_cameo_without_instructions_says_so(make_instance, browser):
    a = await make_instance()
    token = await a.signup("bob")
    await _cameo(a, "bob", name="Bob")
    bob = await Person.open(browser, a.base_url, token=token)
    page = bob.page
    await bob.go("/app/compose")
    await page.get_by_role("checkbox", name="Star Bob").check()
    await expect(page.locator(".starring").get_by_text("No instructions from its owner.")).to_be_visible()
    await bob.close()
