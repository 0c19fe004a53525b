"""The Python front door: one function per task, same answers as the CLI and the app."""
from __future__ import annotations

from typing import Any

from .errors import MMCoreError
from .inputs import ImageLike
from .loading import resolve, where
from .registry import REGISTRY
from .tasks.vqa import VQAResult, VQATask


def vqa_task(profile: str = "auto", model: str | None = None, precision: str = "auto",
             device: str = "auto") -> VQATask:
    """The VQA pipeline for these choices (its model is loaded once and cached)."""
    return VQATask(resolve("vqa", profile, model, precision, device))


def vqa(image: ImageLike, question: str, *, top_k: int = 5, **choices: Any) -> VQAResult:
    """Answer one question about one image; raises InputError / ModelLoadError."""
    return vqa_task(**choices).run((image, question), top_k=top_k)


def vqa_batch(items: list[tuple[ImageLike, str]], *, top_k: int = 5,
              **choices: Any) -> list[VQAResult | MMCoreError]:
    """Many (image, question) pairs in one forward pass; bad items come back as errors."""
    return vqa_task(**choices).run_batch(items, top_k=top_k)


def list_models() -> list[dict[str, Any]]:
    """Every registered model, its profile, and where it would load from."""
    rows = []
    for e in REGISTRY.values():
        ok, place = where(e)
        rows.append({"name": e.name, "task": e.task, "profile": e.profile, "arch": e.arch,
                     "available": ok, "loads_from": place, "summary": e.summary})
    return rows
