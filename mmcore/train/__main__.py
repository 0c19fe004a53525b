"""python -m mmcore.train vqa|caption|fusion|sentiment|video [--steps N] [--out DIR] [--smoke] [--evaluate DIR]

Trains a built-in model from scratch on CPU (seeded), logs validation accuracy every
--eval-every steps, writes a Hugging Face model folder and scores it on fresh held-out
scenes for its model card. `--evaluate DIR` only re-scores an existing folder and rewrites
its card (the command the card quotes).
"""
from __future__ import annotations

import argparse
import dataclasses
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from . import caption, fusion, fusion_card, sentiment, sentiment_card, video, video_card, vqa, vqa_card


@dataclass(frozen=True)
class Recipe:
    config: type  # the frozen training config dataclass
    train: Callable[..., Any]  # (config, log) -> (model, processor, curve)
    save: Callable[..., None]  # (model, processor, folder, config, curve)
    card: Callable[[Path], Any]  # folder -> evaluation, and writes README.md + eval.json
    smoke: dict  # overrides for --smoke: tiny data and steps, proves the recipe runs


RECIPES = {
    "vqa": Recipe(vqa.TrainConfig, vqa.train, vqa.save, vqa_card.write_card,
                  dict(scenes=200, val_scenes=4, steps=30, scenes_per_step=8, eval_every=30)),
    "caption": Recipe(caption.CaptionTrainConfig, caption.train, caption.save, caption.write_card,
                      dict(scenes=200, val_scenes=8, steps=30, batch=16, eval_every=30)),
    "fusion": Recipe(fusion.FusionTrainConfig, fusion.train, vqa.save, fusion_card.write_card,
                     dict(scenes=200, val_scenes=4, steps=20, scenes_per_step=8, eval_every=20)),
    "sentiment": Recipe(sentiment.SentimentTrainConfig, sentiment.train, sentiment.save, sentiment_card.write_card,
                        dict(steps=20, batch=16, faces=60, eval_every=10)),
    "video": Recipe(video.VideoTrainConfig, video.train, video.save, video_card.write_card,
                    dict(steps=10, batch=8, val_clips=16, eval_every=5)),
}


def _flag(text: str) -> bool:
    if text.lower() not in ("true", "false", "1", "0", "yes", "no"):
        raise argparse.ArgumentTypeError(f"expected true or false, got {text!r}")
    return text.lower() in ("true", "1", "yes")


def _parser(task: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m mmcore.train", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("task", choices=list(RECIPES))
    for f in dataclasses.fields(RECIPES.get(task, RECIPES["vqa"]).config):
        kind = _flag if isinstance(f.default, bool) else type(f.default)
        p.add_argument(f"--{f.name.replace('_', '-')}", type=kind, default=None, metavar=kind.__name__.upper())
    p.add_argument("--smoke", action="store_true", help="tiny data and steps: proves the recipe runs")
    p.add_argument("--evaluate", metavar="DIR", help="score an existing model folder, rewrite its card")
    return p


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = _parser(argv[0] if argv else "").parse_args(argv)
    recipe = RECIPES[args.task]
    if args.evaluate:
        recipe.card(Path(args.evaluate))
        return 0
    given = {f.name: getattr(args, f.name) for f in dataclasses.fields(recipe.config)}
    overrides = {**(recipe.smoke if args.smoke else {}), **{k: v for k, v in given.items() if v is not None}}
    cfg = recipe.config(**overrides)
    model, processor, curve = recipe.train(cfg, log=lambda s: print(s, file=sys.stderr, flush=True))
    out = Path(getattr(cfg, "folder", cfg.out))
    recipe.save(model, processor, out, cfg, curve)
    print(f"wrote {out}", file=sys.stderr)
    if not args.smoke:
        recipe.card(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
