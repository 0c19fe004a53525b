"""Sentiment adapters: the built-in text + face model, a Hub text classifier, CLIP zero-shot.

Each adapter reads the modalities it declares (`modalities`) and returns one
SentimentOutput per item; the task (mmcore.tasks.sentiment) merges a text adapter's and
an image adapter's outputs and fuses them late when the model has no fusion heads.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from PIL import Image
from torch.nn import functional as F

from .. import lexicon, text_encoder
from ..overlay import scaled
from ..models.sentiment import LABELS, STRATEGIES
from .base import LoadedModel


@dataclass(frozen=True)
class Modality:
    label: str  # positive | negative | neutral
    scores: dict[str, float]  # every label's probability


@dataclass(frozen=True)
class Fused:
    strategy: str  # late | early | hybrid
    label: str
    scores: dict[str, float]
    # per modality: how much the fused label's probability drops without it (can be < 0)
    drive: dict[str, float]


@dataclass(frozen=True)
class SentimentOutput:
    text: Modality | None = None  # the text's own sentiment (None: no text read)
    image: Modality | None = None  # the image's own sentiment
    fused: tuple[Fused, ...] = ()  # the model's own fusion heads (empty: the task fuses late)
    words: tuple[tuple[str, float], ...] = ()  # per word, signed importance in [-1, 1]
    image_map: np.ndarray | None = None  # (h, w) in [0, 1]: where the image side looked
    maps: tuple[tuple[str, np.ndarray], ...] = ()  # further named (h, w) maps
    text_weight: float | None = None  # late fusion's weight of the text, where learned


def modality(probs: torch.Tensor, labels: tuple[str, ...] = LABELS) -> Modality:
    """(3,) probabilities -> Modality with the positive / negative / neutral scores."""
    scores = {lab: float(p) for lab, p in zip(labels, probs)}
    return Modality(max(scores, key=scores.get), scores)


def encoder_inputs(texts: list[str | None], device: torch.device | str = "cpu",
                   tuned_layers: int = 0) -> dict[str, torch.Tensor]:
    """The sentence encoder's inputs to the model: its frozen states below the model's own
    `tuned_layers` top layers. Rows without text are zeros."""
    b, present = len(texts), [i for i, t in enumerate(texts) if t]
    layer = text_encoder.LAYERS - tuned_layers
    enc = text_encoder.encode([texts[i] for i in present], device, layer) if present else None
    pieces = enc.states.shape[1] if enc else 1
    out = {"encoder_states": torch.zeros(b, pieces, text_encoder.HIDDEN, device=device),
           "encoder_mask": torch.zeros(b, pieces, dtype=torch.long, device=device),
           "encoder_pooled": torch.zeros(b, text_encoder.HIDDEN, device=device)}
    if enc:
        out["encoder_states"][present], out["encoder_mask"][present] = enc.states, enc.mask
        out["encoder_pooled"][present] = enc.pooled
    return out


class ShapesSentimentAdapter:
    """The built-in model: both modalities and the three fusion heads in one forward pass."""

    modalities = ("text", "image")

    def preprocess(self, loaded: LoadedModel, texts: list[str | None],
                   images: list[Image.Image | None]) -> dict[str, object]:
        cfg = loaded.model.config
        enc, readings = lexicon.encode(texts, cfg.max_text_tokens)
        blank = Image.new("RGB", (cfg.image_size, cfg.image_size), "white")
        pixels = loaded.processor([im or blank for im in images], return_tensors="pt")["pixel_values"]
        inputs = {k: torch.from_numpy(v) for k, v in enc.items()}
        inputs.update(pixel_values=pixels, has_image=torch.tensor([im is not None for im in images]))
        return {"inputs": inputs, "readings": readings, "texts": texts}

    def forward(self, loaded: LoadedModel, batch: dict[str, object]) -> list[SentimentOutput]:
        """One forward over 3B rows: as given, without the text, without the image."""
        x = {k: v.to(loaded.device) for k, v in batch["inputs"].items()}
        x.update(encoder_inputs(batch["texts"], loaded.device, loaded.model.config.tuned_layers))
        x = {k: v.to(loaded.dtype) if v.is_floating_point() else v for k, v in x.items()}
        # the tuned encoder layers once per text, not on each of the three copies below
        x["encoder_states"], x["encoder_pooled"] = loaded.model.tune_encoder(
            x["encoder_states"], x["encoder_mask"], x["encoder_pooled"])
        b = x["has_text"].shape[0]
        three = {k: torch.cat([v] * 3) for k, v in x.items()}
        off = torch.zeros(b, dtype=torch.bool, device=loaded.device)
        three["has_text"] = torch.cat([x["has_text"], off, x["has_text"]])
        three["has_image"] = torch.cat([x["has_image"], x["has_image"], off])
        out = loaded.model(**three, encoder_tuned=True)
        probs = {s: getattr(out, f"{s}_logits").float().softmax(-1).cpu().reshape(3, b, -1) for s in STRATEGIES}
        grid = loaded.model.config.grid
        return [self._item(out, probs, batch["readings"][i], x, i, b, grid) for i in range(b)]

    @staticmethod
    def _item(out, probs, reading, x, i: int, b: int, grid: int) -> SentimentOutput:
        has_text, has_image = bool(x["has_text"][i]), bool(x["has_image"][i])
        heads = tuple(fused(s, probs[s][:, i], has_text, has_image) for s in STRATEGIES)
        maps = ()
        if has_image:
            pool = scaled(out.image_attention[i].float().cpu().numpy().reshape(grid, grid))
            cross = scaled(out.cross_attention[i].float().cpu().numpy().reshape(grid, grid))
            maps = (("image head: attention pooling", pool), ("hybrid: the text's attention over the image", cross))
        return SentimentOutput(
            text=modality(out.text_logits[i].float().softmax(-1).cpu()) if has_text else None,
            image=modality(out.image_logits[i].float().softmax(-1).cpu()) if has_image else None,
            fused=heads, words=_words(reading), image_map=maps[0][1] if maps else None, maps=maps,
            text_weight=float(out.text_weight))


def fused(strategy: str, p: torch.Tensor, has_text: bool, has_image: bool) -> Fused:
    """p (3 variants: full, no text, no image; 3 labels) -> the fused result and its drivers."""
    full = modality(p[0])
    k = LABELS.index(full.label)
    drive = {}
    if has_text:
        drive["text"] = float(p[0, k] - p[1, k]) if has_image else float(p[0, k])
    if has_image:
        drive["image"] = float(p[0, k] - p[2, k]) if has_text else float(p[0, k])
    return Fused(strategy, full.label, full.scores, drive)


def _words(reading: lexicon.TextReading | None) -> tuple[tuple[str, float], ...]:
    """Each word with its VADER valence after the rules, scaled to [-1, 1]."""
    if reading is None:
        return ()
    return tuple((w, max(-1.0, min(1.0, v / lexicon.SCALE))) for w, v in zip(reading.words, reading.valences))


# ----------------------------------------------------------------------------- pretrained

MAX_OCCLUDED_WORDS = 48  # word importance is computed for at most this many words
LABEL_NAMES = {"positive": "positive", "pos": "positive", "negative": "negative", "neg": "negative",
               "neutral": "neutral", "neu": "neutral"}


def _label_order(id2label: dict) -> list[str]:
    """The model's class ids as positive / negative / neutral; a clear error otherwise."""
    names = [LABEL_NAMES.get(str(id2label[i]).lower()) for i in sorted(id2label)]
    if None in names or len(set(names)) != len(names):
        raise ValueError(f"the text model's labels {list(id2label.values())} are not positive / negative / neutral")
    return names


