"""Video tab: a clip in; the action, a caption, and where the model looked over time and space."""
from __future__ import annotations

import tempfile
from typing import Any

import gradio as gr
import numpy as np

import mmcore
from mmcore.overlay import overlay, upsample
from mmcore.shapesworld.video import generate_clip, write_video

from .common import (TIMEOUT_S, limits, OUTPUT_DIR, DEFAULT_MODEL, friendly_errors, how_it_works, model_settings, picture_file,
                     registry_model)
from .examples import video_examples
from .figures import importance_plot

SEGMENT_HEADERS = ["from s", "to s", "action", "score", "caption"]

HOW_IT_WORKS = r"""
**Sampling.** A model sees a fixed number of frames (16 here). The file is probed for its frame count and
rate, and each sampled frame is reached by *seeking*, never by decoding the whole video: frame $k$ of $N$
is the middle of the $k$-th of $N$ equal slices. A clip shorter than 16 frames repeats frames; a video
longer than 10 s is cut into segments, each sampled and answered on its own, and the answer averages them.

**The built-in model** is a stock VideoMAE encoder: the clip is cut into *tubelets* (2 frames x 16 x 16
pixels), each a token with a fixed sine/cosine position in time and space, then 4 transformer layers of
self-attention $\mathrm{softmax}(QK^\top/\sqrt{d})\,V$ over all 128 tokens at once, so a token can compare
where an object is now with where it was. Three heads (action, colour, shape) each pool the tokens with a
learned query: the weights of that pooling are the map. Training minimises a weighted multi-task loss,
$L = L_\text{action} + 0.5\,L_\text{colour} + 0.5\,L_\text{shape}$.

**The maps.** *Frame importance* is the share of the action head's pooling weight that falls on each frame's
tubelet; the *spatial map* is the same weights over that tubelet's 4x4 cells. For Kinetics VideoMAE (no
pooling query) it is the attention each token receives in the last layer; for X-CLIP, each frame's [CLS]
attention over its patches, and a frame's importance is how close its embedding is to the winning label.
**X-CLIP** is zero-shot: type the labels, and it scores the video against each one (CLIP's contrastive,
InfoNCE-trained video and text embeddings).
"""


def random_clip() -> str:
    """A fresh ShapesWorld clip with a random action, as a webm the browser plays."""
    clip = generate_clip(np.random.default_rng())
    OUTPUT_DIR.mkdir(exist_ok=True)
    path = tempfile.mkstemp(suffix=".webm", dir=OUTPUT_DIR)[1]
    return str(write_video(path, clip.frames(size=225, antialias=True), fps=8))


@friendly_errors
def analyse(video: str | None, labels: str = "", profile: str = "auto", model: str = DEFAULT_MODEL,
            precision: str = "auto", top_k: float = 5, progress: gr.Progress = gr.Progress()) -> tuple[Any, ...]:
    """The /video endpoint: validates here, so API callers get the same messages."""
    if video is None:
        raise gr.Error("No video: upload one (mp4, webm, avi, mov or mkv) or pick an example.")
    progress(0, desc="loading the model")  # the first request loads it: seconds for the pretrained ones
    task = mmcore.task("video", profile=profile, model=registry_model("video", model), precision=precision)
    task.progress = lambda fraction, what: progress(fraction, desc=what)
    result = task.run((video, labels or None), TIMEOUT_S["video"], top_k=int(top_k))
    segment = max(result.segments, key=lambda s: s.score)
    gallery = [(picture_file(_overlay(frame, m)), f"frame {i} · {100 * w:.0f}%")
               for frame, m, i, w in zip(segment.frames, segment.maps, segment.frame_indices, segment.importance)]
    rows = [[round(s.start_s, 2), round(s.end_s, 2), s.action, round(s.score, 3), s.caption or ""]
            for s in result.segments]
    return (dict(result.top_k), result.caption or "(this model does not caption)",
            picture_file(importance_plot(segment, result.fps)), gallery, _looked(segment), rows, _info(result))


def _overlay(frame: np.ndarray, heat: np.ndarray) -> np.ndarray:
    return overlay(frame, upsample(heat, (frame.shape[1], frame.shape[0])))


def _looked(segment: mmcore.VideoSegment) -> str:
    """The sampled frames with their maps, as a VP8/VP9 webm at 4 fps (browsers play it)."""
    frames = np.stack([_overlay(f, m) for f, m in zip(segment.frames, segment.maps)])
    OUTPUT_DIR.mkdir(exist_ok=True)
    return str(write_video(tempfile.mkstemp(suffix=".webm", dir=OUTPUT_DIR)[1], frames, fps=4))


def _info(r: mmcore.VideoResult) -> str:
    return (f"**Video:** {r.duration_s:.1f} s, {r.frame_count} frames at {r.fps:.0f} fps, {r.size[0]}x{r.size[1]}, "
            f"{len(r.segments)} segment(s) · **Model:** `{r.model}` · profile **{r.profile}** · {r.precision} on "
            f"{r.device} · {r.latency_ms:.0f} ms")


def build() -> gr.Blocks:
    with gr.Blocks() as demo:
        gr.Markdown("Give a video: see the action, a caption, and which frames and where in them the model looked.")
        with gr.Row(equal_height=False):
            with gr.Column(scale=1):
                video = gr.Video(label="Video", sources=["upload"], height=280)
                labels = gr.Textbox(value="", label="Zero-shot labels (X-CLIP only)", placeholder="e.g. cooking, dancing, "
                                    "playing guitar", max_lines=2)
                with gr.Row():
                    go = gr.Button("Analyse", variant="primary")
                    fresh = gr.Button("New random clip")
                profile, model, precision, top_k = model_settings("video")
                gr.Examples(video_examples(), inputs=[video], label="ShapesWorld clips")
            with gr.Column(scale=2):
                actions = gr.Label(label="Action", num_top_classes=5)
                caption = gr.Textbox(label="Caption", interactive=False)
                importance = gr.Image(label="Frame importance", interactive=False, height=220)
                gallery = gr.Gallery(label="Sampled frames and where the model looked", columns=8, height=220)
                looked = gr.Video(label="Where it looked, frame by frame", height=240, autoplay=False)
                segments = gr.Dataframe(headers=SEGMENT_HEADERS, label="Segments", interactive=False)
                info = gr.Markdown()
        how_it_works(HOW_IT_WORKS)
        outputs = [actions, caption, importance, gallery, looked, segments, info]
        go.click(analyse, [video, labels, profile, model, precision, top_k], outputs, api_name="video", **limits("video"))
        fresh.click(random_clip, None, video, api_visibility="private")
    return demo
