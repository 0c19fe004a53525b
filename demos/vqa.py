"""Visual question answering tab: ask about an image, see the answer and where the model looked."""
from __future__ import annotations

from typing import Any

import gradio as gr
import numpy as np

import mmcore
from mmcore.shapesworld.render import COLOR_NAMES
from mmcore.shapesworld.vqa import CANONICAL, QUESTION_TYPES, generate_scene

from .common import (TIMEOUT_S, limits, DEFAULT_MODEL, ImageUpload, friendly_errors, how_it_works, model_settings, overlay_file,
                     registry_model)
from .examples import vqa_examples

HOW_IT_WORKS = r"""
**Attention.** Every model here mixes information with attention: each query $q$ scores every key $k$,
and reads a softmax-weighted sum of values, $\mathrm{softmax}(QK^\top/\sqrt{d})\,V$.
The heatmap shows those weights over the image, so you see *where the model looked* for this question.

**Built-in model (ShapesWorld).** A small CNN turns the 75x75 scene into a 25x25 grid of tokens,
each tagged with its position. The question's encoding attends over the grid once (*hop 1*: find the
object the question names), and a query built from what it found attends again (*hop 2*: the object
the answer is read from: closest and furthest are dot products of positions). Counting sums a
per-token "same shape" score weighted by an object-density map. The map is the stronger of the two
hops, and the gallery shows each hop and the count map. It was trained with a weighted multi-task loss:
the answer's cross-entropy plus terms that steer each hop's attention onto the right object.

**ViLT** (pretrained) is a single stream: words and image patches go through one transformer. Its map is
*attention rollout*: per layer, average the heads, add the identity for the residual path, renormalise,
and multiply the layers; the row of the [CLS] token over the patches is the map.

**BLIP** (pretrained) encodes the image with a ViT, reads the question with cross-attention to the
patches, and decodes an answer. Its map is that question-to-image cross-attention, averaged over
layers, heads and question words.
"""


def random_scene() -> tuple[np.ndarray, str]:
    """A fresh Sort-of-CLEVR scene (300 px, anti-aliased) and a random canonical question."""
    rng = np.random.default_rng()
    scene = generate_scene(rng)
    question = CANONICAL[QUESTION_TYPES[rng.integers(6)]].format(c=COLOR_NAMES[rng.integers(6)])
    return scene.image(size=300, antialias=True), question


@friendly_errors
def answer(image: str | None, question: str, profile: str = "auto", model: str = DEFAULT_MODEL,
           precision: str = "auto", top_k: float = 5) -> tuple[Any, ...]:
    """The /vqa endpoint: validates here (not in a chained step), so API callers get it too."""
    if image is None:
        raise gr.Error("No image: upload one (PNG, JPEG, GIF, BMP, TIFF or WebP) or pick an example.")
    result = mmcore.vqa(image, question, top_k=int(top_k), timeout=TIMEOUT_S["vqa"], profile=profile,
                        model=registry_model("vqa", model), precision=precision)
    picture = mmcore.inputs.load_image(image)
    gallery = [(overlay_file(picture, m), name) for name, m in result.maps]
    return (result.answer, dict(result.top_k), overlay_file(picture, result.attention), gallery, _info(result))


def _info(result: mmcore.VQAResult) -> str:
    return (f"**Model:** `{result.model}` · profile **{result.profile}** · {result.precision} on "
            f"{result.device} · {result.latency_ms:.0f} ms")


def build() -> gr.Blocks:
    with gr.Blocks() as demo:
        gr.Markdown("Ask a question about an image. The heatmap shows where the model looked to answer it.")
        with gr.Row(equal_height=False):
            with gr.Column(scale=1):
                image = ImageUpload(type="filepath", label="Image", sources=["upload", "clipboard"], height=320)
                question = gr.Textbox(label="Question", placeholder="What is the shape of the red object?",
                                      max_lines=2)
                with gr.Row():
                    ask = gr.Button("Answer", variant="primary")
                    shuffle = gr.Button("New random scene")
                settings = model_settings("vqa")
                gr.Examples(vqa_examples(), inputs=[image, question], label="ShapesWorld examples")
            with gr.Column(scale=1):
                answer_box = gr.Textbox(label="Answer", interactive=False)
                top = gr.Label(label="Top answers")
                heat = gr.Image(label="Where the model looked", interactive=False, height=320)
                maps = gr.Gallery(label="Each attention map", columns=3, height=200)
                info = gr.Markdown(label="Active model")
        how_it_works(HOW_IT_WORKS)
        ask.click(answer, [image, question, *settings], [answer_box, top, heat, maps, info],
                  api_name="vqa", **limits("vqa"))
        question.submit(answer, [image, question, *settings], [answer_box, top, heat, maps, info],
                        api_visibility="private", **limits("vqa"))
        shuffle.click(random_scene, None, [image, question], api_visibility="private")
    return demo
