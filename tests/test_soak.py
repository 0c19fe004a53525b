"""Soak on loopback: `python app.py` in its own process, 32 concurrent gradio_client users
for MMCORE_SOAK_SECONDS (default 60) over every endpoint. No request may fail, and the
server's resident memory may grow less than 10% after warm-up (the first third). Found here:
concurrent first loads of two models (mmcore.loading now loads one at a time) and Gradio
rewriting identical output pictures in place while a client downloads one
(demos.common.picture_file)."""
from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from gradio_client import Client, handle_file

from tests.conftest import free_port

ROOT = Path(__file__).resolve().parents[1]
USERS = 32
SECONDS = float(os.environ.get("MMCORE_SOAK_SECONDS", "60"))
WARMUP = SECONDS / 3  # the first third of the run loads models and fills allocator arenas and caches
QUESTION = "What is the shape of the object closest to the red object?"


def _rss_mb(pid: int) -> float:
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from common import proc_status_mb  # the benchmarks' reader of /proc/PID/status

    return proc_status_mb("VmRSS", pid)


@pytest.fixture(scope="module")
def server(tiny_builtin_dir, tmp_path_factory):
    port = free_port()
    log = tmp_path_factory.mktemp("soak") / "server.log"
    env = {**os.environ, "MMCORE_BUILTIN_DIR": str(tiny_builtin_dir), "GRADIO_SERVER_PORT": str(port),
           "HF_HUB_OFFLINE": "1", "GRADIO_ANALYTICS_ENABLED": "False", "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "app.py"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                            stderr=log.open("w"))
    url = f"http://127.0.0.1:{port}/"
    deadline = time.time() + 120
    while time.time() < deadline:
        try:
            Client(url, analytics_enabled=False, verbose=False)
            break
        except Exception:  # not up yet
            assert proc.poll() is None, "the app exited during start-up"
            time.sleep(1)
    try:
        yield url, proc.pid, log
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def _user(url: str, image: str, stop: float, counts: dict, errors: list, lock: threading.Lock, k: int) -> None:
    client = Client(url, analytics_enabled=False, verbose=False)
    calls = (lambda: client.predict(handle_file(image), QUESTION, api_name="/vqa"),
             lambda: client.predict(handle_file(image), api_name="/caption"),
             lambda: client.predict(handle_file(image), QUESTION, api_name="/fusion"),
             lambda: client.predict(f"user {k} is happy with this", handle_file(image), api_name="/sentiment"))
    i = k
    while time.time() < stop:
        try:
            calls[i % len(calls)]()
            with lock:
                counts["ok"] += 1
        except Exception as e:  # any failure is a finding
            with lock:
                errors.append(repr(e))
        i += 1


def test_32_users_no_failures_and_flat_memory(server, scene_png):
    url, pid, log = server
    counts, errors, lock = {"ok": 0}, [], threading.Lock()
    stop = time.time() + SECONDS
    users = [threading.Thread(target=_user, args=(url, str(scene_png), stop, counts, errors, lock, k))
             for k in range(USERS)]
    for u in users:
        u.start()
    time.sleep(WARMUP)
    warm = _rss_mb(pid)
    for u in users:
        u.join(timeout=SECONDS + 120)
    grown = _rss_mb(pid) / warm - 1
    assert not errors, (f"{len(errors)} failed of {counts['ok'] + len(errors)}: {errors[:3]}\n"
                        f"server log, last lines:\n{log.read_text()[-3000:]}")
    assert counts["ok"] >= USERS, counts
    assert grown < 0.10, f"resident memory grew {grown:.1%} after warm-up ({warm} MB at warm-up)"
