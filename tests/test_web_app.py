"""The web app in a real browser: Playwright drives Debian's Chromium against running instances.

Screenshots of the main screens are kept in test-artifacts/ at the repository root.
"""

from __future__ import annotations

import re
from pathlib import Path

from PIL import Image
from playwright.async_api import expect

from tests.browser import PHONE, Person, nav, sign_up, tab_to
from tests.conftest import PASSWORD, eventually
from tests.test_remix_consent import _cameo
from tests.test_remix_posts import _published_remix
from tests.videos import post_videos


def _photo(path: Path, color: tuple[int, int, int]) -> Path:
    image = Image.new("RGB", (96, 128), color)
    image.paste((240, 200, 160), (28, 24, 68, 80))  # a face, roughly
    image.save(path, "JPEG")
    return path


async def test_sign_up_cameo_remix_consent_publish_like_revoke(make_instance, browser, tmp_path):
    a = await make_instance()
    alice = await Person.open(browser, a.base_url, permissions=["clipboard-read", "clipboard-write"])
    bob = await Person.open(browser, a.base_url)
    await sign_up(a, alice, "alice")
    await sign_up(a, bob, "bob")

    # Alice sets up a cameo that anyone may ask for, each request answered by her.
    page = alice.page
    await alice.go("/app/cameos")
    await page.get_by_role("link", name="New cameo").click()
    await page.get_by_label("Name", exact=True).fill("Alice in a raincoat")
    await page.get_by_label("Instructions").fill("Always in the yellow raincoat, never sad.")
    await page.get_by_label("Reference photos (1 to 5)").set_input_files(
        [_photo(tmp_path / "front.jpg", (40, 90, 160)), _photo(tmp_path / "side.jpg", (60, 120, 90))])
    await page.get_by_label("Public preview").set_input_files(
        _photo(tmp_path / "preview.jpg", (200, 180, 40)))
    await page.get_by_role("radio", name=re.compile("^Everyone")).check()
    await page.get_by_role("radio", name=re.compile("^I approve each request")).check()
    await expect(page.get_by_role("img", name="Reference photo 2")).to_be_visible()
    await alice.screenshot("cameo-setup")
    await page.get_by_role("button", name="Create cameo").click()
    await expect(page.get_by_role("heading", name="Alice in a raincoat")).to_be_visible()
    cameo = (await a.api("alice", "GET", "/api/v1/cameos")).json()[0]
    assert (cameo["permission"], cameo["approval"], cameo["references"]) == ("everyone", "manual", 2)

    # Bob finds her cameo by her handle, sees that she must consent, and asks.
    page = bob.page
    await nav(page, "Create").click()
    await page.get_by_label("Handle or cameo link").fill("@alice")
    await page.get_by_role("button", name="Find").click()
    await page.get_by_role("button", name="Add Alice in a raincoat").click()
    await expect(page.get_by_text("Needs consent from @alice")).to_be_visible()
    await page.get_by_label("Prompt").fill("alice dancing in the rain")
    await bob.screenshot("composer")
    await page.get_by_role("button", name="Ask for consent and create").click()
    await expect(page).to_have_url(re.compile(r"/app/remixes/\d+$"))
    await expect(page.locator(".answer")).to_have_attribute("data-state", "pending")
    await expect(page.get_by_text("@alice has not answered yet")).to_be_visible()
    # Every state the progress panel shows from here on is recorded.
    await page.evaluate("""() => {
        window.seenStates = [];
        const panel = document.querySelector('.progress-panel');
        const note = () => {
            const state = panel.dataset.state;
            if (state && window.seenStates.at(-1) !== state) window.seenStates.push(state);
        };
        new MutationObserver(note).observe(panel, {attributes: true, subtree: true});
        note();
    }""")

    # Alice approves it in her consent inbox.
    page = alice.page
    await nav(page, "Consent").click()
    await expect(page.get_by_text("alice dancing in the rain")).to_be_visible()
    await alice.screenshot("consent-inbox")
    await page.get_by_role("button", name="Approve @bob's request").click()
    await expect(page.get_by_role("heading", name="Uses of your cameos (1)")).to_be_visible()
    draft = re.compile(r"Draft on 127\.0\.0\.1:\d+: not published yet")
    await expect(page.get_by_text(draft)).to_be_visible()

    # Bob sees her answer, then the render's progress to the end, and publishes the draft.
    page = bob.page
    await expect(page.get_by_text("@alice said yes")).to_be_visible()
    panel = page.locator(".progress-panel")
    await expect(panel).to_have_attribute("data-state", "succeeded", timeout=60_000)
    await expect(panel.locator(".gen-state")).to_have_text("Done")
    bar = panel.locator("progress")
    assert await bar.get_attribute("value") == await bar.get_attribute("max") == "2"
    seen = await page.evaluate("window.seenStates")
    assert seen[-1] == "succeeded" and len(seen) >= 2, seen
    await expect(page.get_by_role("heading", name="Publish")).to_be_visible()
    await bob.screenshot("generation")
    await page.get_by_label("Caption").fill("Rain dance with @alice #rain")
    await page.get_by_role("button", name="Publish").click()
    await expect(page).to_have_url(re.compile(r"/app/@bob/\d+$"))
    status_id = page.url.rsplit("/", 1)[1]
    await expect(page.locator(".reel .ai-label")).to_have_text("AI-generated")
    # It credits whose likeness it shows, linking to her profile.
    credit = page.locator(".reel .credits")
    await expect(credit).to_have_text("with @alice")
    await expect(credit.get_by_role("link", name="@alice")).to_have_attribute(
        "href", f"{a.base_url}/app/@alice")

    # Alice finds it in the Local feed, labelled AI-generated, and likes it.
    page = alice.page
    await nav(page, "Home").click()
    await page.get_by_role("navigation", name="Feeds").get_by_role("link", name="Local").click()
    reel = page.locator(f'.reel[data-status-id="{status_id}"]')
    await expect(reel).to_have_attribute("data-active", "true")
    await expect(reel.locator(".ai-label")).to_have_text("AI-generated")
    await expect(reel.locator(".ai-label")).to_be_visible()
    await expect(reel.get_by_text("Rain dance with")).to_be_visible()
    await expect(reel.locator(".credits")).to_have_text("with @alice")
    like = reel.get_by_role("button", name=re.compile("^Like"))
    await like.click()
    await expect(like).to_have_attribute("aria-pressed", "true")
    await expect(like).to_have_accessible_name("Like 1")
    await alice.screenshot("feed", full_page=False)
    status = (await a.api("bob", "GET", f"/api/v1/statuses/{status_id}")).json()
    assert status["favourites_count"] == 1 and status["cameos"][0]["owner"] == f"{a.base_url}/users/alice"
    boost = reel.get_by_role("button", name=re.compile("^Boost"))
    await boost.click()
    await expect(boost).to_have_accessible_name("Boost 1")
    # Share copies the post's link.
    await reel.get_by_role("button", name="Copy link").click()
    assert await page.evaluate("navigator.clipboard.readText()") == status["url"]
    # Remix opens the composer with the video's cameos: here Alice's own.
    await reel.get_by_role("button", name="Remix").click()
    await expect(page.get_by_text("Yours: no consent needed")).to_be_visible()
    await expect(page.get_by_role("checkbox", name="Star Alice in a raincoat")).to_be_checked()

    # Bob's profile shows the video, Alice's her cameo.
    await bob.go("/app/@bob")
    await expect(bob.page.get_by_role("link", name=re.compile("Video|AI-generated"))).to_have_count(1)
    await bob.screenshot("profile-videos")
    await alice.go("/app/@alice")
    await expect(alice.page.get_by_role("heading", name="Alice in a raincoat")).to_be_visible()
    await alice.screenshot("profile")

    # Alice revokes the use: the video is gone for Bob and from the feed.
    page = alice.page
    await nav(page, "Consent").click()
    await expect(page.get_by_text(re.compile(r"Published on 127\.0\.0\.1:\d+"))).to_be_visible()
    page.once("dialog", lambda dialog: dialog.accept())
    await page.get_by_role("button", name="Revoke @bob's use").click()
    await expect(page.get_by_role("heading", name="Refused and withdrawn")).to_be_visible()
    await expect(page.get_by_text("You withdrew your consent.")).to_be_visible()
    await eventually(lambda: _gone(a, status_id))
    await bob.go("/app/local")
    await expect(bob.page.get_by_text("No videos here yet.")).to_be_visible()
    await nav(bob.page, "Notifications").click()
    await expect(bob.page.get_by_text("withdrew consent for your remix")).to_be_visible()
    await bob.screenshot("notifications")

    await alice.close()
    await bob.close()


