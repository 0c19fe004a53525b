"""Multimodal sentiment: text and/or image -> each modality's sentiment, the fused one under
each fusion strategy, which modality drove it, per-word importance and an image map.

The built-in profile is one model with its own late / early / hybrid heads. The
pretrained profile pairs a text classifier with CLIP zero-shot; having no trained joint
heads, it fuses late only: p = w p_text + (1 - w) p_image with w = LATE_TEXT_WEIGHT.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import torch
from PIL import Image

from ..adapters import ARCHS
from ..adapters.sentiment import Fused, Modality, SentimentOutput, fused
from ..errors import InputError, ModelLoadError
from ..inputs import ImageLike, load_image
from ..lexicon import clean_text
from ..loading import load, resolve, where
from ..models.sentiment import LABELS, STRATEGIES
from ..overlay import upsample
from ..registry import REGISTRY, SENTIMENT_PAIR
from ..spec import ModelSpec
from ..batching import BatchPolicy
from .base import Task

LATE_TEXT_WEIGHT = 0.5  # the pretrained pair's late fusion: text and image count the same
DEFAULT_STRATEGY = "hybrid"  # the headline label, where the model has that head
TIE = 0.05  # drives closer than this: both modalities drove the decision


@dataclass(frozen=True)
class SentimentResult:
    label: str  # the headline sentiment: fused under `strategy`, or the one given modality's own
    scores: dict[str, float]  # its probability per label
    strategy: str  # the fusion strategy behind `label` ("none": only one modality was given)
    driver: str  # "text" | "image" | "both": whose removal costs `label` the most probability
    text: Modality | None  # the text's own sentiment (None: no text given)
    image: Modality | None  # the image's own sentiment (None: no image given)
    fused: tuple[Fused, ...]  # one per strategy the model has (late / early / hybrid)
    words: tuple[tuple[str, float], ...]  # per word, importance in [-1, 1] (> 0 pushes positive)
    attention: np.ndarray | None  # (H, W) in [0, 1] over the image: where the image side looked
    maps: tuple[tuple[str, np.ndarray], ...]  # further named (H, W) maps
    input_text: str | None  # the text as read (whitespace collapsed)
    image_size: tuple[int, int] | None  # (W, H) of the image the maps cover
    model: str
    profile: str
    precision: str
    device: str
    latency_ms: float

    def to_dict(self) -> dict[str, Any]:
        r6 = lambda d: {k: round(v, 6) for k, v in d.items()}  # noqa: E731
        return {"label": self.label, "scores": r6(self.scores), "text_label": self.text and self.text.label,
                "image_label": self.image and self.image.label, "strategy": self.strategy, "driver": self.driver,
                "fused": [{"strategy": f.strategy, "label": f.label, "scores": r6(f.scores), "drive": r6(f.drive)}
                          for f in self.fused],
                "words": [[w, round(s, 4)] for w, s in self.words], "model": self.model, "profile": self.profile,
                "precision": self.precision, "device": self.device, "latency_ms": round(self.latency_ms, 2)}


@dataclass(frozen=True)
class SentimentItem:
    text: str | None
    image: Image.Image | None


def sentiment_specs(profile: str = "auto", model: str | None = None, precision: str = "auto",
                    device: str = "auto") -> tuple[ModelSpec, ...]:
    """One joint model, or (text model, image model): the pretrained pair where it can be
    had (profile auto / pretrained), else the built-in model."""
    if model is not None:
        return (resolve("sentiment", profile, model, precision, device),)
    pair_ok = all(where(REGISTRY[name])[0] for name in SENTIMENT_PAIR)
    if profile == "pretrained" and not pair_ok:
        missing = "; ".join(f"{n}: {where(REGISTRY[n])[1]}" for n in SENTIMENT_PAIR if not where(REGISTRY[n])[0])
        raise ModelLoadError(f"the pretrained sentiment models are not available ({missing}); "
                             "use --profile builtin, or run once where the Hugging Face Hub is reachable")
    if profile in ("auto", "pretrained") and pair_ok:
        return tuple(resolve("sentiment", "pretrained", n, precision, device) for n in SENTIMENT_PAIR)
    return (resolve("sentiment", "builtin" if profile == "auto" else profile, None, precision, device),)


class SentimentTask(Task[SentimentItem, SentimentOutput]):
    name = "sentiment"
    batch_policy = BatchPolicy(max_batch=32)

    def __init__(self, specs: tuple[ModelSpec, ...], fusion: str | None = None) -> None:
        self.spec = specs[0]
        self.parts = [(load(s), ARCHS[s.arch].adapter()) for s in specs]
        self.loaded, self.adapter = self.parts[0]
        self.modalities = {m for _, a in self.parts for m in a.modalities}
        self.fusion = self._strategy(fusion)  # the headline strategy unless a run names another

    @classmethod
    def create(cls, profile: str = "auto", model: str | None = None, precision: str = "auto",
               device: str = "auto", fusion: str | None = None) -> "SentimentTask":
        return cls(sentiment_specs(profile, model, precision, device), fusion)

    def recipe(self) -> tuple[type, tuple]:
        return type(self), (tuple(loaded.spec for loaded, _ in self.parts), self.fusion)

    def batch_key(self) -> tuple:
        return type(self).__name__, tuple(loaded.spec for loaded, _ in self.parts), self.fusion

    def describe(self) -> str:
        return " + ".join(loaded.spec.describe() for loaded, _ in self.parts)

    @property
    def strategies(self) -> tuple[str, ...]:
        """The fusion strategies this task's model(s) can give."""
        joint = any(set(a.modalities) == {"text", "image"} for _, a in self.parts)
        return STRATEGIES if joint else ("late",)

    def preprocess(self, raw: tuple[str | None, ImageLike | None]) -> SentimentItem:
        text, image = raw if isinstance(raw, tuple) else (raw, None)
        text = clean_text(text) or None
        if text is None and image is None:
            raise InputError("give a text, an image, or both: sentiment needs at least one of them")
        for what, given in (("text", text), ("image", image)):
            if given is not None and what not in self.modalities:
                raise InputError(f"the model {self.spec.name!r} reads {', '.join(sorted(self.modalities))} only, "
                                 f"not {what}; leave the {what} out or choose another model")
        return SentimentItem(text, load_image(image) if image is not None else None)

    def _forward(self, items: list[SentimentItem], fusion: str | None = None) -> list[SentimentOutput]:
        self._strategy(fusion)
        merged = [SentimentOutput() for _ in items]
        for loaded, adapter in self.parts:
            texts = [i.text if "text" in adapter.modalities else None for i in items]
            images = [i.image if "image" in adapter.modalities else None for i in items]
            outs = adapter.forward(loaded, adapter.preprocess(loaded, texts, images))
            merged = [_merge(m, o) for m, o in zip(merged, outs)]
        return [m if m.fused else replace(m, fused=(late_fusion(m.text, m.image, LATE_TEXT_WEIGHT),))
                for m in merged]

    def _strategy(self, fusion: str | None) -> str:
        if fusion is None:
            fallback = DEFAULT_STRATEGY if DEFAULT_STRATEGY in self.strategies else self.strategies[0]
            return getattr(self, "fusion", fallback)
        if fusion not in STRATEGIES:
            raise InputError(f"unknown fusion strategy {fusion!r}; accepted: {', '.join(STRATEGIES)}")
        if fusion not in self.strategies:
            raise InputError(f"{self.describe()} fuses {', '.join(self.strategies)} only (no trained {fusion} head); "
                             "the built-in profile has all three")
        return fusion

    def postprocess(self, item: SentimentItem, out: SentimentOutput, latency_ms: float,
                    fusion: str | None = None) -> SentimentResult:
        strategy = self._strategy(fusion) if item.text and item.image else "none"
        head = next((f for f in out.fused if f.strategy == strategy), None)
        own = head or out.text or out.image  # one modality given: the label is its own reading
        size = item.image.size if item.image is not None else None
        up = (lambda m: upsample(m, size)) if size else (lambda m: m)
        return SentimentResult(
            label=own.label, scores=own.scores, strategy=strategy,
            driver=driver(head.drive) if head else ("text" if item.text else "image"), text=out.text, image=out.image, fused=out.fused, words=out.words,
            attention=up(out.image_map) if out.image_map is not None else None,
            maps=tuple((name, up(m)) for name, m in out.maps), input_text=item.text, image_size=size,
            model=" + ".join(l.spec.name for l, _ in self.parts), profile=self.spec.profile,
            precision=self.spec.precision, device=self.spec.device, latency_ms=latency_ms)


