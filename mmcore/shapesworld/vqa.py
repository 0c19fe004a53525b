"""Sort-of-CLEVR VQA scenes (ShapesWorld spec, section 1), seeded and deterministic."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .render import CANVAS, COLOR_NAMES, Shape, render

QUESTION_TYPES: tuple[str, ...] = ("shape", "horizontal", "vertical", "closest", "furthest", "count")
RELATIONAL: frozenset[str] = frozenset({"closest", "furthest", "count"})
ANSWERS: tuple[str, ...] = (
    "square", "circle", "left", "right", "top", "bottom", "1", "2", "3", "4", "5", "6",
)

# The spec's canonical wording, one per question type ({c} is the colour).
CANONICAL: dict[str, str] = {
    "shape": "What is the shape of the {c} object?",
    "horizontal": "Is the {c} object on the left or on the right?",
    "vertical": "Is the {c} object at the top or at the bottom?",
    "closest": "What is the shape of the object closest to the {c} object?",
    "furthest": "What is the shape of the object furthest from the {c} object?",
    "count": "How many objects have the same shape as the {c} object?",
}

# Other wordings used in training. Kept apart from HELDOUT_PARAPHRASES, which no model
# sees while training and which measure how well it copes with wordings it never saw.
TRAIN_PARAPHRASES: dict[str, tuple[str, ...]] = {
    "shape": (
        "What shape is the {c} object?",
        "Which shape does the {c} object have?",
        "What is the {c} shape?",
        "Tell me the shape of the {c} one.",
        "Is the {c} object a square or a circle?",
        "What kind of shape is {c}?",
    ),
    "horizontal": (
        "Is the {c} object left or right?",
        "On which side is the {c} object, left or right?",
        "Is the {c} shape on the left side or the right side?",
        "Which side of the image is the {c} object on?",
        "Is {c} on the left or right?",
    ),
    "vertical": (
        "Is the {c} object top or bottom?",
        "Is the {c} object in the top half or the bottom half?",
        "Is the {c} shape at the top or bottom of the image?",
        "Is {c} near the top or the bottom?",
        "Which half is the {c} object in, top or bottom?",
    ),
    "closest": (
        "What shape is the object closest to the {c} object?",
        "What is the shape of the object nearest to the {c} object?",
        "Which shape is nearest the {c} object?",
        "What shape is closest to {c}?",
        "The object closest to the {c} one is what shape?",
    ),
    "furthest": (
        "What shape is the object furthest from the {c} object?",
        "What is the shape of the object farthest from the {c} object?",
        "Which shape is farthest away from the {c} object?",
        "What shape is furthest from {c}?",
        "The object furthest from the {c} one is what shape?",
    ),
    "count": (
        "How many objects are the same shape as the {c} object?",
        "How many shapes match the shape of the {c} object?",
        "Count the objects with the same shape as the {c} object.",
        "How many objects share the {c} object's shape?",
        "Number of objects shaped like the {c} one?",
    ),
}

HELDOUT_PARAPHRASES: dict[str, tuple[str, ...]] = {
    "shape": (
        "What's the shape of the {c} thing?",
        "Can you tell me what shape the {c} object is?",
        "The {c} object is which shape?",
    ),
    "horizontal": (
        "Is the {c} thing to the left or to the right?",
        "Left or right: where is the {c} object?",
        "Does the {c} object sit on the left or the right?",
    ),
    "vertical": (
        "Is the {c} thing at the top or the bottom?",
        "Top or bottom: where is the {c} object?",
        "Does the {c} object sit at the top or the bottom?",
    ),
    "closest": (
        "What's the shape of the thing closest to the {c} object?",
        "Which shape sits nearest to the {c} thing?",
        "Tell me the shape of whatever is closest to {c}.",
    ),
    "furthest": (
        "What's the shape of the thing furthest from the {c} object?",
        "Which shape sits farthest from the {c} thing?",
        "Tell me the shape of whatever is furthest from {c}.",
    ),
    "count": (
        "How many things have the same shape as the {c} object?",
        "How many objects are shaped like the {c} thing?",
        "Count the shapes that look like the {c} one.",
    ),
}


@dataclass(frozen=True)
class VQAScene:
    """Six objects, one of each colour (order = COLOR_NAMES)."""

    objects: tuple[Shape, ...]

    def image(self, size: int = CANVAS, antialias: bool = False) -> np.ndarray:
        return render(self.objects, size=size, antialias=antialias)

    def by_color(self, color: str) -> Shape:
        return next(o for o in self.objects if o.color == color)


@dataclass(frozen=True)
class VQAItem:
    """One question about a scene, with its answer and the objects it is about."""

    question: str
    answer: str
    qtype: str  # one of QUESTION_TYPES
    color: str  # the colour the question names
    target: str | None  # colour of the object the answer is read from (closest/furthest)


def generate_scene(rng: np.random.Generator) -> VQAScene:
    """Centres uniform in 5..69, redrawn while closer than 10 px to an earlier centre."""
    objects: list[Shape] = []
    for color in COLOR_NAMES:
        while True:
            x, y = (int(v) for v in rng.integers(5, 70, size=2))
            if all((x - o.x) ** 2 + (y - o.y) ** 2 >= 100 for o in objects):
                break
        shape = "square" if rng.random() < 0.5 else "circle"
        objects.append(Shape(shape, color, x, y, 5.0))
    return VQAScene(tuple(objects))


def _others_by_distance(scene: VQAScene, color: str) -> list[Shape]:
    ref = scene.by_color(color)
    others = [o for o in scene.objects if o.color != color]
    return sorted(others, key=lambda o: (o.x - ref.x) ** 2 + (o.y - ref.y) ** 2)


def answer(scene: VQAScene, qtype: str, color: str) -> tuple[str, str | None]:
    """The spec's answer logic; returns (answer, colour of the object it is read from)."""
    ref = scene.by_color(color)
    if qtype == "shape":
        return ref.shape, None
    if qtype == "horizontal":
        return ("left" if ref.x < 37.5 else "right"), None
    if qtype == "vertical":
        return ("top" if ref.y < 37.5 else "bottom"), None
    if qtype in ("closest", "furthest"):
        ranked = _others_by_distance(scene, color)
        obj = ranked[0] if qtype == "closest" else ranked[-1]
        return obj.shape, obj.color
    if qtype == "count":
        return str(sum(o.shape == ref.shape for o in scene.objects)), None
    raise ValueError(f"unknown question type {qtype!r}; known: {', '.join(QUESTION_TYPES)}")


def question_text(qtype: str, color: str, template: str | None = None) -> str:
    return (template or CANONICAL[qtype]).format(c=color)


def make_item(scene: VQAScene, qtype: str, color: str, template: str | None = None) -> VQAItem:
    ans, target = answer(scene, qtype, color)
    return VQAItem(question_text(qtype, color, template), ans, qtype, color, target)


def all_items(scene: VQAScene) -> list[VQAItem]:
    """Every canonical question (6 types x 6 colours) for one scene."""
    return [make_item(scene, q, c) for q in QUESTION_TYPES for c in COLOR_NAMES]


def heldout_items(scene: VQAScene) -> list[VQAItem]:
    """Every held-out paraphrase for every colour: the paraphrase benchmark."""
    return [
        make_item(scene, q, c, t)
        for q in QUESTION_TYPES
        for t in HELDOUT_PARAPHRASES[q]
        for c in COLOR_NAMES
    ]
