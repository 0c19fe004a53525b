"""The floor: a Gradio app whose /vqa endpoint takes the studio's inputs (an image upload and a
question) and does nothing, under the same queue settings. What it costs is Gradio's own cost,
which no model can go below. `python benchmarks/floor_app.py` (port: GRADIO_SERVER_PORT)."""
from __future__ import annotations

import os
import sys
from pathlib import Path

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import gradio as gr  # noqa: E402

from app import launch  # noqa: E402
from demos.common import ImageUpload, limits  # noqa: E402


def nothing(image: str | None, question: str) -> dict[str, float]:
    return {"nothing": 1.0}


def build() -> gr.Blocks:
    with gr.Blocks() as app:
        image, question = ImageUpload(type="filepath"), gr.Textbox(value="")
        label = gr.Label()
        gr.Button("Ask").click(nothing, [image, question], label, api_name="vqa", **limits("vqa"))
    return app


if __name__ == "__main__":
    launch(build())
