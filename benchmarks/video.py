"""python benchmarks/video.py: the video target, measured.

Target (issue #6): a 10-second, 30 fps, 640x480 clip answered in <= 3 s on this 2-core CPU
with the built-in model, and memory that does not grow with the video's length.

Writes a ShapesWorld clip drawn at 480 px onto a 640x480 canvas, each of its 16 frames held
for 300/16 frames (mp4v, 30 fps), in 10 s and 60 s versions; times `mmcore.video` end to end
(probe, seek and decode 16 frames per segment, the model) after one warm-up, and measures the
peak resident memory of a fresh process per length. Results: benchmarks/results/video.{json,md}.
"""
from __future__ import annotations

import json
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
OUT = ROOT / "benchmarks" / "results"


def make_clip(path: Path, seconds: int, fps: int = 30) -> Path:
    from mmcore.shapesworld.video import generate_clip, write_video

    clip = generate_clip(np.random.default_rng(7), "moving right").frames(size=480, antialias=True)
    canvas = np.full((len(clip), 480, 640, 3), 255, np.uint8)
    canvas[:, :, 80:560] = clip
    held = canvas[np.minimum(np.arange(seconds * fps) * len(clip) // (10 * fps), len(clip) - 1)]
    return write_video(path, held, fps=fps)


def time_one(path: Path, repeats: int) -> dict:
    import mmcore

    mmcore.video(path, profile="builtin")  # warm-up: model load
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        result = mmcore.video(path, profile="builtin")
        times.append(time.perf_counter() - start)
    return {"median_s": round(statistics.median(times), 3), "max_s": round(max(times), 3),
            "action": result.action, "segments": len(result.segments)}


def peak_rss_mb(path: Path) -> float:
    """Peak RSS of a fresh process that loads the model and answers once."""
    code = ("import sys, mmcore; from common import proc_status_mb; mmcore.video(sys.argv[1], profile='builtin'); "
            "print(proc_status_mb('VmHWM'))")
    out = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True, cwd=ROOT,
                         env={"HF_HUB_OFFLINE": "1", "PATH": "/usr/bin:/bin", "PYTHONPATH": f"{ROOT}:{ROOT / 'benchmarks'}"}, check=True)
    return float(out.stdout.split()[-1])


def main(repeats: int = 5) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        ten, sixty = make_clip(Path(tmp) / "ten.mp4", 10), make_clip(Path(tmp) / "sixty.mp4", 60)
        report = {"command": "python benchmarks/video.py", "machine": f"{platform.machine()}, "
                  f"{__import__('os').cpu_count()} CPU cores", "clip": "640x480, 30 fps, mp4v",
                  "ten_seconds": time_one(ten, repeats), "sixty_seconds": time_one(sixty, repeats),
                  "peak_rss_mb": {"ten_seconds": peak_rss_mb(ten), "sixty_seconds": peak_rss_mb(sixty)},
                  "target_s": 3.0}
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "video.json").write_text(json.dumps(report, indent=1))
    (OUT / "video.md").write_text(_markdown(report))
    return report


def _markdown(r: dict) -> str:
    t, s, m = r["ten_seconds"], r["sixty_seconds"], r["peak_rss_mb"]
    return (f"Measured by `{r['command']}` on {r['machine']} ({r['clip']}, built-in model, after one warm-up):\n\n"
            "| video | segments | median s | max s | peak RSS MB (fresh process) |\n|---|---|---|---|---|\n"
            f"| 10 s | {t['segments']} | {t['median_s']} | {t['max_s']} | {m['ten_seconds']} |\n"
            f"| 60 s | {s['segments']} | {s['median_s']} | {s['max_s']} | {m['sixty_seconds']} |\n\n"
            f"Target: 10 s clip in <= {r['target_s']} s.\n")


if __name__ == "__main__":
    print(json.dumps(main(), indent=1))
