"""The fusion-strategy models (mmcore.models.ShapesFusionForQuestionAnswering).

Maps, all from the one forward pass:
  early / hybrid: per fusion layer, the question [CLS]'s attention over the image tokens
                  (softmax(QK^T / sqrt(d)) rows, mean over heads, renormalised over the
                  image); the main map is the last layer's.
  late:           the question never looks at the image, so there is no question-to-image
                  attention to show. The map is where the pooled image vector comes from:
                  per cell, the share of channels whose max-pool it wins. It is the same
                  for every question about the image, which is the point of the picture.
"""
from __future__ import annotations

import numpy as np
import torch

from mmcore.adapters.base import LoadedModel, VQAOutput
from mmcore.adapters.shapesworld import ShapesWorldVQAAdapter, _to_grid


class FusionVQAAdapter(ShapesWorldVQAAdapter):
    """Same inputs as the built-in VQA model; answer scores are a softmax over 12 answers."""

    def forward(self, loaded: LoadedModel, inputs: dict[str, torch.Tensor], top_k: int) -> list[VQAOutput]:
        out, probs = self.run_model(loaded, inputs, top_k)
        grid, labels = loaded.model.config.grid, loaded.model.config.id2label
        named = _named_maps(out, grid)
        outputs = []
        for i in range(len(probs)):
            values, idx = probs[i].topk(min(top_k, probs.shape[-1]))
            maps = tuple((name, m[i]) for name, m in named)
            outputs.append(VQAOutput(answers=tuple((labels[int(j)], float(v)) for v, j in zip(values, idx)),
                                     attention=maps[-1][1], maps=maps))
        return outputs


def _named_maps(out, grid: int) -> list[tuple[str, np.ndarray]]:
    """[(name, (B, grid, grid))], the main map last."""
    if not out.image_attentions:
        return [("pooled image vector: share of channels each cell supplies (same for every question)",
                 _to_grid(out.pool_share.float(), grid))]
    n = len(out.image_attentions)
    return [(f"fusion layer {k + 1} of {n}: question [CLS] -> image", _to_grid(w.float().mean(1), grid))
            for k, w in enumerate(out.image_attentions)]
