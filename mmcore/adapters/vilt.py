"""ViLT visual question answering (ViltForQuestionAnswering).

ViLT is one transformer over [text tokens | image CLS | image patches]. Its VQA head is
trained multi-label (binary cross-entropy over ~3k answers), so answer scores are
independent sigmoids, not a softmax. The attention map is attention rollout (Abnar &
Zuidema, 2020) from the text [CLS] token, whose pooled state feeds the answer head.

The patch embedding step (`ViltEmbeddings.visual_embed`) is run here rather than inside
the model call, because it may randomly sample patches (`config.max_image_length`) and
it is the only place that says which patch each image token is; its output goes into the
model as `image_embeds`, so the computation is exactly the model's own, done once.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from PIL import Image

from mmcore.adapters.base import LoadedModel, VQAOutput

DEFAULT_CHECKPOINT = "dandelin/vilt-b32-finetuned-vqa"
PATCH_SAMPLING_SEED = 0  # fixed so that max_image_length sampling gives stable answers
TEXT_KEYS = ("input_ids", "attention_mask", "token_type_ids")


@dataclass(frozen=True)
class _Patches:
    """What ViLT's visual embedding produced for a batch."""

    embeds: torch.Tensor  # (B, 1 + N, D): image CLS then N kept patches
    mask: torch.Tensor  # (B, 1 + N) long: 1 = real patch, 0 = padding filler
    index: torch.Tensor  # (B, N, 2) long: (row, col) of each kept patch in the padded grid
    grid_hw: torch.Tensor  # (B, 2) long: each image's own patch grid (h, w), padding excluded


class ViltVQAAdapter:
    """VQAAdapter for ViltForQuestionAnswering (default checkpoint: DEFAULT_CHECKPOINT)."""

    default_checkpoint: str = DEFAULT_CHECKPOINT

    def preprocess(
        self, loaded: LoadedModel, images: list[Image.Image], questions: list[str]
    ) -> dict[str, torch.Tensor]:
        """Images are resized and padded to a common size; pixel_mask marks the real part."""
        max_length = loaded.model.config.max_position_embeddings  # ViLT's text limit (40)
        encoding = loaded.processor(
            images=images,
            text=questions,
            padding=True,
            truncation=True,
            max_length=max_length,
            return_tensors="pt",
        )
        return {key: value for key, value in encoding.items() if torch.is_tensor(value)}

    def forward(
        self, loaded: LoadedModel, inputs: dict[str, torch.Tensor], top_k: int
    ) -> list[VQAOutput]:
        """One pass with attentions; sigmoid top-k answers and a rollout map per item."""
        if top_k < 1:
            raise ValueError(f"top_k must be >= 1, got {top_k}")
        model = loaded.model
        batch = _to_device(inputs, loaded)
        patches = _embed_patches(model, batch)
        text = {key: batch[key] for key in TEXT_KEYS if key in batch}
        outputs = model(
            **text,
            image_embeds=patches.embeds,
            pixel_mask=patches.mask,  # with image_embeds, ViLT reads this as the token mask
            output_attentions=True,
            return_dict=True,
        )
        answers = _top_answers(outputs.logits, model.config.id2label, top_k)
        maps = _patch_maps(attention_rollout(outputs.attentions), patches, batch["input_ids"])
        return [VQAOutput(answers=a, attention=m) for a, m in zip(answers, maps)]


def _to_device(inputs: dict[str, torch.Tensor], loaded: LoadedModel) -> dict[str, torch.Tensor]:
    batch = {key: value.to(loaded.device) for key, value in inputs.items()}
    batch["pixel_values"] = batch["pixel_values"].to(loaded.dtype)
    if "pixel_mask" not in batch:  # the processor always sends it; a caller may not
        b, _, h, w = batch["pixel_values"].shape
        batch["pixel_mask"] = torch.ones((b, h, w), dtype=torch.long, device=loaded.device)
    return batch


