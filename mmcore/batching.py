"""Dynamic batching: concurrent requests for one model share one forward pass.

Each request is validated and preprocessed in its caller's thread (so a bad one fails
alone, at once), then queued. One worker thread per model and option set takes the first
waiting item, waits at most `max_wait_ms` for company, and runs up to `max_batch` items in
one `_forward`. If a merged pass raises, its items are run again one by one, so an error
belongs to the request that caused it, never to its neighbours (Gradio's `batch=True`
fails the whole batch on one gr.Error; this is why batching lives here instead).

A request has a deadline: if its forward pass has not finished by then it gets a
RequestTimeout; still queued, it is also taken off the queue. A pass already running is
not interrupted (torch cannot stop a kernel midway), so its result is dropped.
"""
from __future__ import annotations

import collections
import os
import queue
import threading
import time
from collections.abc import Callable, Hashable
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from typing import Any

import torch

from .errors import RequestTimeout

Forward = Callable[..., list[Any]]  # (items, **options) -> one output per item, same order


@dataclass(frozen=True)
class BatchPolicy:
    max_batch: int = 16  # most requests one forward pass takes
    # How long the first request waits for others to join it. 0: a pass starts at once with
    # whatever is queued, and requests arriving during a pass form the next one, so a lone
    # user never waits and a crowd still shares passes (benchmarks/results/perf.md).
    max_wait_ms: float = 0.0


@dataclass(frozen=True)
class Done:
    """One item's output, and its share of the merged pass's time."""

    output: Any
    latency_ms: float  # the pass's wall time divided by the items in it
    batch_size: int  # how many requests shared the pass


@dataclass(frozen=True)
class _Request:
    item: Any
    options: tuple[tuple[str, Any], ...]  # sorted keyword options: only equal ones share a pass
    future: Future


class PassLog:
    """How many passes ran and the sizes of the latest ones: bounded, for a server that runs for weeks."""

    def __init__(self, keep: int = 1024) -> None:
        self.count = 0  # passes run so far
        self.recent: collections.deque[int] = collections.deque(maxlen=keep)  # sizes of the latest `keep`

    def record(self, size: int) -> None:
        self.count += 1
        self.recent.append(size)

    def last(self, n: int) -> list[int]:
        """Sizes of the latest n passes (all that are kept, if fewer)."""
        return list(self.recent)[-n:] if n > 0 else []


class DynamicBatcher:
    """One worker thread per model: its forward passes never overlap."""

    def __init__(self, forward: Forward, policy: BatchPolicy, name: str = "") -> None:
        self.forward, self.policy, self.name = forward, policy, name
        self.queue: queue.SimpleQueue[_Request] = queue.SimpleQueue()
        self.pending: list[_Request] = []  # taken off the queue, waiting for a pass (worker only)
        self.passes = PassLog()  # pass count and latest pass sizes (tests read them)
        self.running = threading.Lock()  # held during a pass
        threading.Thread(target=self._loop, name=f"batcher-{name}", daemon=True).start()

    def submit(self, item: Any, **options: Any) -> Future:
        """Queue one item; the future holds a Done or the exception its pass raised."""
        request = _Request(item, tuple(sorted(options.items())), Future())
        self.queue.put(request)
        return request.future

    def try_inline(self, item: Any, **options: Any) -> Future | None:
        """A lone request while the model is idle runs at once in the caller's thread (two
        thread hand-offs less: they cost milliseconds on a busy 2-core machine); None if busy."""
        if not self.queue.empty() or not self.running.acquire(blocking=False):
            return None
        try:
            request = _Request(item, tuple(sorted(options.items())), Future())
            request.future.set_running_or_notify_cancel()
            self._run([request])
        finally:
            self.running.release()
        return request.future

    def _loop(self) -> None:
        while True:
            batch = self._collect()
            if batch:
                with self.running:  # passes never overlap, inline or queued
                    self._run(batch)

    def _collect(self) -> list[_Request]:
        """The oldest request, and up to max_batch - 1 others with the same options that are
        waiting or arrive within max_wait_ms; those whose caller gave up are dropped."""
        if not self.pending:
            self.pending.append(self.queue.get())
        until = time.perf_counter() + self.policy.max_wait_ms / 1000
        while len(self.pending) < self.policy.max_batch:
            left = until - time.perf_counter()
            try:
                self.pending.append(self.queue.get(timeout=left) if left > 0 else self.queue.get_nowait())
            except queue.Empty:
                break
        options = self.pending[0].options
        batch = [r for r in self.pending if r.options == options][: self.policy.max_batch]
        self.pending = [r for r in self.pending if r not in batch]
        return [r for r in batch if r.future.set_running_or_notify_cancel()]

    def _run(self, batch: list[_Request]) -> None:
        outcomes = run_pass(self.forward, [r.item for r in batch], dict(batch[0].options), self.passes)
        for request, outcome in zip(batch, outcomes):
            if isinstance(outcome, Done):
                request.future.set_result(outcome)
            else:
                request.future.set_exception(outcome)


def run_pass(forward: Forward, items: list[Any], options: dict[str, Any],
             log: PassLog | None = None) -> list[Done | Exception]:
    """One merged forward pass; if it raises, each item again alone, so every error stays
    with the item that caused it. Ray Serve replicas (mmcore.ray_backend) run passes with it too."""
    try:
        start = time.perf_counter()
        with torch.inference_mode():
            outputs = forward(items, **options)
        share = (time.perf_counter() - start) * 1000 / len(items)
    except Exception as e:  # noqa: BLE001 - handed to the callers, not swallowed
        if len(items) == 1:
            return [e]
        return [run_pass(forward, [item], options, log)[0] for item in items]
    if log is not None:
        log.record(len(items))
    return [Done(o, share, len(items)) for o in outputs]


def wait(future: Future, deadline: float | None, what: str, limit: float | None) -> Done:
    """The item's Done, or RequestTimeout once time.monotonic() passes the deadline."""
    left = None if deadline is None else max(0.0, deadline - time.monotonic())
    try:
        return future.result(timeout=left)
    except FutureTimeout:
        future.cancel()  # still queued: it never runs
        raise timeout_error(what, limit) from None


def timeout_error(what: str, limit: float | None) -> RequestTimeout:
    return RequestTimeout(f"the {what} request did not finish within its limit of {limit:g} s; the server may be "
                          "busy: try again in a moment, or send a smaller input (a shorter video)")


_BATCHERS: dict[Hashable, DynamicBatcher] = {}
_LOCK = threading.Lock()


def batcher_for(key: Hashable, forward: Forward, policy: BatchPolicy | Callable[[], BatchPolicy]) -> DynamicBatcher:
    """The one batcher of this key (a loaded model); made with `forward` and `policy` (or
    what `policy()` returns) on first use."""
    with _LOCK:
        if key not in _BATCHERS:
            chosen = policy() if callable(policy) else policy
            _BATCHERS[key] = DynamicBatcher(forward, _with_env(chosen), name=str(key)[:60])
        return _BATCHERS[key]


def _with_env(policy: BatchPolicy) -> BatchPolicy:
    """MMCORE_MAX_BATCH / MMCORE_MAX_WAIT_MS override every task's policy (benchmarks use it)."""
    size = os.environ.get("MMCORE_MAX_BATCH")
    wait_ms = os.environ.get("MMCORE_MAX_WAIT_MS")
    return BatchPolicy(int(size) if size else policy.max_batch, float(wait_ms) if wait_ms else policy.max_wait_ms)
