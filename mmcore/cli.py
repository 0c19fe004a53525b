"""python -m mmcore: the command line (contract: shared/specs/interfaces.md).

  python -m mmcore vqa IMAGE "QUESTION" [--json]
  python -m mmcore vqa --batch IN.jsonl          # JSON Lines out, one per input line
  python -m mmcore models [--json]

Exit status: 0 all answered, 1 some item or the model failed (each failed batch line
says why in its "error"), 2 bad arguments. Progress and logs go to standard error.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any, Iterator, TextIO

from .spec import DEVICES, PRECISIONS, PROFILES

BATCH_CHUNK = 16  # items per forward pass in --batch mode


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
    p.add_argument("--top-k", type=int, default=5, help="how many answers to list (1..20)")


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m mmcore", description="Multimodal model studio engine.")
    sub = p.add_subparsers(dest="command", required=True)
    v = sub.add_parser("vqa", help="visual question answering")
    v.add_argument("image", nargs="?", help="image file")
    v.add_argument("question", nargs="?", help="question about the image")
    v.add_argument("--json", action="store_true", help="print one JSON object")
    v.add_argument("--batch", metavar="IN.jsonl", help='JSON Lines: {"id", "image", "question"} per line')
    _common(v)
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
    if bool(args.batch) == bool(args.image and args.question):
        p.error("vqa takes either IMAGE and QUESTION, or --batch IN.jsonl")
    return _vqa_batch(args) if args.batch else _vqa_one(args)


def _choices(args: argparse.Namespace) -> dict[str, Any]:
    return {"profile": args.profile, "model": args.model, "precision": args.precision, "device": args.device}


def _vqa_one(args: argparse.Namespace) -> int:
    from . import MMCoreError, vqa

    try:
        result = vqa(args.image, args.question, top_k=args.top_k, **_choices(args))
    except MMCoreError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(result.to_dict()))
    else:
        print(_human(result))
    return 0


def _human(result) -> str:
    alts = " | ".join(f"{a} {s:.3f}" for a, s in result.top_k)
    return (f"answer: {result.answer}  ({result.score:.3f})\n"
            f"top-{len(result.top_k)}: {alts}\n"
            f"model: {result.model} [{result.profile}, {result.precision} on {result.device}]")


def _vqa_batch(args: argparse.Namespace) -> int:
    from . import MMCoreError, vqa_task

    try:
        task = vqa_task(**_choices(args))
        lines = Path(args.batch).read_text().splitlines()
    except (MMCoreError, OSError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    print(f"{task.spec.describe()}: {len(lines)} lines", file=sys.stderr)
    failed = 0
    for row in _answer_lines(task, lines, Path(args.batch).parent, args.top_k):
        failed += "error" in row
        print(json.dumps(row), flush=True)
    print(f"done: {len(lines) - failed} answered, {failed} failed", file=sys.stderr)
    return 1 if failed else 0


def _parse_line(n: int, line: str, base: Path) -> tuple[Any, tuple[str, str] | str]:
    """-> (id, (image path, question)) or (id, error message)."""
    try:
        obj = json.loads(line)
    except ValueError as e:
        return None, f"line {n} is not valid JSON ({e}); expected {{\"id\", \"image\", \"question\"}}"
    if not isinstance(obj, dict):
        return None, f"line {n} is not a JSON object; expected {{\"id\", \"image\", \"question\"}}"
    missing = [k for k in ("image", "question") if not isinstance(obj.get(k), str)]
    if missing:
        return obj.get("id"), f"line {n}: missing or non-text field(s) {', '.join(missing)}"
    image = Path(obj["image"])
    if not image.is_absolute() and not image.exists():
        image = base / image  # relative paths: from the working directory, else the batch file's
    return obj.get("id"), (str(image), obj["question"])


def _answer_lines(task, lines: list[str], base: Path, top_k: int) -> Iterator[dict]:
    from .errors import MMCoreError

    parsed = [_parse_line(n, line, base) for n, line in enumerate(lines, 1)]
    for start in range(0, len(parsed), BATCH_CHUNK):
        chunk = parsed[start:start + BATCH_CHUNK]
        todo = [item for _, item in chunk if not isinstance(item, str)]
        try:
            results = iter(task.run_batch(todo, top_k=top_k))
        except MMCoreError as e:
            results = iter([e] * len(todo))
        for ident, item in chunk:
            res = item if isinstance(item, str) else next(results)
            yield _row(ident, res)
        print(f"{min(start + BATCH_CHUNK, len(parsed))}/{len(parsed)}", file=sys.stderr)


def _row(ident: Any, res: Any) -> dict:
    if isinstance(res, str):
        return {"id": ident, "error": res}
    if isinstance(res, Exception):
        return {"id": ident, "error": str(res)}
    d = res.to_dict()
    return {"id": ident, "answer": d.pop("answer"), "score": d.pop("score"), **d}


def _models(as_json: bool, out: TextIO = sys.stdout) -> int:
    from . import list_models

    rows = list_models()
    if as_json:
        print(json.dumps(rows, indent=1), file=out)
        return 0
    for r in rows:
        mark = "available" if r["available"] else "unavailable"
        print(f"{r['task']:8} {r['name']:18} {r['profile']:10} {mark:11} {r['loads_from']}", file=out)
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
            print(f"{e.name:18} {e.source:40} {model_info(e.source).sha}")
    return 0
