"""Fusion tab: one question answered by early, late and hybrid fusion side by side, with
their measured accuracy, size and speed below."""
from __future__ import annotations

from typing import Any

import gradio as gr

import mmcore
from mmcore.benchmark import HEADERS, PLOT, load_report, table_rows
from mmcore.loading import where
from mmcore.registry import FUSION_MODELS, REGISTRY
from mmcore.spec import PRECISIONS

from .common import TIMEOUT_S, limits, ImageUpload, friendly_errors, how_it_works, overlay_file
from .examples import vqa_examples
from .vqa import random_scene

TABLE_HEADERS = ["strategy", "answer", "confidence", "latency ms"]

HOW_IT_WORKS = r"""
Three models that differ **only in where the question meets the image**. They share every part (a CNN
stem that cuts the 75x75 scene into 15x15 tokens, each tagged with the centre of the object under it;
word embeddings; 4 transformer layers of width 128 per stream) and were trained on the same scenes,
questions, steps and optimiser (`python -m mmcore.train fusion --fusion ...`).

- **Early fusion (single stream).** Question tokens and image tokens are concatenated *before the first
  layer*; every layer is self-attention over both, so words can steer what the image tokens compute from
  the start (as in ViLT). Cost: every layer runs once per question.
- **Late fusion.** The question and the image are encoded apart; the image stream is pooled (mean and
  max over its tokens) into one vector *before it knows the question*, and the two vectors meet only in
  the answer head. Some libraries call score averaging "late fusion"; here it is this feature-level
  version. The pooled vector must hold everything any question might need; relations between objects
  are the hard part, as the table below shows.
- **Hybrid (co-attention).** Two layers per stream apart, then two co-attention layers: question tokens
  cross-attend to the image, and image tokens back to the question (as in LXMERT / ViLBERT).

**The maps.** Attention is $\mathrm{softmax}(QK^\top/\sqrt{d})\,V$: each query reads a weighted sum of
values. For early and hybrid fusion the map is the question [CLS] token's attention weights over the
image tokens in the last fusion layer (mean over heads, renormalised over the image); the gallery has
every layer. During training the last two of those layers were pulled onto the named object and the
object the answer is about, a weighted multi-task loss (answer cross-entropy + attention + image-side
terms that every strategy shares: each token's offset to its object's centre, and what covers it). Late fusion has no question-to-image attention at all: its map shows, per
cell, the share of pooled channels that cell supplies, and it is the same for every question.
"""


def available() -> bool:
    """The tab shows once all three strategy models are shipped (`make train-fusion`)."""
    return all(where(REGISTRY[name])[0] for name in FUSION_MODELS.values())


def _row(row: mmcore.FusionRow) -> list[Any]:
    r = row.result
    return [row.strategy, r.answer, round(r.score, 3), round(r.latency_ms, 1)]


@friendly_errors
def compare(image: str | None, question: str, precision: str = "auto") -> tuple[Any, ...]:
    """The /fusion endpoint: validates here, so API callers get the same messages."""
    if image is None:
        raise gr.Error("No image: upload one (PNG, JPEG, GIF, BMP, TIFF or WebP) or pick an example.")
    result = mmcore.fusion(image, question, precision=precision, top_k=3, timeout=TIMEOUT_S["fusion"])
    picture = mmcore.inputs.load_image(image)
    table = [_row(row) for row in result.rows]
    panels: list[Any] = []
    for row in result.rows:
        r = row.result
        panels += [dict(r.top_k), overlay_file(picture, r.attention),
                   [(overlay_file(picture, m), name) for name, m in r.maps],
                   f"**{r.latency_ms:.0f} ms** · `{r.model}` · {r.precision}"]
    verdict = ("All three strategies agree." if result.agree
               else "The strategies disagree: compare where each one looked.")
    return (table, *panels, verdict)


def _panel(strategy: str) -> list[gr.components.Component]:
    with gr.Column(min_width=220):
        gr.Markdown(f"### {strategy.capitalize()} fusion")
        label = gr.Label(label="Answer", num_top_classes=3)
        heat = gr.Image(label="Where it looked", interactive=False, height=220)
        with gr.Accordion("Every layer's map", open=False):
            layers = gr.Gallery(columns=2, height=160, show_label=False)
        info = gr.Markdown()
    return [label, heat, layers, info]


def _benchmark_section() -> None:
    """The measured table and plot, as last written by `python -m mmcore benchmark fusion`."""
    report = load_report()
    gr.Markdown("## Measured on held-out scenes")
    if report is None:
        gr.Markdown("Not measured on this install yet: run `python -m mmcore benchmark fusion`.")
        return
    gr.Markdown(f"Accuracy (%) on {report['scenes']} freshly generated scenes (seed {report['seed']}, "
                f"{report['questions']} questions), with the paper's Sort-of-CLEVR reference rows; latency is one "
                f"request through mmcore on {report['machine']}. Reproduce: `{report['command']}`.")
    with gr.Row(equal_height=False):
        with gr.Column(scale=3):
            gr.Dataframe(value=table_rows(report), headers=list(HEADERS), interactive=False, wrap=True,
                         label="Accuracy, size and speed per strategy")
        with gr.Column(scale=2):
            if PLOT.is_file():
                gr.Image(str(PLOT), label="Non-relational vs relational accuracy", interactive=False,
                         buttons=["fullscreen"])


def build() -> gr.Blocks:
    with gr.Blocks() as demo:
        gr.Markdown("Ask one question about a scene; three models that differ only in *where the question "
                    "meets the image* answer it side by side.")
        with gr.Row(equal_height=False):
            with gr.Column(scale=1):
                image = ImageUpload(type="filepath", label="Image", sources=["upload", "clipboard"], height=300)
                question = gr.Textbox(label="Question", placeholder="What is the shape of the object closest "
                                      "to the red object?", max_lines=2)
                with gr.Row():
                    ask = gr.Button("Compare", variant="primary")
                    shuffle = gr.Button("New random scene")
                with gr.Accordion("Settings", open=False):
                    precision = gr.Dropdown(list(PRECISIONS), value="auto", label="Precision",
                                            info="int8: torchao; bnb8 / bnb4: bitsandbytes")
                gr.Examples(vqa_examples(), inputs=[image, question], label="ShapesWorld examples")
            with gr.Column(scale=2):
                table = gr.Dataframe(headers=TABLE_HEADERS, label="One row per strategy", interactive=False,
                                     row_count=len(FUSION_MODELS))
                verdict = gr.Markdown()
                with gr.Row(equal_height=False):
                    panels = [c for strategy in FUSION_MODELS for c in _panel(strategy)]
        _benchmark_section()
        how_it_works(HOW_IT_WORKS)
        outputs = [table, *panels, verdict]
        ask.click(compare, [image, question, precision], outputs, api_name="fusion", **limits("fusion"))
        question.submit(compare, [image, question, precision], outputs, api_visibility="private", **limits("fusion"))
        shuffle.click(random_scene, None, [image, question], api_visibility="private")
    return demo
