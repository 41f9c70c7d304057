"""Editing a profile in the web app, on a phone and on a desktop: display name, bio, avatar and
header, seen on the profile afterwards; a file that is no image is refused with the reason."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from PIL import Image, ImageDraw
from playwright.async_api import expect

from tests.browser import DESKTOP, PHONE, Person, nav


def _avatar(path: Path) -> Path:
    image = Image.new("RGB", (900, 700), (40, 90, 200))
    ImageDraw.Draw(image).ellipse((250, 150, 650, 550), fill=(250, 200, 60))
    image.save(path, "JPEG")
    return path


def _header(path: Path) -> Path:
    image = Image.new("RGB", (2400, 900))
    draw = ImageDraw.Draw(image)
    for x in range(0, 2400, 8):
        draw.rectangle((x, 0, x + 8, 900), fill=(x // 10, 60, 255 - x // 10))
    image.save(path, "PNG")
    return path


@pytest.mark.parametrize("size", ["phone", "desktop"])
async def test_edit_profile_and_see_it(make_instance, browser, tmp_path, size):
    a = await make_instance()
    token = await a.signup("rosa")
    options = dict(viewport=PHONE, is_mobile=True, has_touch=True) if size == "phone" \
        else dict(viewport=DESKTOP)
    person = await Person.open(browser, a.base_url, token, **options)
    page = person.page
    await person.go("/app/for-you")
    await nav(page, "Profile").click()
    await expect(page.get_by_role("heading", name="rosa", exact=True)).to_be_visible()
    await page.get_by_role("link", name="Edit profile").click()
    await expect(page).to_have_url(re.compile(r"/app/settings/profile$"))

    # A file that is not an image: the reason is shown, and nothing changes.
    fake = tmp_path / "notes.png"
    fake.write_text("not a picture")
    await page.get_by_label("Avatar").set_input_files(fake)
    await page.get_by_role("button", name="Save profile").click()
    await expect(page.get_by_role("alert")).to_contain_text("avatar: ")
    await expect(page).to_have_url(re.compile(r"/app/settings/profile$"))

    name, bio = "Rosa Bonheur", "Painter of horses.\nSee #animals"
    await page.get_by_label("Display name").fill(name)
    await page.get_by_label("Bio").fill(bio)
    await page.get_by_label("Avatar").set_input_files(_avatar(tmp_path / "me.jpg"))
    await page.get_by_label("Header").set_input_files(_header(tmp_path / "header.png"))
    await expect(page.get_by_role("img", name="Your avatar")).to_have_attribute("src", re.compile(r"^blob:"))
    await person.screenshot(f"profile-edit-{size}")
    await page.get_by_role("button", name="Save profile").click()

    await expect(page).to_have_url(re.compile(r"/app/@rosa$"))
    await expect(page.get_by_role("heading", name=name)).to_be_visible()
    await expect(page.locator(".note")).to_contain_text("Painter of horses.")
    await expect(page.locator(".note").get_by_role("link", name="#animals")).to_be_visible()
    avatar, banner = page.locator(".profile-head .avatar"), page.locator(".profile-banner")
    await expect(avatar).to_have_attribute("src", re.compile(r"/media/profiles/.+\.webp$"))
    await expect(banner).to_have_attribute("src", re.compile(r"/media/profiles/.+\.webp$"))
    # Loaded at the sizes the server cropped them to.
    await page.wait_for_function("([a, b]) => a.complete && b.complete && a.naturalWidth && b.naturalWidth",
                                 arg=[await avatar.element_handle(), await banner.element_handle()])
    assert await avatar.evaluate("img => [img.naturalWidth, img.naturalHeight]") == [400, 400]
    assert await banner.evaluate("img => [img.naturalWidth, img.naturalHeight]") == [1500, 500]
    await person.screenshot(f"profile-edited-{size}")

    # The form shows the bio as it was typed, and others see the new profile.
    await page.get_by_role("link", name="Edit profile").click()
    await expect(page.get_by_label("Bio")).to_have_value(bio)
    await expect(page.get_by_label("Display name")).to_have_value(name)
    visitor = await Person.open(browser, a.base_url, **options)
    await visitor.go("/app/@rosa")
    await expect(visitor.page.get_by_role("heading", name=name)).to_be_visible()
    await expect(visitor.page.get_by_role("link", name="Edit profile")).to_have_count(0)
    await visitor.close()
    await person.close(expected_errors=re.compile(r"^422 PATCH .*/update_credentials$"))
