"""The page where a person lets another app in, in a real browser: styled as this server's app
(its stylesheet loads under the page's policy), naming this server and what the app asks for."""

from __future__ import annotations

from urllib.parse import urlencode

from playwright.async_api import expect

from tests.browser import PHONE, Person
from tests.conftest import PASSWORD

OOB = "urn:ietf:wg:oauth:2.0:oob"


async def test_sign_in_from_another_app(make_instance, browser):
    a = await make_instance(instance_name="Likeness")
    await a.signup("alice")
    app = (await a.api(None, "POST", "/api/v1/apps", json={
        "client_name": "Ivory", "redirect_uris": OOB, "scopes": "read write:statuses follow"})).json()
    query = urlencode({"response_type": "code", "client_id": app["client_id"], "redirect_uri": OOB,
                       "scope": "read write:statuses follow"})
    for name, size in (("oauth-sign-in-phone", PHONE), ("oauth-sign-in-desktop", None)):
        person = await Person.open(browser, a.base_url, **({"viewport": size} if size else {}))
        page = person.page
        await person.go(f"/oauth/authorize?{query}")
        await expect(page).to_have_title(f"Sign in to Likeness ({a.domain}) — Ivory wants access")
        await expect(page.get_by_role("heading", name="Sign in to Likeness")).to_be_visible()
        await expect(page.locator(".scope-list li")).to_have_count(3)
        allow = page.get_by_role("button", name="Let Ivory in")
        # The app's stylesheet loads under the page's policy: the button is the app's round one.
        assert await allow.evaluate("b => getComputedStyle(b).borderRadius") == "999px"
        await person.screenshot(name)
        if size is None:
            await page.get_by_label("Username or email").fill("alice")
            await page.get_by_label("Password").fill(PASSWORD)
            await allow.click()
            await expect(page.get_by_role("heading", name="Your authorization code")).to_be_visible()
        await person.close()
