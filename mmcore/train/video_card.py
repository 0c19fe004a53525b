"""Scores a built-in video model folder through mmcore's real path (video files on disk,
probed, sampled by seeking, through the processor) and writes its card (README.md) and
eval.json: `python -m mmcore.train video --evaluate DIR`.

Held-out clips: fresh ShapesWorld clips (seed 2026), every action equally often, written as
mp4 (mp4v) at 8 fps; a second set written as 300x300 VP8/VP9 webm at 30 fps with each frame
held for 3 frames (48 frames, so sampling must pick the right ones).
"""
from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
from PIL import Image

from ..shapesworld.video import ACTIONS, generate_clip, write_video
from .augment import write_card_files


def _task(folder: Path):
    from ..loading import resolve
    from ..tasks.video import VideoTask

    return VideoTask(resolve("video", "auto", str(folder), "fp32", "cpu"))


def _upscaled(frames: np.ndarray, size: int, hold: int) -> np.ndarray:
    big = np.stack([np.asarray(Image.fromarray(f).resize((size, size), Image.Resampling.BILINEAR)) for f in frames])
    return np.repeat(big, hold, axis=0)


def evaluate(folder: Path, clips: int = 240, seed: int = 2026) -> dict:
    task = _task(folder)
    rng = np.random.default_rng(seed)
    made = [generate_clip(rng, ACTIONS[i % len(ACTIONS)]) for i in range(clips)]
    scores = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, ext, size, hold, fps in (("mp4_75px_8fps", ".mp4", None, 1, 8), ("webm_300px_30fps", ".webm", 300, 3, 30)):
            paths = []
            for i, c in enumerate(made):
                frames = c.frames() if size is None else _upscaled(c.frames(), size, hold)
                paths.append(str(write_video(Path(tmp) / f"{name}_{i}{ext}", frames, fps=fps)))
            results = [r for i in range(0, len(paths), 16) for r in task.run_batch(paths[i:i + 16])]
            scores[name] = _accuracy(made, results)
    return scores


def _accuracy(made, results) -> dict:
    action = [r.action == c.action for c, r in zip(made, results)]
    caption = [r.caption == c.caption() for c, r in zip(made, results)]
    per = {a: round(100 * float(np.mean([ok for ok, c in zip(action, made) if c.action == a])), 1) for a in ACTIONS}
    return {"action": round(100 * float(np.mean(action)), 1), "caption": round(100 * float(np.mean(caption)), 1),
            "per_action": per}


def write_card(folder: Path) -> dict:
    return write_card_files(folder, evaluate(folder), _card)


def _card(s: dict, log: dict) -> str:
    cfg, curve = log["config"], log["curve"]
    rows = "\n".join(f"| {k} | {v['action']} | {v['caption']} |" for k, v in s.items())
    per = " · ".join(f"{a}: {p}" for a, p in s["mp4_75px_8fps"]["per_action"].items())
    return f"""---
license: apache-2.0
library_name: transformers
tags: [mmcore, video, videomae, shapesworld]
---
# mmcore built-in video model

A stock `VideoMAEModel` encoder (16 frames at 64 px, tubelets of 2 frames x 16 x 16 px, 4 layers of 128)
with attention-pooled action, colour and shape heads; architecture in `mmcore/models/video.py`, recipe in
`mmcore/train/video.py`. Caption: "a {{colour}} {{shape}} is {{action}}".

Trained with `python -m mmcore.train video --steps {cfg['steps']}` ({curve[-1]['seconds']:.0f} s on CPU).
Scores: `python -m mmcore.train video --evaluate <this folder>`, through mmcore's task path from video files.

| 240 fresh clips (seed 2026) | action % | full caption % |
|---|---|---|
{rows}

Per action (mp4): {per}.
"""
