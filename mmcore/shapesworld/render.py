"""Rasterising ShapesWorld objects at any output size.

Objects live in the spec's 75x75 pixel space (x right, y down, integer pixel centres).
An output pixel is lit when its sample point(s), mapped back to that space, fall inside
the shape; with one sample per pixel at 75x75 this is exactly the spec's pixel rule
(square: |dx| <= h and |dy| <= h; circle: dx^2 + dy^2 <= r^2), and with several samples
per pixel it is the same scene anti-aliased at another size.
"""
from __future__ import annotations

import io
import math
from dataclasses import dataclass

import numpy as np
from PIL import Image

CANVAS = 75  # the spec's canvas side, in pixels

COLORS: dict[str, tuple[int, int, int]] = {
    "red": (255, 0, 0),
    "green": (0, 255, 0),
    "blue": (0, 0, 255),
    "orange": (255, 156, 0),
    "gray": (128, 128, 128),
    "yellow": (255, 255, 0),
}
COLOR_NAMES: tuple[str, ...] = tuple(COLORS)


@dataclass(frozen=True)
class Shape:
    """One filled object in 75x75 space."""

    shape: str  # "square" | "circle" | "triangle"
    color: str  # a key of COLORS
    x: float  # centre x, pixels
    y: float  # centre y, pixels
    half: float = 5.0  # half-extent: circle radius, half the square's side
    angle: float = 0.0  # clockwise rotation in degrees (squares and triangles)


def _polygon(obj: Shape) -> np.ndarray:
    """Vertices (k, 2) of a square or triangle, rotated clockwise by obj.angle."""
    h = obj.half
    if obj.shape == "square":
        pts = np.array([[-h, -h], [h, -h], [h, h], [-h, h]], dtype=np.float64)
    else:  # the spec's triangle: (cx, cy-h), (cx-h, cy+h), (cx+h, cy+h)
        pts = np.array([[0, -h], [h, h], [-h, h]], dtype=np.float64)
    t = math.radians(obj.angle)  # y points down, so this rotation is clockwise on screen
    rot = np.array([[math.cos(t), -math.sin(t)], [math.sin(t), math.cos(t)]])
    return pts @ rot.T + np.array([obj.x, obj.y])


def _inside(obj: Shape, xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
    """Boolean mask of sample points (same shape as xs) inside obj."""
    if obj.shape == "circle":
        return (xs - obj.x) ** 2 + (ys - obj.y) ** 2 <= obj.half**2 + 1e-9
    if obj.shape == "square" and obj.angle % 90 == 0:
        return (np.abs(xs - obj.x) <= obj.half + 1e-9) & (np.abs(ys - obj.y) <= obj.half + 1e-9)
    pts = _polygon(obj)
    inside = np.ones(xs.shape, dtype=bool)
    for i in range(len(pts)):  # convex polygon: same side of every edge
        (x0, y0), (x1, y1) = pts[i], pts[(i + 1) % len(pts)]
        inside &= (x1 - x0) * (ys - y0) - (y1 - y0) * (xs - x0) >= -1e-6
    return inside


def _sample_grid(size: int, samples: int) -> tuple[np.ndarray, np.ndarray]:
    """Sample coordinates in 75-space, shape (size, size, samples^2)."""
    k = size / CANVAS
    offs = (np.arange(samples) + 0.5) / samples  # sub-pixel offsets in (0, 1)
    u = (np.arange(size)[:, None] + offs[None, :]).reshape(-1) / k - 0.5
    if samples == 1 and size == CANVAS:
        u = np.arange(size, dtype=np.float64)  # exact integer pixel centres
    grid = u.reshape(size, samples)
    ys = grid[:, None, :, None] + np.zeros((1, size, 1, samples))
    xs = grid[None, :, None, :] + np.zeros((size, 1, samples, 1))
    return xs.reshape(size, size, -1), ys.reshape(size, size, -1)


def render(
    objects: list[Shape] | tuple[Shape, ...],
    size: int = CANVAS,
    background: tuple[int, int, int] = (255, 255, 255),
    antialias: bool = False,
) -> np.ndarray:
    """Draw objects in order; returns (size, size, 3) uint8 RGB."""
    samples = 4 if antialias else 1
    xs, ys = _sample_grid(size, samples)
    img = np.broadcast_to(np.array(background, np.float64), (size, size, samples**2, 3)).copy()
    for obj in objects:
        m = _inside(obj, xs, ys)
        img[m] = COLORS[obj.color]
    return np.clip(img.mean(axis=2).round(), 0, 255).astype(np.uint8)


def jpeg(image: np.ndarray, quality: int = 70) -> np.ndarray:
    """Round-trip an RGB uint8 array through JPEG at the given quality."""
    buf = io.BytesIO()
    Image.fromarray(image).save(buf, format="JPEG", quality=quality)
    return np.asarray(Image.open(io.BytesIO(buf.getvalue())).convert("RGB"))
