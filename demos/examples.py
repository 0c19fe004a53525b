"""Example inputs shown under each tab: ShapesWorld scenes drawn from fixed seeds.

The files live in demos/examples (committed); any that are missing are drawn again.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from mmcore.shapesworld.caption import generate_caption_scene
from mmcore.shapesworld.vqa import CANONICAL, generate_scene

EXAMPLES_DIR = Path(__file__).resolve().parent / "examples"

# (seed, question): each question type once, several colours, one paraphrase.
VQA_EXAMPLES: tuple[tuple[int, str], ...] = (
    (101, CANONICAL["shape"].format(c="red")),
    (102, CANONICAL["closest"].format(c="blue")),
    (103, CANONICAL["count"].format(c="green")),
    (104, CANONICAL["horizontal"].format(c="orange")),
    (105, CANONICAL["furthest"].format(c="yellow")),
    (106, "What shape is the gray object?"),
)


CAPTION_SEEDS: tuple[int, ...] = (201, 202, 203, 204, 205, 206)


def scene_file(seed: int, size: int = 300, kind: str = "vqa") -> Path:
    """A ShapesWorld scene (kind "vqa" or "caption") drawn at `size` px, anti-aliased, as a PNG."""
    path = EXAMPLES_DIR / f"{kind}_scene_{seed}.png"
    if not path.is_file():
        EXAMPLES_DIR.mkdir(parents=True, exist_ok=True)
        generate = generate_scene if kind == "vqa" else generate_caption_scene
        scene = generate(np.random.default_rng(seed))
        Image.fromarray(scene.image(size=size, antialias=True)).save(path)
    return path


# (text, face label or None): agreeing, one neutral side, conflicting, text only, face only.
SENTIMENT_EXAMPLES: tuple[tuple[str, str | None], ...] = (
    ("What a wonderful surprise, thank you all so much!", "positive"),
    ("The parcel arrived broken and support never replied.", "negative"),
    ("The meeting has moved to Thursday at ten.", "positive"),
    ("I finally passed my driving test!", "negative"),
    ("Honestly, this is the worst update they have ever shipped.", None),
    ("", "neutral"),
)
FACE_SEEDS = {"positive": 301, "negative": 302, "neutral": 303}


def face_file(label: str, size: int = 300) -> Path:
    """A ShapesWorld face with this label (a fixed seed per label), as a PNG."""
    from mmcore.shapesworld.faces import generate_face

    path = EXAMPLES_DIR / f"face_{label}.png"
    if not path.is_file():
        EXAMPLES_DIR.mkdir(parents=True, exist_ok=True)
        face = generate_face(np.random.default_rng(FACE_SEEDS[label]), label)
        Image.fromarray(face.image(size=size)).save(path)
    return path


def sentiment_examples() -> list[list[str | None]]:
    return [[text, str(face_file(label)) if label else None] for text, label in SENTIMENT_EXAMPLES]


VIDEO_EXAMPLES: tuple[tuple[int, str], ...] = ((401, "moving right"), (402, "rotating"), (403, "changing color"),
                                               (404, "growing"))


def clip_file(seed: int, action: str, size: int = 225, fps: int = 8) -> Path:
    """A ShapesWorld clip as a VP8/VP9 webm (browsers play it; OpenCV here cannot write H.264)."""
    from mmcore.shapesworld.video import generate_clip, write_video

    path = EXAMPLES_DIR / f"clip_{seed}.webm"
    if not path.is_file():
        EXAMPLES_DIR.mkdir(parents=True, exist_ok=True)
        frames = generate_clip(np.random.default_rng(seed), action).frames(size=size, antialias=True)
        write_video(path, frames, fps=fps)
    return path


def video_examples() -> list[list[str]]:
    return [[str(clip_file(seed, action))] for seed, action in VIDEO_EXAMPLES]


def vqa_examples() -> list[list[str]]:
    return [[str(scene_file(seed)), question] for seed, question in VQA_EXAMPLES]


def caption_examples() -> list[list[str]]:
    return [[str(scene_file(seed, kind="caption"))] for seed in CAPTION_SEEDS]
