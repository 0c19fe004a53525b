"""Task pipelines: preprocess -> _forward -> postprocess, as in transformers' pipelines.

Only `_forward` touches the model and the device, under torch.inference_mode, in the
model's dynamic batcher (mmcore.batching). A batch is validated item by item first, in the
caller's thread, so one bad item gets its own InputError while the good ones still share a
forward pass, with each other and with other callers' items.
"""
from __future__ import annotations

import time
from collections.abc import Hashable
from dataclasses import replace
from concurrent.futures import Future
from typing import Any, Generic, TypeVar

from ..adapters import ARCHS, LoadedModel
from ..batching import BatchPolicy, timeout_error, wait
from ..errors import MMCoreError
from ..loading import load, resolve
from ..serving import submitter
from ..spec import ModelSpec

CPU_MAX_BATCH = 8  # most items one pass takes on a CPU (see Task.pass_policy)
Item = TypeVar("Item")  # a validated input
Result = TypeVar("Result")  # the public frozen result


class RunsOne(Generic[Result]):
    """`run` for anything with `run_batch` (a Task, or the fusion task's three)."""

    def run_batch(self, raws: list[Any], timeout: float | None = None,
                  **options: Any) -> list[Result | MMCoreError]:
        raise NotImplementedError

    def run(self, raw: Any, timeout: float | None = None, **options: Any) -> Result:
        """One item; raises its InputError, or RequestTimeout after `timeout` seconds."""
        result = self.run_batch([raw], timeout=timeout, **options)[0]
        if isinstance(result, MMCoreError):
            raise result
        return result


class Task(RunsOne[Result], Generic[Item, Result]):
    name: str = ""
    batch_policy = BatchPolicy()  # how many concurrent requests may share a forward pass

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

    def pass_policy(self) -> BatchPolicy:
        """The task's batch policy, capped at CPU_MAX_BATCH on a CPU: there, passes of 32 ran
        slower per item than passes of 8 for the built-in VQA and sentiment models and ViLT-B/32
        (rerun without the cap: MMCORE_MAX_BATCH=32 make bench BENCH_ARGS="--only engine")."""
        if self.spec.device == "cpu" and self.batch_policy.max_batch > CPU_MAX_BATCH:
            return replace(self.batch_policy, max_batch=CPU_MAX_BATCH)
        return self.batch_policy

    def batch_key(self) -> Hashable:
        """Tasks with equal keys run the same loaded model the same way: they share a batcher."""
        return type(self).__name__, self.spec

    def recipe(self) -> tuple[type, tuple]:
        """How another process (a Ray Serve replica) builds this same task: class, arguments."""
        return type(self), (self.spec,)

    def run_batch(self, raws: list[Any], timeout: float | None = None, **options: Any) -> list[Result | MMCoreError]:
        """Many items: each bad one comes back as its own error, in place. Items go through
        the model's dynamic batcher, so they share passes with concurrent callers' items."""
        deadline = None if timeout is None else time.monotonic() + timeout
        items = [self._prepare(raw) for raw in raws]
        batcher = submitter(self)
        expired = deadline is not None and time.monotonic() >= deadline  # reading the inputs took it all
        alone = len(items) == 1  # a lone request may run at once in this thread (see try_inline)
        futures = [None if isinstance(i, MMCoreError) or expired
                   else (alone and batcher.try_inline(i, **options)) or batcher.submit(i, **options) for i in items]
        return [self._finish(i, f, deadline, timeout, options) for i, f in zip(items, futures)]

    def _prepare(self, raw: Any) -> Item | MMCoreError:
        try:
            return self.preprocess(raw)
        except MMCoreError as e:
            return e

    def _finish(self, item: Item | MMCoreError, future: Future | None, deadline: float | None,
                timeout: float | None, options: dict[str, Any]) -> Result | MMCoreError:
        if isinstance(item, MMCoreError):
            return item
        if future is None:
            return timeout_error(self.name, timeout)
        try:
            done = wait(future, deadline, self.name, timeout)
        except MMCoreError as e:
            return e
        return self.postprocess(item, done.output, done.latency_ms, **options)