def _polarity(p: torch.Tensor, order: list[str]) -> torch.Tensor:
    """P(positive) - P(negative) per row of (B, classes)."""
    zero = torch.zeros(p.shape[0])
    pos = p[:, order.index("positive")] if "positive" in order else zero
    neg = p[:, order.index("negative")] if "negative" in order else zero
    return pos - neg


class TextClassifierSentimentAdapter:
    """A Hub sequence classifier (e.g. cardiffnlp/twitter-roberta-base-sentiment-latest).

    Word importance is occlusion, in the same forward pass: the text is also run with
    each word left out, and a word's importance is how much P(positive) - P(negative)
    falls without it (positive: it pushed towards positive).
    """

    modalities = ("text",)

    def preprocess(self, loaded: LoadedModel, texts: list[str | None], images: list) -> dict[str, object]:
        variants, spans = [], []
        for text in texts:
            words = text.split()[:MAX_OCCLUDED_WORDS] if text else []
            start = len(variants)
            variants += [text] + [" ".join(words[:j] + words[j + 1:]) for j in range(len(words))] if text else []
            spans.append((start, len(variants), words))
        enc = loaded.processor(variants, padding=True, truncation=True, max_length=256, return_tensors="pt") \
            if variants else None
        return {"enc": enc, "spans": spans}

    def forward(self, loaded: LoadedModel, batch: dict[str, object]) -> list[SentimentOutput]:
        order = _label_order(loaded.model.config.id2label)
        if batch["enc"] is None:
            return [SentimentOutput() for _ in batch["spans"]]
        logits = loaded.model(**{k: v.to(loaded.device) for k, v in batch["enc"].items()}).logits
        p = logits.float().softmax(-1).cpu()
        polarity = _polarity(p, order)
        return [self._item(p, polarity, order, *span) for span in batch["spans"]]

    @staticmethod
    def _item(p, polarity, order, start: int, end: int, words: list[str]) -> SentimentOutput:
        if start == end:
            return SentimentOutput()
        scores = {lab: 0.0 for lab in LABELS} | {lab: float(v) for lab, v in zip(order, p[start])}
        drops = (polarity[start] - polarity[start + 1:end]).clamp(-1, 1)
        return SentimentOutput(text=Modality(max(scores, key=scores.get), scores),
                               words=tuple((w, float(d)) for w, d in zip(words, drops)))


