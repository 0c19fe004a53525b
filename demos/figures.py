"""python -m demos.figures: redraws the README's figures from the shipped built-in model.

docs/vqa_attention.png: example scenes, questions, answers and the attention overlays.
"""
from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np

import mmcore
from mmcore.overlay import overlay
from mmcore.shapesworld.vqa import CANONICAL, generate_scene

def _pyplot():
    """pyplot on the file backend, imported on first use: it costs 0.34 s of the app's cold start."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


DOCS = Path(__file__).resolve().parents[1] / "docs"
PANELS = ((11, "shape", "red"), (12, "closest", "blue"), (13, "furthest", "green"), (14, "count", "yellow"))


def vqa_attention(path: Path = DOCS / "vqa_attention.png") -> Path:
    plt = _pyplot()
    fig, axes = plt.subplots(2, len(PANELS), figsize=(3.2 * len(PANELS), 7))
    for col, (seed, qtype, color) in enumerate(PANELS):
        image = generate_scene(np.random.default_rng(seed)).image(300, antialias=True)
        question = CANONICAL[qtype].format(c=color)
        result = mmcore.vqa(image, question, profile="builtin")
        axes[0, col].imshow(image)
        axes[0, col].set_title(textwrap.fill(question, 34), fontsize=9)
        axes[1, col].imshow(overlay(image, result.attention))
        axes[1, col].set_title(f"answer: {result.answer} ({result.score:.2f})", fontsize=10)
    for ax in axes.flat:
        ax.axis("off")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=80)
    return path


def _to_array(fig) -> np.ndarray:
    """A finished figure as an (H, W, 3) uint8 RGB array; the figure is closed."""
    fig.tight_layout()
    fig.canvas.draw()
    picture = np.asarray(fig.canvas.buffer_rgba())[..., :3].copy()
    _pyplot().close(fig)
    return picture


LABEL_COLOURS = {"positive": "#2e9e5b", "negative": "#d1495b", "neutral": "#8d99ae"}


def fusion_bars(fused) -> np.ndarray:
    """Grouped bars: each fusion strategy's probability per label, as an RGB array."""
    from mmcore.models.sentiment import LABELS

    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(4.6, 2.6), dpi=100)
    x = np.arange(len(fused))
    for j, label in enumerate(LABELS):
        ax.bar(x + (j - 1) * 0.26, [f.scores[label] for f in fused], 0.26, label=label, color=LABEL_COLOURS[label])
    ax.set_xticks(x, [f"{f.strategy}\n-> {f.label}" for f in fused], fontsize=9)
    ax.set_ylim(0, 1)
    ax.set_ylabel("probability", fontsize=9)
    ax.legend(fontsize=8, ncols=3, loc="upper center", bbox_to_anchor=(0.5, 1.2), frameon=False)
    ax.spines[["top", "right"]].set_visible(False)
    return _to_array(fig)


def importance_plot(segment, fps: float) -> np.ndarray:
    """Bars: each sampled frame's share of the model's attention, at its time in the video."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6.4, 2.2), dpi=100)
    times = np.array(segment.frame_indices) / fps
    width = 0.8 * (np.diff(times).min() if len(set(times)) > 1 else 1.0)
    ax.bar(times, 100 * segment.importance, width=max(width, 1e-3), color="#5a67d8")
    ax.set_xlabel("time in the video (s)", fontsize=9)
    ax.set_ylabel("% of attention", fontsize=9)
    ax.spines[["top", "right"]].set_visible(False)
    return _to_array(fig)


if __name__ == "__main__":
    print(vqa_attention())
