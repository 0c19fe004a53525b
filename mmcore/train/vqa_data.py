"""Training data for the built-in VQA model: augmented scenes, questions and aux targets.

Every scene is stored once as the 75x75 uint8 image the processor would produce from
what a user might upload (plain, anti-aliased at another size, JPEG-compressed, or with
slightly different object sizes, as an independent generator might draw them), plus
each object's coverage of the 25x25 token grid, from which the attention targets of
the multi-task loss are made.
"""
from __future__ import annotations

import pickle
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from ..shapesworld.render import CANVAS, COLOR_NAMES, _inside, _sample_grid, jpeg, render
from ..shapesworld.vqa import (
    ANSWERS,
    CANONICAL,
    QUESTION_TYPES,
    TRAIN_PARAPHRASES,
    VQAScene,
    answer,
    generate_scene,
)

# Words a question cannot lose without changing its meaning: never dropped to [UNK].
KEYWORDS = frozenset(
    set(COLOR_NAMES)
    | {"shape", "shaped", "square", "circle", "left", "right", "top", "bottom", "side", "half"}
    | {"closest", "nearest", "furthest", "farthest", "how", "many", "count", "number", "same"}
    | {"match", "share", "like"}
)


@dataclass
class SceneBank:
    """N scenes: images (N, 75, 75, 3) uint8 and coverage (N, 6, G*G) float16."""

    scenes: list[VQAScene]
    images: np.ndarray
    coverage: np.ndarray


_GRID75 = tuple(a[..., 0] for a in _sample_grid(CANVAS, 1))  # (75, 75) pixel centres


def coverage(scene: VQAScene, grid: int) -> np.ndarray:
    """(6, grid*grid): fraction of each token cell covered by each object, occlusion aware."""
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


def augmented_image(scene: VQAScene, rng: np.random.Generator) -> np.ndarray:
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


def jitter(scene: VQAScene, rng: np.random.Generator) -> VQAScene:
    """Slightly other object sizes, as other renderers of the same spec draw them."""
    if rng.random() > 0.3:
        return scene
    return VQAScene(tuple(replace(o, half=float(rng.uniform(4.4, 6.0))) for o in scene.objects))


def make_bank(n: int, seed: int, grid: int, augment: bool = True, cache: Path | None = None) -> SceneBank:
    """n scenes from `seed`; with `cache`, stored there once and reloaded (same arguments)."""
    path = cache / f"bank-{n}-{seed}-{grid}-{int(augment)}.pkl" if cache else None
    if path and path.is_file():
        return pickle.loads(path.read_bytes())
    bank = _make_bank(n, seed, grid, augment)
    if path:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(pickle.dumps(bank))
    return bank


def _make_bank(n: int, seed: int, grid: int, augment: bool) -> SceneBank:
    rng = np.random.default_rng(seed)
    scenes, images, covs = [], [], []
    for _ in range(n):
        scene = generate_scene(rng)
        drawn = jitter(scene, rng) if augment else scene
        images.append(augmented_image(drawn, rng) if augment else render(drawn.objects))
        covs.append(coverage(drawn, grid).astype(np.float16))
        scenes.append(scene)
    return SceneBank(scenes, np.stack(images), np.stack(covs))


def question_templates() -> list[tuple[str, str]]:
    """(question type, template) pairs used in training: canonical first, then paraphrases."""
    pairs = [(q, CANONICAL[q]) for q in QUESTION_TYPES]
    return pairs + [(q, t) for q in QUESTION_TYPES for t in TRAIN_PARAPHRASES[q]]


def pixel_tensor(images: np.ndarray) -> torch.Tensor:
    """(N, 75, 75, 3) uint8 -> (N, 3, 75, 75) in [-1, 1], exactly the processor's rescale+normalize."""
    x = torch.from_numpy(images).permute(0, 3, 1, 2).float() / 255.0
    return (x - 0.5) / 0.5


def targets(scene: VQAScene, cov: np.ndarray, qtype: str, color: str) -> dict[str, np.ndarray | int]:
    """Answer label and the aux targets of one question (see ShapesVQAForQuestionAnswering)."""
    ans, target_color = answer(scene, qtype, color)
    named = COLOR_NAMES.index(color)
    second = COLOR_NAMES.index(target_color) if target_color else named
    same = [i for i, o in enumerate(scene.objects) if o.shape == scene.objects[named].shape]
    per_object = cov.astype(np.float32)
    sizes = per_object.sum(-1, keepdims=True).clip(min=1e-6)
    return {
        "label": ANSWERS.index(ans),
        "hop1": per_object[named] / sizes[named],
        "hop2": per_object[second] / sizes[second],
        "same": per_object[same].sum(0).clip(0, 1),
        "density": (per_object / sizes).sum(0),
        "count": len(same),
    }