async def _gone(instance, status_id: str) -> bool:
    return (await instance.api(None, "GET", f"/api/v1/statuses/{status_id}")).status_code == 404


async def test_feed_with_the_keyboard_only_and_on_a_phone(make_instance, browser, tmp_path):
    a = await make_instance()
    await a.signup("carol")
    token = await a.signup("dave")
    captions = ["first #sea", "second #sea", "third #sea"]
    newest_first = list(reversed(await post_videos(a, "carol", tmp_path, captions)))

    dave = await Person.open(browser, a.base_url, token)
    page = dave.page
    await dave.go("/app/local")
    reels = page.locator(".reel")
    await expect(reels.nth(0)).to_have_attribute("data-active", "true")
    await page.wait_for_function("""() => {
        const video = document.querySelector('.reel[data-active] video');
        return !video.paused && video.muted && video.loop;
    }""")
    # The next video is loaded before it is needed.
    await expect(reels.nth(1).locator("video")).to_have_attribute("preload", "auto")

    async def active_index() -> int:
        return int(await page.locator(".reel[data-active]").get_attribute("data-index"))

    await page.keyboard.press("j")
    await expect(reels.nth(1)).to_have_attribute("data-active", "true")
    await page.keyboard.press("ArrowDown")
    await expect(reels.nth(2)).to_have_attribute("data-active", "true")
    await page.keyboard.press("k")
    await expect(reels.nth(1)).to_have_attribute("data-active", "true")
    assert await active_index() == 1
    await expect(reels.nth(1)).to_be_focused()
    await expect(reels.nth(1)).to_be_in_viewport(ratio=0.9)

    # Tab walks into the video's own controls, each visibly focused, up to Like.
    like = reels.nth(1).get_by_role("button", name=re.compile("^Like"))
    await tab_to(page, like, most=5)
    await expect(like).to_be_focused()
    await page.keyboard.press("Enter")
    await expect(like).to_have_attribute("aria-pressed", "true")
    liked = (await a.api("dave", "GET", f"/api/v1/statuses/{newest_first[1]}")).json()
    assert liked["favourited"] is True and liked["content"].startswith("<p>second")
    # m turns the sound on; l likes from anywhere in the feed.
    await page.keyboard.press("m")
    assert await page.evaluate("document.querySelector('.reel[data-active] video').muted") is False
    await page.keyboard.press("j")
    await expect(reels.nth(2)).to_have_attribute("data-active", "true")
    await page.keyboard.press("l")
    await expect(reels.nth(2).get_by_role("button", name=re.compile("^Like"))).to_have_attribute(
        "aria-pressed", "true")

    # Comments open in a dialog, and are written and sent from the keyboard.
    comments = reels.nth(2).get_by_role("button", name=re.compile("^Comments"))
    await tab_to(page, comments)
    await page.keyboard.press("Enter")
    dialog = page.get_by_role("dialog", name="Comments")
    await expect(dialog.get_by_text("No comments yet.")).to_be_visible()
    await tab_to(page, dialog.get_by_label("Add a comment"))
    await page.keyboard.type("Lovely waves")
    await tab_to(page, dialog.get_by_role("button", name="Post comment"))
    await page.keyboard.press("Enter")
    await expect(dialog.get_by_role("listitem").get_by_text("Lovely waves")).to_be_visible()
    await page.keyboard.press("Escape")
    await expect(dialog).to_be_hidden()
    await expect(comments).to_be_focused()
    await expect(comments).to_have_accessible_name("Comments 1")

    # For You is steered from the same keyboard: less of a creator.
    await nav(page, "Home").click()
    await expect(reels.nth(0)).to_have_attribute("data-active", "true")
    steer = page.locator(".reel[data-active]").get_by_role("button", name="More or less like this")
    await tab_to(page, steer)
    await page.keyboard.press("Enter")
    dialog = page.get_by_role("dialog", name="More or less like this")
    await expect(dialog.get_by_role("button", name="More #sea")).to_be_visible()
    await tab_to(page, dialog.get_by_role("button", name="Less from @carol"))
    await page.keyboard.press("Enter")
    await expect(dialog).to_be_hidden()
    [choice] = (await a.api("dave", "GET", "/api/v1/for_you/preferences")).json()
    assert (choice["direction"], choice["account"]["acct"]) == ("less", "carol")
    await dave.close()

    # A phone: the video fills the screen,; a swipe brings the next one.
    phone = await Person.open(browser, a.base_url, viewport=PHONE, is_mobile=True, has_touch=True)
    page = phone.page
    await phone.go("/app/local")
    video = page.locator(".reel[data-active] video")
    await expect(video).to_be_visible()
    assert await video.bounding_box() == {"x": 0, "y": 0, **PHONE}
    # Uploads not declared AI-generated: no label (tests/test_web_app_label.py shows one that is).
    await expect(page.locator(".reel[data-active] .ai-label")).to_have_count(0)
    await phone.screenshot("feed-phone", full_page=False)
    await video.tap()
    assert await video.evaluate("v => v.muted") is False
    await _swipe_up(phone)
    await expect(page.locator(".reel").nth(0)).not_to_have_attribute("data-active", "true")
    assert int(await page.locator(".reel[data-active]").get_attribute("data-index")) >= 1
    await phone.close()


