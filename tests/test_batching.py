"""The dynamic batcher: concurrent requests share passes, errors and timeouts stay their own."""
from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

import mmcore
from mmcore.batching import BatchPolicy, DynamicBatcher, PassLog, batcher_for, wait
from mmcore.errors import InputError, RequestTimeout
from mmcore.shapesworld.vqa import generate_scene


class Recorder:
    """A forward function that records the batches it was given."""

    def __init__(self, gate: threading.Event | None = None) -> None:
        self.batches: list[list] = []
        self.gate = gate

    def __call__(self, items: list, scale: int = 1) -> list:
        if self.gate is not None:
            self.gate.wait(10)
        self.batches.append(list(items))
        if "bad" in items:
            raise InputError("bad item")
        return [x * scale for x in items]


def test_concurrent_items_share_one_pass() -> None:
    forward = Recorder()
    batcher = DynamicBatcher(forward, BatchPolicy(max_batch=8, max_wait_ms=200))
    futures = [batcher.submit(i) for i in range(5)]
    done = [wait(f, None, "test", None) for f in futures]
    assert [d.output for d in done] == [0, 1, 2, 3, 4]
    assert forward.batches == [[0, 1, 2, 3, 4]]
    assert {d.batch_size for d in done} == {5}


def test_max_batch_bounds_a_pass() -> None:
    forward = Recorder()
    batcher = DynamicBatcher(forward, BatchPolicy(max_batch=3, max_wait_ms=200))
    futures = [batcher.submit(i) for i in range(7)]
    assert [wait(f, None, "test", None).output for f in futures] == list(range(7))
    assert [len(b) for b in forward.batches] == [3, 3, 1]


def test_a_bad_item_fails_alone() -> None:
    forward = Recorder()
    batcher = DynamicBatcher(forward, BatchPolicy(max_batch=8, max_wait_ms=200))
    futures = [batcher.submit(x) for x in ("a", "bad", "c")]
    assert wait(futures[0], None, "test", None).output == "a"
    with pytest.raises(InputError, match="bad item"):
        wait(futures[1], None, "test", None)
    assert wait(futures[2], None, "test", None).output == "c"
    assert forward.batches[0] == ["a", "bad", "c"]  # tried together, then one by one


def test_different_options_never_share_a_pass() -> None:
    forward = Recorder()
    batcher = DynamicBatcher(forward, BatchPolicy(max_batch=8, max_wait_ms=200))
    futures = [batcher.submit(1, scale=s) for s in (1, 10, 1, 10)]
    assert [wait(f, None, "test", None).output for f in futures] == [1, 10, 1, 10]
    assert sorted(map(len, forward.batches)) == [2, 2]


def test_a_queued_request_times_out_and_never_runs() -> None:
    gate = threading.Event()
    forward = Recorder(gate)
    batcher = DynamicBatcher(forward, BatchPolicy(max_batch=1, max_wait_ms=0))
    first = batcher.submit(1)  # holds the worker until the gate opens
    second = batcher.submit(2)
    with pytest.raises(RequestTimeout, match="limit of 0.2 s"):
        wait(second, time.monotonic() + 0.2, "test", 0.2)
    gate.set()
    assert wait(first, None, "test", None).output == 1
    time.sleep(0.2)
    assert forward.batches == [[1]]  # the cancelled one was dropped, not run


def _scenes(n: int) -> list[tuple[np.ndarray, str]]:
    rng = np.random.default_rng(3)
    return [(generate_scene(rng).image(), "What is the shape of the red object?") for _ in range(n)]


def test_concurrent_api_calls_share_the_models_passes() -> None:
    """Eight users at once through mmcore.vqa: same answers as alone, fewer passes than calls."""
    items = _scenes(8)
    alone = [mmcore.vqa(img, q, profile="builtin") for img, q in items]
    task = mmcore.vqa_task(profile="builtin")
    batcher = batcher_for(task.batch_key(), task._forward, task.batch_policy)
    before = batcher.passes.count
    with ThreadPoolExecutor(8) as pool:
        together = list(pool.map(lambda it: mmcore.vqa(*it, profile="builtin"), items))
    assert [r.answer for r in together] == [r.answer for r in alone]
    for a, b in zip(alone, together):
        np.testing.assert_allclose(a.attention, b.attention, atol=1e-4)
    ran = batcher.passes.count - before
    assert ran < 8 and max(batcher.passes.last(ran)) > 1


def test_batch_mode_keeps_each_error_in_place() -> None:
    (good_image, question), = _scenes(1)
    results = mmcore.vqa_batch([(good_image, question), (good_image, ""), (b"not an image", question),
                                (good_image, question)], profile="builtin")
    assert not isinstance(results[0], Exception) and results[0].answer == results[3].answer
    assert isinstance(results[1], InputError) and "question" in str(results[1])
    assert isinstance(results[2], InputError)


def test_api_timeout_is_a_clear_error() -> None:
    """A request whose model is busy past its limit gets RequestTimeout, not a hang."""
    (image, question), = _scenes(1)
    task = mmcore.vqa_task(profile="builtin")
    batcher = batcher_for(task.batch_key(), task._forward, task.batch_policy)
    gate, original = threading.Event(), batcher.forward
    batcher.forward = lambda items, **kw: (gate.wait(10), original(items, **kw))[1]  # a long pass
    try:
        blocker = batcher.submit(task.preprocess((image, question)), top_k=5)
        with pytest.raises(RequestTimeout, match="vqa request did not finish within its limit of 0.3 s"):
            mmcore.vqa(image, question, profile="builtin", timeout=0.3)
    finally:
        batcher.forward = original
        gate.set()
    assert wait(blocker, None, "vqa", None).output is not None
    assert mmcore.vqa(image, question, profile="builtin", timeout=30).answer  # serving again


def test_the_pass_log_stays_bounded() -> None:
    """A server that runs for weeks keeps a count and the latest sizes, not one int per pass."""
    log = PassLog(keep=3)
    for size in (1, 2, 3, 4, 5):
        log.record(size)
    assert log.count == 5 and list(log.recent) == [3, 4, 5]
    assert log.last(2) == [4, 5] and log.last(0) == []
