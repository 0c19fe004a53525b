"""Visual question answering: image + question -> answer, top-k and attention maps."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from PIL import Image

from ..adapters import VQAOutput
from ..errors import InputError
from ..inputs import ImageLike, clean_question, load_image
from ..overlay import upsample
from ..batching import BatchPolicy
from .base import Task

MAX_TOP_K = 20


@dataclass(frozen=True)
class VQAResult:
    question: str  # the question as the model read it (cleaned)
    answer: str  # best answer
    score: float  # its score in [0, 1] (see the model's adapter for what it means)
    top_k: tuple[tuple[str, float], ...]  # (answer, score), best first
    attention: np.ndarray  # (H, W) float32 in [0, 1] over the input image
    maps: tuple[tuple[str, np.ndarray], ...]  # further named (H, W) maps, model-specific
    image_size: tuple[int, int]  # (W, H) of the image the maps cover
    model: str  # registry name (or folder)
    profile: str  # builtin | pretrained | local
    precision: str  # precision it ran at
    device: str  # device it ran on
    latency_ms: float  # model time per item (the batch's forward divided by its size)

    def to_dict(self) -> dict[str, Any]:
        """The JSON-able part: what the CLI prints and the HTTP API returns."""
        return {"question": self.question, "answer": self.answer, "score": round(self.score, 6),
                "top_k": [[a, round(s, 6)] for a, s in self.top_k], "model": self.model,
                "profile": self.profile, "precision": self.precision, "device": self.device,
                "latency_ms": round(self.latency_ms, 2)}


@dataclass(frozen=True)
class VQAItem:
    image: Image.Image
    question: str


class VQATask(Task[VQAItem, VQAResult]):
    batch_policy = BatchPolicy(max_batch=32)
    name = "vqa"

    def preprocess(self, raw: tuple[ImageLike, str]) -> VQAItem:
        image, question = raw
        return VQAItem(load_image(image), clean_question(question))

    def _forward(self, items: list[VQAItem], top_k: int = 5) -> list[VQAOutput]:
        if not 1 <= top_k <= MAX_TOP_K:
            raise InputError(f"top_k must be between 1 and {MAX_TOP_K}, got {top_k}")
        inputs = self.adapter.preprocess(self.loaded, [i.image for i in items], [i.question for i in items])
        return self.adapter.forward(self.loaded, inputs, top_k)

    def postprocess(self, item: VQAItem, output: VQAOutput, latency_ms: float, **_: Any) -> VQAResult:
        size = item.image.size
        answer, score = output.answers[0]
        return VQAResult(
            question=item.question, answer=answer, score=float(score), top_k=output.answers,
            attention=upsample(output.attention, size),
            maps=tuple((name, upsample(m, size)) for name, m in output.maps),
            image_size=size, model=self.spec.name, profile=self.spec.profile,
            precision=self.spec.precision, device=self.spec.device, latency_ms=latency_ms,
        )
