"""User-like renderings of ShapesWorld scenes for training, and per-object token targets.

Any scene type with an `objects` tuple works (VQA scenes, caption scenes).
"""
from __future__ import annotations

import json
import math
import pickle
import time
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from ..shapesworld.render import CANVAS, _inside, _sample_grid, jpeg, render

@dataclass
class SceneBank:
    """N scenes: images (N, 75, 75, 3) uint8, coverage (N, objects, G*G) float16."""

    scenes: list
    images: np.ndarray
    coverage: np.ndarray


_GRID75 = tuple(a[..., 0] for a in _sample_grid(CANVAS, 1))  # (75, 75) pixel centres


def coverage(scene, grid: int) -> np.ndarray:
    """(objects, grid*grid): fraction of each token cell covered by each object, occlusion aware."""
    xs, ys = _GRID75
    label = np.full((CANVAS, CANVAS), -1)
    for i, obj in enumerate(scene.objects):  # later objects are drawn over earlier ones
        label[_inside(obj, xs, ys)] = i
    s = CANVAS // grid
    cells = label.reshape(grid, s, grid, s).transpose(0, 2, 1, 3).reshape(grid * grid, s * s)
    return np.stack([(cells == i).mean(-1) for i in range(len(scene.objects))])


def _resize(img: np.ndarray) -> np.ndarray:
    """What the processor does to any upload: a box-filter resize to 75x75."""
    if img.shape[0] == CANVAS:
        return img
    return np.asarray(Image.fromarray(img).resize((CANVAS, CANVAS), Image.Resampling.BOX))


def augmented_image(scene, rng: np.random.Generator) -> np.ndarray:
    """One user-like rendering of the scene, as the processor hands it to the model."""
    r = rng.random()
    if r < 0.35:
        img = render(scene.objects)
    elif r < 0.55:
        img = render(scene.objects, antialias=True)
    else:
        size = int(rng.integers(60, 160))  # larger uploads are box-filtered like 75 AA
        img = render(scene.objects, size=size, antialias=bool(rng.random() < 0.8))
    if rng.random() < 0.35:
        img = jpeg(img, int(rng.integers(30, 96)))
    return _resize(img)


def jitter(scene, rng: np.random.Generator):
    """Slightly other object sizes, as other renderers of the same spec draw them."""
    if rng.random() > 0.3:
        return scene
    lo, hi = 0.88 * scene.objects[0].half, 1.2 * scene.objects[0].half  # -0.6..+1 px at half-extent 5
    return type(scene)(tuple(replace(o, half=float(rng.uniform(lo, hi))) for o in scene.objects))


def pixel_tensor(images: np.ndarray) -> torch.Tensor:
    """(N, 75, 75, 3) uint8 -> (N, 3, 75, 75) in [-1, 1], exactly the processor's rescale+normalize."""
    x = torch.from_numpy(images).permute(0, 3, 1, 2).float() / 255.0
    return (x - 0.5) / 0.5




def make_bank(generate, n: int, seed: int, grid: int, augment: bool = True, cache: Path | None = None) -> SceneBank:
    """n scenes of `generate(rng)` from `seed`; with `cache`, stored there once and reloaded."""
    path = cache / f"{generate.__name__}-{n}-{seed}-{grid}-{int(augment)}.pkl" if cache else None
    if path and path.is_file():
        return pickle.loads(path.read_bytes())
    bank = _make_bank(generate, n, seed, grid, augment)
    if path:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(pickle.dumps(bank))
    return bank


def _make_bank(generate, n: int, seed: int, grid: int, augment: bool) -> SceneBank:
    rng = np.random.default_rng(seed)
    scenes, images, covs = [], [], []
    for _ in range(n):
        scene = generate(rng)
        drawn = jitter(scene, rng) if augment else scene
        images.append(augmented_image(drawn, rng) if augment else render(drawn.objects))
        covs.append(coverage(drawn, grid).astype(np.float16))
        scenes.append(scene)
    most = max(len(c) for c in covs)  # scenes with fewer objects get all-zero rows
    covs = [np.pad(c, ((0, most - len(c)), (0, 0))) for c in covs]
    return SceneBank(scenes, np.stack(images), np.stack(covs))


def cosine_lr(step: int, peak: float, warmup: int, steps: int) -> float:
    """Linear warm-up to `peak`, then cosine decay to 2% of it by the last step."""
    if step < warmup:
        return peak * (step + 1) / warmup
    t = (step - warmup) / max(1, steps - warmup)
    return peak * (0.02 + 0.98 * 0.5 * (1 + math.cos(math.pi * t)))


def update(opt: torch.optim.Optimizer, params, loss: torch.Tensor, clip: float = 1.0) -> None:
    """One optimiser step on `loss`, gradients clipped to norm `clip`."""
    opt.zero_grad(set_to_none=True)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(params, clip)
    opt.step()


def log_row(step: int, t0: float, terms: dict[str, torch.Tensor], metrics: dict) -> dict:
    """One learning-curve row: step, seconds since t0, each loss term, validation metrics."""
    return {"step": step, "seconds": round(time.time() - t0),
            **{f"loss_{k}": round(v.item(), 4) for k, v in terms.items()}, **metrics}


def write_card_files(folder: Path, scores: dict, card) -> dict:
    """eval.json and README.md (card(scores, training log)) in a model folder; prints the scores."""
    (folder / "eval.json").write_text(json.dumps(scores, indent=1))
    log = json.loads((folder / "training_log.json").read_text())
    (folder / "README.md").write_text(card(scores, log))
    print(json.dumps(scores, indent=1))
    return scores


def save_run(model, processor, out: Path, config: dict, curve: list[dict]) -> None:
    """A normal Hugging Face folder with fp16 weights, plus the training log."""
    out.mkdir(parents=True, exist_ok=True)
    state = {k: v.half() if v.is_floating_point() else v for k, v in model.state_dict().items()}
    model.save_pretrained(out, state_dict=state, safe_serialization=True)
    processor.save_pretrained(out)
    (out / "training_log.json").write_text(json.dumps({"config": config, "curve": curve}, indent=1))