def _embed_patches(model: torch.nn.Module, batch: dict[str, torch.Tensor]) -> _Patches:
    """Run ViLT's visual embedding, keeping which grid cell each image token came from."""
    embeddings = model.vilt.embeddings
    max_length = model.config.max_image_length
    # visual_embed draws from the global CPU RNG (patch sampling, padding fillers); a
    # forked, seeded RNG keeps answers repeatable and leaves the caller's RNG untouched.
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(PATCH_SAMPLING_SEED)
        embeds, mask, (index, padded_hw) = embeddings.visual_embed(
            batch["pixel_values"], batch["pixel_mask"], max_image_length=max_length
        )
    return _Patches(embeds, mask, index, _grid_sizes(batch["pixel_mask"], padded_hw))


def _grid_sizes(pixel_mask: torch.Tensor, padded_hw: tuple[int, int]) -> torch.Tensor:
    """(B, H, W) pixel mask -> (B, 2) patch rows/cols of each image, as visual_embed does."""
    cells = torch.nn.functional.interpolate(pixel_mask[:, None].float(), size=padded_hw)
    cells = cells[:, 0].long()  # (B, h_pad, w_pad), nearest-neighbour like ViLT
    return torch.stack([cells[:, :, 0].sum(1), cells[:, 0, :].sum(1)], dim=1)


def attention_rollout(attentions: tuple[torch.Tensor, ...]) -> torch.Tensor:
    """Per-layer (B, heads, T, T) attentions -> (B, T, T) rollout (Abnar & Zuidema 2020).

    Heads are averaged, the identity added for the residual path, rows renormalised,
    and the layers multiplied from the input upwards.
    """
    first = attentions[0]
    eye = torch.eye(first.shape[-1], device=first.device)  # (T, T)
    rollout = eye.expand(first.shape[0], -1, -1)  # (B, T, T)
    for layer in attentions:
        mixed = layer.float().mean(dim=1) + eye  # (B, T, T)
        mixed = mixed / mixed.sum(dim=-1, keepdim=True)
        rollout = mixed @ rollout
    return rollout


def _patch_maps(
    rollout: torch.Tensor, patches: _Patches, input_ids: torch.Tensor
) -> list[np.ndarray]:
    """Text-[CLS] row of the rollout -> one (h, w) map per item over its own patches."""
    first_patch = input_ids.shape[1] + 1  # tokens are [text | image CLS | patches]
    scores = rollout[:, 0, first_patch:]  # (B, N)
    return [
        _scatter_to_grid(scores[i], patches.mask[i, 1:], patches.index[i], patches.grid_hw[i])
        for i in range(scores.shape[0])
    ]


def _scatter_to_grid(
    scores: torch.Tensor, keep: torch.Tensor, index: torch.Tensor, grid_hw: torch.Tensor
) -> np.ndarray:
    """(N,) token scores -> (h, w) map; cells left out by patch sampling stay at 0."""
    h, w = (int(v) for v in grid_hw)
    real = keep.bool()  # (N,) drops padding fillers
    rows, cols = index[real].unbind(-1)
    grid = torch.zeros((h, w), dtype=torch.float32, device=scores.device)
    grid[rows, cols] = _min_max(scores[real].float())
    return grid.cpu().numpy()


def _min_max(values: torch.Tensor) -> torch.Tensor:
    """Rescale to [0, 1]; a flat map (e.g. a single patch) is all ones."""
    low, high = values.min(), values.max()
    if high - low <= torch.finfo(values.dtype).eps * max(1.0, high.abs().item()):
        return torch.ones_like(values)
    return (values - low) / (high - low)


def _top_answers(
    logits: torch.Tensor, id2label: dict[int, str], top_k: int
) -> list[tuple[tuple[str, float], ...]]:
    """(B, labels) logits -> per item top-k (label, sigmoid probability), best first."""
    probs = torch.sigmoid(logits.float())  # multi-label head: independent per answer
    values, indices = probs.topk(min(top_k, probs.shape[-1]), dim=-1)
    return [
        tuple((id2label[int(i)], float(v)) for v, i in zip(row_v, row_i))
        for row_v, row_i in zip(values.cpu(), indices.cpu())
    ]
