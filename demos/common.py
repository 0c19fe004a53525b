"""Pieces every tab shares: model settings, error reporting, the "how it works" panel."""
from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Any

import gradio as gr
import numpy as np
from PIL import Image

from mmcore import MMCoreError
from mmcore.overlay import overlay
from mmcore.registry import models_for
from mmcore.spec import PRECISIONS, PROFILES

DEFAULT_MODEL = "default for profile"
SETTINGS_HELP = ("**auto** uses pretrained Hub weights where they can be had (Spaces, or a filled "
                 "local cache) and the built-in ShapesWorld models otherwise.")


class ImageUpload(gr.Image):
    """A gr.Image whose upload reaches the event function as a file path, undecoded.

    Plain gr.Image decodes the file itself before the function runs, so a bad upload (a text
    file named .png, a truncated or empty file) fails inside Gradio and the caller only sees a
    generic "upstream app raised an exception". Here mmcore reads the file and says what is
    wrong and what is accepted. `is_template` makes the browser draw it as a plain gr.Image.
    """

    is_template = True

    def preprocess(self, payload):  # noqa: ANN001 - gradio's ImageData | None
        return None if payload is None else str(payload.path)


# Seconds a request may take once its model is loaded, before it gets a clear "took too long"
# message instead of its answer (mmcore.RequestTimeout); README's limits table lists them.
TIMEOUT_S = {"vqa": 60.0, "caption": 90.0, "sentiment": 60.0, "fusion": 60.0, "video": 180.0}

# Requests of one endpoint the server runs at once (the UI's button and Enter share one
# limit). Up to this many wait together in mmcore's dynamic batcher and share forward passes;
# more wait in Gradio's queue (app.py bounds it). 8 fills a pass on a CPU (mmcore caps passes
# at 8 there); more running at once only adds threads and memory. Fusion runs three models per
# request: 4. Video holds a request for seconds: one.
CONCURRENCY = {"vqa": 8, "sentiment": 8, "caption": 8, "fusion": 4, "video": 1}


def limits(endpoint: str) -> dict[str, Any]:
    """The keyword arguments that put an event under its endpoint's shared concurrency limit."""
    return {"concurrency_limit": CONCURRENCY[endpoint], "concurrency_id": endpoint}


OUTPUT_DIR = Path(tempfile.gettempdir()) / "mmstudio-outputs"  # pictures the tabs return, as files
OUTPUT_KEEP_S = 600  # Gradio has copied them into its own cache long before this
SWEEP_EVERY_S = 60


def picture_file(picture: np.ndarray | Image.Image) -> str:
    """An output picture as a PNG file of its own, for Gradio to copy into its cache.

    Returned as an array or a PIL image, Gradio writes the picture in place under a name
    made from its bytes, so identical outputs of concurrent requests (two users, one
    example) rewrite a file while a client downloads it, and that download breaks
    (tests/test_soak.py saw it). A file path takes Gradio's copy-then-rename path instead.
    """
    OUTPUT_DIR.mkdir(exist_ok=True)
    if _sweep_due(OUTPUT_DIR):
        _sweep(OUTPUT_DIR, time.time() - OUTPUT_KEEP_S)
    fd, path = tempfile.mkstemp(suffix=".png", dir=OUTPUT_DIR)
    with os.fdopen(fd, "wb") as f:
        (picture if isinstance(picture, Image.Image) else Image.fromarray(picture)).save(f, format="PNG")
    return path


def overlay_file(picture: Image.Image, heat: np.ndarray) -> str:
    """The heatmap over the picture, as a file (see picture_file)."""
    return picture_file(overlay(picture, heat))


def _sweep_due(folder: Path) -> bool:
    """At most one sweep a minute: a sweep stats every file (7.6 ms with 1,550 files here,
    which a busy minute makes), so sweeping on every picture made requests slower under load."""
    marker = folder / ".last-sweep"
    try:
        if time.time() - marker.stat().st_mtime < SWEEP_EVERY_S:
            return False
    except FileNotFoundError:
        pass
    marker.touch()
    return True


def _sweep(folder: Path, cutoff: float) -> None:
    for old in folder.glob("*.png"):
        try:
            if old.stat().st_mtime < cutoff:
                old.unlink()
        except FileNotFoundError:  # another request swept it first
            pass


def model_settings(task: str, with_top_k: bool = True) -> tuple[gr.components.Component | None, ...]:
    """Profile, model, precision and (optionally) top-k inputs, in a collapsed accordion."""
    names = [DEFAULT_MODEL] + [e.name for e in models_for(task)]
    with gr.Accordion("Model settings", open=False):
        gr.Markdown(SETTINGS_HELP)
        with gr.Row():
            profile = gr.Radio(list(PROFILES), value="auto", label="Profile")
            model = gr.Dropdown(names, value=DEFAULT_MODEL, label="Model")
        with gr.Row():
            precision = gr.Dropdown(list(PRECISIONS), value="auto", label="Precision",
                                    info="int8: torchao; bnb8 / bnb4: bitsandbytes")
            top_k = gr.Slider(1, 10, value=5, step=1, label="Answers to list") if with_top_k else None
    return profile, model, precision, top_k


def registry_model(task: str, name: str | None) -> str | None:
    """Only registry names reach the loader from the UI: never a typed path or Hub id."""
    if name in (None, "", DEFAULT_MODEL):
        return None
    if name not in {e.name for e in models_for(task)}:
        raise gr.Error(f"unknown model {name!r}; choose one from the list")
    return name


def friendly_errors(fn: Callable[..., Any]) -> Callable[..., Any]:
    """mmcore's errors become a gr.Error toast with their message (what was wrong, what works)."""

    @wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except MMCoreError as e:
            raise gr.Error(str(e), title="Could not answer") from e

    return wrapper


def how_it_works(markdown: str) -> None:
    with gr.Accordion("How it works", open=False):
        gr.Markdown(markdown, latex_delimiters=[{"left": "$$", "right": "$$", "display": True},
                                                {"left": "$", "right": "$", "display": False}])
