"""The ray backend: a local Ray started inside the test run (loopback only), two tasks deployed
as Ray Serve deployments of two replicas each, the same answers as the local backend, and a
replica killed mid-run: it is replaced and no request is lost (the request is sent again)."""
from __future__ import annotations

import os
import signal
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
import ray

import mmcore
from mmcore.shapesworld.vqa import all_items, generate_scene

QUESTIONS = 12


@pytest.fixture(scope="module")
def scenes():
    rng = np.random.default_rng(11)
    made = [generate_scene(rng) for _ in range(QUESTIONS)]
    return [(s.image(), all_items(s)[k * 3].question) for k, s in enumerate(made)]


@pytest.fixture(scope="module")
def ray_backend():
    env = {"MMCORE_BACKEND": "ray", "MMCORE_RAY_MIN_REPLICAS": "2", "MMCORE_RAY_REPLICA_CPUS": "0.25",
           "MMCORE_RAY_CPUS": "2"}
    saved = {k: os.environ.get(k) for k in [*env, "RAY_ADDRESS"]}
    os.environ.pop("RAY_ADDRESS", None)  # a local Ray of the test's own
    os.environ.update(env)
    from mmcore import ray_backend

    try:
        yield ray_backend
    finally:
        ray_backend.shutdown()
        ray.shutdown()
        for k, v in saved.items():
            os.environ.pop(k, None) if v is None else os.environ.__setitem__(k, v)


def _local(fn):
    """Run fn with the local backend (the fixture's environment says ray)."""
    os.environ["MMCORE_BACKEND"] = "local"
    try:
        return fn()
    finally:
        os.environ["MMCORE_BACKEND"] = "ray"


def test_ray_answers_like_local(ray_backend, scenes):
    local = _local(lambda: [mmcore.vqa(img, q, profile="builtin") for img, q in scenes])
    remote = [mmcore.vqa(img, q, profile="builtin") for img, q in scenes]
    assert [r.answer for r in remote] == [r.answer for r in local]
    for a, b in zip(local, remote):
        np.testing.assert_allclose(a.attention, b.attention, atol=1e-5)
    texts = [("what a wonderful day", None), ("this is awful", scenes[0][0]), (None, scenes[1][0])]
    local_s = _local(lambda: mmcore.sentiment_batch(texts, profile="builtin"))
    remote_s = mmcore.sentiment_batch(texts, profile="builtin")
    assert [r.label for r in remote_s] == [r.label for r in local_s]
    for a, b in zip(local_s, remote_s):
        assert dict(b.scores) == pytest.approx(dict(a.scores), abs=1e-5)


def test_bad_input_is_still_its_own_clear_error(ray_backend, scenes):
    results = mmcore.vqa_batch([scenes[0], (scenes[0][0], "  ")], profile="builtin")
    assert results[0].answer
    assert isinstance(results[1], mmcore.InputError) and "question is empty" in str(results[1])


def _replica_pids(submitter, want: int, timeout: float = 120) -> set[int]:
    pids: set[int] = set()
    stop = time.time() + timeout
    while len(pids) < want and time.time() < stop:
        try:
            pids.add(submitter.handle.pid.remote().result(timeout_s=60))
        except ray.exceptions.RayError:  # routed to the killed one before Serve noticed
            time.sleep(0.5)
    return pids


def test_a_killed_replica_is_replaced_and_no_request_is_lost(ray_backend, scenes):
    task = mmcore.task("vqa", profile="builtin")
    expected = [r.answer for r in task.run_batch(scenes)]  # deploys (if not yet) and warms both replicas
    submitter = ray_backend.deployment_for(task)
    before = _replica_pids(submitter, 2)
    assert len(before) == 2
    victim = sorted(before)[0]
    with ThreadPoolExecutor(8) as pool:
        futures = [pool.submit(task.run, scenes[i % QUESTIONS]) for i in range(48)]
        time.sleep(0.5)
        os.kill(victim, signal.SIGKILL)
        answers = [f.result(timeout=300).answer for f in futures]
    assert answers == [expected[i % QUESTIONS] for i in range(48)]
    stop, now = time.time() + 180, set()
    while time.time() < stop and not (len(now) == 2 and victim not in now):
        now = _replica_pids(submitter, 2, timeout=30)
    assert len(now) == 2 and victim not in now, f"replicas now {now}, killed {victim}"
