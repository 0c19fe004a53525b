"""Video clips (ShapesWorld spec, section 3), seeded and deterministic, plus a writer."""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from .caption import SHAPES
from .render import CANVAS, COLOR_NAMES, Shape, render

ACTIONS: tuple[str, ...] = (
    "moving left", "moving right", "moving up", "moving down",
    "growing", "shrinking", "rotating", "changing color",
)
ROTATABLE: tuple[str, ...] = ("square", "triangle")  # a rotating circle would look static
NUM_FRAMES = 16
HALF = 8.0  # half-extent unless the action changes it
STEP = 2  # pixels per frame for the moving actions
SIZE_RANGE = (4.0, 14.0)  # growing goes low -> high, shrinking high -> low
DEGREES_PER_FRAME = 6.0  # clockwise
SWITCH_FRAME = 8  # changing color: frames 0-7 first colour, 8-15 the new one

# Unit direction (dx, dy) per moving action; y points down, so "up" is -y.
_MOVES: dict[str, tuple[int, int]] = {
    "moving left": (-1, 0), "moving right": (1, 0), "moving up": (0, -1), "moving down": (0, 1),
}

# cv2 fourcc codes per extension, best first.
_CODECS: dict[str, tuple[str, ...]] = {".mp4": ("mp4v",), ".webm": ("VP80", "VP90"), ".avi": ("MJPG",)}


@dataclass(frozen=True)
class VideoClip:
    """One object doing one action; frames_spec holds each frame's objects."""

    color: str  # colour in the first frame
    shape: str
    action: str  # one of ACTIONS
    frames_spec: tuple[tuple[Shape, ...], ...]

    def frames(self, size: int = CANVAS, antialias: bool = False) -> np.ndarray:
        """(NUM_FRAMES, size, size, 3) uint8 RGB."""
        return np.stack([render(f, size=size, antialias=antialias) for f in self.frames_spec])

    def caption(self) -> str:
        return f"a {self.color} {self.shape} is {self.action}"


def _halves(action: str) -> np.ndarray:
    """(NUM_FRAMES,) half-extent per frame."""
    lo, hi = SIZE_RANGE
    if action == "growing":
        return np.linspace(lo, hi, NUM_FRAMES)
    if action == "shrinking":
        return np.linspace(hi, lo, NUM_FRAMES)
    return np.full(NUM_FRAMES, HALF)


def _margin(action: str) -> int:
    """Smallest centre-to-edge distance keeping every frame's object on the canvas.

    A square's or triangle's corners sit h*sqrt(2) from the centre, which matters
    once it rotates; unrotated, every lit pixel is within h on each axis.
    """
    reach = _halves(action).max() * (math.sqrt(2) if action == "rotating" else 1.0)
    return math.ceil(reach - 1e-9)


def _start(rng: np.random.Generator, action: str) -> tuple[int, int]:
    """First-frame centre such that all NUM_FRAMES positions stay inside the canvas."""
    lo, hi = _margin(action), CANVAS - 1 - _margin(action)
    travel = STEP * (NUM_FRAMES - 1)
    dx, dy = _MOVES.get(action, (0, 0))
    x = int(rng.integers(lo + max(0, -dx) * travel, hi - max(0, dx) * travel + 1))
    y = int(rng.integers(lo + max(0, -dy) * travel, hi - max(0, dy) * travel + 1))
    return x, y


def _frame_colors(rng: np.random.Generator, color: str, action: str) -> list[str]:
    if action != "changing color":
        return [color] * NUM_FRAMES
    new = str(rng.choice([c for c in COLOR_NAMES if c != color]))
    return [color] * SWITCH_FRAME + [new] * (NUM_FRAMES - SWITCH_FRAME)


def _frames_spec(
    shape: str, action: str, start: tuple[int, int], colors: list[str]
) -> tuple[tuple[Shape, ...], ...]:
    dx, dy = _MOVES.get(action, (0, 0))
    spin = DEGREES_PER_FRAME if action == "rotating" else 0.0
    halves = _halves(action)
    return tuple(
        (Shape(shape, colors[t], start[0] + dx * STEP * t, start[1] + dy * STEP * t,
               float(halves[t]), spin * t),)
        for t in range(NUM_FRAMES)
    )


def generate_clip(rng: np.random.Generator, action: str | None = None) -> VideoClip:
    """A random clip; action is drawn uniformly from ACTIONS when not given."""
    if action is None:
        action = str(rng.choice(ACTIONS))
    if action not in ACTIONS:
        raise ValueError(f"unknown action {action!r}; known: {', '.join(ACTIONS)}")
    color = str(rng.choice(COLOR_NAMES))
    shape = str(rng.choice(ROTATABLE if action == "rotating" else SHAPES))
    start = _start(rng, action)
    colors = _frame_colors(rng, color, action)
    return VideoClip(color, shape, action, _frames_spec(shape, action, start, colors))


def _pad_even(frames: np.ndarray) -> np.ndarray:
    """OpenCV's FFmpeg writer silently drops the last row/column of odd-sized frames.

    Padding with a copy of the edge keeps every original pixel: crop [:H, :W] after reading.
    """
    _, h, w, _ = frames.shape
    return np.pad(frames, ((0, 0), (0, h % 2), (0, w % 2), (0, 0)), mode="edge")


def _open_writer(path: Path, size: tuple[int, int], fps: int) -> cv2.VideoWriter:
    ext = path.suffix.lower()
    # The built-in MJPEG writer keeps odd sizes exactly and needs no FFmpeg.
    api = cv2.CAP_OPENCV_MJPEG if ext == ".avi" else cv2.CAP_ANY
    for code in _CODECS[ext]:
        writer = cv2.VideoWriter(str(path), api, cv2.VideoWriter_fourcc(*code), fps, size)
        if writer.isOpened():
            return writer
    raise RuntimeError(f"OpenCV could not open a {ext} writer (tried {', '.join(_CODECS[ext])})")


def write_video(path: str | Path, frames: np.ndarray, fps: int = 8) -> Path:
    """Write (T, H, W, 3) uint8 RGB frames to .mp4 (mp4v), .webm (VP8/VP9) or .avi (MJPG).

    For .mp4/.webm an odd H or W is padded by one edge row/column (see _pad_even).
    """
    path = Path(path)
    if path.suffix.lower() not in _CODECS:
        raise ValueError(
            f"unsupported video extension {path.suffix!r} for {path.name}; "
            f"use one of {', '.join(_CODECS)}"
        )
    frames = np.asarray(frames, dtype=np.uint8)
    if frames.ndim != 4 or frames.shape[-1] != 3:
        raise ValueError(f"frames must be (T, H, W, 3) RGB, got shape {frames.shape}")
    if path.suffix.lower() != ".avi":
        frames = _pad_even(frames)
    writer = _open_writer(path, (frames.shape[2], frames.shape[1]), fps)
    try:
        for frame in frames:
            writer.write(np.ascontiguousarray(frame[..., ::-1]))  # OpenCV wants BGR
    finally:
        writer.release()
    return path
