"""python -m demos.figures: redraws the README's figures from the shipped built-in model.

docs/vqa_attention.png: example scenes, questions, answers and the attention overlays.
"""
from __future__ import annotations

import textwrap
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

import mmcore  # noqa: E402
from mmcore.overlay import overlay  # noqa: E402
from mmcore.shapesworld.vqa import CANONICAL, generate_scene  # noqa: E402

DOCS = Path(__file__).resolve().parents[1] / "docs"
PANELS = ((11, "shape", "red"), (12, "closest", "blue"), (13, "furthest", "green"), (14, "count", "yellow"))


def vqa_attention(path: Path = DOCS / "vqa_attention.png") -> Path:
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


if __name__ == "__main__":
    print(vqa_attention())
