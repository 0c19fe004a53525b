"""What every benchmark section shares: timing statistics, the machine's description, and
held-out inputs for each task (fresh ShapesWorld data from seeds no training run draws)."""
from __future__ import annotations

import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
OUT = ROOT / "benchmarks" / "results"
DOCS = ROOT / "docs"
HELDOUT_SEED = 2026
QUESTION = "What is the shape of the red object?"


def machine() -> str:
    import torch

    return (f"{platform.machine()}, {os.cpu_count()} CPU cores, torch {torch.__version__}, "
            f"{torch.get_num_threads()} threads, no GPU" if not torch.cuda.is_available()
            else f"{torch.cuda.get_device_name()}, torch {torch.__version__}")


def proc_status_mb(field: str, pid: int | str = "self") -> float:
    """A memory field of /proc/PID/status in MB: VmRSS (now) or VmHWM (peak). VmHWM, not
    ru_maxrss: on Linux ru_maxrss survives exec, so a child started by a big parent would
    report the parent's peak."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return round(int(line.split()[1]) / 1024, 1)
    return float("nan")


def timed(fn: Callable[[], Any], repeats: int, warmup: int = 1) -> list[float]:
    """Wall seconds of each of `repeats` calls, after `warmup` untimed ones."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return times


def pct(times: list[float], q: float) -> float:
    """The q-th percentile in milliseconds (nearest rank on the sorted times)."""
    ordered = sorted(times)
    return round(1000 * ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))], 2)


def summary(times: list[float]) -> dict[str, float]:
    return {"p50_ms": pct(times, 50), "p95_ms": pct(times, 95), "mean_ms": round(1000 * statistics.mean(times), 2),
            "n": len(times)}


# ----------------------------------------------------------------------------- held-out inputs

def vqa_items(n: int, seed: int = HELDOUT_SEED, size: int = 75) -> tuple[list[tuple[np.ndarray, str]], list[str]]:
    """n (scene, question) pairs, one question per scene cycling through the six types, and the answers."""
    from mmcore.shapesworld.vqa import all_items, generate_scene

    rng = np.random.default_rng(seed)
    raws, gold = [], []
    for i in range(n):
        scene = generate_scene(rng)
        item = all_items(scene)[(i * 7) % 36]  # 36 = 6 types x 6 colours: every type and colour in turn
        raws.append((scene.image(size=size, antialias=size != 75), item.question))
        gold.append(item.answer)
    return raws, gold


def caption_items(n: int, seed: int = HELDOUT_SEED, size: int = 75):
    """n fresh caption scenes and their images."""
    from mmcore.shapesworld.caption import generate_caption_scene

    rng = np.random.default_rng(seed)
    scenes = [generate_caption_scene(rng) for _ in range(n)]
    return scenes, [s.image(size, antialias=size != 75) for s in scenes]


def sentiment_items(n: int, seed: int = HELDOUT_SEED) -> tuple[list[tuple[str, Any]], list[str]]:
    """n held-out sentences, each with a fresh face of the same label (agreeing pairs), and the label."""
    from PIL import Image

    from mmcore.models.sentiment import LABELS
    from mmcore.shapesworld.faces import generate_face
    from mmcore.train.sentiment import load_sentences
    from mmcore.train.sentiment_card import HELDOUT

    rng = np.random.default_rng(seed)
    rows = load_sentences(HELDOUT["heldout"])[:n]
    return ([(text, Image.fromarray(generate_face(rng, LABELS[y]).image())) for y, text in rows],
            [LABELS[y] for y, _ in rows])


def video_items(n: int, folder: Path, seed: int = HELDOUT_SEED) -> tuple[list[str], list[str]]:
    """n fresh clips written as mp4 files in `folder`, every action equally often, and their actions."""
    from mmcore.shapesworld.video import ACTIONS, generate_clip, write_video

    rng = np.random.default_rng(seed)
    clips = [generate_clip(rng, ACTIONS[i % len(ACTIONS)]) for i in range(n)]
    paths = [str(write_video(folder / f"clip{i}.mp4", c.frames(), fps=8)) for i, c in enumerate(clips)]
    return paths, [c.action for c in clips]
