"""Training recipe of the three fusion-strategy VQA models (python -m mmcore.train fusion).

One recipe, one budget: the same scenes (seed 0), questions, steps, batch and optimiser
for every strategy; only `--fusion` changes. The default budget is the built-in VQA model's
(3,200 steps of 32 scenes x 8 questions): at a quarter of its batch and 1,200 steps, none of
the three had learned to answer yet. Loss = CE(answer) + w_offset * offset
+ w_token * token + w_attention * attention, where
  offset:    each image token's predicted offset to the centre of the object covering it,
  token:     and what covers it (background, or which colour and shape), both read from
             the CNN stem before any fusion: image-side, the same for all three;
  attention: where a strategy has a question-to-image attention (early: the joint layers'
             [CLS] rows; hybrid: the co-attention layers), its second-to-last layer's head
             mean is pulled onto the named object's mask and its last layer's onto the
             object the answer is about (closest / furthest; the named one otherwise;
             count questions are left free). Late fusion has no such attention: its
             question never looks at the image, which is what the comparison shows.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
from torch.nn import functional as F

from ..models.fusion_vqa import FUSIONS, ShapesFusionConfig, ShapesFusionForQuestionAnswering
from ..shapesworld.vqa import ANSWERS, QUESTION_TYPES
from .vqa import question_processor, run_steps

COUNT = QUESTION_TYPES.index("count")


@dataclass(frozen=True)
class FusionTrainConfig:
    fusion: str = "hybrid"  # early | late | hybrid: the only thing that differs between runs
    out: str = ""  # model folder; "" -> mmcore/builtin/fusion-{fusion}
    seed: int = 0  # seeds torch and the scene generator
    scenes: int = 30000  # training scenes
    val_scenes: int = 100  # validation scenes for the log (seed + 1)
    steps: int = 3200  # optimiser steps (the built-in VQA model's budget; a GPU job for early fusion)
    scenes_per_step: int = 32  # images per batch
    questions_per_scene: int = 8  # questions per image per batch
    lr: float = 2e-3  # peak AdamW learning rate (linear warm-up, cosine decay)
    warmup: int = 300  # warm-up steps
    weight_decay: float = 0.01  # AdamW weight decay
    unk_rate: float = 0.12  # chance a non-keyword question word becomes [UNK]
    canonical_rate: float = 0.4  # share of canonical (vs paraphrased) questions
    w_attention: float = 1.0  # weight of the attention term (early, hybrid)
    w_offset: float = 0.5  # weight of the offset term
    w_token: float = 0.5  # weight of the token term
    layers: int = 4  # transformer layers per stream
    eval_every: int = 250  # steps between validation log lines
    threads: int = 1  # torch CPU threads
    cache: str = ""  # folder to keep the generated training scenes in between runs

    @property
    def folder(self) -> str:
        return self.out or f"mmcore/builtin/fusion-{self.fusion}"


def build(cfg: FusionTrainConfig):
    """The VQA recipe's processor (same vocabulary) and a fresh model of this strategy."""
    processor = question_processor()
    config = ShapesFusionConfig(fusion=cfg.fusion, vocab_size=len(processor.tokenizer), layers=cfg.layers,
                                id2label=dict(enumerate(ANSWERS)))
    torch.manual_seed(cfg.seed)
    return processor, ShapesFusionForQuestionAnswering(config)


def losses(out, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The terms of the module docstring; each a scalar."""
    k = batch["offset"].shape[0] // out.offsets.shape[0]  # per image: its first question stands for it
    mask, target = batch["offset_mask"][::k].float(), batch["offset"][::k].float()
    err = ((out.offsets - target) ** 2).sum(-1)  # (B, N)
    kinds = batch["token_kind"][::k].long()  # (B, N)
    terms = {"answer": F.cross_entropy(out.logits, batch["label"]),
             "offset": (err * mask).sum() / mask.sum().clamp_min(1),
             "token": F.cross_entropy(out.token_logits.flatten(0, 1), kinds.flatten())}
    if out.image_attentions:
        log = lambda w: w.mean(1).clamp_min(1e-8).log()  # (Q, h, N) -> log of the head mean
        hop1 = -(batch["hop1"].float() * log(out.image_attentions[-2])).sum(-1).mean()
        free = (batch["qtype"] != COUNT).float()
        hop2 = -(batch["hop2"].float() * log(out.image_attentions[-1])).sum(-1)
        terms["attention"] = hop1 + (hop2 * free).sum() / free.sum().clamp_min(1)
    return terms


def train(cfg: FusionTrainConfig, log=print):
    if cfg.fusion not in FUSIONS:
        raise ValueError(f"unknown fusion {cfg.fusion!r}; accepted: {', '.join(FUSIONS)}")
    torch.set_num_threads(cfg.threads)
    processor, model = build(cfg)
    weights = {"answer": 1.0, "offset": cfg.w_offset, "token": cfg.w_token, "attention": cfg.w_attention}
    curve = run_steps(cfg, processor, model, losses, weights, Path(cfg.folder), f"train fusion-{cfg.fusion}", log)
    return model, processor, curve
