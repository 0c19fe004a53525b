"""python -m mmcore: the command line (contract: shared/specs/interfaces.md).

  python -m mmcore vqa IMAGE "QUESTION" [--json]
  python -m mmcore caption IMAGE [--prompt TEXT] [--decoding beam --beams 3] [--json]
  python -m mmcore fusion IMAGE "QUESTION" [--fusion early|late|hybrid] [--json]
  python -m mmcore sentiment ["TEXT"] [--image IMAGE] [--fusion early|late|hybrid] [--json]
  python -m mmcore video VIDEO [--labels "a, b, c" --model xclip] [--top-k 5] [--json]
  python -m mmcore vqa|caption|fusion|sentiment|video --batch IN.jsonl   # JSON Lines out, one per input line
  python -m mmcore benchmark fusion [--scenes N]   # regenerates benchmarks/fusion.{json,md}
  python -m mmcore models [--json]

Exit status: 0 all answered, 1 some item or the model failed (each failed batch line
says why in its "error"), 2 bad arguments. Progress and logs go to standard error.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, TextIO

from .registry import FUSION_MODELS
from .spec import DEVICES, PRECISIONS, PROFILES

BATCH_CHUNK = 16  # items per forward pass in --batch mode


@dataclass(frozen=True)
class TaskCLI:
    """What differs between tasks on the command line; everything else is shared."""

    name: str
    help: str
    inputs: tuple[str, ...]  # the task's inputs in order: positionals and JSONL fields
    required: tuple[str, ...]  # inputs that must be given
    add_options: Callable[[argparse.ArgumentParser], None]  # task-specific flags
    options: Callable[[argparse.Namespace], dict]  # flags -> run options
    human: Callable[[Any], str]  # one result -> readable text
    primary: tuple[str, ...]  # output fields listed first in JSON rows
    positionals: tuple[str, ...] = ("image", "question")  # inputs given as positionals (others: flags)
    one_of: tuple[str, ...] = ()  # inputs of which at least one must be given

    def given(self, args: argparse.Namespace) -> bool:
        """Whether the inputs of one item are on the command line."""
        return all(getattr(args, k, None) for k in self.required) and (
            not self.one_of or any(getattr(args, k, None) for k in self.one_of))


def _vqa_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--top-k", type=int, default=5, help="how many answers to list (1..20)")


def _caption_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--prompt", help="text the caption should continue (BLIP only)")
    p.add_argument("--decoding", choices=("greedy", "beam", "nucleus"), default="greedy")
    p.add_argument("--beams", type=int, default=3, help="beam width for --decoding beam")
    p.add_argument("--top-p", type=float, default=0.9, help="nucleus mass for --decoding nucleus")
    p.add_argument("--temperature", type=float, default=1.0, help="for --decoding nucleus")
    p.add_argument("--max-new-tokens", type=int, default=20)
    p.add_argument("--seed", type=int, default=0, help="sampling seed for --decoding nucleus")


def _caption_options(a: argparse.Namespace) -> dict:
    from .adapters import Decoding

    return {"decoding": Decoding(a.decoding, a.beams, a.top_p, a.temperature, a.max_new_tokens, a.seed)}


def _vqa_human(r) -> str:
    alts = " | ".join(f"{a} {s:.3f}" for a, s in r.top_k)
    return f"answer: {r.answer}  ({r.score:.3f})\ntop-{len(r.top_k)}: {alts}\n" + _model_line(r)


def _caption_human(r) -> str:
    return f"caption: {r.caption}\nscore: {r.score:.3f} (mean log-probability per token)\n" + _model_line(r)


def _fusion_human(r) -> str:
    lines = [f"{row.strategy:7} {row.result.answer:7} {row.result.score:.3f}  {row.result.latency_ms:7.1f} ms  "
             f"{row.result.model}" for row in r.rows]
    return "strategy answer  score     latency  model\n" + "\n".join(lines) + "\n"


def _sentiment_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--image", help="image file (a face, a photo); give it, a TEXT, or both")


def _sentiment_human(r) -> str:
    side = lambda m: f"{m.label} {m.scores[m.label]:.3f}" if m else "-"  # noqa: E731
    fused = "  ".join(f"{f.strategy} {f.label} {f.scores[f.label]:.3f}" for f in r.fused)
    words = ", ".join(f"{w} {s:+.2f}" for w, s in r.words if abs(s) >= 0.05) or "-"
    how = f"{r.strategy} fusion, driven by {r.driver}" if r.strategy != "none" else f"{r.driver} only"
    return (f"sentiment: {r.label} ({r.scores[r.label]:.3f})  [{how}]\ntext: {side(r.text)}   image: {side(r.image)}\n"
            f"fused: {fused}\nwords: {words}\n" + _model_line(r))


def _video_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--labels", help="zero-shot candidates, comma-separated (with --model xclip)")
    p.add_argument("--top-k", type=int, default=5, help="how many actions to list (1..10)")


def _video_human(r) -> str:
    alts = " | ".join(f"{a} {s:.3f}" for a, s in r.top_k)
    lines = [f"action: {r.action}  ({r.score:.3f})", f"top-{len(r.top_k)}: {alts}"]
    if r.caption:
        lines.append(f"caption: {r.caption}")
    lines.append(f"video: {r.duration_s:.1f} s, {r.frame_count} frames at {r.fps:.1f} fps, {r.size[0]}x{r.size[1]}; "
                 f"{len(r.segments)} segment(s) of {len(r.segments[0].frame_indices)} sampled frames")
    lines += [f"  {s.start_s:6.1f}-{s.end_s:6.1f} s  {s.action} {s.score:.3f}" for s in r.segments if len(r.segments) > 1]
    return "\n".join(lines) + "\n" + _model_line(r)


def _model_line(r) -> str:
    return f"model: {r.model} [{r.profile}, {r.precision} on {r.device}]"


TASKS: dict[str, TaskCLI] = {
    "vqa": TaskCLI("vqa", "visual question answering", ("image", "question"), ("image", "question"),
                   _vqa_flags, lambda a: {"top_k": a.top_k}, _vqa_human, ("answer", "score")),
    "caption": TaskCLI("caption", "image captioning with per-word attention", ("image", "prompt"), ("image",),
                       _caption_flags, _caption_options, _caption_human, ("caption",)),
    "fusion": TaskCLI("fusion", "the same question answered by early, late and hybrid fusion",
                      ("image", "question"), ("image", "question"), _vqa_flags, lambda a: {"top_k": a.top_k},
                      _fusion_human, ("results",)),
    "sentiment": TaskCLI("sentiment", "text and/or image sentiment, fused early, late and hybrid", ("text", "image"),
                         (), _sentiment_flags, lambda a: {}, _sentiment_human, ("label", "scores", "text_label",
                                                                                 "image_label"), ("text",),
                         ("text", "image")),
    "video": TaskCLI("video", "action recognition and captioning of a video, with where the model looked",
                     ("video", "labels"), ("video",), _video_flags, lambda a: {"top_k": a.top_k}, _video_human,
                     ("action", "caption", "score"), ("video",)),
}


def _quiet() -> None:
    """Library chatter (progress bars, warnings) stays out of the CLI's streams."""
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
    import logging
    import warnings

    from transformers.utils import logging as hf_logging

    warnings.filterwarnings("ignore")
    logging.getLogger("torch").setLevel(logging.ERROR)
    hf_logging.disable_progress_bar()


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--profile", choices=PROFILES, default="auto",
                   help="auto: pretrained weights where they can be had, else built-in")
    p.add_argument("--model", help="a registry name (see `models`) or a local model folder")
    p.add_argument("--precision", choices=PRECISIONS, default="auto")
    p.add_argument("--device", choices=DEVICES, default="auto")
    p.add_argument("--fusion", choices=tuple(FUSION_MODELS),
                   help="fusion: run only this strategy; vqa: use this strategy's built-in model; "
                        "sentiment: the strategy behind the headline label")
    p.add_argument("--json", action="store_true", help="print one JSON object")


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m mmcore", description="Multimodal model studio engine.")
    sub = p.add_subparsers(dest="command", required=True)
    for t in TASKS.values():
        s = sub.add_parser(t.name, help=t.help)
        helps = {"image": "image file", "question": "question about the image", "text": "text to read",
                 "video": "video file (mp4, webm, avi, mov, mkv)"}
        for name in t.positionals:
            s.add_argument(name, nargs="?", help=helps[name])
        s.add_argument("--batch", metavar="IN.jsonl",
                       help="JSON Lines: {" + ", ".join(f'"{k}"' for k in ("id", *t.inputs)) + "} per line")
        _common(s)
        t.add_options(s)
    b = sub.add_parser("benchmark", help="measure and write a benchmark report")
    b.add_argument("which", choices=("fusion",), help="fusion: the three fusion strategies side by side")
    b.add_argument("--scenes", type=int, default=200, help="fresh held-out scenes to score (36 questions each)")
    b.add_argument("--seed", type=int, default=2026, help="scene seed (no training run draws it)")
    b.add_argument("--repeats", type=int, default=30, help="timed requests per strategy")
    b.add_argument("--out", type=Path, help="folder for fusion.json / fusion.md (default: benchmarks/results)")
    m = sub.add_parser("models", help="list models, their profile and where they load from")
    m.add_argument("--json", action="store_true")
    m.add_argument("--pin", action="store_true",
                   help="print each pretrained model's current Hub commit, to pin in mmcore/registry.py")
    return p


