"""The registry: every task's models, per profile, with pinned defaults.

Adding a model is registering a ModelEntry; code never branches on model names.
Resolution turns (task, profile, model, precision, device) into a concrete ModelSpec.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from .errors import InputError

PACKAGE_DIR = Path(__file__).resolve().parent
# shipped model folders, trained by mmcore.train; MMCORE_BUILTIN_DIR points elsewhere (tests, deployments)
BUILTIN_DIR = Path(os.environ.get("MMCORE_BUILTIN_DIR") or PACKAGE_DIR / "builtin")


@dataclass(frozen=True)
class ModelEntry:
    name: str  # what users pick (--model NAME, the UI dropdown)
    task: str  # "vqa", "caption", ...
    profile: str  # "pretrained" (Hub checkpoint) or "builtin" (shipped folder)
    source: str  # Hub id, or a folder relative to mmcore/builtin
    arch: str  # adapter key in mmcore.adapters.ARCHS
    revision: str | None = None  # pinned Hub revision (None: local folder)
    summary: str = ""  # one line for `python -m mmcore models` and the UI

    @property
    def location(self) -> str:
        """Hub id, or the absolute folder it loads from."""
        return self.source if self.profile == "pretrained" else str(BUILTIN_DIR / self.source)


REGISTRY: dict[str, ModelEntry] = {}


def register(entry: ModelEntry) -> ModelEntry:
    if entry.name in REGISTRY:
        raise ValueError(f"model {entry.name!r} is registered twice")
    REGISTRY[entry.name] = entry
    return entry


# Hub revisions: "main" until pinned to a commit from a machine that reaches the Hub
# (the sentiment pair's commits are the ones other projects' lock files record for these repos)
# (`python -m mmcore models --pin` prints the commits to paste here).
register(ModelEntry("vilt-vqa", "vqa", "pretrained", "dandelin/vilt-b32-finetuned-vqa", "vilt", "main",
                    "ViLT-B/32 fine-tuned on VQAv2: one transformer over words and patches"))
register(ModelEntry("blip-vqa", "vqa", "pretrained", "Salesforce/blip-vqa-base", "blip", "main",
                    "BLIP base: ViT encoder, question encoder cross-attending to it, answer decoder"))
register(ModelEntry("shapesworld-vqa", "vqa", "builtin", "vqa", "shapesworld-vqa", None,
                    "Built-in: two-hop cross-attention reader trained on ShapesWorld (Sort-of-CLEVR)"))

register(ModelEntry("blip-caption", "caption", "pretrained", "Salesforce/blip-image-captioning-base", "blip-caption",
                    "main", "BLIP base captioner: ViT encoder, text decoder cross-attending to it; takes a prompt"))
register(ModelEntry("vit-gpt2-caption", "caption", "pretrained", "nlpconnect/vit-gpt2-image-captioning",
                    "vision-encoder-decoder", "main", "ViT encoder + GPT-2 decoder (VisionEncoderDecoderModel)"))
register(ModelEntry("shapesworld-caption", "caption", "builtin", "caption", "vision-encoder-decoder", None,
                    "Built-in: small ViT + BERT decoder trained on ShapesWorld caption scenes"))

# The fusion comparison: one built-in VQA model per strategy, same parts, data and budget.
FUSION_MODELS: dict[str, str] = {}
for _strategy, _how in (("early", "question and image tokens in one stream from the first layer"),
                        ("late", "question and image encoded apart, met only in the answer head"),
                        ("hybrid", "encoded apart, then co-attention question <-> image")):
    FUSION_MODELS[_strategy] = register(ModelEntry(
        f"fusion-{_strategy}", "vqa", "builtin", f"fusion-{_strategy}", "shapesworld-fusion", None,
        f"Built-in, {_strategy} fusion: {_how} (Fusion tab)")).name

# Sentiment: one built-in model reads text and face and fuses them three ways; the
# pretrained profile pairs a text classifier with CLIP zero-shot and fuses them late.
register(ModelEntry("shapesworld-sentiment", "sentiment", "builtin", "sentiment", "shapesworld-sentiment", None,
                    "Built-in: VADER + a fine-tuned MiniLM read the text, a CNN the face; fused late, early and hybrid"))
register(ModelEntry("twitter-roberta-sentiment", "sentiment", "pretrained",
                    "cardiffnlp/twitter-roberta-base-sentiment-latest", "text-sentiment",
                    "3216a57f2a0d9c45a2e6c20157c20c49fb4bf9c7",
                    "RoBERTa-base fine-tuned for tweet sentiment (text only)"))
register(ModelEntry("clip-sentiment", "sentiment", "pretrained", "openai/clip-vit-base-patch32", "clip-sentiment",
                    "3d74acf9a28c67741b2f4f2ea7635f0aaf6f0268", "CLIP ViT-B/32 zero-shot: the image against positive / negative / neutral prompts"))
# the pretrained profile's sentiment models: (text model, image model)
SENTIMENT_PAIR: tuple[str, str] = ("twitter-roberta-sentiment", "clip-sentiment")

register(ModelEntry("shapesworld-video", "video", "builtin", "video", "shapesworld-video", None,
                    "Built-in: a small VideoMAE with action, colour and shape heads, trained on ShapesWorld clips"))
register(ModelEntry("videomae-kinetics", "video", "pretrained", "MCG-NJU/videomae-base-finetuned-kinetics", "videomae",
                    "main", "VideoMAE-base fine-tuned on Kinetics-400: 400 human actions"))
register(ModelEntry("xclip", "video", "pretrained", "microsoft/xclip-base-patch32", "xclip", "main",
                    "X-CLIP base/32: zero-shot over the labels you type"))

# Preference order per task and profile; the first available one is the default.
DEFAULTS: dict[str, dict[str, tuple[str, ...]]] = {
    "vqa": {"pretrained": ("vilt-vqa", "blip-vqa"), "builtin": ("shapesworld-vqa",)},
    "caption": {"pretrained": ("blip-caption", "vit-gpt2-caption"), "builtin": ("shapesworld-caption",)},
    "sentiment": {"builtin": ("shapesworld-sentiment",)},
    "video": {"pretrained": ("videomae-kinetics",), "builtin": ("shapesworld-video",)},  # pretrained: the SENTIMENT_PAIR
}


def models_for(task: str, profile: str | None = None) -> list[ModelEntry]:
    return [e for e in REGISTRY.values() if e.task == task and profile in (None, e.profile)]


def _check_choice(value: str, allowed: tuple[str, ...], what: str) -> None:
    if value not in allowed:
        raise InputError(f"unknown {what} {value!r}; accepted: {', '.join(allowed)}")
