"""python benchmarks/fusion_train_cost.py: what training the three fusion models costs here.

Times optimiser steps of the fusion recipe (mmcore.train.fusion: its model, loss and batch
of 32 scenes x 8 questions) for each strategy on this machine's CPU, after one warm-up step,
and projects the recipe's full budget (FusionTrainConfig.steps). The scenes are a small
fresh bank: a step's cost does not depend on how many scenes the bank holds.
Results: benchmarks/results/fusion_train_cost.{json,md}.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
OUT = ROOT / "benchmarks" / "results"


def step_seconds(fusion: str, steps: int, threads: int) -> dict:
    from mmcore.train import augment, fusion as recipe, vqa, vqa_data

    cfg = recipe.FusionTrainConfig(fusion=fusion, scenes=64, threads=threads)
    torch.set_num_threads(threads)
    processor, model = recipe.build(cfg)
    batcher = vqa.Batcher(vqa_data.make_bank(cfg.scenes, cfg.seed, model.config.grid), processor, cfg, max_len=24)
    weights = {"answer": 1.0, "offset": cfg.w_offset, "token": cfg.w_token, "attention": cfg.w_attention}
    opt, times = torch.optim.AdamW(model.parameters(), lr=cfg.lr), []
    model.train()
    for _ in range(steps + 1):  # the first is a warm-up
        batch, start = batcher.sample(), time.perf_counter()
        terms = recipe.losses(model(batch["pixel_values"], batch["input_ids"], batch["attention_mask"]), batch)
        augment.update(opt, model.parameters(), sum(weights[k] * v for k, v in terms.items()))
        times.append(time.perf_counter() - start)
    per_step = statistics.median(times[1:])
    return {"fusion": fusion, "seconds_per_step": round(per_step, 2), "budget_steps": cfg.steps,
            "questions_per_step": cfg.scenes_per_step * cfg.questions_per_scene,
            "projected_hours": round(per_step * cfg.steps / 3600, 1)}


def main(argv: list[str] | None = None) -> list[dict]:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=3, help="timed steps per strategy")
    p.add_argument("--threads", type=int, default=2)
    args = p.parse_args(argv)
    rows = [step_seconds(f, args.steps, args.threads) for f in ("early", "late", "hybrid")]
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "fusion_train_cost.json").write_text(json.dumps(rows, indent=1))
    lines = [f"Command: `python benchmarks/fusion_train_cost.py --steps {args.steps} --threads {args.threads}` "
             f"({torch.get_num_threads()} torch threads, CPU).", "",
             "| strategy | s per step (256 questions) | recipe budget (steps) | projected hours |", "|---|---|---|---|"]
    lines += [f"| {r['fusion']} | {r['seconds_per_step']} | {r['budget_steps']} | {r['projected_hours']} |" for r in rows]
    (OUT / "fusion_train_cost.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return rows


if __name__ == "__main__":
    main()
