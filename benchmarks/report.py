"""The performance report: Markdown (benchmarks/results/perf.md and README.md's perf section)
and plots (docs/perf_*.png), from benchmarks/results/perf.json."""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any

START, END = "<!-- perf:start -->", "<!-- perf:end -->"


def _table(header: list[str], rows: list[list[Any]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join("—" if v is None else str(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


# Why a target can be missed on this kind of machine, shown under the table for each missed one.
# Each explanation rests on figures of the same report (named in it), not on guesses.
WHY = {
    "cold start": lambda r: (
        f"importing the libraries alone takes {r['server']['cold_start'].get('import_app_s')} s in a fresh process "
        f"(gradio {r['server']['cold_start'].get('import_gradio_s')} s, then torch, transformers and mmcore); "
        "the built-in models then load in under a second each (load_s in perf.json's precision matrix)"),
    "mmcore / plain transformers, one request": lambda r: (
        "on the small built-in models a request is a few milliseconds, and mmcore's own work per request "
        "(maps scaled to the image, top-k, the result object, the batcher) is a fixed part of it; the maps' "
        "own cost is the maps row; on base-size models the ratio is set by the precision (auto) and the "
        "eager attention that maps need"),
    "mmcore / plain transformers, 32 items": lambda r: (
        "one pass over many items is slower per item than one item at a time for this model on this CPU"),
    "int8 speed-up": lambda r: (
        "torchao's dynamic int8, run eagerly as mmcore runs it, gains little on this CPU or loses (the precision "
        "matrix); this CPU computes bf16 natively (AMX) and bf16 is the fastest precision measured for the "
        "base-size models, so `auto` picks bf16 for them"),
    "int8 accuracy loss": lambda r: "int8 rounds the small models' weights and activations: see the matrix",
    "attention maps' cost": lambda r: "the maps need every layer's attention weights (eager attention)",
    "built-in VQA request over the floor": lambda r: (
        f"the /vqa function alone takes {r['server']['vqa_function_ms']['p50_ms']} ms (answer, maps, four pictures)"),
    "32 users": lambda r: "the clients and both servers share this machine's two cores",
}


def _why(r: dict[str, Any]) -> list[str]:
    """One line per kind of missed target: each one missed and by how much, then why."""
    missed = [t for t in r.get("targets", []) if t["met"] is False]
    groups: dict[str, list[dict[str, Any]]] = {}
    for t in missed:
        groups.setdefault(next((k for k in WHY if t["target"].startswith(k)), t["target"]), []).append(t)
    lines = [f"- {key}: " + "; ".join(f"{t['target'].removeprefix(key).strip(' ,:') or 'this'} missed by "
                                      f"{abs(round(t['value'] - t['limit'], 2))} {t['unit']}" for t in ts)
             + (f". Why: {WHY[key](r)}." if key in WHY else ".") for key, ts in groups.items()]
    return ["**Missed targets, by how much and why**", "\n".join(lines)] if lines else []


def markdown(r: dict[str, Any]) -> str:
    parts = [f"Measured by `{r['command']}` on {r['machine']}, {r['date']}. Plots: `docs/perf_*.png`."]
    if r.get("targets"):
        parts += ["**Targets (issue #8)**", _table(["target", "measured", "limit", "met"], [
            [t["target"], f"{t['value']} {t['unit']}", f"{'≥' if t['higher_is_better'] else '≤'} {t['limit']} {t['unit']}",
             "yes" if t["met"] else "**no**"] for t in r["targets"]])] + _why(r)
    if r.get("engine"):
        parts += ["**Engine** (in process; one request end to end; items/s for `run_batch` of 1, 8, 32)", _table(
            ["model", "auto precision", "p50 ms", "p95 ms", "batch 1/s", "batch 8/s", "batch 32/s", "maps cost",
             "vs plain fp32 (1 req / 32)"],
            [[e["model"], e.get("precision"), e["one_request"]["p50_ms"], e["one_request"]["p95_ms"], *e["throughput"].values(),
              f"{e['maps']['overhead_pct']}%" if "maps" in e else None,
              f"{e['baseline']['ratio_one_request']}x / {e['baseline']['ratio_throughput_batch32']}x"
              if "baseline" in e else None] for e in r["engine"]])]
    if r.get("precision"):
        parts += ["**Precision matrix** (fresh process per cell; accuracy on held-out ShapesWorld data; the "
                  "real-size models have random weights, so no accuracy)", _table(
                      ["model", "precision", "p50 ms", "weights MB", "peak RSS MB", "accuracy %"],
                      [[c["model"], c["precision"], c.get("p50_ms"), c.get("weights_mb"), c.get("peak_rss_mb"),
                        c.get("accuracy_pct") if "error" not in c else f"failed: {c['error'][:80]}"]
                       for c in r["precision"]])]
        gpu = [[m, f"{p} on cuda", *["not measured"] * 4] for m in dict.fromkeys(c["model"] for c in r["precision"])
               for p in ("fp16", "bnb8", "bnb4")]
        parts += [_table(["model", "precision", "p50 ms", "weights MB", "peak memory MB", "accuracy %"], gpu),
                  f"GPU rows: {r['gpu']}."]
    if r.get("server"):
        s = r["server"]
        rows = [[name, x["users"], x["requests_per_s"], x["p50_ms"], x["p95_ms"], x["errors"]]
                for name in ("floor", "studio") for x in s[name]]
        c = s["cold_start"]
        parts.append(f"The /vqa event function alone (answer, maps, four overlay pictures written as files), in "
                     f"process: p50 {s['vqa_function_ms']['p50_ms']} ms, p95 {s['vqa_function_ms']['p95_ms']} ms.")
        parts += [f"**Server** (gradio_client users on loopback, {s['seconds_per_level']} s per level; floor = the same "
                  "inputs into a function that does nothing)", _table(
                      ["app", "users", "requests/s", "p50 ms", "p95 ms", "errors"], rows),
                  f"One user who also downloads the answer's four pictures (gradio_client's default): "
                  f"{s['studio_fetching_files']['requests_per_s']} requests/s, p50 {s['studio_fetching_files']['p50_ms']} ms.",
                  f"Cold start, offline: server up in {c['server_up_s']} s, first /vqa answer {c['first_answer_s']} s "
                  f"after `python app.py`; resident memory with every built-in model loaded: {c['rss_all_models_mb']} MB. "
                  f"Imports alone, in a fresh process: gradio {c.get('import_gradio_s')} s, the whole app "
                  f"{c.get('import_app_s')} s."]
    return "\n\n".join(parts) + "\n"


def update_readme(readme: Path, text: str) -> None:
    """Replace what is between the perf markers (left alone if the README has none)."""
    old = readme.read_text()
    if START in old and END in old:
        new = re.sub(re.escape(START) + ".*?" + re.escape(END), lambda _: f"{START}\n{text}{END}", old, flags=re.S)
        readme.write_text(new)


def plots(r: dict[str, Any], docs: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    docs.mkdir(exist_ok=True)
    if r.get("precision"):
        _precision_plot(plt, r["precision"], docs / "perf_precision.png")
    if r.get("server"):
        _server_plot(plt, r["server"], docs / "perf_server.png")
    if r.get("engine"):
        _engine_plot(plt, r["engine"], docs / "perf_engine.png")


def _precision_plot(plt, cells: list[dict[str, Any]], path: Path) -> None:
    models = list(dict.fromkeys(c["model"] for c in cells))
    precisions = list(dict.fromkeys(c["precision"] for c in cells))
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.5))
    for ax, key, title in ((axes[0], "p50_ms", "latency of one request, p50 (ms, log)"),
                           (axes[1], "peak_rss_mb", "peak resident memory (MB)")):
        width = 0.8 / len(precisions)
        for k, p in enumerate(precisions):
            values = [next((c.get(key) or 0 for c in cells if c["model"] == m and c["precision"] == p), 0)
                      for m in models]
            ax.bar([i + k * width for i in range(len(models))], values, width, label=p)
        ax.set_xticks([i + 0.4 - width / 2 for i in range(len(models))], models, rotation=20, ha="right", fontsize=8)
        ax.set_title(title)
    axes[0].set_yscale("log")
    axes[1].legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _server_plot(plt, s: dict[str, Any], path: Path) -> None:
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for name in ("floor", "studio"):
        users = [x["users"] for x in s[name]]
        axes[0].plot(users, [x["requests_per_s"] for x in s[name]], "o-", label=name)
        axes[1].plot(users, [x["p95_ms"] for x in s[name]], "o-", label=name)
    axes[0].set_title("throughput (requests/s)")
    axes[1].set_title("p95 round trip (ms)")
    for ax in axes:
        ax.set_xscale("log", base=2)
        ax.set_xlabel("concurrent users")
        ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _engine_plot(plt, engine: list[dict[str, Any]], path: Path) -> None:
    fig, ax = plt.subplots(figsize=(10, 4))
    names = [e["model"] for e in engine]
    for k, b in enumerate(("1", "8", "32")):
        ax.bar([i + k * 0.27 for i in range(len(names))], [e["throughput"][b] for e in engine], 0.27, label=f"batch {b}")
    ax.set_xticks([i + 0.27 for i in range(len(names))], names, rotation=15, ha="right", fontsize=8)
    ax.set_yscale("log")
    ax.set_title("items per second through mmcore (log)")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