async def test_sign_in_edit_pause_and_delete_a_cameo_sign_out(make_instance, browser, tmp_path):
    a = await make_instance()
    token = await a.signup("gil")
    await a.signup("hana")
    await _cameo(a, "gil", name="Gil", instructions="smiling")
    person = await Person.open(browser, a.base_url)
    page = person.page
    # A screen that needs an account asks to sign in first, then comes back.
    await person.go("/app/cameos")
    await expect(page).to_have_url(re.compile(r"/app/login\?next=%2Fapp%2Fcameos$"))
    await page.get_by_label("Username or email").fill("gil@example.com")
    await page.get_by_label("Password").fill("wrong password")
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_role("alert")).not_to_be_empty()
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page).to_have_url(re.compile(r"/app/cameos$"))
    await page.get_by_role("button", name="Pause Gil").click()
    await expect(page.get_by_role("button", name="Resume Gil")).to_be_focused()
    await expect(page.get_by_text("Paused", exact=True)).to_be_visible()
    assert (await a.api("gil", "GET", "/api/v1/cameos")).json()[0]["paused"] is True
    await page.get_by_role("button", name="Resume Gil").click()
    await expect(page.get_by_role("button", name="Pause Gil")).to_be_visible()

    # Only the people Gil approves, Hana among them, each request asked.
    await page.get_by_role("link", name="Edit Gil").click()
    await page.get_by_label("Instructions").fill("smiling, in a green hat")
    await page.get_by_role("radio", name=re.compile("^People I approve")).check()
    await page.get_by_role("radio", name=re.compile("^I approve each request")).check()
    await page.get_by_label("Add someone").fill("@hana")
    await page.get_by_role("button", name="Add", exact=True).click()
    await expect(page.get_by_role("button", name="Remove @hana")).to_be_visible()
    await page.get_by_role("button", name="Save changes").click()
    await expect(page.get_by_text("People I approve; the owner approves each request.")).to_be_visible()
    [cameo] = (await a.api("gil", "GET", "/api/v1/cameos")).json()
    assert (cameo["instructions"], cameo["permission"], cameo["approval"]) == (
        "smiling, in a green hat", "approved", "manual")
    assert [acct["acct"] for acct in cameo["approved_accounts"]] == ["hana"]

    page.once("dialog", lambda dialog: dialog.accept())
    await page.get_by_role("button", name="Delete Gil").click()
    await expect(page.get_by_role("heading", name="Your cameos")).to_be_focused()
    await expect(page.get_by_role("button", name="Delete Gil")).to_have_count(0)
    assert (await a.api("gil", "GET", "/api/v1/cameos")).json() == []

    # Signing out revokes the token the page held.
    held = await page.evaluate("localStorage.getItem('likeness.token')")
    assert held != token
    await nav(page, "Profile").click()
    await page.get_by_role("button", name="Sign out").click()
    await expect(nav(page, "Sign in")).to_be_visible()
    assert await page.evaluate("localStorage.getItem('likeness.token')") is None
    async with a.client() as client:
        me = await client.get("/api/v1/accounts/verify_credentials",
                              headers={"Authorization": f"Bearer {held}"})
    assert me.status_code == 401
    await person.close(expected_errors=re.compile(r"^4\d\d POST .*/oauth/token$"))  # the wrong password


