"""python -m mmcore benchmark fusion: the fusion strategies measured side by side.

On freshly generated held-out scenes (a seed no training run draws), for each strategy:
accuracy per question type and family, parameters, FLOPs per question (counted by
torch's FlopCounterMode on a real forward: one question per image, and amortised over
all 36 questions a scene has, since late and hybrid encode the image once), and the
latency of one request through mmcore (median of repeated runs, this machine). Writes
JSON (what the Fusion tab reads), a Markdown table (what the README quotes) and a bar plot.
"""
from __future__ import annotations

import json
import platform
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from .loading import load, resolve
from .registry import FUSION_MODELS, PACKAGE_DIR

RESULTS_DIR = PACKAGE_DIR.parent / "benchmarks" / "results"  # read by the Fusion tab and quoted by the README
PLOT = PACKAGE_DIR.parent / "docs" / "fusion_benchmark.png"
HELDOUT_SEED = 2026
COLUMNS = ("shape", "horizontal", "vertical", "closest", "furthest", "count", "non-relational", "relational")
# Santoro et al. 2017, Sort-of-CLEVR (75x75, 10k images), as quoted in the ShapesWorld spec
REFERENCES = ({"name": "paper: CNN+MLP", "relational": 63.0, "non-relational": None},
              {"name": "paper: CNN+RN", "relational": 94.0, "non-relational": 94.0, "note": "reported as >94%"})


def fusion_benchmark(scenes: int = 200, seed: int = HELDOUT_SEED, repeats: int = 30,
                     out: Path = RESULTS_DIR, plot: Path | None = PLOT, log=print) -> dict[str, Any]:
    """Measure every strategy; write out/fusion.json and out/fusion.md (and the plot)."""
    from .shapesworld.vqa import all_items, generate_scene

    rng = np.random.default_rng(seed)
    held = [generate_scene(rng) for _ in range(scenes)]
    images, items = [s.image() for s in held], [all_items(s) for s in held]
    rows = []
    for strategy, name in FUSION_MODELS.items():
        t0 = time.time()
        rows.append({"strategy": strategy, "model": name, **_measure(name, images, items, repeats)})
        log(f"{strategy}: {json.dumps(rows[-1])} ({time.time() - t0:.0f}s)")
    report = {"command": f"python -m mmcore benchmark fusion --scenes {scenes}", "seed": seed, "scenes": scenes,
              "questions": sum(map(len, items)), "machine": _machine(), "strategies": rows,
              "references": list(REFERENCES)}
    write(report, out, plot)
    return report


def _measure(name: str, images: list[np.ndarray], items: list, repeats: int) -> dict[str, Any]:
    from .train.vqa import evaluate_items

    spec = resolve("vqa", "builtin", name, "fp32", "cpu")
    loaded = load(spec)
    acc = evaluate_items(loaded.model, loaded.processor, images, items)
    return {"accuracy": {k: acc[k] for k in COLUMNS},
            "parameters": sum(p.numel() for p in loaded.model.parameters()),
            **_flops(loaded, images[0], [it.question for it in items[0]]),
            "latency_ms": _latency(spec, images[0], items[0][0].question, repeats), "precision": spec.precision}


def _flops(loaded, image: np.ndarray, questions: list[str]) -> dict[str, float]:
    """Forward FLOPs per question: one question per image, and amortised over all of a scene's."""
    from torch.utils.flop_counter import FlopCounterMode

    def per_question(qs: list[str]) -> float:
        enc = loaded.processor(images=[image], text=qs, padding=True, return_tensors="pt")
        with torch.inference_mode(), FlopCounterMode(display=False) as counter:
            loaded.model(enc["pixel_values"], enc["input_ids"], enc["attention_mask"])
        return counter.get_total_flops() / len(qs)

    return {"mflops_per_question": round(per_question(questions[:1]) / 1e6, 2),
            "mflops_per_question_amortised": round(per_question(questions) / 1e6, 2),
            "questions_amortised": len(questions)}


def _latency(spec, image: np.ndarray, question: str, repeats: int) -> float:
    """Median ms of one request through mmcore's VQA task (decode, preprocess, forward, maps)."""
    from .tasks.vqa import VQATask

    task = VQATask(spec)
    task.run((image, question))  # warm-up
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        task.run((image, question))
        times.append((time.perf_counter() - t0) * 1000)
    return round(float(np.median(times)), 2)


def _machine() -> str:
    return f"{platform.processor() or platform.machine()}, {torch.get_num_threads()} torch threads, torch {torch.__version__}"


def write(report: dict, out: Path, plot: Path | None) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / "fusion.json").write_text(json.dumps(report, indent=1))
    (out / "fusion.md").write_text(markdown(report))
    if plot is not None:
        plot_bars(report, plot)


def table_rows(report: dict) -> list[list[Any]]:
    """Rows of the comparison table: strategies, then the paper's reference rows."""
    rows = []
    for r in report["strategies"]:
        a = r["accuracy"]
        rows.append([r["strategy"], *(a[c] for c in COLUMNS), r["parameters"], r["mflops_per_question"],
                     r["mflops_per_question_amortised"], r["latency_ms"]])
    for ref in report["references"]:
        rows.append([ref["name"], *([None] * 6), ref["non-relational"], ref["relational"], None, None, None, None])
    return rows


HEADERS = ("strategy", *COLUMNS, "parameters", "MFLOPs / question", "MFLOPs / question (36 per image)", "latency ms")


def markdown(report: dict) -> str:
    cell = lambda v: "-" if v is None else (f"{v:,}" if isinstance(v, int) else (f"{v:.1f}" if isinstance(v, float) else str(v)))
    lines = ["| " + " | ".join(HEADERS) + " |", "|---" * len(HEADERS) + "|"]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in table_rows(report)]
    return (f"Accuracy (%) on {report['scenes']} fresh scenes (seed {report['seed']}, {report['questions']} questions); "
            f"latency: one request through mmcore, median, {report['machine']}.\n"
            f"Reproduce: `{report['command']}`.\n\n" + "\n".join(lines) + "\n")


def plot_bars(report: dict, path: Path) -> None:
    """Grouped bars: non-relational and relational accuracy per strategy, paper lines."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = [r["strategy"] for r in report["strategies"]]
    x = np.arange(len(names))
    fig, ax = plt.subplots(figsize=(6.4, 3.6), dpi=120)
    for k, family in enumerate(("non-relational", "relational")):
        vals = [r["accuracy"][family] for r in report["strategies"]]
        bars = ax.bar(x + (k - 0.5) * 0.38, vals, 0.38, label=family, color=("#6d8fd6", "#e07b54")[k])
        ax.bar_label(bars, fmt="%.1f", fontsize=8)
    for ref, style in zip(report["references"], (":", "--")):
        ax.axhline(ref["relational"], color="grey", ls=style, lw=1)
        ax.text(len(names) - 0.45, ref["relational"] + 1, f"{ref['name']} (relational)", fontsize=7, ha="right")
    ax.set(xticks=x, xticklabels=[f"{n} fusion" for n in names], ylim=(0, 105), ylabel="accuracy on held-out scenes (%)")
    ax.legend(loc="lower left", fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)


def load_report(folder: Path = RESULTS_DIR) -> dict | None:
    """The last written report, or None where the benchmark has not been run."""
    path = folder / "fusion.json"
    return json.loads(path.read_text()) if path.is_file() else None
