"""The precision matrix: (fp32, bf16, int8, bnb8, bnb4) x (latency, peak memory, accuracy).

Each (model, precision) runs in a fresh process (`python benchmarks/precision.py MODEL
PRECISION`), so its peak resident memory (ru_maxrss) is its own: load through mmcore with
that precision, answer held-out inputs (accuracy, built-in models only: the real-size
models have random weights), then time single requests (p50).
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from common import ROOT, caption_items, pct, proc_status_mb, sentiment_items, timed, video_items, vqa_items
from models import REAL_SIZE

PRECISIONS = ("fp32", "bf16", "int8", "bnb8", "bnb4")
BUILTIN = {"shapesworld-vqa": "vqa", "shapesworld-caption": "caption", "shapesworld-sentiment": "sentiment",
           "shapesworld-video": "video"}


ALL = (*BUILTIN, *REAL_SIZE)


def _inputs(task_name: str, n: int, size: int, tmp: Path) -> tuple[list[Any], Any]:
    if task_name == "vqa":
        return vqa_items(n, size=size)
    if task_name == "caption":
        scenes, images = caption_items(n, size=size)
        return images, scenes
    if task_name == "sentiment":
        return sentiment_items(n)
    return video_items(n, tmp)


def _accuracy(task_name: str, results: list[Any], gold: Any) -> float:
    from mmcore.shapesworld.caption import is_correct_caption

    if task_name == "caption":
        hits = [is_correct_caption(s, r.caption) for s, r in zip(gold, results)]
    else:
        got = {"vqa": lambda r: r.answer, "sentiment": lambda r: r.label, "video": lambda r: r.action}[task_name]
        hits = [got(r) == g for r, g in zip(results, gold)]
    return round(100 * sum(hits) / len(hits), 2)


def one(model: str, precision: str) -> dict[str, Any]:
    """Runs in the child process."""
    import mmcore

    real = model in REAL_SIZE
    task_name, folder = (REAL_SIZE[model][0], str(REAL_SIZE[model][1]())) if real else (BUILTIN[model], None)
    start = time.perf_counter()
    task = mmcore.task(task_name, profile="builtin" if not real else "auto", model=folder, precision=precision)
    load_s = time.perf_counter() - start
    n = {"vqa": 360, "caption": 120, "sentiment": 300, "video": 48}[task_name] if not real else 4
    with tempfile.TemporaryDirectory() as tmp:
        items, gold = _inputs(task_name, n, 384 if real else 75, Path(tmp))
        results = [r for i in range(0, n, 32) for r in task.run_batch(items[i:i + 32])]
        times = timed(lambda it=iter(items * 50): task.run(next(it)), repeats=4 if real else 20)
    weights = sum(t.numel() * t.element_size() for t in task.loaded.model.state_dict().values())
    return {"model": model, "precision": precision, "p50_ms": pct(times, 50), "load_s": round(load_s, 2),
            "weights_mb": round(weights / 2**20, 1),
            "peak_rss_mb": proc_status_mb("VmHWM"),
            "accuracy_pct": None if real else _accuracy(task_name, results, gold)}


def run(models: list[str] | None = None, log=print) -> list[dict[str, Any]]:
    rows = []
    for model in models or ALL:
        for precision in PRECISIONS:
            rows.append(_child(model, precision))
            log(f"precision: {rows[-1]}")
    return rows


def _child(model: str, precision: str) -> dict[str, Any]:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, __file__, model, precision], capture_output=True, text=True, env=env,
                          cwd=ROOT, timeout=1800)
    if done.returncode:
        reason = (done.stderr.strip().splitlines() or ["no output"])[-1]
        return {"model": model, "precision": precision, "error": reason[:300]}
    return json.loads(done.stdout.strip().splitlines()[-1])


if __name__ == "__main__":
    print(json.dumps(one(sys.argv[1], sys.argv[2])))