def main(argv: list[str] | None = None) -> int:
    p = parser()
    args = p.parse_args(argv)
    _quiet()
    if args.command == "models":
        return _pin() if args.pin else _models(args.json)
    if args.command == "benchmark":
        return _benchmark(args)
    t = TASKS[args.command]
    if bool(args.batch) == t.given(args):
        what = " and ".join(k.upper() for k in t.required) or " and/or ".join(k.upper() for k in t.one_of)
        p.error(f"{t.name} takes either {what}, or --batch IN.jsonl")
    return _batch(t, args) if args.batch else _one(t, args)


def _task(t: TaskCLI, args: argparse.Namespace):
    from . import api

    return api.task(t.name, profile=args.profile, model=args.model, precision=args.precision, device=args.device,
                    fusion=args.fusion)


def _one(t: TaskCLI, args: argparse.Namespace) -> int:
    from . import MMCoreError

    try:
        result = _task(t, args).run(tuple(getattr(args, k, None) for k in t.inputs), **t.options(args))
    except MMCoreError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    print(json.dumps(_row(t, None, result, with_id=False)) if args.json else t.human(result))
    return 0


def _batch(t: TaskCLI, args: argparse.Namespace) -> int:
    from . import MMCoreError

    try:
        task = _task(t, args)
        options = t.options(args)
        lines = Path(args.batch).read_text().splitlines()
    except (MMCoreError, OSError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    print(f"{task.describe()}: {len(lines)} lines", file=sys.stderr)
    failed = 0
    for row in _answer_lines(t, task, lines, Path(args.batch).parent, options):
        failed += "error" in row
        print(json.dumps(row), flush=True)
    print(f"done: {len(lines) - failed} answered, {failed} failed", file=sys.stderr)
    return 1 if failed else 0


def _parse_line(t: TaskCLI, n: int, line: str, base: Path) -> tuple[Any, tuple | str]:
    """-> (id, the task's raw input tuple) or (id, error message)."""
    shape = "{" + ", ".join(f'"{k}"' for k in ("id", *t.inputs)) + "}"
    try:
        obj = json.loads(line)
    except ValueError as e:
        return None, f"line {n} is not valid JSON ({e}); expected {shape}"
    if not isinstance(obj, dict):
        return None, f"line {n} is not a JSON object; expected {shape}"
    bad = [k for k in t.inputs if (k in t.required or obj.get(k) is not None) and not isinstance(obj.get(k), str)]
    if bad:
        return obj.get("id"), f"line {n}: missing or non-text field(s) {', '.join(bad)}"
    if t.one_of and not any(obj.get(k) for k in t.one_of):
        return obj.get("id"), f"line {n}: give at least one of {', '.join(t.one_of)}"
    return obj.get("id"), tuple(_path(obj[k], base) if k in ("image", "video") and obj.get(k) else obj.get(k)
                                for k in t.inputs)


def _path(name: str, base: Path) -> str:
    """Relative paths: from the working directory, else from the batch file's folder."""
    image = Path(name)
    return str(image if image.is_absolute() or image.exists() else base / image)


def _answer_lines(t: TaskCLI, task, lines: list[str], base: Path, options: dict) -> Iterator[dict]:
    from .errors import MMCoreError

    parsed = [_parse_line(t, n, line, base) for n, line in enumerate(lines, 1)]
    for start in range(0, len(parsed), BATCH_CHUNK):
        chunk = parsed[start:start + BATCH_CHUNK]
        todo = [item for _, item in chunk if not isinstance(item, str)]
        try:
            results = iter(task.run_batch(todo, **options) if todo else [])
        except MMCoreError as e:
            results = iter([e] * len(todo))
        for ident, item in chunk:
            yield _row(t, ident, item if isinstance(item, str) else next(results))
        print(f"{min(start + BATCH_CHUNK, len(parsed))}/{len(parsed)}", file=sys.stderr)


def _row(t: TaskCLI, ident: Any, res: Any, with_id: bool = True) -> dict:
    head = {"id": ident} if with_id else {}
    if isinstance(res, (str, Exception)):
        return {**head, "error": str(res)}
    d = res.to_dict()
    return {**head, **{k: d.pop(k) for k in t.primary}, **d}


def _benchmark(args: argparse.Namespace) -> int:
    from . import MMCoreError
    from .benchmark import PLOT, RESULTS_DIR, fusion_benchmark

    if args.scenes < 1 or args.repeats < 1:
        print("error: --scenes and --repeats must be at least 1", file=sys.stderr)
        return 2
    out = args.out or RESULTS_DIR
    try:
        fusion_benchmark(args.scenes, args.seed, args.repeats, out, PLOT if args.out is None else out / "fusion.png",
                         log=lambda s: print(s, file=sys.stderr, flush=True))
    except MMCoreError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    print((out / "fusion.md").read_text())
    return 0


def _models(as_json: bool, out: TextIO = sys.stdout) -> int:
    from . import list_models

    rows = list_models()
    if as_json:
        print(json.dumps(rows, indent=1), file=out)
        return 0
    for r in rows:
        mark = "available" if r["available"] else "unavailable"
        print(f"{r['task']:8} {r['name']:20} {r['profile']:10} {mark:11} {r['loads_from']}", file=out)
        print(f"{'':8} {r['summary']}", file=out)
    return 0


def _pin() -> int:
    """Hub commits of the pretrained models (needs a reachable Hub)."""
    from huggingface_hub import model_info

    from .loading import hub_reachable
    from .registry import REGISTRY

    if not hub_reachable():
        print("error: the Hugging Face Hub is unreachable (or HF_HUB_OFFLINE is set); run this where it is",
              file=sys.stderr)
        return 1
    for e in REGISTRY.values():
        if e.profile == "pretrained":
            print(f"{e.name:20} {e.source:42} {model_info(e.source).sha}")
    return 0
