"""Image captioning: image (+ optional prompt) -> caption, with one attention map per word."""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from PIL import Image

from ..adapters import CaptionOutput, Decoding
from ..errors import InputError
from ..inputs import ImageLike, load_image
from ..overlay import upsample
from ..batching import BatchPolicy
from .base import Task

METHODS = ("greedy", "beam", "nucleus")
MAX_PROMPT_CHARS = 200


def check_decoding(d: Decoding) -> Decoding:
    """Refuse decoding options outside what the models can do, saying what is accepted."""
    rules = [
        (d.method in METHODS, f"decoding method {d.method!r} unknown; accepted: {', '.join(METHODS)}"),
        (1 <= d.num_beams <= 8, f"beam width must be 1..8, got {d.num_beams}"),
        (0.0 < d.top_p <= 1.0, f"top-p must be in (0, 1], got {d.top_p}"),
        (0.05 <= d.temperature <= 2.0, f"temperature must be in [0.05, 2], got {d.temperature}"),
        (1 <= d.max_new_tokens <= 64, f"max new tokens must be 1..64, got {d.max_new_tokens}"),
    ]
    for ok, message in rules:
        if not ok:
            raise InputError(message)
    return d


@dataclass(frozen=True)
class CaptionResult:
    caption: str  # the generated caption
    tokens: tuple[str, ...]  # generated words / word pieces, in order
    token_maps: tuple[np.ndarray, ...]  # one (H, W) float32 map in [0, 1] per token
    attention: np.ndarray  # (H, W): the token maps' mean, rescaled to [0, 1]
    score: float  # mean log-probability per generated token (<= 0)
    decoding: Decoding  # how it was generated
    image_size: tuple[int, int]  # (W, H) of the image the maps cover
    model: str
    profile: str
    precision: str
    device: str
    latency_ms: float

    def to_dict(self) -> dict[str, Any]:
        return {"caption": self.caption, "tokens": list(self.tokens), "score": round(self.score, 6),
                "decoding": asdict(self.decoding), "model": self.model, "profile": self.profile,
                "precision": self.precision, "device": self.device, "latency_ms": round(self.latency_ms, 2)}


@dataclass(frozen=True)
class CaptionItem:
    image: Image.Image
    prompt: str | None


class CaptionTask(Task[CaptionItem, CaptionResult]):
    batch_policy = BatchPolicy(max_batch=8)  # generation: a long caption holds the whole batch back
    name = "caption"

    def preprocess(self, raw: ImageLike | tuple[ImageLike, str | None]) -> CaptionItem:
        image, prompt = raw if isinstance(raw, tuple) else (raw, None)
        prompt = " ".join(prompt.split()) if isinstance(prompt, str) and prompt.strip() else None
        if prompt and len(prompt) > MAX_PROMPT_CHARS:
            raise InputError(f"the prompt is {len(prompt):,} characters; at most {MAX_PROMPT_CHARS} are accepted")
        return CaptionItem(load_image(image), prompt)

    def _forward(self, items: list[CaptionItem], decoding: Decoding = Decoding()) -> list[CaptionOutput]:
        inputs = self.adapter.preprocess(self.loaded, [i.image for i in items], [i.prompt for i in items])
        return self.adapter.forward(self.loaded, inputs, check_decoding(decoding))

    def postprocess(self, item: CaptionItem, output: CaptionOutput, latency_ms: float,
                    decoding: Decoding = Decoding()) -> CaptionResult:
        size = item.image.size
        maps = tuple(upsample(m, size) for m in output.token_maps)
        mean = np.mean(maps, axis=0) if maps else np.zeros(size[::-1], np.float32)
        mean = (mean / mean.max()).astype(np.float32) if mean.max() > 0 else mean
        return CaptionResult(output.text, output.tokens, maps, mean, float(output.score), decoding, size,
                             self.spec.name, self.spec.profile, self.spec.precision, self.spec.device, latency_ms)
