"""Moving an account in the web app: the aliases screen, the move (a wrong password refused with
the reason), and the moved banner on the old profile pointing to the new one."""

from __future__ import annotations

import re

from playwright.async_api import expect

from tests.browser import DESKTOP, Person
from tests.conftest import PASSWORD


async def test_aliases_move_and_moved_banner(make_instance, browser):
    a = await make_instance()
    token = await a.signup("rosa")
    await a.signup("newrosa")
    person = await Person.open(browser, a.base_url, token, viewport=DESKTOP)
    page = person.page
    await person.go("/app/@rosa")
    await page.get_by_role("link", name="Move account").click()
    await expect(page).to_have_url(re.compile(r"/app/settings/move$"))
    await expect(page.get_by_role("heading", name="Move your account")).to_be_visible()

    # An alias: an unknown account is refused with the reason; a known one is listed.
    await page.get_by_label("Handle of the old account").fill("nobody@" + a.domain)
    await page.get_by_role("button", name="Add alias").click()
    await expect(page.get_by_role("alert").first).to_contain_text("no account found")
    await page.get_by_label("Handle of the old account").fill("newrosa")
    await page.get_by_role("button", name="Add alias").click()
    await expect(page.locator(".alias-list")).to_contain_text(f"@newrosa@{a.domain}")
    await page.get_by_role("button", name=f"Remove the alias newrosa@{a.domain}").click()
    await expect(page.get_by_text("No aliases.")).to_be_visible()

    # The move: newrosa lists rosa first; a wrong password is refused, the right one moves.
    listed = await a.api("newrosa", "POST", "/api/v1/account/aliases", json={"acct": "rosa"})
    assert listed.status_code == 200, listed.text
    await page.get_by_label("Handle of the new account").fill("newrosa")
    await page.get_by_label("Password").fill("not my password")
    await page.get_by_role("button", name="Move my account").click()
    await expect(page.get_by_role("alert").last).to_contain_text("wrong password")
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Move my account").click()
    await expect(page.locator(".moved-banner")).to_contain_text("This account has moved to @newrosa")
    await expect(page.locator(".moved-banner")).not_to_contain_text("[object")
    await expect(page.get_by_text("You can move again after")).to_be_visible()
    await expect(page.get_by_role("button", name="Move my account")).to_be_hidden()
    await person.screenshot("account-moved-settings")

    await person.go("/app/@rosa")
    banner = page.locator(".moved-banner")
    await expect(banner).to_contain_text("rosa has moved to @newrosa")
    await banner.get_by_role("link", name="@newrosa").click()
    await expect(page).to_have_url(re.compile(r"/app/@newrosa$"))
    await person.close(expected_errors=re.compile(r"^(404|403) (POST|GET) .*/api/v1/account/"))
