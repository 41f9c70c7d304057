"""The web app while a server closes down: the banner on every screen, the archive screen with the
archive the server built, its download, and an import of Mastodon's following CSV with its report."""

from __future__ import annotations

import re
import zipfile
from datetime import timedelta

from playwright.async_api import expect

from federation.objects import now
from server.shutdown import give_notice
from tests.browser import Person


async def test_shutdown_banner_archive_download_and_import(make_instance, browser, tmp_path):
    a = await make_instance()
    token = await a.signup("rosa")
    await a.signup("kim")
    await give_notice(a.instance.fed, now() + timedelta(days=20), "Thank you for everything.")
    person = await Person.open(browser, a.base_url, token)
    page = person.page
    await person.go("/app/for-you")
    banner = page.get_by_role("status").filter(has_text="This server closes on")
    await expect(banner).to_contain_text("Thank you for everything.")
    await banner.get_by_role("link", name="Download your archive").click()
    await expect(page).to_have_url(re.compile(r"/app/settings/archive$"))
    await expect(page.get_by_role("heading", name="Your archive")).to_be_visible()
    download_button = page.get_by_role("button", name="Download")
    await expect(download_button).to_be_visible(timeout=60_000)
    async with page.expect_download() as info:
        await download_button.click()
    path = tmp_path / "archive.zip"
    await (await info.value).save_as(path)
    assert "consent.json" in zipfile.ZipFile(path).namelist()

    csv = tmp_path / "following_accounts.csv"
    csv.write_text("Account address,Show boosts,Notify on new posts,Languages\n"
                   f"kim@{a.domain},true,false,\nnot an address,true,false,\n")
    await page.get_by_label("What").select_option("following")
    await page.get_by_label("File").set_input_files(csv)
    await page.get_by_role("button", name="Import").click()
    result = page.locator(".import-result")
    await expect(result).to_contain_text("1 imported, 0 already done, 1 could not be.")
    await expect(result).to_contain_text("Line 3, not an address")
    await person.screenshot("archive-screen")