# CLIP zero-shot: each label is the mean of its prompts' text embeddings.
CLIP_PROMPTS: dict[str, tuple[str, ...]] = {
    "positive": ("a photo of a happy, smiling face", "a photo of a joyful person", "a cheerful picture"),
    "negative": ("a photo of a sad, frowning face", "a photo of an angry or upset person", "a gloomy picture"),
    "neutral": ("a photo of a face with a neutral expression", "a photo of a calm, expressionless person",
                "an ordinary picture"),
}


class ClipSentimentAdapter:
    """CLIP zero-shot image sentiment (openai/clip-vit-base-patch32).

    Scores are softmax(logit_scale * cos(image, label)). The map is the same cosine per
    patch: each patch token through CLIP's final norm and projection, against the
    winning label's text embedding.
    """

    modalities = ("image",)

    def preprocess(self, loaded: LoadedModel, texts: list, images: list[Image.Image | None]) -> dict[str, object]:
        present = [im for im in images if im is not None]
        prompts = [p for lab in LABELS for p in CLIP_PROMPTS[lab]]
        enc = loaded.processor(text=prompts, images=present or None, padding=True, return_tensors="pt")
        return {"enc": enc, "present": [im is not None for im in images]}

    def forward(self, loaded: LoadedModel, batch: dict[str, object]) -> list[SentimentOutput]:
        if not any(batch["present"]):
            return [SentimentOutput() for _ in batch["present"]]
        enc, model = batch["enc"], loaded.model
        labels = self._label_embeddings(model, enc, loaded.device)  # (3, D)
        vision = model.vision_model(pixel_values=enc["pixel_values"].to(loaded.device, loaded.dtype))
        image = F.normalize(model.visual_projection(vision.pooler_output).float(), dim=-1)  # (B, D)
        patches = model.visual_projection(model.vision_model.post_layernorm(vision.last_hidden_state[:, 1:]))
        patches = F.normalize(patches.float(), dim=-1)  # (B, P, D)
        probs = (model.logit_scale.exp().float() * image @ labels.T).softmax(-1).cpu()
        it = iter(range(len(probs)))
        return [self._item(probs, patches, labels, next(it)) if ok else SentimentOutput() for ok in batch["present"]]

    @staticmethod
    def _label_embeddings(model, enc, device) -> torch.Tensor:
        text = model.get_text_features(input_ids=enc["input_ids"].to(device),
                                       attention_mask=enc["attention_mask"].to(device)).pooler_output
        text = F.normalize(text.float(), dim=-1).reshape(len(LABELS), -1, text.shape[-1]).mean(1)
        return F.normalize(text, dim=-1)

    @staticmethod
    def _item(probs, patches, labels, i: int) -> SentimentOutput:
        m = modality(probs[i])
        sims = (patches[i] @ labels[LABELS.index(m.label)]).cpu().numpy()  # (P,)
        g = int(round(len(sims) ** 0.5))
        heat = scaled(sims.reshape(g, g))
        return SentimentOutput(image=m, image_map=heat, maps=((f"CLIP: patches like '{m.label}'", heat),))
