"""The fusion comparison: one image and question, answered by each fusion strategy.

Not a model of its own: it runs the built-in early, late and hybrid VQA models (the
registry's FUSION_MODELS) through the ordinary VQA task, on the image decoded once.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..errors import InputError, MMCoreError
from ..inputs import ImageLike, load_image
from ..loading import resolve
from ..registry import FUSION_MODELS
from .base import RunsOne
from .vqa import VQAResult, VQATask


@dataclass(frozen=True)
class FusionRow:
    strategy: str  # early | late | hybrid
    result: VQAResult  # that strategy's answer, top-k, maps and latency

    def to_dict(self) -> dict[str, Any]:
        r = self.result
        return {"strategy": self.strategy, "answer": r.answer, "score": round(r.score, 6),
                "latency_ms": round(r.latency_ms, 2), "model": r.model}


@dataclass(frozen=True)
class FusionResult:
    question: str  # the question as the models read it (cleaned)
    rows: tuple[FusionRow, ...]  # one per strategy, in the order asked

    def to_dict(self) -> dict[str, Any]:
        return {"question": self.question, "results": [row.to_dict() for row in self.rows]}

    @property
    def agree(self) -> bool:
        return len({row.result.answer for row in self.rows}) == 1


def strategies_for(fusion: str | None) -> tuple[str, ...]:
    """None: all strategies; else the one named."""
    if fusion is None:
        return tuple(FUSION_MODELS)
    if fusion not in FUSION_MODELS:
        raise InputError(f"unknown fusion strategy {fusion!r}; accepted: {', '.join(FUSION_MODELS)}")
    return (fusion,)


class FusionTask(RunsOne[FusionResult]):
    """Task-like (run / run_batch / describe) over one VQATask per strategy."""

    name = "fusion"

    def __init__(self, strategies: tuple[str, ...], profile: str = "auto", precision: str = "auto",
                 device: str = "auto") -> None:
        if profile == "pretrained":
            raise InputError("the fusion comparison runs the built-in early / late / hybrid models only; "
                             "use --profile builtin or auto")
        self.tasks = {s: VQATask(resolve("vqa", "builtin", FUSION_MODELS[s], precision, device))
                      for s in strategies}

    def describe(self) -> str:
        return "fusion: " + ", ".join(t.spec.describe() for t in self.tasks.values())

    def run_batch(self, raws: list[tuple[ImageLike, str]], timeout: float | None = None,
                  **options: Any) -> list[FusionResult | MMCoreError]:
        """Each image is decoded once and shared; a bad item is its own error, in place."""
        decoded = [_decode(raw) for raw in raws]
        good = [d for d in decoded if not isinstance(d, MMCoreError)]
        per = {s: iter(t.run_batch(good, timeout, **options)) for s, t in self.tasks.items()}
        return [d if isinstance(d, MMCoreError) else _combine({s: next(it) for s, it in per.items()})
                for d in decoded]


def _decode(raw: tuple[ImageLike, str]) -> tuple[Any, str] | MMCoreError:
    try:
        image, question = raw
        return load_image(image), question
    except MMCoreError as e:
        return e


def _combine(results: dict[str, VQAResult | MMCoreError]) -> FusionResult | MMCoreError:
    error = next((r for r in results.values() if isinstance(r, MMCoreError)), None)
    if error is not None:
        return error
    first = next(iter(results.values()))
    return FusionResult(first.question, tuple(FusionRow(s, r) for s, r in results.items()))
