"""What an architecture adapter gives the task layer.

An adapter knows one model family (ViLT, BLIP, the built-in ShapesWorld models): how to
turn images and questions into tensors for it, and how to read answers and attention
maps out of one forward pass. Tasks stay architecture-free; adding a family is
registering an adapter (see mmcore.adapters.ADAPTERS), never branching on names.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import torch
from PIL import Image


@dataclass
class LoadedModel:
    """A model ready to run: what the loader returns and caches (one per ModelSpec)."""

    model: Any  # a transformers PreTrainedModel, in eval mode, on `device`
    processor: Any  # its processor (image processor + tokenizer)
    spec: Any  # the mmcore.spec.ModelSpec it was loaded from (the cache key)
    device: torch.device  # where inputs must go
    dtype: torch.dtype  # floating dtype the inputs' pixel values must have


@dataclass(frozen=True)
class VQAOutput:
    """One item's raw answer, before the task wraps it in a public result."""

    answers: tuple[tuple[str, float], ...]  # top-k (answer, probability), best first
    attention: np.ndarray  # (h, w) float32 in [0, 1] over the image, at patch resolution
    maps: tuple[tuple[str, np.ndarray], ...] = ()  # optional named extra (h, w) maps


class VQAAdapter(Protocol):
    """preprocess -> forward for one architecture; forward is the only model call."""

    def preprocess(
        self, loaded: LoadedModel, images: list[Image.Image], questions: list[str]
    ) -> dict[str, torch.Tensor]:
        """Batch of RGB PIL images and questions -> model inputs (on CPU)."""
        ...

    def forward(
        self, loaded: LoadedModel, inputs: dict[str, torch.Tensor], top_k: int
    ) -> list[VQAOutput]:
        """Run the model once (caller holds torch.inference_mode); one output per item."""
        ...


@dataclass(frozen=True)
class Decoding:
    """How to generate text (captioning): greedy, beam search or nucleus sampling."""

    method: str = "greedy"  # "greedy" | "beam" | "nucleus"
    num_beams: int = 3  # beam width, for "beam"
    top_p: float = 0.9  # nucleus mass, for "nucleus"
    temperature: float = 1.0  # softmax temperature, for "nucleus"
    max_new_tokens: int = 20  # generation length cap
    seed: int = 0  # sampling seed, so "nucleus" is repeatable


@dataclass(frozen=True)
class CaptionOutput:
    """One image's caption, with one attention map per generated word piece."""

    text: str  # the decoded caption (special tokens removed, stripped)
    tokens: tuple[str, ...]  # the generated tokens as display strings, in order (specials dropped)
    token_maps: tuple[np.ndarray, ...]  # one (h, w) float32 map in [0, 1] per entry of `tokens`
    score: float  # mean log-probability per generated token (<= 0)


class CaptionAdapter(Protocol):
    def preprocess(
        self, loaded: LoadedModel, images: list[Image.Image], prompts: list[str | None]
    ) -> dict[str, torch.Tensor]:
        """RGB PIL images (and optional text prompts, where the model takes one) -> inputs."""
        ...

    def forward(
        self, loaded: LoadedModel, inputs: dict[str, torch.Tensor], decoding: Decoding
    ) -> list[CaptionOutput]:
        """One `generate` call that also returns the decoder's cross-attentions."""
        ...