async def _swipe_up(person: Person) -> None:
    """A finger dragged up the screen, as real touch events."""
    cdp = await person.context.new_cdp_session(person.page)
    await cdp.send("Input.dispatchTouchEvent", {"type": "touchStart", "touchPoints": [{"x": 195, "y": 700}]})
    for y in range(680, 280, -20):
        await cdp.send("Input.dispatchTouchEvent", {"type": "touchMove", "touchPoints": [{"x": 195, "y": y}]})
    await cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})


async def test_reduced_motion_waits_for_play(make_instance, browser, tmp_path):
    a = await make_instance()
    await a.signup("erin")
    await post_videos(a, "erin", tmp_path, ["calm"])
    person = await Person.open(browser, a.base_url, reduced_motion="reduce")
    page = person.page
    await person.go("/app/local")
    play = page.get_by_role("button", name="Play")
    await expect(play).to_be_visible()
    assert await page.evaluate("document.querySelector('.reel video').paused") is True
    await play.click()
    await page.wait_for_function("() => !document.querySelector('.reel video').paused")
    await person.close()


async def test_generation_progress_falls_back_to_polling(make_instance, browser):
    a = await make_instance()
    token = await a.signup("fran")
    person = await Person.open(browser, a.base_url, token)
    # No event stream gets through (a proxy that buffers it, say): the screen polls instead.
    await person.context.route(re.compile(r"/events$"), lambda route: route.abort())
    page = person.page
    await person.go("/app/compose")
    # The instance renders with the tiny model: every screen that makes or shows a render says so.
    demo_note = page.get_by_role("note").filter(has_text="videos are noise")
    await expect(demo_note).to_contain_text("LIKENESS_MODEL_DIR")
    await person.screenshot("composer-demo-model")
    await page.get_by_label("Prompt").fill("a lighthouse in a storm")
    await page.get_by_role("button", name="Create video").click()
    await expect(page).to_have_url(re.compile(r"/app/generations/\d+$"))
    await expect(demo_note).to_be_visible()
    await expect(page.locator(".progress-panel")).to_have_attribute("data-state", "succeeded", timeout=60_000)
    # The draft waits in Drafts until it is published.
    await nav(page, "Drafts").click()
    await expect(demo_note).to_be_visible()
    prompt = page.get_by_role("heading", name="a lighthouse in a storm")
    draft = page.get_by_role("listitem").filter(has=prompt)
    await draft.get_by_label("Caption").fill("Stormy")
    await draft.get_by_role("button", name="Publish").click()
    await expect(page).to_have_url(re.compile(r"/app/@fran/\d+$"))
    await nav(page, "Drafts").click()
    await expect(page.get_by_text("No drafts.")).to_be_visible()
    await person.close(expected_errors=re.compile(r"ERR_FAILED"))


