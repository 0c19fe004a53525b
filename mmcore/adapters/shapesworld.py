"""The built-in ShapesWorld VQA model (mmcore.models.ShapesVQAForQuestionAnswering).

Its maps are its own attention weights: hop 1 (where the named object is), hop 2 (the
object the answer is read from) and, for counting, the same-shape x density map. The
main map is the element-wise max of the two hops, each min-max scaled: it lands on the
named object and, for closest / furthest, on the one the answer is about too.
"""
from __future__ import annotations

import numpy as np
import torch
from PIL import Image

from mmcore.adapters.base import LoadedModel, VQAOutput

MODEL_KEYS = ("pixel_values", "input_ids", "attention_mask")


class ShapesWorldVQAAdapter:
    """VQAAdapter for the built-in model; answer scores are a softmax over its 12 answers."""

    def preprocess(
        self, loaded: LoadedModel, images: list[Image.Image], questions: list[str]
    ) -> dict[str, torch.Tensor]:
        """Any size -> 75x75 (box filter); questions padded, cut at the model's limit."""
        max_len = loaded.model.config.max_question_tokens
        enc = loaded.processor(images=images, text=questions, padding=True, truncation=True,
                               max_length=max_len, return_tensors="pt")
        return {key: enc[key] for key in MODEL_KEYS}

    @staticmethod
    def run_model(loaded: LoadedModel, inputs: dict[str, torch.Tensor], top_k: int) -> tuple[object, torch.Tensor]:
        """The model's output and its answer probabilities (B, 12) on the CPU."""
        if top_k < 1:
            raise ValueError(f"top_k must be >= 1, got {top_k}")
        batch = {k: v.to(loaded.device) for k, v in inputs.items()}
        batch["pixel_values"] = batch["pixel_values"].to(loaded.dtype)
        out = loaded.model(**batch)
        return out, out.logits.float().softmax(-1).cpu()

    def forward(
        self, loaded: LoadedModel, inputs: dict[str, torch.Tensor], top_k: int
    ) -> list[VQAOutput]:
        out, probs = self.run_model(loaded, inputs, top_k)
        grid = loaded.model.config.grid
        hops = [_to_grid(w.float().mean(1), grid) for w in out.attentions]  # (B, g, g) each
        count = _to_grid(out.count_map.float(), grid)
        labels = loaded.model.config.id2label
        return [_output(probs[i], labels, top_k, [h[i] for h in hops], count[i]) for i in range(len(probs))]


def _to_grid(weights: torch.Tensor, grid: int) -> np.ndarray:
    """(B, N) -> (B, grid, grid) numpy, each map min-max scaled to [0, 1]."""
    maps = weights.reshape(-1, grid, grid).cpu().numpy().astype(np.float32)
    low = maps.min(axis=(1, 2), keepdims=True)
    span = maps.max(axis=(1, 2), keepdims=True) - low
    return np.where(span > 0, (maps - low) / np.where(span > 0, span, 1), 1.0).astype(np.float32)


def _output(probs: torch.Tensor, labels: dict, top_k: int, hops: list[np.ndarray], count: np.ndarray) -> VQAOutput:
    values, idx = probs.topk(min(top_k, probs.numel()))
    answers = tuple((labels[int(i)], float(v)) for v, i in zip(values, idx))
    maps = (("hop 1: the named object", hops[0]), ("hop 2: the object answered about", hops[1]),
            ("count: same shape x density", count))
    return VQAOutput(answers=answers, attention=np.maximum(hops[0], hops[1]), maps=maps)
