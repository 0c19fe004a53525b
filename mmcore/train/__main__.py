"""python -m mmcore.train vqa [--steps N] [--scenes N] [--out DIR] [--smoke]

Trains a built-in model from scratch on CPU (seeded), logs validation accuracy every
--eval-every steps, and writes a Hugging Face model folder. `--evaluate DIR` only scores
an existing folder on fresh held-out scenes and rewrites its model card.
"""
from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

from . import vqa

SMOKE = dict(scenes=200, val_scenes=4, steps=30, scenes_per_step=8, eval_every=30)


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m mmcore.train", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("task", choices=["vqa"])
    for f in dataclasses.fields(vqa.TrainConfig):
        p.add_argument(f"--{f.name.replace('_', '-')}", type=type(f.default), default=None)
    p.add_argument("--smoke", action="store_true", help="tiny data and steps: proves the recipe runs")
    p.add_argument("--evaluate", metavar="DIR", help="score an existing model folder, rewrite its card")
    return p


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.evaluate:
        vqa_card_main(Path(args.evaluate))
        return 0
    given = {f.name: getattr(args, f.name) for f in dataclasses.fields(vqa.TrainConfig)}
    overrides = {**(SMOKE if args.smoke else {}), **{k: v for k, v in given.items() if v is not None}}
    cfg = vqa.TrainConfig(**overrides)
    model, processor, curve = vqa.train(cfg, log=lambda s: print(s, file=sys.stderr, flush=True))
    vqa.save(model, processor, Path(cfg.out), cfg, curve)
    print(f"wrote {cfg.out}", file=sys.stderr)
    return 0


def vqa_card_main(folder: Path) -> None:
    from . import vqa_card

    vqa_card.write_card(folder)


if __name__ == "__main__":
    sys.exit(main())
