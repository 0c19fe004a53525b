"""The app in a real browser: Debian's Chromium driven by Playwright (never `playwright install`).

Loads the page, opens every tab, runs its first example, checks that the outputs appear and
no error toast shows, saves a screenshot of each tab, and checks that the page requested
nothing outside the server. `make test` installs chromium when it is missing; here a
missing browser is a failure, not a skip.
"""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from demos.screenshots import CHROMIUM, FLAGS
from tests.conftest import serving

CLOSEST = "What is the shape of the object closest to the blue object?"
# (tab, its first example: text to click or an example image's file-name stem, button, output that fills in)
TABS = (
    ("Visual QA", CLOSEST, "Answer", "Answer"),
    ("Captioning", "img:caption_scene_", "Caption", "Caption"),
    ("Sentiment", "What a wonderful surprise", "Analyse", re.compile("fusion, driven by")),
    ("Video", "video:clip_401", "Analyse", re.compile("segment\\(s\\)")),
    ("Fusion strategies", CLOSEST, "Compare", re.compile("strateg(y|ies) (agree|disagree)")),
)


@pytest.fixture(scope="module")
def served(tiny_builtin_dir):
    with serving(tiny_builtin_dir) as demo:
        yield demo.local_url


@pytest.fixture(scope="module")
def page(served):
    from playwright.sync_api import sync_playwright

    assert Path(CHROMIUM).is_file(), f"{CHROMIUM} is missing: `make test` installs Debian's chromium"
    outside: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        page = browser.new_page(viewport={"width": 1300, "height": 1200})
        page.on("request", lambda r: None if r.url.startswith((served, "data:", "blob:")) else outside.append(r.url))
        page.goto(served)
        page.get_by_role("tab", name="Visual QA").wait_for()
        yield page
        browser.close()
    assert not outside, f"the page requested outside the server: {outside[:5]}"


@pytest.mark.parametrize("tab,example,button,output", TABS, ids=[t[0] for t in TABS])
def test_each_tab_runs_its_first_example(page, tab, example, button, output, tmp_path):
    page.get_by_role("tab", name=tab).click()
    panel = page.get_by_role("tabpanel")
    if example.startswith(("img:", "video:")):
        kind, name = example.split(":")
        panel.locator(f"{kind}[src*='{name}']").first.click()
    else:
        panel.get_by_text(example).first.click()
    filled = "video" if example.startswith("video:") else "[data-testid='image'] img"
    panel.locator(filled).first.wait_for(timeout=30_000)  # the example's input is in
    panel.get_by_role("button", name=button, exact=True).click()
    if isinstance(output, str):  # a textbox that must fill in
        box = panel.get_by_label(output, exact=True).first
        page.wait_for_function("el => el.value.trim().length > 0", arg=box.element_handle(), timeout=60_000)
    else:  # a text that appears when the results are in
        panel.get_by_text(output).first.wait_for(timeout=60_000)
    page.wait_for_timeout(300)
    assert page.locator(".toast-body.error").count() == 0, page.locator(".toast-body").all_inner_texts()
    shot = tmp_path / f"{tab}.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000


def test_bad_input_shows_an_error_toast_and_the_page_keeps_working(page):
    """Runs after the tabs: the toast check above is only worth something if toasts are seen."""
    page.get_by_role("tab", name="Visual QA").click()
    panel = page.get_by_role("tabpanel")
    panel.get_by_label("Question", exact=True).fill("   ")
    panel.get_by_role("button", name="Answer", exact=True).click()
    toast = page.locator(".toast-body.error").first
    toast.wait_for(timeout=30_000)
    assert "question is empty" in toast.inner_text()
    panel.get_by_label("Question", exact=True).fill(CLOSEST)
    panel.get_by_role("button", name="Answer", exact=True).click()
    page.wait_for_function("el => el.value.trim().length > 0",
                           arg=panel.get_by_label("Answer", exact=True).first.element_handle(), timeout=60_000)
