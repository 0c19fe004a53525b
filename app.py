"""Multimodal Model Studio: the Gradio app. `python app.py` serves it (127.0.0.1:7860 unless
GRADIO_SERVER_NAME / GRADIO_SERVER_PORT say otherwise)."""
from __future__ import annotations

import ctypes
import os

# Before gradio / huggingface_hub are imported: no usage analytics leave this machine.
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")

import gradio as gr  # noqa: E402

from demos import caption, fusion, sentiment, video, vqa  # noqa: E402

TITLE = "Multimodal Model Studio"
INTRO = ("Explore how multimodal transformers fuse what they see and read. Every tab runs the same "
         "engine (`mmcore`) and shows the model's attention over your input.")
MAX_FILE_SIZE = "50mb"  # uploads larger than this are refused by the server (videos need room)
M_ARENA_MAX = -8  # glibc's mallopt parameter number (malloc.h)
DELETE_CACHE = (900, 1800)  # every 15 min, delete uploads and outputs older than 30 min
# (label, module with build() and, where a tab needs shipped models first, available())
TABS = (("Visual QA", vqa), ("Captioning", caption), ("Sentiment", sentiment), ("Video", video),
        ("Fusion strategies", fusion))


def theme() -> gr.themes.Theme:
    """One theme for every tab; system fonts only, so the page loads nothing from outside."""
    system = ["ui-sans-serif", "system-ui", "-apple-system", "Segoe UI", "sans-serif"]
    return gr.themes.Soft(primary_hue="indigo", secondary_hue="sky", neutral_hue="slate",
                          font=system, font_mono=["ui-monospace", "SFMono-Regular", "monospace"])


def build_app() -> gr.Blocks:
    # Each tab is its own Blocks, built outside the app's context and rendered into it once
    # (building inside the context would render it twice).
    tabs = [(label, module.build()) for label, module in TABS if getattr(module, "available", lambda: True)()]
    with gr.Blocks(title=TITLE, delete_cache=DELETE_CACHE) as app:
        gr.Markdown(f"# {TITLE}\n{INTRO}")
        with gr.Tabs():
            for label, tab in tabs:
                with gr.Tab(label):
                    tab.render()
    return app


def limit_malloc_arenas(arenas: int = 2) -> None:
    """Cap glibc's malloc arenas. glibc gives threads that allocate at once their own arenas (up
    to 8 per core), and the server runs a thread per concurrent request: tests/test_soak.py saw
    resident memory creep 11-12% past warm-up in 60 s, and under 10% with the cap. No-op off glibc."""
    try:
        ctypes.CDLL("libc.so.6").mallopt(M_ARENA_MAX, arenas)
    except (OSError, AttributeError):
        pass


def launch(app: gr.Blocks, **overrides) -> None:
    limit_malloc_arenas()
    app.queue(default_concurrency_limit=2, max_size=64)
    app.launch(
        server_name=os.environ.get("GRADIO_SERVER_NAME", "127.0.0.1"),
        server_port=int(os.environ.get("GRADIO_SERVER_PORT", "7860")),
        max_file_size=MAX_FILE_SIZE, share=False, theme=theme(), footer_links=["api"], **overrides,
    )


if __name__ == "__main__":
    launch(build_app())