async def _rendered_draft(a, username: str, prompt: str) -> dict:
    """A generation of `username`'s, once its draft is rendered."""
    made = await a.api(username, "POST", "/api/v1/generations", json={"prompt": prompt})
    assert made.status_code == 201, made.text

    async def rendered():
        job = (await a.api(username, "GET", f"/api/v1/generations/{made.json()['id']}")).json()
        return job if job["state"] == "succeeded" else None

    return await eventually(rendered, timeout=60)


async def test_discard_a_draft(make_instance, browser):
    a = await make_instance()
    token = await a.signup("gus")
    job = await _rendered_draft(a, "gus", "a kite over a beach")
    job_id, media_id = job["id"], job["result"]["id"]
    person = await Person.open(browser, a.base_url, token)
    page = person.page
    await person.go("/app/drafts")
    draft = page.get_by_role("listitem").filter(has=page.get_by_role("heading", name="a kite over a beach"))
    await expect(draft.get_by_text("unless you publish it")).to_be_visible()  # 30 days by default
    # The draft plays from the address signed for gus, though a <video> sends no token.
    video = await draft.locator("video").element_handle()
    await page.wait_for_function("v => v.readyState >= 1 && v.duration > 0", arg=video)
    assert "signature=" in await video.get_attribute("src")
    page.once("dialog", lambda dialog: dialog.accept())
    await draft.get_by_role("button", name="Discard").click()
    await expect(page.get_by_text("No drafts.")).to_be_visible()
    job = (await a.api("gus", "GET", f"/api/v1/generations/{job_id}")).json()
    assert (job["state"], job["result"]) == ("discarded", None)
    assert await a.pool.fetchval("SELECT count(*) FROM media WHERE id = $1", int(media_id)) == 0
    await person.close()


