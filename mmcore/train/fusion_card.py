"""Scoring a fusion-strategy model on fresh held-out scenes, and its model card.

`python -m mmcore.train fusion --evaluate DIR` regenerates DIR/eval.json and DIR/README.md.
"""
from __future__ import annotations

import json
from pathlib import Path

from .vqa_card import CONDITIONS, _acc_table, _params, evaluate_folder

FUSION_CONDITIONS = tuple(c for c in CONDITIONS if c[0] in ("canonical 75x75", "300x300 anti-aliased"))


def _curve_table(curve: list[dict]) -> str:
    lines = ["| step | minutes | answer loss | attention loss | non-relational % | relational % |",
             "|---|---|---|---|---|---|"]
    for r in curve:
        att = f"{r['loss_attention']:.2f}" if "loss_attention" in r else "-"
        lines.append(f"| {r['step']} | {r['seconds'] / 60:.1f} | {r['loss_answer']:.3f} | {att} | "
                     f"{r['non-relational']:.1f} | {r['relational']:.1f} |")
    return "\n".join(lines)


def write_card(folder: Path) -> dict:
    result = evaluate_folder(folder, conditions=FUSION_CONDITIONS)
    (folder / "eval.json").write_text(json.dumps(result, indent=1))
    log = json.loads((folder / "training_log.json").read_text())
    fusion = log["config"]["fusion"]
    card = CARD.format(fusion=fusion, acc=_acc_table(result), curve=_curve_table(log["curve"]),
                       cfg=json.dumps(log["config"], indent=1), seed=result["seed"], scenes=result["scenes"],
                       params=_params(folder), size=(folder / "model.safetensors").stat().st_size / 1e6)
    (folder / "README.md").write_text(card)
    print(_acc_table(result))
    return result


CARD = """---
library_name: transformers
pipeline_tag: visual-question-answering
tags: [shapesworld, sort-of-clevr, fusion, multimodal-model-studio]
---

# shapesworld-fusion-{fusion}: {fusion} fusion, one of three strategies compared in the Fusion tab

`ShapesFusionForQuestionAnswering` with `fusion="{fusion}"` (see `mmcore/models/fusion_vqa.py` for the
three definitions). {params} parameters, fp16 weights {size:.1f} MB. The three strategies share every part
and every training setting; only where the question meets the image differs.

## Accuracy on fresh held-out scenes (%)

{scenes} scenes from seed {seed}, every question type for every colour. Reproduce:
`python -m mmcore.train fusion --evaluate mmcore/builtin/fusion-{fusion}`. The targets are the built-in
VQA model's; the Fusion tab and `python -m mmcore benchmark fusion` compare the three strategies.

{acc}

## Training

`python -m mmcore.train fusion --fusion {fusion} --cache runs/cache`, seeded; the loss is described in
`mmcore/train/fusion.py`.

```json
{cfg}
```

## Learning curve (validation: 100 scenes of seed 1)

{curve}
"""
