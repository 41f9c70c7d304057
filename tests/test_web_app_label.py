"""The app's "AI-generated" label on a phone: shown where the post says so, never over the label
burned into a render's frames (top left, generation/encode.py) nor under the feed's tabs or the
tab bar; a local upload not declared AI-generated has none. Screenshot in test-artifacts/."""

from __future__ import annotations

from typing import Any

from playwright.async_api import expect

from generation.config import GenerationConfig
from generation.encode import mark_box
from tests.browser import PHONE, Person
from tests.videos import make_mp4, upload_video


def _intersects(a: dict[str, float], b: dict[str, float]) -> bool:
    return (a["x"] < b["x"] + b["width"] and b["x"] < a["x"] + a["width"]
            and a["y"] < b["y"] + b["height"] and b["y"] < a["y"] + a["height"])


async def _post(a: Any, path: Any, caption: str, **declared: Any) -> str:
    size = GenerationConfig()  # a render's frame size, so that its mark is where it would be
    clip = make_mp4(path, width=size.width, height=size.height, seconds=0.5, fps=8)
    media = await upload_video(a, "alice", clip)
    posted = await a.api("alice", "POST", "/api/v1/statuses",
                         json={"status": caption, "media_ids": [media["id"]], **declared})
    assert posted.status_code == 200, posted.text
    return posted.json()["id"]


async def test_the_label_on_a_phone_covers_neither_the_burned_mark_nor_the_bars(make_instance, browser,
                                                                                  tmp_path):
    a = await make_instance()
    await a.signup("alice")
    camera = await _post(a, tmp_path / "camera.mp4", "from my phone")
    declared = await _post(a, tmp_path / "made.mp4", "made with a model", ai_generated=True)

    phone = await Person.open(browser, a.base_url, viewport=PHONE, is_mobile=True, has_touch=True)
    page = phone.page
    await phone.go("/app/local")
    reel = page.locator(f'.reel[data-status-id="{declared}"]')
    await expect(reel).to_have_attribute("data-active", "true")
    label = reel.locator(".ai-label")
    await expect(label).to_have_text("AI-generated")
    await expect(label).to_be_in_viewport()
    video = reel.locator("video")
    # A function, not an expression: Playwright polls an expression with eval, which the app's
    # Content-Security-Policy refuses.
    await page.wait_for_function("v => v.videoWidth > 0", arg=await video.element_handle())
    box = await label.bounding_box()

    # Where the burned mark shows: mark_box in the frame, scaled as object-fit: cover draws it.
    shown = await video.bounding_box()
    width, height = await video.evaluate("v => [v.videoWidth, v.videoHeight]")
    scale = max(shown["width"] / width, shown["height"] / height)
    x0 = shown["x"] + (shown["width"] - width * scale) / 2
    y0 = shown["y"] + (shown["height"] - height * scale) / 2
    left, top, right, bottom = mark_box(width, height)
    mark = {"x": x0 + left * scale, "y": y0 + top * scale,
            "width": (right - left) * scale, "height": (bottom - top) * scale}
    assert not _intersects(box, mark), (box, mark)
    tabs = await page.locator(".feed-tabs").bounding_box()
    tab_bar = await page.get_by_role("navigation", name="Main").bounding_box()
    assert not _intersects(box, tabs), (box, tabs)
    assert not _intersects(box, tab_bar), (box, tab_bar)
    await phone.screenshot("label-phone", full_page=False)

    # The camera video, not declared AI-generated, carries no label at all.
    await expect(page.locator(f'.reel[data-status-id="{camera}"]')).to_have_count(1)
    await expect(page.locator(f'.reel[data-status-id="{camera}"] .ai-label')).to_have_count(0)
    await phone.close()
