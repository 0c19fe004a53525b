"""Training recipe of the built-in video model (python -m mmcore.train video).

Data: ShapesWorld clips (spec section 3), drawn fresh for every batch from a seeded
generator (about 7 ms a clip), all eight actions equally often. Frames go through the
same resize and normalisation as the image processor (area average to 64 px, [-1, 1]).
Loss (weighted multi-task): w_action CE(action) + w_color CE(colour in the first frame)
+ w_shape CE(shape) + w_attention * attention, where attention pulls each head's pooling
weights onto the tokens the object covers (every tubelet for action and shape, the first
tubelet for colour): without it the action head pooled mostly background, and its map said
nothing about where the model looked. Validation: a fixed set of clips from seed + 1.
"""
from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch.nn import functional as F

from ..models.video import HEADS, ShapesVideoConfig, ShapesVideoModel
from ..shapesworld.video import ACTIONS, generate_clip
from . import augment


@dataclass(frozen=True)
class VideoTrainConfig:
    out: str = ""  # model folder; "" -> mmcore/builtin/video
    seed: int = 0  # seeds torch and the clip generator
    steps: int = 1500  # optimiser steps
    batch: int = 32  # clips per step
    lr: float = 1e-3  # AdamW peak learning rate (linear warm-up, cosine decay)
    weight_decay: float = 0.05
    val_clips: int = 160  # validation clips for the log
    w_action: float = 1.0  # loss weights
    w_color: float = 0.5
    w_shape: float = 0.5
    w_attention: float = 0.3
    eval_every: int = 100
    threads: int = 0  # torch threads (0: torch's default)

    @property
    def folder(self) -> Path:
        return Path(self.out) if self.out else Path(__file__).resolve().parents[1] / "builtin" / "video"


def build_processor(config: ShapesVideoConfig):
    """VideoMAE's PIL image processor: resize to the square (box filter), scale to [-1, 1]."""
    from transformers.models.videomae.image_processing_pil_videomae import VideoMAEImageProcessorPil

    return VideoMAEImageProcessorPil(size={"height": config.image_size, "width": config.image_size},
                                     do_center_crop=False, resample=Image.Resampling.BOX,
                                     image_mean=[0.5] * 3, image_std=[0.5] * 3)


def clips(rng: np.random.Generator, n: int, config: ShapesVideoConfig) -> tuple[torch.Tensor, dict]:
    """n fresh clips as model input (n, T, 3, S, S), actions cycling, and their labels (plus
    "mask": where the object is, as a distribution over the tokens per head, (n, 3, N))."""
    made = [generate_clip(rng, ACTIONS[i % len(ACTIONS)]) for i in range(n)]
    frames = torch.from_numpy(np.stack([c.frames() for c in made])).float()  # (n, T, 75, 75, 3)
    x = frames.permute(0, 1, 4, 2, 3).flatten(0, 1) / 127.5 - 1  # (n*T, 3, 75, 75)
    x = F.adaptive_avg_pool2d(x, config.image_size).unflatten(0, (n, -1))  # area average, as BOX does
    labels = {"action": [c.action for c in made], "color": [c.color for c in made], "shape": [c.shape for c in made]}
    y = {h: torch.tensor([config.classes(h).index(v) for v in labels[h]]) for h in HEADS}
    return x, {**y, "mask": object_masks(frames, config)}


def object_masks(frames: torch.Tensor, config: ShapesVideoConfig) -> torch.Tensor:
    """(n, T, 75, 75, 3) frames -> (n, 3, N): the share of each token the object covers
    (non-white pixels), normalised per head; the colour head's covers the first tubelet only."""
    t, side, _ = config.grid
    lit = (frames < 250).any(-1).float()  # (n, T, 75, 75)
    cover = F.adaptive_avg_pool2d(lit, side).unflatten(1, (t, -1)).mean(2)  # (n, tubelets, side, side)
    first = torch.zeros_like(cover)
    first[:, 0] = cover[:, 0]
    masks = torch.stack([cover, first, cover], 1).flatten(2)  # action, color, shape
    return masks / masks.sum(-1, keepdim=True).clamp_min(1e-8)


def losses(model: ShapesVideoModel, x: torch.Tensor, y: dict, cfg: VideoTrainConfig) -> dict[str, torch.Tensor]:
    out = model(x)
    terms = {h: F.cross_entropy(getattr(out, f"{h}_logits"), y[h]) for h in HEADS}
    terms["attention"] = -(y["mask"] * out.pooling.clamp_min(1e-8).log()).sum(-1).mean()
    return terms


@torch.inference_mode()
def accuracy(model: ShapesVideoModel, x: torch.Tensor, y: dict, chunk: int = 32) -> dict[str, float]:
    model.eval()
    outs = [model(x[i:i + chunk]) for i in range(0, len(x), chunk)]
    model.train()
    hits = {h: torch.cat([getattr(o, f"{h}_logits") for o in outs]).argmax(-1) == y[h] for h in HEADS}
    caption = hits["action"] & hits["color"] & hits["shape"]
    return {**{h: round(float(v.float().mean()), 4) for h, v in hits.items()}, "caption": round(float(caption.float().mean()), 4)}


def train(cfg: VideoTrainConfig, log=print):
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    torch.manual_seed(cfg.seed)
    config = ShapesVideoConfig()
    model = ShapesVideoModel(config)
    rng, val = np.random.default_rng(cfg.seed), clips(np.random.default_rng(cfg.seed + 1), cfg.val_clips, config)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    warm = max(1, cfg.steps // 10)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min(1.0, (s + 1) / warm) * 0.5 * (1 + np.cos(np.pi * min(1.0, s / cfg.steps))))
    weights = {"action": cfg.w_action, "color": cfg.w_color, "shape": cfg.w_shape, "attention": cfg.w_attention}
    curve, start = [], time.time()
    model.train()
    for step in range(1, cfg.steps + 1):
        terms = losses(model, *clips(rng, cfg.batch, config), cfg)
        opt.zero_grad()
        sum(weights[k] * v for k, v in terms.items()).backward()
        opt.step()
        sched.step()
        if step % cfg.eval_every == 0 or step == cfg.steps:
            row = {"step": step, "seconds": round(time.time() - start, 1), **{f"val_{k}": v for k, v in accuracy(model, *val).items()},
                   **{k: round(v.item(), 4) for k, v in terms.items()}}
            curve.append(row)
            log(str(row))
    return model.eval(), build_processor(config), curve


def save(model, processor, out: Path, cfg: VideoTrainConfig, curve: list[dict]) -> None:
    augment.save_run(model, processor, out, asdict(cfg), curve)
