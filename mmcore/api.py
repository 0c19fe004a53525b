"""The Python front door: one function per task, same answers as the CLI and the app."""
from __future__ import annotations

from typing import Any

from .adapters import Decoding
from .errors import InputError, MMCoreError
from .inputs import ImageLike
from .loading import resolve, where
from .registry import FUSION_MODELS, REGISTRY
from .tasks.base import Task
from .tasks.caption import CaptionResult, CaptionTask
from .tasks.fusion import FusionResult, FusionTask, strategies_for
from .tasks.sentiment import SentimentResult, SentimentTask, sentiment_specs
from .tasks.video import VideoLike, VideoResult, VideoTask
from .tasks.vqa import VQAResult, VQATask

TASKS: dict[str, Any] = {"vqa": VQATask, "caption": CaptionTask, "fusion": FusionTask, "sentiment": SentimentTask,
                         "video": VideoTask}


def task(name: str, profile: str = "auto", model: str | None = None, precision: str = "auto",
         device: str = "auto", fusion: str | None = None) -> Task | FusionTask | SentimentTask:
    """The pipeline of a task for these choices (its model is loaded once and cached).

    fusion: for "fusion", the one strategy to run (None: all); for "vqa", runs that
    strategy's built-in model (the same as model="fusion-<strategy>"); for "sentiment",
    the strategy behind the headline label (None: hybrid where the model has it).
    """
    if name not in TASKS:
        raise InputError(f"unknown task {name!r}; available: {', '.join(TASKS)}")
    if name == "fusion":
        if model is not None:
            raise InputError("the fusion task picks its models itself; choose a strategy with fusion= / --fusion")
        return FusionTask(strategies_for(fusion), profile, precision, device)
    if name == "sentiment":
        return SentimentTask(sentiment_specs(profile, model, precision, device), fusion)
    if fusion is not None:
        model = _fusion_model(name, model, fusion)
    return TASKS[name](resolve(name, profile, model, precision, device))


def _fusion_model(name: str, model: str | None, fusion: str) -> str:
    if name != "vqa":
        raise InputError(f"--fusion applies to the vqa and fusion tasks, not {name}")
    (strategy,) = strategies_for(fusion)
    if model not in (None, FUSION_MODELS[strategy]):
        raise InputError(f"give either --model or --fusion, not both ({model!r} vs {fusion!r})")
    return FUSION_MODELS[strategy]


def vqa_task(**choices: Any) -> VQATask:
    return task("vqa", **choices)


def vqa(image: ImageLike, question: str, *, top_k: int = 5, timeout: float | None = None, **choices: Any) -> VQAResult:
    """Answer one question about one image; raises InputError / ModelLoadError, or
    RequestTimeout when `timeout` seconds pass first (every function here takes `timeout`)."""
    return task("vqa", **choices).run((image, question), timeout, top_k=top_k)


def vqa_batch(items: list[tuple[ImageLike, str]], *, top_k: int = 5,
              timeout: float | None = None, **choices: Any) -> list[VQAResult | MMCoreError]:
    """Many (image, question) pairs in one forward pass; bad items come back as errors."""
    return task("vqa", **choices).run_batch(items, timeout, top_k=top_k)


def caption(image: ImageLike, prompt: str | None = None, *, decoding: Decoding = Decoding(),
            timeout: float | None = None, **choices: Any) -> CaptionResult:
    """Caption one image, with one attention map per generated word."""
    return task("caption", **choices).run((image, prompt), timeout, decoding=decoding)


def caption_batch(items: list[ImageLike | tuple[ImageLike, str | None]], *, decoding: Decoding = Decoding(),
                  timeout: float | None = None, **choices: Any) -> list[CaptionResult | MMCoreError]:
    return task("caption", **choices).run_batch(items, timeout, decoding=decoding)


def fusion(image: ImageLike, question: str, *, strategies: str | None = None, top_k: int = 3,
           timeout: float | None = None, **choices: Any) -> FusionResult:
    """Answer one question with each fusion strategy (strategies: one name, or None for all)."""
    return task("fusion", fusion=strategies, **choices).run((image, question), timeout, top_k=top_k)


def fusion_batch(items: list[tuple[ImageLike, str]], *, strategies: str | None = None, top_k: int = 3,
                 timeout: float | None = None, **choices: Any) -> list[FusionResult | MMCoreError]:
    return task("fusion", fusion=strategies, **choices).run_batch(items, timeout, top_k=top_k)


def sentiment(text: str | None = None, image: ImageLike | None = None, *, fusion: str | None = None,
              timeout: float | None = None, **choices: Any) -> SentimentResult:
    """Sentiment of a text, an image, or both: each modality's, fused three ways, and why."""
    return task("sentiment", fusion=fusion, **choices).run((text, image), timeout)


def sentiment_batch(items: list[tuple[str | None, ImageLike | None]], *, fusion: str | None = None,
                    timeout: float | None = None, **choices: Any) -> list[SentimentResult | MMCoreError]:
    return task("sentiment", fusion=fusion, **choices).run_batch(items, timeout)


def video(path: VideoLike, labels: str | list[str] | None = None, *, top_k: int = 5,
          timeout: float | None = None, **choices: Any) -> VideoResult:
    """The action in a video (top-k), a caption where the model makes one, and where it looked.

    labels: candidates for a zero-shot model (model="xclip"), comma-separated or a list.
    """
    return task("video", **choices).run((path, labels), timeout, top_k=top_k)


def video_batch(items: list[VideoLike | tuple[VideoLike, Any]], *, top_k: int = 5,
                timeout: float | None = None, **choices: Any) -> list[VideoResult | MMCoreError]:
    return task("video", **choices).run_batch(items, timeout, top_k=top_k)


def list_models() -> list[dict[str, Any]]:
    """Every registered model, its profile, and where it would load from."""
    rows = []
    for e in REGISTRY.values():
        ok, place = where(e)
        rows.append({"name": e.name, "task": e.task, "profile": e.profile, "arch": e.arch,
                     "available": ok, "loads_from": place, "summary": e.summary})
    return rows