def _merge(a: SentimentOutput, b: SentimentOutput) -> SentimentOutput:
    """Fields b has, over a's (a text model's and an image model's outputs meet here)."""
    return SentimentOutput(text=b.text or a.text, image=b.image or a.image, fused=b.fused or a.fused,
                           words=b.words or a.words,
                           image_map=b.image_map if b.image_map is not None else a.image_map,
                           maps=a.maps + b.maps, text_weight=b.text_weight if b.text_weight is not None else a.text_weight)


def late_fusion(text: Modality | None, image: Modality | None, w: float) -> Fused:
    """p = w p_text + (1 - w) p_image (a missing side's weight goes to the other); the
    drives come from the same rows as the built-in heads': as given, without the text
    (the image alone), without the image (the text alone)."""
    pt = torch.tensor([text.scores[k] for k in LABELS], dtype=torch.float64) if text else None
    pi = torch.tensor([image.scores[k] for k in LABELS], dtype=torch.float64) if image else None
    p = pt if pi is None else pi if pt is None else w * pt + (1 - w) * pi
    rows = torch.stack([p, pi if pi is not None else p, pt if pt is not None else p])
    return fused("late", rows, text is not None, image is not None)


def driver(drive: dict[str, float]) -> str:
    """The modality whose removal lowers the fused label's probability most ("both": a tie)."""
    if len(drive) == 1:
        return next(iter(drive))
    (a, da), (b, db) = sorted(drive.items(), key=lambda kv: -kv[1])
    return "both" if da - db < TIE else a


__all__ = ["SentimentResult", "SentimentTask", "late_fusion", "sentiment_specs"]
