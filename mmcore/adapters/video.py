"""Video adapters: the built-in VideoMAE with three heads, Kinetics VideoMAE, X-CLIP zero-shot.

Each turns clips of sampled frames into one VideoOutput per clip: the top actions, a caption
where the model makes one, and where it looked, from the same forward pass: a per-frame
importance and a spatial map per sampled frame.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from PIL import Image

from ..models.video import HEADS
from ..overlay import scaled
from .base import LoadedModel


@dataclass(frozen=True)
class VideoOutput:
    actions: tuple[tuple[str, float], ...]  # top-k (label, probability), best first
    caption: str | None  # "a {colour} {shape} is {action}" (built-in), else None
    attributes: dict[str, tuple[str, float]]  # built-in: "color", "shape" -> (label, p)
    importance: np.ndarray  # (T,) per sampled frame, sums to 1
    maps: np.ndarray  # (T, h, w) per sampled frame, each in [0, 1]


def _frames_to_pil(clip: np.ndarray) -> list[Image.Image]:
    return [Image.fromarray(f) for f in clip]


def _top(probs: torch.Tensor, labels: list[str], k: int) -> tuple[tuple[str, float], ...]:
    values, idx = probs.topk(min(k, probs.numel()))
    return tuple((labels[int(i)], float(v)) for v, i in zip(values, idx))


def _per_frame(weights: np.ndarray, grid: tuple[int, int, int], frames: int) -> tuple[np.ndarray, np.ndarray]:
    """(N,) token weights over a (tubelets, h, w) grid -> per-frame importance (T,) and maps (T, h, w)."""
    cube = weights.reshape(grid)
    repeat = frames // grid[0]
    importance = np.repeat(cube.sum((1, 2)), repeat) / repeat
    maps = np.repeat(np.stack([scaled(m) for m in cube]), repeat, axis=0)
    return (importance / importance.sum()).astype(np.float32), maps.astype(np.float32)


class ShapesVideoAdapter:
    """mmcore.models.video: action, colour and shape heads; its maps are the action head's
    attention-pooling weights."""

    def preprocess(self, loaded: LoadedModel, clips: list[np.ndarray], labels: list[str] | None = None):
        pixels = [loaded.processor(_frames_to_pil(c), return_tensors="pt")["pixel_values"] for c in clips]
        return {"pixel_values": torch.cat(pixels) if pixels[0].ndim == 5 else torch.stack(pixels)}

    def forward(self, loaded: LoadedModel, inputs: dict, top_k: int) -> list[VideoOutput]:
        cfg = loaded.model.config
        out = loaded.model(pixel_values=inputs["pixel_values"].to(loaded.device, loaded.dtype))
        probs = {h: getattr(out, f"{h}_logits").float().softmax(-1).cpu() for h in HEADS}
        pooling = out.pooling[:, HEADS.index("action")].float().cpu().numpy()
        return [self._item(cfg, {h: p[i] for h, p in probs.items()}, pooling[i], top_k) for i in range(len(pooling))]

    @staticmethod
    def _item(cfg, probs: dict, pooling: np.ndarray, top_k: int) -> VideoOutput:
        best = {h: _top(probs[h], cfg.classes(h), 1)[0] for h in HEADS}
        caption = f"a {best['color'][0]} {best['shape'][0]} is {best['action'][0]}"
        importance, maps = _per_frame(pooling, cfg.grid, cfg.num_frames)
        return VideoOutput(_top(probs["action"], cfg.classes("action"), top_k), caption,
                           {"color": best["color"], "shape": best["shape"]}, importance, maps)


class VideoMAEKineticsAdapter:
    """VideoMAEForVideoClassification (e.g. MCG-NJU/videomae-base-finetuned-kinetics). It has no
    [CLS]: the map is the attention each tubelet token receives in the last layer (mean over
    heads and queries)."""

    def preprocess(self, loaded: LoadedModel, clips: list[np.ndarray], labels: list[str] | None = None):
        enc = loaded.processor([_frames_to_pil(c) for c in clips], return_tensors="pt")
        return {"pixel_values": enc["pixel_values"]}

    def forward(self, loaded: LoadedModel, inputs: dict, top_k: int) -> list[VideoOutput]:
        model, cfg = loaded.model, loaded.model.config
        out = model(pixel_values=inputs["pixel_values"].to(loaded.device, loaded.dtype), output_attentions=True)
        probs = out.logits.float().softmax(-1).cpu()
        received = out.attentions[-1].float().mean((1, 2)).cpu().numpy()  # (B, N)
        side = cfg.image_size // cfg.patch_size
        grid = (cfg.num_frames // cfg.tubelet_size, side, side)
        labels = [cfg.id2label[i] for i in range(len(cfg.id2label))]
        return [VideoOutput(_top(probs[i], labels, top_k), None, {}, *_per_frame(received[i], grid, cfg.num_frames))
                for i in range(len(probs))]


class XClipAdapter:
    """X-CLIP zero-shot over labels the user types: P(label) = softmax of the video-text
    similarities. The maps are each frame's [CLS] attention over its patches (last vision
    layer); a frame's importance is its [CLS] embedding's similarity to the winning label."""

    zero_shot = True  # takes the candidate labels as input

    def preprocess(self, loaded: LoadedModel, clips: list[np.ndarray], labels: list[str] | None = None):
        if not labels:
            raise ValueError("X-CLIP needs candidate labels")
        enc = loaded.processor(text=labels, videos=[_frames_to_pil(c) for c in clips], padding=True,
                               return_tensors="pt")
        return {**enc, "labels": labels}

    def forward(self, loaded: LoadedModel, inputs: dict, top_k: int) -> list[VideoOutput]:
        model = loaded.model
        pixels = inputs["pixel_values"].to(loaded.device, loaded.dtype)  # (B, T, 3, H, W)
        out = model(input_ids=inputs["input_ids"].to(loaded.device),
                    attention_mask=inputs["attention_mask"].to(loaded.device), pixel_values=pixels,
                    output_attentions=True)
        probs = out.logits_per_video.float().softmax(-1).cpu()  # (B, labels)
        b, t = pixels.shape[:2]
        vision = model.config.vision_config
        side = vision.image_size // vision.patch_size
        # each frame's sequence is [CLS, patches..., message token]: keep the patches
        cls = out.vision_model_output.attentions[-1][:, :, 0, 1:1 + side * side].float().mean(1).cpu().numpy()
        frames = model.visual_projection(out.vision_model_output.pooler_output).float().cpu().reshape(b, t, -1)
        texts = out.text_embeds.float().cpu()  # (B, labels, D): X-CLIP's prompts depend on the video
        texts = texts if texts.ndim == 3 else texts[None].expand(b, -1, -1)
        return [self._item(probs[i], inputs["labels"], cls[i * t:(i + 1) * t], frames[i], texts[i], side, top_k)
                for i in range(b)]

    @staticmethod
    def _item(probs, labels, cls, frames, texts, side: int, top_k: int) -> VideoOutput:
        best = int(probs.argmax())
        proj = torch.nn.functional.normalize(frames, dim=-1)  # (T, D) each frame's embedding
        sims = (proj @ torch.nn.functional.normalize(texts[best], dim=-1)).numpy()
        importance = np.exp(sims - sims.max())
        maps = np.stack([scaled(m.reshape(side, side)) for m in cls])
        return VideoOutput(_top(probs, labels, top_k), None, {}, (importance / importance.sum()).astype(np.float32),
                           maps.astype(np.float32))
