"""Sentiment tab: a text, a face (or any picture), or both; each side's sentiment, the fused
one under late, early and hybrid fusion, and which side drove the decision."""
from __future__ import annotations

from typing import Any

import gradio as gr
import numpy as np

import mmcore
from mmcore.lexicon import MAX_TEXT_CHARS
from mmcore.models.sentiment import LABELS, STRATEGIES
from mmcore.shapesworld.faces import generate_face

from .common import TIMEOUT_S, limits, ImageUpload, friendly_errors, how_it_works, model_settings, overlay_file, picture_file, registry_model
from .examples import sentiment_examples
from .figures import fusion_bars

AUTO = "auto"
TABLE_HEADERS = ["fusion", "label", "P(positive)", "P(negative)", "P(neutral)", "text drive", "image drive"]

HOW_IT_WORKS = r"""
**Each side alone.** The text head reads two things: VADER's rating of every word after its rules
(negation, "very", ALL CAPS, "but"), and the word-piece states of a sentence encoder
(all-MiniLM-L6-v2, trained to place sentences of similar meaning together, so unseen phrasings still
land near familiar ones). Its word embeddings are kept as published; its layers were fine-tuned on
this project's sentences, which taught them negation and contrast ("can't complain", "nice box, but
it broke") that similarity alone blurs. The image head is a small CNN that cuts the picture into 15x15 tokens,
one transformer layer, and a learned query that attention-pools the tokens: its weights are the map.

**Three ways to fuse them** (all trained together on the same text + face pairs):
- **Late**: a weighted average of the two sides' own probabilities,
  $p = w\,p_\text{text} + (1-w)\,p_\text{image}$, with one learned $w$. It can only land between the two
  opinions: for a happy sentence with a frowning face it follows whichever side is more confident.
- **Early**: one joint head (an MLP) over the concatenated text and image features. It can learn any
  rule over the pair, e.g. that a positive and a negative side cancel out.
- **Hybrid**: co-attention. Word tokens attend to image tokens and image tokens to words, each
  $\mathrm{softmax}(QK^\top/\sqrt{d})\,V$, then a head over both. The second map shows where the
  text's [CLS] looked in the picture.

**The pairs' label** is the sign of the sum of polarities (positive +1, negative -1, neutral 0): agreeing
sides keep their label, a neutral side lets the other decide, opposite sides give neutral ("mixed").
Training loss, a weighted multi-task sum: cross-entropy of the text head, the image head and each fusion
head, plus a term pulling the image head's pooling weights onto the mouth. While training, one word in
ten is hidden at random (word dropout) and the targets are smoothed, so the text side cannot lean on a
single sentiment word or grow sure of every sentence it has seen.

**Which side drove it.** The model is run three times in one batch: as given, without the text, without
the picture. A side's *drive* is how much the fused label's probability falls without it; the larger
drive names the driver ("both" when they are within 0.05).

**Word colours**: each word's VADER valence after the rules (green pushes positive, red negative) for
the built-in model; for the pretrained text model, how much P(positive) - P(negative) falls when the word
is left out. The pretrained profile (a RoBERTa tweet classifier + CLIP zero-shot) has no trained joint
heads, so it fuses late only, with $w = 0.5$.
"""


def random_face() -> np.ndarray:
    """A fresh ShapesWorld face with a random expression (300 px)."""
    return generate_face(np.random.default_rng()).image(size=300)


def _strategy(fusion: str | None) -> str | None:
    return None if fusion in (None, "", AUTO) else fusion


@friendly_errors
def analyse(text: str | None, image: str | None, profile: str = "auto", model: str = "default for profile",
            precision: str = "auto", fusion: str = AUTO) -> tuple[Any, ...]:
    """The /sentiment endpoint: validates here, so API callers get the same messages."""
    result = mmcore.sentiment(text or None, image, fusion=_strategy(fusion), timeout=TIMEOUT_S["sentiment"], profile=profile,
                              model=registry_model("sentiment", model), precision=precision)
    picture = mmcore.inputs.load_image(image) if image is not None else None
    heat = overlay_file(picture, result.attention) if picture is not None and result.attention is not None else None
    gallery = [(overlay_file(picture, m), name) for name, m in result.maps] if picture is not None else []
    return (result.scores, _verdict(result), result.text.scores if result.text else None,
            result.image.scores if result.image else None, _words(result), heat, gallery, _table(result),
            picture_file(fusion_bars(result.fused)), _info(result))


