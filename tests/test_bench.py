"""The benchmark suite's own machinery (make bench): the load harness against the real floor app,
the targets' verdicts, and the README section it rewrites. The figures themselves are
measured by `make bench`, not here."""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

import report  # noqa: E402
import run  # noqa: E402
import server  # noqa: E402


def test_load_harness_against_the_floor_app(tmp_path):
    png = tmp_path / "scene.png"
    Image.fromarray(np.full((75, 75, 3), 200, np.uint8)).save(png)
    proc, url, up = server.start("benchmarks/floor_app.py", tmp_path / "floor.log")
    try:
        row = server.load(url, str(png), "What is the shape of the red object?", users=2, seconds=2)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    assert up > 0 and row["errors"] == 0 and row["completed"] >= 2
    assert 0 < row["p50_ms"] <= row["p95_ms"] and row["requests_per_s"] > 0


def _report() -> dict:
    level = lambda users, rps, p50: {"users": users, "requests_per_s": rps, "p50_ms": p50, "p95_ms": p50 * 2,  # noqa: E731
                                     "completed": 10, "errors": 0}
    return {"server": {"seconds_per_level": 1, "floor": [level(1, 10, 100), level(8, 10, 300), level(32, 10, 900)],
                       "studio": [level(1, 9, 140), level(8, 9, 350), level(32, 7, 1000)],
                       "studio_fetching_files": level(1, 4, 250), "vqa_function_ms": {"p50_ms": 20, "p95_ms": 30},
                       "cold_start": {"server_up_s": 8, "first_answer_s": 9.5, "rss_all_models_mb": 600}},
            "precision": [{"model": "vilt-b32 (random)", "precision": "fp32", "p50_ms": 300, "accuracy_pct": None},
                          {"model": "vilt-b32 (random)", "precision": "int8", "p50_ms": 100, "accuracy_pct": None},
                          {"model": "shapesworld-vqa", "precision": "fp32", "p50_ms": 10, "accuracy_pct": 99.5},
                          {"model": "shapesworld-vqa", "precision": "int8", "p50_ms": 20, "accuracy_pct": 98.5}]}


def test_targets_say_met_or_by_how_much_missed():
    verdicts = {t["target"]: t for t in run.targets(_report())}
    over = verdicts["built-in VQA request over the floor's p50 (1 user)"]
    assert over["value"] == 40 and over["met"] is False
    assert verdicts["32 users: share of the floor's throughput"]["value"] == 70.0
    assert verdicts["cold start: python app.py to the first answer"]["met"] is True
    assert verdicts["int8 speed-up over fp32, vilt-b32 (random)"]["value"] == 3.0
    loss = verdicts["int8 accuracy loss, shapesworld-vqa"]
    assert loss["value"] == 1.0 and loss["met"] is False


def test_report_rewrites_only_the_readme_section(tmp_path):
    r = {**_report(), "command": "make bench", "machine": "test", "date": "today", "gpu": "not measured"}
    r["targets"] = run.targets(r)
    readme = tmp_path / "README.md"
    readme.write_text(f"# Title\n\n{report.START}\nSTALE-SECTION\n{report.END}\n\nafter\n")
    report.update_readme(readme, report.markdown(r))
    text = readme.read_text()
    assert text.startswith("# Title") and text.endswith("after\n") and "STALE-SECTION" not in text
    assert "| built-in VQA request over the floor's p50 (1 user) | 40 ms | ≤ 30 ms | **no** |" in text
    report.plots(r, tmp_path)
    assert (tmp_path / "perf_server.png").stat().st_size > 1000
