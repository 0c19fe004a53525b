"""Faces for image sentiment (ShapesWorld spec, section 4), seeded and deterministic.

Geometry is in continuous 75x75 canvas coordinates (pixel i spans [i, i+1], so 37.5 is
the middle) and is drawn at 4x supersampling, then box-downsampled, so edges are clean
at any output size.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw

from .render import CANVAS

SENTIMENTS: tuple[str, ...] = ("positive", "negative", "neutral")
MOUTHS: dict[str, str] = {"positive": "smile", "negative": "frown", "neutral": "straight"}

SUPERSAMPLE = 4
RADIUS_RANGE = (20.0, 30.0)
EYE_RADIUS_RANGE = (2.0, 4.0)
THICKNESS_RANGE = (2.0, 3.0)
MOUTH_POINTS = 33  # polyline vertices; plenty for a smooth arc at 4x

Color = tuple[int, int, int]


@dataclass(frozen=True)
class Face:
    """All parameters of one face; positions and lengths in 75x75 pixels."""

    background: Color  # white or light: every channel >= 200
    cx: float  # face centre
    cy: float
    radius: float  # 20..30
    color: Color  # (255, 156..255, 0): yellow to orange
    eyes: tuple[tuple[float, float], tuple[float, float]]  # eye centres (x, y)
    eye_radius: float  # 2..4
    ink: Color  # eyes and mouth; every channel <= 60
    mouth: str  # "smile" | "frown" | "straight"
    mouth_y: float  # y of the mouth's vertical midpoint
    mouth_half_width: float  # about a quarter of the face's width
    curvature: float  # corner-to-middle height difference in px; 0 when straight
    thickness: float  # 2..3
    label: str  # one of SENTIMENTS, matching mouth

    def __post_init__(self) -> None:
        if MOUTHS.get(self.label) != self.mouth:
            want = MOUTHS.get(self.label)
            raise ValueError(f"label {self.label!r} needs mouth {want!r}, got {self.mouth!r}")

    def mouth_points(self) -> np.ndarray:
        """(MOUTH_POINTS, 2) polyline (x, y) in 75-space: a parabola through the corners."""
        u = np.linspace(-1.0, 1.0, MOUTH_POINTS)
        # y grows downwards: a smile's middle sits lower (larger y) than its corners.
        sign = {"smile": 1.0, "frown": -1.0, "straight": 0.0}[self.mouth]
        ys = self.mouth_y + sign * self.curvature * (0.5 - u**2)
        return np.stack([self.cx + u * self.mouth_half_width, ys], axis=1)

    def image(self, size: int = CANVAS) -> np.ndarray:
        """(size, size, 3) uint8 RGB."""
        k = SUPERSAMPLE * size / CANVAS
        big = Image.new("RGB", (SUPERSAMPLE * size,) * 2, self.background)
        draw = ImageDraw.Draw(big)
        draw.ellipse(_bbox(self.cx, self.cy, self.radius, k), fill=self.color)
        for ex, ey in self.eyes:
            draw.ellipse(_bbox(ex, ey, self.eye_radius, k), fill=self.ink)
        _draw_mouth(draw, self.mouth_points() * k, self.thickness * k, self.ink)
        return np.asarray(big.resize((size, size), Image.Resampling.BOX))


def _bbox(x: float, y: float, r: float, k: float) -> list[float]:
    """PIL bounding box of a disc scaled by k from canvas to output-image coordinates."""
    X, Y, R = x * k, y * k, r * k
    return [X - R, Y - R, X + R, Y + R]


def _draw_mouth(draw: ImageDraw.ImageDraw, pts: np.ndarray, width: float, ink: Color) -> None:
    """A thick polyline with round caps (PIL's own line ends are flat)."""
    flat = [(float(x), float(y)) for x, y in pts]
    draw.line(flat, fill=ink, width=max(1, round(width)), joint="curve")
    for x, y in (flat[0], flat[-1]):
        draw.ellipse([x - width / 2, y - width / 2, x + width / 2, y + width / 2], fill=ink)


def _background(rng: np.random.Generator) -> Color:
    if rng.random() < 0.5:
        return (255, 255, 255)
    return tuple(int(v) for v in rng.integers(200, 256, size=3))


def _eyes(
    rng: np.random.Generator, cx: float, cy: float, r: float
) -> tuple[tuple[float, float], tuple[float, float]]:
    """Two eye centres in the face's upper half, each nudged by up to 1 px on both axes."""
    spread, height = float(rng.uniform(0.32, 0.42)) * r, float(rng.uniform(0.3, 0.42)) * r
    jitter = rng.uniform(-1.0, 1.0, size=(2, 2))
    left = (float(cx - spread + jitter[0, 0]), float(cy - height + jitter[0, 1]))
    right = (float(cx + spread + jitter[1, 0]), float(cy - height + jitter[1, 1]))
    return left, right


def _mouth(rng: np.random.Generator, cy: float, r: float, kind: str) -> tuple[float, float, float]:
    """(mouth_y, half_width, curvature): width about half the face, kept in its lower half."""
    mouth_y = cy + float(rng.uniform(0.42, 0.52)) * r
    half_width = float(rng.uniform(0.45, 0.55)) * r
    curvature = 0.0 if kind == "straight" else float(rng.uniform(0.15, 0.3)) * r
    return mouth_y, half_width, curvature


def generate_face(rng: np.random.Generator, label: str | None = None) -> Face:
    """A random face; label is drawn uniformly from SENTIMENTS when not given."""
    if label is None:
        label = str(rng.choice(SENTIMENTS))
    if label not in MOUTHS:
        raise ValueError(f"unknown label {label!r}; known: {', '.join(SENTIMENTS)}")
    background = _background(rng)
    cx, cy = (float(v) for v in rng.uniform(CANVAS / 2 - 5, CANVAS / 2 + 5, size=2))
    r = float(rng.uniform(*RADIUS_RANGE))
    color = (255, int(rng.integers(156, 256)), 0)
    eyes = _eyes(rng, cx, cy, r)
    eye_radius = float(rng.uniform(*EYE_RADIUS_RANGE))
    ink = tuple(int(v) for v in rng.integers(0, 61, size=3))
    mouth_y, half_width, curvature = _mouth(rng, cy, r, MOUTHS[label])
    thickness = float(rng.uniform(*THICKNESS_RANGE))
    return Face(background, cx, cy, r, color, eyes, eye_radius, ink, MOUTHS[label],
                mouth_y, half_width, curvature, thickness, label)
