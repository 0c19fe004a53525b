"""Captioning tab: a caption whose every word can be clicked to see where the model looked."""
from __future__ import annotations

from typing import Any

import gradio as gr
import numpy as np

import mmcore
from mmcore.inputs import load_image
from mmcore.shapesworld.caption import generate_caption_scene

from .common import (TIMEOUT_S, limits, DEFAULT_MODEL, ImageUpload, friendly_errors, how_it_works, model_settings, overlay_file,
                     registry_model)
from .examples import caption_examples

HOW_IT_WORKS = r"""
**Encoder-decoder captioning.** An image encoder (a ViT) turns the picture into patch vectors; a text
decoder writes the caption one token at a time. At every step the decoder's *cross-attention* lets the
token being written look at the patches: $\mathrm{softmax}(QK^\top/\sqrt{d})\,V$ with queries from the
text and keys and values from the image.

**Per-word maps.** They come from the same `generate` call that wrote the caption (no second pass): for
each generated token, the cross-attention weights of its step are averaged over every decoder layer and
head and laid out on the patch grid. With beam search, each step's weights are taken from the beam that
the final caption came from. Click a word to see its map; open *All word maps* for the grid.

**Decoding.** *Greedy* takes the most likely token each step; *beam search* keeps the best few partial
captions; *nucleus* samples from the smallest set of tokens whose probability reaches top-p (temperature
sharpens or flattens the distribution first).

**Built-in model.** A small ViT + BERT decoder trained on ShapesWorld caption scenes, with a weighted
multi-task loss: the captioning cross-entropy, plus a grounding term that pulls each word's
cross-attention onto the object it is about (relation words: the second object). By the relation word
the decoder has already read where the first object is, so looking at the second one tells it whether
they sit side by side or one above the other. Pairs were taught in both orders, so the first colour word
is a choice between the two objects, and its map covers both.
"""


def random_scene() -> np.ndarray:
    return generate_caption_scene(np.random.default_rng()).image(size=300, antialias=True)


@friendly_errors
def caption(image: str | None, prompt: str = "", method: str = "greedy", beams: float = 3, top_p: float = 0.9,
            temperature: float = 1.0, max_new_tokens: float = 20, profile: str = "auto",
            model: str = DEFAULT_MODEL, precision: str = "auto") -> tuple[Any, ...]:
    """The /caption endpoint (validates here, so API callers get the same checks)."""
    if image is None:
        raise gr.Error("No image: upload one (PNG, JPEG, GIF, BMP, TIFF or WebP) or pick an example.")
    decoding = mmcore.Decoding(method, int(beams), float(top_p), float(temperature), int(max_new_tokens))
    result = mmcore.caption(image, prompt or None, decoding=decoding, timeout=TIMEOUT_S["caption"], profile=profile,
                            model=registry_model("caption", model), precision=precision)
    picture = load_image(image)
    word_maps = [overlay_file(picture, m) for m in result.token_maps]
    words = [(f"{t} ", "word") for t in result.tokens]  # one chip per token, click to see its map
    gallery = list(zip(word_maps, result.tokens))
    return (result.caption, words, overlay_file(picture, result.attention), gallery, _info(result), word_maps)


def _info(result: mmcore.CaptionResult) -> str:
    return (f"**Model:** `{result.model}` · profile **{result.profile}** · {result.precision} on {result.device}"
            f" · {result.decoding.method} · {result.latency_ms:.0f} ms · mean log-prob {result.score:.2f}")


def show_word(word_maps: list, evt: gr.SelectData) -> Any:
    """Clicking a word of the caption shows that word's map."""
    index = evt.index[0] if isinstance(evt.index, (list, tuple)) else evt.index
    if not word_maps or index is None or not 0 <= index < len(word_maps):
        return gr.update()
    word = evt.value[0] if isinstance(evt.value, (list, tuple)) else evt.value
    return gr.update(value=word_maps[index], label=f"Where the model looked for “{str(word).strip()}”")


def _decoding_inputs() -> tuple[gr.components.Component, ...]:
    with gr.Accordion("Decoding", open=False):
        method = gr.Radio(["greedy", "beam", "nucleus"], value="greedy", label="Method")
        with gr.Row():
            beams = gr.Slider(1, 8, value=3, step=1, label="Beam width (beam)")
            max_new = gr.Slider(1, 64, value=20, step=1, label="Max new tokens")
        with gr.Row():
            top_p = gr.Slider(0.05, 1.0, value=0.9, step=0.05, label="Top-p (nucleus)")
            temperature = gr.Slider(0.05, 2.0, value=1.0, step=0.05, label="Temperature (nucleus)")
    return method, beams, top_p, temperature, max_new


def build() -> gr.Blocks:
    with gr.Blocks() as demo:
        gr.Markdown("Caption an image, then click any word of the caption to see where the model looked while writing it.")
        with gr.Row(equal_height=False):
            with gr.Column(scale=1):
                image = ImageUpload(type="filepath", label="Image", sources=["upload", "clipboard"], height=320)
                prompt = gr.Textbox("", label="Prompt (optional, BLIP only)", placeholder="a picture of", max_lines=1)
                with gr.Row():
                    run = gr.Button("Caption", variant="primary")
                    shuffle = gr.Button("New random scene")
                decoding = _decoding_inputs()
                profile, model, precision, _ = model_settings("caption", with_top_k=False)
                gr.Examples(caption_examples(), inputs=[image], label="ShapesWorld examples")
            with gr.Column(scale=1):
                text = gr.Textbox(label="Caption", interactive=False)
                words = gr.HighlightedText(label="Click a word", combine_adjacent=False, show_legend=False,
                                           interactive=False, color_map={"word": "#c7d2fe"}, show_inline_category=False)
                heat = gr.Image(label="Where the model looked (all words)", interactive=False, height=320)
                with gr.Accordion("All word maps", open=False):
                    grid = gr.Gallery(columns=4, height=260, label="One map per word")
                info = gr.Markdown(label="Active model")
        how_it_works(HOW_IT_WORKS)
        word_maps = gr.State([])
        inputs = [image, prompt, *decoding, profile, model, precision]
        run.click(caption, inputs, [text, words, heat, grid, info, word_maps], api_name="caption", **limits("caption"))
        words.select(show_word, [word_maps], [heat], api_visibility="private")
        shuffle.click(random_scene, None, [image], api_visibility="private")
    return demo
