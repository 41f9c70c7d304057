"""The notifications screen in a real browser: every kind reads as a sentence, with who did it
(when someone did), a link to what it is about, and a moderator's note."""

from __future__ import annotations

import re

from playwright.async_api import expect

from federation import store as fstore
from generation import store as gstore
from tests.browser import Person
from tests.test_reports import _me, _post


async def test_notifications_read_as_sentences(make_instance, browser):
    a = await make_instance()
    for user in ("ana", "carol", "mod"):
        await a.signup(user)
    await a.set_role("mod", "moderator")
    ana, carol = await _me(a, "ana"), await _me(a, "carol")
    await a.api("carol", "POST", f"/api/v1/accounts/{ana['id']}/follow")
    video = await _post(a, "ana", "sunset #sea")
    await a.api("carol", "POST", f"/api/v1/statuses/{video['id']}/favourite")
    await _post(a, "carol", "lovely light", in_reply_to_id=video["id"])
    report = (await a.api("carol", "POST", "/api/v1/reports", json={
        "account_id": ana["id"], "comment": "looks like my neighbour"})).json()
    warned = await a.api("mod", "POST", f"/api/v1/admin/accounts/{ana['id']}/action",
                         json={"type": "sensitive", "text": "Please mark videos with flashing light."})
    assert warned.status_code == 200, warned.text
    # A request to use a cameo, and an answer from a server that did not say who withdrew it.
    ana_user = await a.pool.fetchval("SELECT user_id FROM actors WHERE id = $1", int(ana["id"]))
    await fstore.insert_notification(a.pool, ana_user, "remix_request", int(carol["id"]))
    await fstore.insert_notification(a.pool, ana_user, "remix_revoked", None)
    # A report another server sent (its instance actor reports), then one this server opened
    # itself (a held render), which nobody reported.
    remote = await a.pool.fetchval(
        "INSERT INTO actors (uri, local, username, domain, type, display_name)"
        " VALUES ('https://remote.example/actor', false, 'remote.example', 'remote.example',"
        " 'Application', 'Instance actor') RETURNING id")
    async with a.pool.acquire() as conn:
        await fstore.open_report(conn, reporter_id=remote, target_id=int(ana["id"]), category="other",
                                 comment="spam from here", post_ids=[], cameo_ids=[],
                                 origin_domain="remote.example")
        await gstore.open_system_report(conn, generation_id=None, account_id=int(ana["id"]),
                                        reason="the output check held a render")

    person = await Person.open(browser, a.base_url, a.tokens["ana"])
    page = person.page
    await person.go("/app/notifications")
    sentences = page.locator(".notification .sentence")
    expected = [
        "Consent for your remix was withdrawn: its video was deleted.",
        "carol asks to use your cameo in a video.",
        "A moderator marked your account as sensitive.",
        "carol replied to you.",
        "carol liked your video.",
        "carol followed you.",
    ]
    await expect(sentences).to_have_count(len(expected))
    for sentence, text in zip(await sentences.all(), expected, strict=True):
        await expect(sentence).to_contain_text(re.compile(rf"^{re.escape(text)} \d+ s ago$"))
    warning = page.locator('.notification[data-type="moderation_warning"]')
    await expect(warning.locator(".note")).to_have_text(
        "The moderator's note: Please mark videos with flashing light.")
    request = page.locator('.notification[data-type="remix_request"]')
    await expect(request.get_by_role("link", name="carol")).to_have_attribute(
        "href", f"{a.base_url}/app/@carol")
    await expect(request.get_by_role("link", name="Answer in your consent inbox")).to_have_attribute(
        "href", f"{a.base_url}/app/consent")
    liked = page.locator('.notification[data-type="favourite"]')
    await expect(liked.get_by_role("link", name="Open the video")).to_have_attribute(
        "href", f"{a.base_url}/app/@ana/{video['id']}")
    await expect(page.get_by_text(re.compile("Someone|Instance actor|moderation warning"))).to_have_count(0)
    await person.screenshot("notifications-in-words")
    await person.close()

    # Staff read who reported whom, and open the report.
    staff = await Person.open(browser, a.base_url, a.tokens["mod"])
    page = staff.page
    await staff.go("/app/notifications")
    reports = page.locator('.notification[data-type="admin\\.report"]')
    await expect(reports.locator(".sentence")).to_contain_text([
        re.compile(r"^A new report about ana waits\."),
        re.compile(r"^remote\.example sent a report about ana\."), re.compile(r"^carol reported ana\.")])
    await expect(reports.locator(".note")).to_have_text([
        "the output check held a render", "spam from here", "looks like my neighbour"])
    await expect(page.get_by_text(re.compile("Someone|Instance actor|admin\\.report"))).to_have_count(0)
    await staff.screenshot("notifications-staff")
    await reports.nth(2).get_by_role("link", name="Open the report").click()
    await expect(page).to_have_url(re.compile(rf"/app/admin/reports/{report['id']}$"))
    await expect(page.get_by_text("looks like my neighbour")).to_be_visible()
    await staff.close()
