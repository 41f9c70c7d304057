"""A link to a post that was deleted, opened in a real browser: it says so, not that
something went wrong."""

from __future__ import annotations

import re

from playwright.async_api import expect

from tests.browser import Person
from tests.test_reports import _post


async def test_a_deleted_post_says_it_was_deleted(make_instance, browser):
    a = await make_instance()
    token = await a.signup("hal")
    post = await _post(a, "hal", "soon gone")
    assert (await a.api("hal", "DELETE", f"/api/v1/statuses/{post['id']}")).status_code == 200
    person = await Person.open(browser, a.base_url, token)
    page = person.page
    await person.go(f"/app/@hal/{post['id']}")
    await expect(page.get_by_role("heading", name="This post was deleted")).to_be_visible()
    await expect(page.get_by_text("Something went wrong")).to_have_count(0)
    await expect(page.get_by_role("link", name="Back to the feed")).to_be_visible()
    # Any other screen whose thing is missing says so, with the server's reason.
    await person.go("/app/remixes/999999")
    await expect(page.get_by_role("heading", name="Not found")).to_be_visible()
    await expect(page.get_by_role("alert")).not_to_be_empty()
    await person.close(expected_errors=re.compile(
        rf"^404 GET .*/api/v1/(statuses/{post['id']}|remixes/999999)$"))
