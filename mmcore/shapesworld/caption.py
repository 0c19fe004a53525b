"""Caption scenes (ShapesWorld spec, section 2), seeded and deterministic."""
from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from .render import CANVAS, COLOR_NAMES, Shape, render

SHAPES: tuple[str, ...] = ("circle", "square", "triangle")
RELATIONS: tuple[str, ...] = ("to the left of", "to the right of", "above", "below")

HALF = 7.0  # half-extent of every caption object
CENTRE_RANGE = (8, 66)  # inclusive; keeps a half-extent-7 object fully on the canvas
MIN_DISTANCE = 18.0  # between the two centres
MIN_AXIS_GAP = 8  # ||dx| - |dy|| lower bound, so the dominant axis is never ambiguous

# Describing the pair the other way round flips the relation.
_FLIP = {
    "to the left of": "to the right of",
    "to the right of": "to the left of",
    "above": "below",
    "below": "above",
}


@dataclass(frozen=True)
class CaptionScene:
    """One or two objects with distinct colours; objects[0] is the caption's subject."""

    objects: tuple[Shape, ...]

    def image(self, size: int = CANVAS, antialias: bool = False) -> np.ndarray:
        """(size, size, 3) uint8 RGB."""
        return render(self.objects, size=size, antialias=antialias)

    def caption(self) -> str:
        """The canonical caption: object 1 then object 2."""
        return describe(self.objects)

    def valid_captions(self) -> tuple[str, ...]:
        """Every caption the spec counts as right: both object orders."""
        if len(self.objects) == 1:
            return (self.caption(),)
        return (self.caption(), describe(self.objects[::-1]))


def relation(a: Shape, b: Shape) -> str:
    """Relation from a to b on the dominant axis (ties go to the vertical axis, per spec)."""
    dx, dy = b.x - a.x, b.y - a.y
    if abs(dx) > abs(dy):
        return "to the left of" if a.x < b.x else "to the right of"
    return "above" if a.y < b.y else "below"


def _noun(obj: Shape) -> str:
    return f"a {obj.color} {obj.shape}"


def describe(objects: tuple[Shape, ...] | list[Shape]) -> str:
    """Caption text for one object, or for two in the given order."""
    if len(objects) == 1:
        return _noun(objects[0])
    a, b = objects
    return f"{_noun(a)} {relation(a, b)} {_noun(b)}"


def _valid_pair(a: Shape, b: Shape) -> bool:
    dx, dy = abs(b.x - a.x), abs(b.y - a.y)
    return dx * dx + dy * dy >= MIN_DISTANCE**2 and abs(dx - dy) >= MIN_AXIS_GAP


def _draw_centres(rng: np.random.Generator, n: int) -> np.ndarray:
    """(n, 2) integer centres uniform in CENTRE_RANGE."""
    lo, hi = CENTRE_RANGE
    return rng.integers(lo, hi + 1, size=(n, 2))


def generate_caption_scene(rng: np.random.Generator) -> CaptionScene:
    """One or two objects (50/50); a pair's centres are redrawn together until valid."""
    n = 1 if rng.random() < 0.5 else 2
    colors = [COLOR_NAMES[i] for i in rng.choice(len(COLOR_NAMES), size=n, replace=False)]
    shapes = [SHAPES[i] for i in rng.integers(0, len(SHAPES), size=n)]
    while True:
        centres = _draw_centres(rng, n)
        objects = tuple(
            Shape(s, c, int(x), int(y), HALF) for s, c, (x, y) in zip(shapes, colors, centres)
        )
        if n == 1 or _valid_pair(*objects):
            return CaptionScene(objects)


def normalize_caption(text: str) -> str:
    """Lower-case, single spaces, no trailing period; "an"/"grey" read as "a"/"gray"."""
    words = re.sub(r"\s+", " ", text.strip().lower()).rstrip(" .").split(" ")
    aliases = {"an": "a", "grey": "gray"}
    return " ".join(aliases.get(w, w) for w in words)


def is_correct_caption(scene: CaptionScene, text: str) -> bool:
    """Right when it names exactly the objects present and their true relation, either order."""
    return normalize_caption(text) in scene.valid_captions()