def _words(result: mmcore.SentimentResult) -> list[tuple[str, float | None]]:
    return [(w + " ", round(s, 3) if abs(s) >= 0.01 else None) for w, s in result.words]


def _table(result: mmcore.SentimentResult) -> list[list[Any]]:
    return [[f.strategy, f.label, *(round(f.scores[lab], 3) for lab in LABELS),
             round(f.drive["text"], 3) if "text" in f.drive else "-",
             round(f.drive["image"], 3) if "image" in f.drive else "-"] for f in result.fused]


def _verdict(r: mmcore.SentimentResult) -> str:
    if r.strategy == "none":
        return f"Only the **{r.driver}** was given: **{r.label}** is its own reading."
    head = next(f for f in r.fused if f.strategy == r.strategy)
    who = "both sides" if r.driver == "both" else f"the **{r.driver}**"
    agree = len({f.label for f in r.fused}) == 1
    return (f"**{r.label.capitalize()}** under {r.strategy} fusion, driven by {who} (without the text, "
            f"P({r.label}) falls by {head.drive['text']:+.2f}; without the picture, by {head.drive['image']:+.2f}). "
            + ("All strategies agree." if agree else "The strategies disagree: see the table."))


def _info(r: mmcore.SentimentResult) -> str:
    return (f"**Model:** `{r.model}` · profile **{r.profile}** · {r.precision} on {r.device} · "
            f"{r.latency_ms:.0f} ms")


def _inputs() -> tuple[gr.components.Component, ...]:
    text = gr.Textbox(label="Text", lines=3, max_length=MAX_TEXT_CHARS,
                      placeholder="Any English sentence: a review, a message, a headline...")
    image = ImageUpload(type="filepath", label="Picture (a face works best)", sources=["upload", "clipboard"],
                        height=260)
    return text, image


def _outputs() -> list[gr.components.Component]:
    fused = gr.Label(label="Fused sentiment", num_top_classes=3)
    verdict = gr.Markdown()
    with gr.Row():
        text_side = gr.Label(label="Text alone", num_top_classes=3)
        image_side = gr.Label(label="Picture alone", num_top_classes=3)
    words = gr.HighlightedText(label="Words (green: towards positive, red: towards negative)",
                               show_legend=False, combine_adjacent=False)
    with gr.Row(equal_height=False):
        heat = gr.Image(label="Where the picture side looked", interactive=False, height=240)
        bars = gr.Image(label="Each fusion strategy's probabilities", interactive=False, height=240)
    with gr.Accordion("Every map", open=False):
        gallery = gr.Gallery(columns=2, height=200, show_label=False)
    table = gr.Dataframe(headers=TABLE_HEADERS, label="Fusion strategies side by side", interactive=False)
    info = gr.Markdown()
    return [fused, verdict, text_side, image_side, words, heat, gallery, table, bars, info]


def build() -> gr.Blocks:
    with gr.Blocks() as demo:
        gr.Markdown("Give a sentence, a face, or both. See what each says alone, how three fusion strategies "
                    "combine them, and which one drove the decision.")
        with gr.Row(equal_height=False):
            with gr.Column(scale=1):
                text, image = _inputs()
                with gr.Row():
                    go = gr.Button("Analyse", variant="primary")
                    face = gr.Button("New random face")
                profile, model, precision, _ = model_settings("sentiment", with_top_k=False)
                fusion = gr.Radio([AUTO, *STRATEGIES], value=AUTO, label="Headline fusion strategy",
                                  info="auto: hybrid where the model has it, else late")
                gr.Examples(sentiment_examples(), inputs=[text, image], label="Examples: agree, one neutral, "
                            "conflict, text only, face only")
            with gr.Column(scale=2):
                outputs = _outputs()
        how_it_works(HOW_IT_WORKS)
        args = [text, image, profile, model, precision, fusion]
        go.click(analyse, args, outputs, api_name="sentiment", **limits("sentiment"))
        text.submit(analyse, args, outputs, api_visibility="private", **limits("sentiment"))
        face.click(random_face, None, image, api_visibility="private")
    return demo
