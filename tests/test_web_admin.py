"""The admin pages of the web app in a real browser (Playwright and Debian's Chromium): domain
rules with the CSV as a file, held videos, the prompt policy, and who may see what.

Screenshots of each admin screen are kept in test-artifacts/.
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

from playwright.async_api import expect

from tests.browser import PHONE, Person, nav, tab_to
from tests.conftest import TEST_GENERATION, eventually
from tests.test_remix_consent import _cameo
from tests.videos import post_videos


async def _held(instance, user: str, prompt: str) -> str:
    """A generation the output safety check holds (the instance holds every one)."""
    job = await instance.api(user, "POST", "/api/v1/generations", json={"prompt": prompt})
    assert job.status_code == 201, job.text

    async def held() -> bool:
        state = (await instance.api(user, "GET", f"/api/v1/generations/{job.json()['id']}")).json()["state"]
        assert state not in ("failed", "succeeded", "cancelled"), state
        return state == "held"

    await eventually(held, timeout=60)
    return job.json()["id"]


async def test_admin_domain_rules_csv_held_videos_prompt_terms(make_instance, browser, tiny_model, tmp_path):
    # At a threshold of 0 every render is held for review.
    a = await make_instance(generation=dataclasses.replace(TEST_GENERATION, model_dir=tiny_model,
                                                           nsfw_threshold=0.0))
    token = await a.signup("boss")
    await a.set_role("boss", "admin")
    await a.signup("alice")
    held_id = await _held(a, "alice", "a cat surfing a wave")

    admin = await Person.open(browser, a.base_url, token, accept_downloads=True)
    page = admin.page
    await admin.go("/app/for-you")
    await nav(page, "Admin").click()
    await expect(page).to_have_url(re.compile(r"/app/admin/reports$"))
    tabs = page.get_by_role("navigation", name="Admin sections")

    # Domain rules: block a domain with its options.
    await tabs.get_by_role("link", name="Domain rules").click()
    await page.locator("summary", has_text="Block a domain").click()
    form = page.get_by_role("form", name="Block a domain")
    await form.get_by_label("Domain", exact=True).fill("spam.example")
    await form.get_by_label("Severity").select_option("suspend")
    await form.get_by_role("checkbox", name=re.compile("^Reject remix requests")).check()
    await form.get_by_label("Public comment").fill("Spam, <b>only</b> spam")
    await form.get_by_role("button", name="Block").click()
    rule = page.locator('.rule[data-domain="spam.example"]')
    await expect(rule.get_by_text("Suspended")).to_be_visible()
    await expect(rule.get_by_text("Spam, <b>only</b> spam")).to_be_visible()  # text, never markup
    [block] = (await a.api("boss", "GET", "/api/v1/admin/domain_blocks")).json()
    assert (block["domain"], block["severity"], block["reject_remix_requests"]) == (
        "spam.example", "suspend", True)
    # The same domain again: the API's refusal shown, with a way to the block in the way.
    await form.get_by_label("Domain", exact=True).fill("spam.example")
    await form.get_by_role("button", name="Block").click()
    await expect(form.get_by_role("alert")).to_contain_text("spam.example is already blocked")
    await expect(form.get_by_role("button", name="Edit the block on spam.example")).to_be_visible()
    await form.get_by_label("Domain", exact=True).fill("")

    # Edit it to a limit.
    await rule.get_by_role("button", name="Edit the block on spam.example").click()
    dialog = page.get_by_role("dialog", name="Block on spam.example")
    await dialog.get_by_label("Severity").select_option("silence")
    await dialog.get_by_role("button", name="Save block").click()
    await expect(dialog).to_be_hidden()
    await expect(rule.get_by_text("Limited")).to_be_visible()

    # Export: a CSV file download in Mastodon's format.
    await page.get_by_text("CSV export and import").click()
    async with page.expect_download() as download_info:
        await page.get_by_role("button", name="Export CSV").click()
    download = await download_info.value
    assert download.suggested_filename == "domain_blocks.csv"
    exported = Path(await download.path()).read_text()
    assert exported.splitlines()[0].startswith("#domain,#severity") and "spam.example,silence" in exported

    # Import: a bad line names itself and nothing is written; a good file adds and updates.
    bad = tmp_path / "bad.csv"
    bad.write_text("#domain,#severity\nok.example,suspend\nnot a domain,suspend\n")
    await page.get_by_label("CSV file to import").set_input_files(bad)
    await page.get_by_role("button", name="Import CSV").click()
    await expect(page.get_by_text("Nothing was imported")).to_be_visible()
    await expect(page.get_by_text(re.compile(r"^line 3: "))).to_be_visible()
    good = tmp_path / "good.csv"
    good.write_text(exported.replace("spam.example,silence", "spam.example,suspend")
                    + "more.example,silence,false,false,,false,false\n")
    await page.get_by_label("CSV file to import").set_input_files(good)
    await page.get_by_role("button", name="Import CSV").click()
    await expect(page.get_by_text("Imported 2 rows: 1 new, 1 updated.")).to_be_visible()
    await expect(page.locator('.rule[data-domain="more.example"]')).to_be_visible()
    await expect(rule.get_by_text("Suspended")).to_be_visible()

    # The allow list and allow-list mode.
    await page.get_by_label("Domain to allow").fill("friends.example")
    await page.get_by_role("button", name="Allow", exact=True).click()
    await expect(page.locator('.rule[data-domain="friends.example"]')).to_be_visible()
    page.once("dialog", lambda d: d.accept())
    await page.get_by_role("radio", name=re.compile("^Allow list")).check()
    await eventually(lambda: _mode_is(a, "allowlist"))
    await admin.screenshot("admin-domains")
    page.once("dialog", lambda d: d.accept())
    await rule.get_by_role("button", name="Remove the block on spam.example").click()
    await expect(rule).to_have_count(0)
    blocks = (await a.api("boss", "GET", "/api/v1/admin/domain_blocks")).json()
    assert [b["domain"] for b in blocks] == ["more.example"]

    # Held videos: watch the draft (fetched with the token), release it.
    await tabs.get_by_role("link", name="Held videos").click()
    card = page.locator(f'.held[data-id="{held_id}"]')
    await expect(card.get_by_role("heading", name="a cat surfing a wave")).to_be_visible()
    await card.get_by_role("button", name=re.compile("^Watch the draft")).click()
    video = card.locator("video")
    await expect(video).to_be_visible()
    await page.wait_for_function("v => v.readyState >= 2", arg=await video.element_handle())
    await admin.screenshot("admin-held-videos")
    await card.get_by_role("button", name=re.compile("^Release")).click()
    await expect(card).to_have_count(0)
    await expect(page.get_by_text("No video is waiting for review.")).to_be_visible()
    mine = (await a.api("alice", "GET", f"/api/v1/generations/{held_id}")).json()
    assert mine["state"] == "succeeded" and mine["result"]

    # Prompt policy: add a term, see it under its category, remove it.
    await tabs.get_by_role("link", name="Prompt policy").click()
    await page.get_by_label("Category").select_option("violence")
    await page.get_by_label("Term", exact=True).fill("laser sword")
    await page.get_by_role("button", name="Add term").click()
    group = page.get_by_role("region", name="Graphic violence")
    await expect(group.get_by_text("laser sword")).to_be_visible()
    [term] = (await a.api("boss", "GET", "/api/v1/admin/prompt_terms")).json()
    assert (term["category"], term["term"]) == ("violence", "laser sword")
    # The term refuses a prompt now, and the refusal log shows it.
    refused = await a.api("alice", "POST", "/api/v1/generations",
                          json={"prompt": "a duel with a laser sword"})
    assert refused.status_code == 422
    await page.reload()
    refusals = page.get_by_role("region", name="Refused prompts")
    await expect(refusals.get_by_text("laser sword")).to_be_visible()
    await page.get_by_label("Flag an account as a public figure").fill("@alice")
    await page.get_by_role("button", name="Flag", exact=True).click()
    await expect(page.get_by_role("button", name="Unflag @alice")).to_be_visible()
    await admin.screenshot("admin-prompt-policy")
    await group.get_by_role("button", name='Remove "laser sword" from Graphic violence').click()
    await expect(group).to_have_count(0)
    assert (await a.api("boss", "GET", "/api/v1/admin/prompt_terms")).json() == []
    await admin.close(expected_errors=re.compile(r"^422 POST .*/api/v1/admin/domain_blocks"))


async def _mode_is(instance, mode: str) -> bool:
    return (await instance.api("boss", "GET", "/api/v1/admin/federation_mode")).json()["mode"] == mode


async def test_admin_pages_are_for_staff_only(make_instance, browser):
    a = await make_instance()
    user = await a.signup("plain")
    mod = await a.signup("mod")
    await a.set_role("mod", "moderator")

    person = await Person.open(browser, a.base_url, user, viewport=PHONE, is_mobile=True, has_touch=True)
    page = person.page
    await person.go("/app/notifications")
    await expect(nav(page, "Notifications")).to_be_visible()
    await expect(nav(page, "Admin")).to_have_count(0)
    for path in ("/app/admin", "/app/admin/generations", "/app/admin/domains"):
        await person.go(path)
        await expect(page.get_by_role("heading", level=1)).to_have_text(
            re.compile("^For (moderators and )?admins only$"))
    await person.screenshot("admin-refused-phone")
    await person.close()

    # A moderator sees the moderators' sections, not the admins'.
    moderator = await Person.open(browser, a.base_url, mod, viewport=PHONE, is_mobile=True, has_touch=True)
    page = moderator.page
    await moderator.go("/app/for-you")
    await nav(page, "Admin").click()
    tabs = page.get_by_role("navigation", name="Admin sections")
    await expect(tabs.get_by_role("link", name="Held videos")).to_be_visible()
    await expect(tabs.get_by_role("link", name="Domain rules")).to_have_count(0)
    await moderator.go("/app/admin/domains")
    await expect(page.get_by_role("heading", level=1)).to_have_text("For admins only")
    await moderator.go("/app/admin/generations")
    await expect(page.get_by_text("No video is waiting for review.")).to_be_visible()
    await moderator.screenshot("admin-held-videos-phone")
    await moderator.close()


async def test_report_a_video_and_a_cameo_then_moderate(make_instance, browser, tmp_path):
    a = await make_instance()
    for user in ("alice", "bob", "carol", "mod", "boss"):
        await a.signup(user)
    await a.set_role("mod", "moderator")
    await a.set_role("boss", "admin")
    [video] = await post_videos(a, "alice", tmp_path, ["buy my pills #deal"])
    await _cameo(a, "alice", name="Alice smiling", permission="everyone")

    # Bob reports the video from its page, as spam, with a comment: with the keyboard only.
    bob = await Person.open(browser, a.base_url, a.tokens["bob"])
    page = bob.page
    await bob.go(f"/app/@alice/{video}")
    await tab_to(page, page.locator(".reel").get_by_role("button", name="Report"))
    await page.keyboard.press("Enter")
    dialog = page.get_by_role("dialog", name="Report this video by @alice")
    await tab_to(page, dialog.get_by_role("radio", name=re.compile("^My likeness")))
    await page.keyboard.press("ArrowDown")
    await expect(dialog.get_by_role("radio", name=re.compile("^Spam"))).to_be_checked()
    await page.keyboard.press("Tab")
    await page.keyboard.type("Pills again, <i>third</i> time")
    await expect(dialog.get_by_label("Comment", exact=True)).to_have_value("Pills again, <i>third</i> time")
    await bob.screenshot("report-dialog", full_page=False)
    await tab_to(page, dialog.get_by_role("button", name="Send report"))
    await page.keyboard.press("Enter")
    await expect(dialog).to_be_hidden()
    await expect(page.locator("#announcer")).to_have_text("Report sent: the moderators will look at it")
    await bob.close()

    # Carol reports Alice's cameo from her profile: "likeness" is chosen already.
    carol = await Person.open(browser, a.base_url, a.tokens["carol"], viewport=PHONE, is_mobile=True,
                              has_touch=True)
    page = carol.page
    await carol.go("/app/@alice")
    await page.get_by_role("button", name="Report the cameo Alice smiling").click()
    dialog = page.get_by_role("dialog", name='Report the cameo "Alice smiling"')
    await expect(dialog.get_by_role("radio", name=re.compile("^My likeness"))).to_be_checked()
    await dialog.get_by_role("button", name="Send report").click()
    await expect(dialog).to_be_hidden()
    await carol.close()

    reports = (await a.api("mod", "GET", "/api/v1/admin/reports")).json()
    assert [(r["category"], r["account"]["username"]) for r in reports] == [
        ("likeness", "carol"), ("spam", "bob")]
    spam = reports[1]
    assert spam["comment"] == "Pills again, <i>third</i> time" and spam["status_ids"] == [video]

    # The moderator works through the queue.
    mod = await Person.open(browser, a.base_url, a.tokens["mod"])
    page = mod.page
    await mod.go("/app/for-you")
    await nav(page, "Admin").click()
    await expect(page.get_by_role("link", name=re.compile(r"^Report #\d+ on @alice$"))).to_have_count(2)
    await expect(page.get_by_text("Pills again, <i>third</i> time")).to_be_visible()
    await mod.screenshot("admin-reports")
    await page.get_by_role("link", name=f"Report #{spam['id']} on @alice").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text(f"Report #{spam['id']} on @alice")
    await page.get_by_role("button", name="Assign to me").click()
    await expect(page.get_by_role("button", name="Unassign")).to_be_visible()
    await page.get_by_role("button", name=f"Hide post {video}").click()
    await expect(page.get_by_text(f"hid a post (post {video})")).to_be_visible()
    form = page.get_by_role("form", name="Resolve this report")
    await form.get_by_label("Action on the account").select_option("silence")
    await form.get_by_label("Note", exact=True).fill("Spam, limited for now")
    await form.get_by_role("button", name="Resolve").click()
    await expect(page.locator("dl.facts").get_by_text("Resolved")).to_be_visible()
    audit = page.locator("ol.audit")
    await expect(audit.get_by_text("limited the account")).to_be_visible()
    await expect(audit.get_by_text("Spam, limited for now")).to_be_visible()
    await expect(audit.get_by_text("resolved it")).to_be_visible()
    await mod.screenshot("admin-report")
    report = (await a.api("mod", "GET", f"/api/v1/admin/reports/{spam['id']}")).json()
    assert report["action_taken"] and report["target_account"]["silenced"]
    assert (await a.api("carol", "GET", f"/api/v1/statuses/{video}")).status_code == 404
    # Bob hears that his report was dealt with.
    notes = (await a.api("bob", "GET", "/api/v1/notifications", params={"types[]": "report_resolved"})).json()
    assert [n["type"] for n in notes] == ["report_resolved"]

    # Users: find Alice, lift the limit, suspend her with a note, lift that too.
    await page.get_by_role("navigation", name="Admin sections").get_by_role("link", name="Users").click()
    await page.get_by_label("Name", exact=True).fill("ali")
    await page.get_by_role("button", name="Search").click()
    await expect(page).to_have_url(re.compile(r"/app/admin/accounts\?username=ali$"))
    found = page.get_by_role("list", name="Users found").get_by_role("listitem")
    await expect(found).to_have_count(1)
    await expect(found.get_by_text("Limited")).to_be_visible()
    await mod.screenshot("admin-users")
    await found.get_by_role("link").click()
    await page.get_by_role("button", name="Lift the limit").click()
    await expect(page.get_by_role("button", name="Lift the limit")).to_have_count(0)
    form = page.get_by_role("form", name="Act on this account")
    await form.get_by_label("Action").select_option("suspend")
    await form.get_by_label("Note", exact=True).fill("Repeated spam")
    page.once("dialog", lambda d: d.accept())
    await form.get_by_role("button", name="Apply").click()
    await expect(page.locator(".summary").get_by_text("Suspended")).to_be_visible()
    assert (await a.api("alice", "GET", "/api/v1/accounts/verify_credentials")).status_code == 401
    await expect(page.get_by_role("form", name="Role")).to_have_count(0)  # moderators set no roles
    await page.get_by_role("button", name="Lift the suspension").click()
    await expect(page.locator(".summary").get_by_text("Suspended")).to_have_count(0)
    # The account's audit log, newest first, names the report an entry came under.
    entries = page.locator("ol.audit > li")
    await expect(entries.first).to_contain_text("@mod lifted the suspension")
    await expect(entries.nth(1)).to_contain_text("suspended the account")
    await expect(entries.nth(1)).to_contain_text("Repeated spam")
    await expect(entries.get_by_text(f"resolved it (report #{spam['id']})")).to_be_visible()
    # A moderator cannot act on an admin: the API's refusal is shown.
    boss_id = (await a.api("boss", "GET", "/api/v1/accounts/verify_credentials")).json()["id"]
    await mod.go(f"/app/admin/accounts/{boss_id}")
    form = page.get_by_role("form", name="Act on this account")
    page.once("dialog", lambda d: d.accept())
    await form.get_by_role("button", name="Apply").click()
    await expect(form.get_by_role("alert")).not_to_be_empty()
    await mod.close(expected_errors=re.compile(r"^403 POST .*/api/v1/admin/accounts/\d+/action$"))

    # An admin makes Carol a moderator.
    admin = await Person.open(browser, a.base_url, a.tokens["boss"], viewport=PHONE, is_mobile=True,
                              has_touch=True)
    page = admin.page
    await admin.go("/app/admin/accounts?username=carol")
    await page.get_by_role("list", name="Users found").get_by_role("link").click()
    form = page.get_by_role("form", name="Role")
    await form.get_by_label("Role", exact=True).select_option("moderator")
    await form.get_by_role("button", name="Save role").click()
    await expect(page.locator(".summary").get_by_text("Moderator")).to_be_visible()
    await expect(page.locator("ol.audit > li").first).to_contain_text(
        "@boss changed the role from user to moderator")
    await admin.screenshot("admin-user-phone")
    me = (await a.api("carol", "GET", "/api/v1/accounts/verify_credentials")).json()
    assert me["role"] == {"name": "moderator"}
    await admin.close()
