"""python -m demos.screenshots: the README's screenshots of each tab, taken in a real browser.

Needs Debian's Chromium (`apt-get install chromium`) and the playwright package
(requirements-dev.txt); never `playwright install`. Serves the app on a free loopback
port with the built-in models (offline), runs one example per tab, and saves
docs/ui_<tab>.png. Fails if the page asked for anything outside the server.
"""
from __future__ import annotations

import os
import socket
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

DOCS = Path(__file__).resolve().parents[1] / "docs"
CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]
# (tab label, example to click: its text, or img:/video: and its file name; button to press; file name)
SHOTS = (("Visual QA", "What is the shape of the object closest to the blue object?", "Answer", "ui_vqa.png"),
         ("Captioning", "img:caption_scene_205", "Caption", "ui_caption.png"),
         ("Sentiment", "I finally passed my driving test!", "Analyse", "ui_sentiment.png"),
         ("Video", "video:clip_402", "Analyse", "ui_video.png"))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _shoot(page, tab: str, example: str, button: str, path: Path) -> None:
    page.get_by_role("tab", name=tab).click()
    panel = page.get_by_role("tabpanel")
    if example.startswith(("img:", "video:")):  # an example picture or clip, by file name
        kind, name = example.split(":")
        panel.locator(f"{kind}[src*='{name}']").first.click()
    else:
        panel.get_by_text(example).first.click()
    page.wait_for_timeout(800)
    panel.get_by_role("button", name=button, exact=True).click()
    page.wait_for_timeout(5000)
    if tab == "Captioning":
        panel.get_by_text("green", exact=True).first.click()
        page.wait_for_timeout(1000)
    page.screenshot(path=str(path), full_page=True)


def main() -> list[Path]:
    from playwright.sync_api import sync_playwright

    import app

    os.environ["GRADIO_SERVER_PORT"] = str(_free_port())
    demo = app.build_app()
    app.launch(demo, prevent_thread_lock=True, quiet=True)
    outside: list[str] = []
    saved = []
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
            page = browser.new_page(viewport={"width": 1300, "height": 1300})
            page.on("request", lambda r: outside.append(r.url)
                    if not r.url.startswith((demo.local_url, "data:", "blob:")) else None)
            page.goto(demo.local_url)
            page.wait_for_timeout(2000)
            for tab, example, button, name in SHOTS:
                _shoot(page, tab, example, button, DOCS / name)
                saved.append(DOCS / name)
            browser.close()
    finally:
        demo.close()
    if outside:
        raise SystemExit(f"the page requested outside the server: {outside[:5]}")
    return saved


if __name__ == "__main__":
    DOCS.mkdir(exist_ok=True)
    print("\n".join(map(str, main())))