async def test_delete_account_from_the_profile(make_instance, browser):
    a = await make_instance()
    person = await Person.open(browser, a.base_url)
    page = person.page
    await sign_up(a, person, "ivy")
    await _cameo(a, "ivy", name="Ivy")
    await nav(page, "Profile").click()
    await page.get_by_role("button", name="Delete account").click()
    dialog = page.get_by_role("dialog", name="Delete your account")
    await dialog.get_by_label("Password").fill("wrong password")
    await dialog.get_by_role("button", name="Delete my account").click()
    await expect(dialog.get_by_role("alert")).to_have_text("wrong password")
    assert (await a.api("ivy", "GET", "/api/v1/accounts/verify_credentials")).status_code == 200
    await dialog.get_by_label("Password").fill(PASSWORD)
    await dialog.get_by_role("button", name="Delete my account").click()
    await expect(nav(page, "Sign in")).to_be_visible()
    assert await page.evaluate("localStorage.getItem('likeness.token')") is None
    async with a.client() as client:
        actor = await client.get("/users/ivy", headers={"Accept": "application/activity+json"})
    assert actor.status_code == 410
    assert await a.pool.fetchval("SELECT count(*) FROM cameos WHERE deleted_at IS NULL") == 0
    await person.close(expected_errors=re.compile(r"^403 POST .*/api/v1/account/delete$"))


