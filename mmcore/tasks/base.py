"""Task pipelines: preprocess -> _forward -> postprocess, as in transformers' pipelines.

Only `_forward` touches the model and the device, under torch.inference_mode. A batch is
validated item by item first, so one bad item gets its own InputError while the good
ones still share a single forward pass.
"""
from __future__ import annotations

import time
from typing import Any, Generic, TypeVar

import torch

from ..adapters import ARCHS, LoadedModel
from ..errors import MMCoreError
from ..loading import load, resolve
from ..spec import ModelSpec

Item = TypeVar("Item")  # a validated input
Result = TypeVar("Result")  # the public frozen result


class Task(Generic[Item, Result]):
    name: str = ""

    def __init__(self, spec: ModelSpec) -> None:
        self.spec = spec
        self.loaded: LoadedModel = load(spec)
        self.adapter = ARCHS[spec.arch].adapter()

    @classmethod
    def create(cls, profile: str = "auto", model: str | None = None,
               precision: str = "auto", device: str = "auto") -> "Task":
        return cls(resolve(cls.name, profile, model, precision, device))

    def describe(self) -> str:
        return self.spec.describe()

    # subclasses implement these three
    def preprocess(self, raw: Any) -> Item: ...
    def _forward(self, items: list[Item], **options: Any) -> list[Any]: ...
    def postprocess(self, item: Item, output: Any, latency_ms: float, **options: Any) -> Result: ...

    def run(self, raw: Any, **options: Any) -> Result:
        """One item; raises its InputError."""
        result = self.run_batch([raw], **options)[0]
        if isinstance(result, MMCoreError):
            raise result
        return result

    def run_batch(self, raws: list[Any], **options: Any) -> list[Result | MMCoreError]:
        """Many items: each bad one comes back as its own error, in place."""
        items: list[Item | MMCoreError] = []
        for raw in raws:
            try:
                items.append(self.preprocess(raw))
            except MMCoreError as e:
                items.append(e)
        good = [i for i in items if not isinstance(i, MMCoreError)]
        start = time.perf_counter()
        with torch.inference_mode():
            outputs = iter(self._forward(good, **options) if good else [])
        latency = (time.perf_counter() - start) * 1000 / max(1, len(good))
        return [i if isinstance(i, MMCoreError) else self.postprocess(i, next(outputs), latency, **options)
                for i in items]
