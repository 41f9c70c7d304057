"""A render's progress panel in a real browser, fed jobs by the test: what a screen reader hears
matches the bar, and cancelling asks first."""

from __future__ import annotations

from playwright.async_api import Route, expect

from tests.browser import Person

JOB = {"id": "77", "state": "running", "progress": {"step": 7, "total_steps": 30}, "eta_s": 40}


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
    await page.evaluate("""async (job) => {
        const { progressPanel } = await import("/static/app/ui/progress.js");
        window.panel = progressPanel();
        document.getElementById("main").append(window.panel.element);
        window.panel.update(job);
    }""", JOB)
    panel = page.locator(".progress-panel")
    await expect(panel.locator(".gen-state")).to_have_text("Rendering: step 7 of 30")
    await expect(panel.locator("[aria-live]")).to_have_text("Rendering: step 7 of 30")
    further = {**JOB, "progress": {"step": 16, "total_steps": 30}}
    await page.evaluate("job => window.panel.update(job)", further)
    await expect(panel.locator("[aria-live]")).to_have_text("Rendering: step 16 of 30")

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
