"""The Python front door: one function per task, same answers as the CLI and the app."""
from __future__ import annotations

from typing import Any

from .adapters import Decoding
from .errors import InputError, MMCoreError
from .inputs import ImageLike
from .loading import resolve, where
from .registry import REGISTRY
from .tasks.base import Task
from .tasks.caption import CaptionResult, CaptionTask
from .tasks.vqa import VQAResult, VQATask

TASKS: dict[str, type[Task]] = {"vqa": VQATask, "caption": CaptionTask}


def task(name: str, profile: str = "auto", model: str | None = None, precision: str = "auto",
         device: str = "auto") -> Task:
    """The pipeline of a task for these choices (its model is loaded once and cached)."""
    if name not in TASKS:
        raise InputError(f"unknown task {name!r}; available: {', '.join(TASKS)}")
    return TASKS[name](resolve(name, profile, model, precision, device))


def vqa_task(**choices: Any) -> VQATask:
    return task("vqa", **choices)


def vqa(image: ImageLike, question: str, *, top_k: int = 5, **choices: Any) -> VQAResult:
    """Answer one question about one image; raises InputError / ModelLoadError."""
    return task("vqa", **choices).run((image, question), top_k=top_k)


def vqa_batch(items: list[tuple[ImageLike, str]], *, top_k: int = 5,
              **choices: Any) -> list[VQAResult | MMCoreError]:
    """Many (image, question) pairs in one forward pass; bad items come back as errors."""
    return task("vqa", **choices).run_batch(items, top_k=top_k)


def caption(image: ImageLike, prompt: str | None = None, *, decoding: Decoding = Decoding(),
            **choices: Any) -> CaptionResult:
    """Caption one image, with one attention map per generated word."""
    return task("caption", **choices).run((image, prompt), decoding=decoding)


def caption_batch(items: list[ImageLike | tuple[ImageLike, str | None]], *, decoding: Decoding = Decoding(),
                  **choices: Any) -> list[CaptionResult | MMCoreError]:
    return task("caption", **choices).run_batch(items, decoding=decoding)


def list_models() -> list[dict[str, Any]]:
    """Every registered model, its profile, and where it would load from."""
    rows = []
    for e in REGISTRY.values():
        ok, place = where(e)
        rows.append({"name": e.name, "task": e.task, "profile": e.profile, "arch": e.arch,
                     "available": ok, "loads_from": place, "summary": e.summary})
    return rows
