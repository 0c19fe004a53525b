"""`make bench` = `python benchmarks/run.py`: every performance figure the README quotes.

Sections (each its own module): engine (latency, batches, maps, plain-transformers baseline),
precision (the precision matrix, a fresh process per cell), server (Gradio's floor against the
app under 1 / 8 / 32 users; cold start; memory). Writes benchmarks/results/perf.json, the
Markdown report benchmarks/results/perf.md (also pasted into README.md between its
perf markers), and the plots docs/perf_*.png. `--only engine,server` reruns some sections and
keeps the others' last results; `--quick` shortens every run (a smoke test, not a report).
"""
from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path
from typing import Any

from common import DOCS, OUT, ROOT, machine
from models import REAL_SIZE

SECTIONS = ("engine", "precision", "server")
GPU_NOTE = "not measured: this task had no GPU lent (device status 'not_drawn'); rerun `make bench` on a GPU machine"


def main() -> None:
    args = _args()
    path = OUT / "perf.json"
    report: dict[str, Any] = json.loads(path.read_text()) if path.exists() else {}
    chosen = [] if args.render else args.only.split(",") if args.only else list(SECTIONS)
    for name in chosen:
        began = time.time()
        if name in ("engine", "precision") and args.models:
            report[name] = _merged(name, report.get(name, []), args.models.split(","), args.quick)
        else:
            report[name] = _section(name, args.quick)
        report.setdefault("seconds", {})[name] = round(time.time() - began)
        OUT.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(report, indent=1))  # each section kept as soon as it is measured
    if chosen:
        report.update(command="make bench (python benchmarks/run.py)", machine=machine(), gpu=GPU_NOTE,
                      date=time.strftime("%Y-%m-%d"))
    report["targets"] = targets(report)
    OUT.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=1))
    from report import markdown, plots, update_readme

    (OUT / "perf.md").write_text(markdown(report))
    plots(report, DOCS)
    update_readme(ROOT / "README.md", markdown(report))
    print(markdown(report))


def _args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", help=f"comma-separated sections to run ({', '.join(SECTIONS)})")
    parser.add_argument("--quick", action="store_true", help="short runs: checks the suite works, not a report")
    parser.add_argument("--models", help="with --only engine or precision: rerun these models' rows (comma-separated), keep the rest")
    parser.add_argument("--render", action="store_true", help="measure nothing: redraw the report from perf.json")
    return parser.parse_args()


def _merged(name: str, old: list[dict], models: list[str], quick: bool) -> list[dict]:
    """Rerun these models' rows of a section; keep the other rows; the usual order."""
    import engine
    import precision

    fresh = engine.run(quick, models) if name == "engine" else precision.run(models)
    rows = [r for r in old if r["model"] not in models] + fresh
    order = list(precision.ALL)
    return sorted(rows, key=lambda r: (order.index(r["model"]), precision.PRECISIONS.index(r.get("precision", "fp32"))))


def _section(name: str, quick: bool) -> Any:
    if name == "engine":
        import engine

        return engine.run(quick)
    if name == "precision":
        import precision

        return precision.run(["shapesworld-vqa", "vilt-b32 (random)"] if quick else None)
    import server

    with tempfile.TemporaryDirectory() as tmp:
        return server.run(Path(tmp), seconds=3 if quick else server.SECONDS)


def targets(r: dict[str, Any]) -> list[dict[str, Any]]:
    """Each target of issue #8: the measured value, the limit, met or by how much it is missed."""
    rows = []

    def add(name: str, value: float | None, limit: float, higher_is_better: bool, unit: str) -> None:
        met = None if value is None else (value >= limit if higher_is_better else value <= limit)
        rows.append({"target": name, "value": value, "limit": limit, "unit": unit, "met": met,
                     "higher_is_better": higher_is_better})

    server, engine, matrix = r.get("server"), r.get("engine", []), r.get("precision", [])
    if server:
        floor, studio = {x["users"]: x for x in server["floor"]}, {x["users"]: x for x in server["studio"]}
        add("built-in VQA request over the floor's p50 (1 user)", round(studio[1]["p50_ms"] - floor[1]["p50_ms"], 1),
            30, False, "ms")
        add("32 users: share of the floor's throughput", round(100 * studio[32]["requests_per_s"]
                                                               / floor[32]["requests_per_s"], 1), 80, True, "%")
        add("cold start: python app.py to the first answer", server["cold_start"]["first_answer_s"], 10, False, "s")
    for row in engine:
        if "maps" in row:
            add(f"attention maps' cost, {row['model']}", row["maps"]["overhead_pct"], 10, False, "%")
        if "baseline" in row:
            b = row["baseline"]
            add(f"mmcore / plain transformers, one request, {row['model']}", b["ratio_one_request"], 1.0, False, "x")
            add(f"mmcore / plain transformers, 32 items, {row['model']}", b["ratio_throughput_batch32"], 1.0, False, "x")
    cells = {(c["model"], c["precision"]): c for c in matrix if "error" not in c}
    for model in dict.fromkeys(c["model"] for c in matrix):
        fp32, int8 = cells.get((model, "fp32")), cells.get((model, "int8"))
        if not (fp32 and int8):
            continue
        if model in REAL_SIZE:
            add(f"int8 speed-up over fp32, {model}", round(fp32["p50_ms"] / int8["p50_ms"], 2), 2.0, True, "x")
        else:
            add(f"int8 accuracy loss, {model}", round(fp32["accuracy_pct"] - int8["accuracy_pct"], 2), 0.5, False,
                "points")
    return rows


if __name__ == "__main__":
    main()
