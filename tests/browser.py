"""What the browser tests share: Chromium driven by Playwright (the `browser` fixture is in
conftest.py), a Person with their own session who fails the test on any page error, and helpers
to sign up, use the main navigation and move with the keyboard. Screenshots go to
test-artifacts/ at the repository root."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, BrowserContext, Locator, Page, async_playwright, expect

from tests.conftest import PASSWORD

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}

expect.set_options(timeout=15_000)


async def launch_browser() -> AsyncIterator[Browser]:
    if not CHROMIUM.exists():
        pytest.fail(f"the browser tests need Chromium at {CHROMIUM}: apt-get install chromium")
    ARTIFACTS.mkdir(exist_ok=True)
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True)
        yield launched
        await launched.close()


class Person:
    """One browser context (its own localStorage, so its own session) and its page; every
    JavaScript error and failed request on the page fails the test."""

    def __init__(self, context: BrowserContext, page: Page, base_url: str) -> None:
        self.context, self.page, self.base_url = context, page, base_url
        self.errors: list[str] = []
        page.on("pageerror", lambda error: self.errors.append(f"page error: {error}"))
        # Failed requests are listed by the handler below, with their address.
        page.on("console", lambda message: self.errors.append(f"console: {message.text}")
                if message.type == "error" and "Failed to load resource" not in message.text else None)
        page.on("response", lambda response: self.errors.append(
            f"{response.status} {response.request.method} {response.url}")
                if response.status >= 400 else None)
        # A video's download is aborted when it scrolls away or the page changes: not an error.
        page.on("requestfailed", lambda request: self.errors.append(
            f"failed {request.method} {request.url}: {request.failure}")
                if "ERR_ABORTED" not in (request.failure or "") else None)

    @classmethod
    async def open(cls, browser: Browser, base_url: str, token: str | None = None,
                   **options) -> Person:
        context = await browser.new_context(base_url=base_url, **{"viewport": DESKTOP, **options})
        if token:
            await context.add_init_script(f"localStorage.setItem('likeness.token', {json.dumps(token)})")
        return cls(context, await context.new_page(), base_url)

    async def go(self, path: str) -> None:
        await self.page.goto(f"{self.base_url}{path}")

    async def screenshot(self, name: str, *, full_page: bool = True) -> None:
        """The screen, or the whole page in a window as tall as the page (so that the fixed
        navigation is drawn where it belongs)."""
        size = self.page.viewport_size
        height = await self.page.evaluate("document.documentElement.scrollHeight")
        if full_page and height > size["height"]:
            await self.page.set_viewport_size({**size, "height": height})
        await self.page.screenshot(path=ARTIFACTS / f"{name}.png")
        await self.page.set_viewport_size(size)

    async def close(self, *, expected_errors: re.Pattern[str] | None = None) -> None:
        await self.context.close()
        unexpected = [e for e in self.errors if not (expected_errors and expected_errors.search(e))]
        assert not unexpected, unexpected


async def sign_up(instance, person: Person, username: str) -> None:
    """Sign up in the browser; the API helpers then use the token the page keeps."""
    page = person.page
    await person.go("/app/signup")
    await page.get_by_label("Username").fill(username)
    await page.get_by_label("Email").fill(f"{username}@example.com")
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Create account").click()
    await expect(page).to_have_url(re.compile(r"/app/for-you$"))
    await expect(nav(page, "Profile")).to_be_visible()
    instance.tokens[username] = await page.evaluate("localStorage.getItem('likeness.token')")


def nav(page: Page, name: str) -> Locator:
    """A link of the main navigation."""
    return page.get_by_role("navigation", name="Main").get_by_role("link", name=name)


async def tab_to(page: Page, target: Locator, most: int = 30) -> None:
    """Press Tab until `target` has the focus, each stop visibly focused."""
    for _ in range(most):
        if await target.evaluate("element => element === document.activeElement"):
            return
        await page.keyboard.press("Tab")
        assert await page.evaluate("getComputedStyle(document.activeElement).outlineStyle") != "none"
    raise AssertionError(f"Tab never reached {target}")
