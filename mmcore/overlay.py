"""Attention maps over images: resizing a patch-grid map and drawing it as a heatmap."""
from __future__ import annotations

from functools import lru_cache

import numpy as np
from PIL import Image


def upsample(grid: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """(h, w) map -> (H, W) float32 in [0, 1], bilinear; size is PIL's (W, H)."""
    img = Image.fromarray(np.asarray(grid, dtype=np.float32), mode="F")
    out = np.asarray(img.resize(size, Image.Resampling.BILINEAR), dtype=np.float32)
    return out.clip(0.0, 1.0)


def scaled(m: np.ndarray) -> np.ndarray:
    """Min-max to [0, 1] float32 (a flat map becomes all ones)."""
    m = m.astype(np.float32)
    span = float(m.max() - m.min())
    return (m - m.min()) / span if span > 0 else np.ones_like(m)


@lru_cache(maxsize=8)
def _lut(colormap: str) -> np.ndarray:
    """(256, 3) uint8: the colormap sampled once (matplotlib's per-pixel call cost 0.8 ms a map)."""
    from matplotlib import colormaps

    return (colormaps[colormap](np.linspace(0, 1, 256))[:, :3] * 255).round().astype(np.uint8)


def heatmap(values: np.ndarray, colormap: str = "turbo") -> np.ndarray:
    """(H, W) in [0, 1] -> (H, W, 3) uint8 colours."""
    index = (np.nan_to_num(np.asarray(values, dtype=np.float32)).clip(0, 1) * 255).round().astype(np.uint8)
    return _lut(colormap)[index]


def overlay(image: Image.Image | np.ndarray, attention: np.ndarray, alpha: float = 0.6,
            colormap: str = "turbo") -> np.ndarray:
    """A spotlight: the image dimmed where attention is low, a heatmap tint where it is high.

    Dimming (not only tinting) keeps the attended object's own colours readable, so the
    picture reads as "where it looked". Returns (H, W, 3) uint8 at the image's size.
    """
    base = np.asarray(image.convert("RGB") if isinstance(image, Image.Image) else image, dtype=np.float32)
    att = attention if attention.shape == base.shape[:2] else upsample(attention, (base.shape[1], base.shape[0]))
    lit = base * (0.25 + 0.75 * att**0.5)[..., None]  # gamma < 1 widens the lit halo
    weight = (alpha * att)[..., None] * 0.6
    blended = lit * (1 - weight) + heatmap(att, colormap).astype(np.float32) * weight
    return blended.round().clip(0, 255).astype(np.uint8)