async def test_search_a_remote_account_and_follow_it_on_a_phone(make_instance, browser, tmp_path):
    a, b = await make_instance("a"), await make_instance("b")
    await b.signup("bob")
    [video_id] = await post_videos(b, "bob", tmp_path, ["Puddles #rain"])
    video_url = (await b.api(None, "GET", f"/api/v1/statuses/{video_id}")).json()["url"]
    await a.signup("carol")
    await a.api("carol", "POST", "/api/v1/statuses", json={"status": "Wet #raincoat"})

    alice = await Person.open(browser, a.base_url, viewport=PHONE, is_mobile=True, has_touch=True)
    page = alice.page
    await sign_up(a, alice, "alice")
    await nav(page, "Search").tap()
    search = page.get_by_role("searchbox", name="Search")
    await search.fill(f"@bob@{b.domain}")
    await search.press("Enter")
    result = page.get_by_role("link", name=f"bob @bob@{b.domain}")
    await expect(result).to_be_visible()
    await alice.screenshot("search-phone", full_page=False)
    await result.tap()
    await expect(page).to_have_url(f"{a.base_url}/app/@bob@{b.domain}")
    follow = page.get_by_role("button", name="Follow")
    await follow.tap()
    await expect(page.get_by_role("button", name=re.compile("^(Unfollow|Requested)$"))).to_be_visible()
    bob = (await b.api(None, "GET", "/api/v1/accounts/lookup", params={"acct": "bob"})).json()
    await eventually(lambda: _followers(b, bob["id"], 1))

    # A hashtag opens its feed; a post's link opens the post.
    await nav(page, "Search").tap()
    await search.fill("#rain")
    await search.press("Enter")
    await page.get_by_role("link", name="#raincoat").tap()
    await expect(page).to_have_url(f"{a.base_url}/app/tags/raincoat")
    await nav(page, "Search").tap()
    await search.fill(video_url)
    await search.press("Enter")
    await page.get_by_role("link", name=re.compile("Puddles")).tap()
    await expect(page).to_have_url(re.compile(rf"/app/@bob@{re.escape(b.domain)}/\d+$"))
    await expect(page.locator(".reel-caption")).to_contain_text("Puddles")

    # Nothing found says so.
    await nav(page, "Search").tap()
    await search.fill("nobody-here")
    await search.press("Enter")
    await expect(page.get_by_text("Nothing found for “nobody-here”.")).to_be_visible()
    await alice.close()


async def _followers(instance, account_id: str, expected: int) -> bool:
    account = (await instance.api(None, "GET", f"/api/v1/accounts/{account_id}")).json()
    return account["followers_count"] == expected


async def test_a_remix_credits_a_cameo_owner_on_another_server(make_instance, browser):
    """The owner's mention names her by profile page (`/@alice`), not by actor URI: the app finds
    which mention she is from the account's `uri`, signed out too."""
    a, b = await make_instance("a"), await make_instance("b")
    await a.signup("alice")
    await b.signup("bob")
    _, published = await _published_remix(a, b)
    bob = (await b.api(None, "GET", "/api/v1/accounts/lookup", params={"acct": "bob"})).json()
    post = next(s for s in (await b.api("bob", "GET", f"/api/v1/accounts/{bob['id']}/statuses")).json()
                if s["uri"] == published["post_uri"])
    assert post["cameos"][0]["owner"] != post["mentions"][0]["url"]

    visitor = await Person.open(browser, b.base_url, viewport=PHONE, is_mobile=True, has_touch=True)
    await visitor.go(f"/app/@bob/{post['id']}")
    credit = visitor.page.locator(".reel .credits")
    await expect(credit).to_have_text(f"with @alice@{a.domain}")
    await expect(credit.get_by_role("link")).to_have_attribute(
        "href", f"{b.base_url}/app/@alice@{a.domain}")
    await visitor.screenshot("remix-credits-phone", full_page=False)
    await visitor.close()


async def test_publishing_from_the_generation_screen_goes_to_the_post(make_instance, browser):
    a = await make_instance()
    token = await a.signup("gia")
    job_id = (await _rendered_draft(a, "gia", "a paper boat in the rain"))["id"]
    person = await Person.open(browser, a.base_url, token)
    page = person.page
    await person.go("/app/drafts")
    await person.go(f"/app/generations/{job_id}")
    await page.get_by_label("Caption").fill("Afloat")
    await page.get_by_role("button", name="Publish").click()
    await expect(page).to_have_url(re.compile(r"/app/@gia/\d+$"))
    post_path = page.url.removeprefix(a.base_url)
    await expect(page.locator(".reel-caption")).to_contain_text("Afloat")
    # The generation's address was replaced: Back leaves the video, not to a form now done.
    await page.go_back()
    await expect(page).to_have_url(re.compile(r"/app/drafts$"))
    # Opened again, the generation's screen goes on to its post.
    await person.go(f"/app/generations/{job_id}")
    await expect(page).to_have_url(re.compile(f"{re.escape(post_path)}$"))
    await person.close()
