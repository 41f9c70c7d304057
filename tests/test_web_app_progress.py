"""A render's progress panel in a real browser, fed jobs by the test: what a screen reader hears
matches the bar, the time left counts down between events and turns into words when it runs out,
and cancelling asks first."""

from __future__ import annotations

from playwright.async_api import Page, Route, expect

from tests.browser import Person

JOB = {"id": "77", "state": "running", "progress": {"step": 7, "total_steps": 30}, "eta_s": 40}


async def _show_panel(page: Page, job: dict) -> None:
    """A progress panel on the page (as `window.panel`), showing `job`."""
    await page.evaluate("""async (job) => {
        const { progressPanel } = await import("/static/app/ui/progress.js");
        window.panel = progressPanel();
        document.getElementById("main").append(window.panel.element);
        window.panel.update(job);
    }""", job)


async def test_progress_reads_the_step_and_cancel_asks_first(make_instance, browser):
    a = await make_instance()
    person = await Person.open(browser, a.base_url, await a.signup("gil"))
    page = person.page
    cancels: list[str] = []

    async def cancel(route: Route) -> None:
        cancels.append(route.request.method)
        await route.fulfill(json={**JOB, "state": "cancelled"})

    await page.route("**/api/v1/generations/77/cancel", cancel)
    await person.go("/app/drafts")  # any screen: the app's modules are there to import
    await expect(page.get_by_role("heading", name="Drafts")).to_be_visible()
    await _show_panel(page, JOB)
    panel = page.locator(".progress-panel")
    await expect(panel.locator(".gen-state")).to_have_text("Rendering: step 7 of 30")
    await expect(panel.locator("[aria-live]")).to_have_text("Rendering: step 7 of 30. About 40 s left")
    further = {**JOB, "progress": {"step": 16, "total_steps": 30}}
    await page.evaluate("job => window.panel.update(job)", further)
    await expect(panel.locator("[aria-live]")).to_have_text("Rendering: step 16 of 30. About 40 s left")

    # Cancel asks first: no, and the render goes on; yes, and it is cancelled.
    asked: list[str] = []

    async def answer(dialog, accept: bool) -> None:
        asked.append(dialog.message)
        await (dialog.accept() if accept else dialog.dismiss())

    page.once("dialog", lambda dialog: answer(dialog, False))
    await panel.get_by_role("button", name="Cancel").click()
    await expect(panel).to_have_attribute("data-state", "running")
    assert asked == ["Cancel this render? What it has made so far is lost."] and cancels == []
    page.once("dialog", lambda dialog: answer(dialog, True))
    await panel.get_by_role("button", name="Cancel").click()
    await expect(panel).to_have_attribute("data-state", "cancelled")
    assert len(asked) == 2 and cancels == ["POST"]
    await person.close()


async def test_time_left_counts_down_and_never_goes_stale(make_instance, browser):
    a = await make_instance()
    person = await Person.open(browser, a.base_url, await a.signup("hal"))
    page = person.page
    await page.clock.install()
    await person.go("/app/drafts")
    await expect(page.get_by_role("heading", name="Drafts")).to_be_visible()
    job = {**JOB, "progress": {"step": 28, "total_steps": 30}, "eta_s": 12}
    await _show_panel(page, job)
    panel = page.locator(".progress-panel")
    detail, live, bar = panel.locator(".gen-detail"), panel.locator("[aria-live]"), panel.locator("progress")

    async def shows(step: int, words: str, *, read_out: bool = False) -> None:
        """The words under the bar, the bar's value text, and (when just said) the live region."""
        said = f"Rendering: step {step} of 30. {words}"
        await expect(detail).to_have_text(words)
        await expect(bar).to_have_attribute("aria-valuetext", said)
        if read_out:
            await expect(live).to_have_text(said)

    await shows(28, "About 12 s left", read_out=True)
    # No event for a while: the estimate counts down by itself.
    await page.clock.run_for(5_000)
    await shows(28, "About 7 s left")
    # A poll that brings the same numbers again does not start the countdown over.
    await page.evaluate("job => window.panel.update(job)", job)
    await page.clock.run_for(1_000)
    await shows(28, "About 6 s left")
    # Run out: no stale number, and what is read out says the same; it stays true.
    await page.clock.run_for(8_000)
    await shows(28, "Finishing…", read_out=True)
    await page.clock.run_for(10_000)
    await shows(28, "Finishing…")
    # Every step done, with a last estimate of 1 s that stays in the job: it is encoding.
    done = {**JOB, "progress": {"step": 30, "total_steps": 30}, "eta_s": 1}
    await page.evaluate("job => window.panel.update(job)", done)
    await shows(30, "Encoding the video…", read_out=True)
    await page.clock.run_for(12_000)
    await shows(30, "Encoding the video…")
    # A new estimate starts a new countdown; the end leaves no words behind.
    later = {**job, "progress": {"step": 29, "total_steps": 30}, "eta_s": 125}
    await page.evaluate("job => window.panel.update(job)", later)
    await shows(29, "About 2 min left")
    await page.evaluate("job => window.panel.update(job)", {**done, "state": "succeeded", "eta_s": None})
    await expect(detail).to_have_text("")
    await expect(live).to_have_text("Done")
    assert await bar.get_attribute("aria-valuetext") is None
    await person.close()
