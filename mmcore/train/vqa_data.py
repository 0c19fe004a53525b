"""Training data for the built-in VQA model: augmented scenes, questions and aux targets.

Every scene is stored once as the 75x75 uint8 image the processor would produce from
what a user might upload (plain, anti-aliased at another size, JPEG-compressed, or with
slightly different object sizes, as an independent generator might draw them), plus
each object's coverage of the 25x25 token grid, from which the attention targets of
the multi-task loss are made.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..shapesworld.render import CANVAS, COLOR_NAMES
from .augment import SceneBank, pixel_tensor  # noqa: F401  (re-exported)
from .augment import make_bank as _make_bank
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


def question_templates() -> list[tuple[str, str]]:
    """(question type, template) pairs used in training: canonical first, then paraphrases."""
    pairs = [(q, CANONICAL[q]) for q in QUESTION_TYPES]
    return pairs + [(q, t) for q in QUESTION_TYPES for t in TRAIN_PARAPHRASES[q]]


def make_bank(n: int, seed: int, grid: int, augment: bool = True, cache: Path | None = None) -> SceneBank:
    """n Sort-of-CLEVR scenes from `seed` (see augment.make_bank)."""
    return _make_bank(generate_scene, n, seed, grid, augment, cache)


def targets(scene: VQAScene, cov: np.ndarray, qtype: str, color: str) -> dict[str, np.ndarray | int]:
    """Answer label and the aux targets of one question (see ShapesVQAForQuestionAnswering)."""
    ans, target_color = answer(scene, qtype, color)
    named = COLOR_NAMES.index(color)
    second = COLOR_NAMES.index(target_color) if target_color else named
    same = [i for i, o in enumerate(scene.objects) if o.shape == scene.objects[named].shape]
    per_object = cov.astype(np.float32)
    sizes = per_object.sum(-1, keepdims=True).clip(min=1e-6)
    return {
        **_offsets(scene, per_object),
        "label": ANSWERS.index(ans),
        "hop1": per_object[named] / sizes[named],
        "hop2": per_object[second] / sizes[second],
        "same": per_object[same].sum(0).clip(0, 1),
        "density": (per_object / sizes).sum(0),
        "count": len(same),
    }


def _offsets(scene: VQAScene, per_object: np.ndarray) -> dict[str, np.ndarray]:
    """Per cell: offset (in cells) from its centre to the centre of the object covering it,
    a mask of the cells that at least a third of one object covers, and what covers it."""
    grid = int(round(per_object.shape[1] ** 0.5))
    stride = CANVAS // grid
    owner = per_object.argmax(0)  # (N,)
    centres = np.array([[o.x, o.y] for o in scene.objects], dtype=np.float32)[owner]  # (N, 2)
    rows, cols = np.divmod(np.arange(grid * grid), grid)
    cells = np.stack([cols * stride + (stride - 1) / 2, rows * stride + (stride - 1) / 2], -1)
    covered = per_object.max(0) >= 1 / 3
    kinds = np.array([1 + 2 * COLOR_NAMES.index(o.color) + (o.shape == "circle") for o in scene.objects])
    return {"offset": ((centres - cells) / stride).astype(np.float32),
            "offset_mask": covered.astype(np.float32),
            "token_kind": np.where(covered, kinds[owner], 0)}  # 0: background, else 1 + 2 * colour + circle
