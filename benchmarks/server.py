"""The server under load, against Gradio's floor, and the app's cold start.

  floor:   benchmarks/floor_app.py, the /vqa endpoint's inputs and a function that does nothing.
  studio:  `python app.py`, offline, built-in models; the /vqa endpoint.
Both run in their own process on loopback, same queue settings; 1, 8 and 32 concurrent
gradio_client users (one Client each) send a 75 px scene and a question for SECONDS each.
Per level: completed requests per second and the p50 / p95 of one request's round trip
(the answer and the output files' URLs); once more for one user who also downloads the
four output pictures, as gradio_client does by default.

Cold start: `python app.py` started offline, timed to the first /vqa answer; then one request
per endpoint and the server's resident memory with every built-in model loaded.
"""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

from common import ROOT, pct, proc_status_mb, vqa_items

USERS = (1, 8, 32)
SECONDS = float(os.environ.get("BENCH_LOAD_SECONDS", "20"))


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(script: str, log: Path) -> tuple[subprocess.Popen, str, float]:
    """The app in its own process; returns it, its URL and the seconds until it answered a client."""
    port = _port()
    env = {**os.environ, "GRADIO_SERVER_PORT": str(port), "HF_HUB_OFFLINE": "1", "GRADIO_ANALYTICS_ENABLED": "False",
           "HF_HUB_DISABLE_TELEMETRY": "1", "PYTHONPATH": str(ROOT)}
    began = time.perf_counter()
    proc = subprocess.Popen([sys.executable, script], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                            stderr=log.open("w"))
    url = f"http://127.0.0.1:{port}/"
    while True:  # a plain GET: a Client per try would take CPU from the starting server
        try:
            urllib.request.urlopen(url + "config", timeout=5).read()
            return proc, url, time.perf_counter() - began
        except OSError:  # not up yet
            if proc.poll() is not None:
                raise RuntimeError(f"{script} exited during start-up; see {log}") from None
            time.sleep(0.05)


def load(url: str, image: str, question: str, users: int, seconds: float, fetch: bool = False) -> dict[str, Any]:
    """`users` clients asking in a loop for `seconds`: throughput and round-trip percentiles.

    fetch: also download every output file before the next request (gradio_client's default;
    a browser fetches the pictures in parallel, after the answer). Off for the load levels: the
    client shares this machine's two cores with the server, and the floor returns no files.
    """
    from gradio_client import Client, handle_file

    clients = [Client(url, analytics_enabled=False, verbose=False, download_files=fetch) for _ in range(users)]
    times: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    stop = time.perf_counter() + seconds

    def user(client) -> None:
        while time.perf_counter() < stop:
            began = time.perf_counter()
            try:
                client.predict(handle_file(image), question, api_name="/vqa")
                with lock:
                    times.append(time.perf_counter() - began)
            except Exception as e:  # noqa: BLE001 - counted, reported
                errors.append(repr(e)[:200])

    began = time.perf_counter()
    threads = [threading.Thread(target=user, args=(c,)) for c in clients]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - began
    return {"users": users, "requests_per_s": round(len(times) / elapsed, 2), "p50_ms": pct(times, 50),
            "p95_ms": pct(times, 95), "completed": len(times), "errors": len(errors)}


def cold_start(tmp: Path, image: str, question: str) -> dict[str, Any]:
    """`python app.py` to its first /vqa answer; then every endpoint once, and the memory."""
    from gradio_client import Client, handle_file

    began = time.perf_counter()
    proc, url, up = start("app.py", tmp / "cold.log")
    try:
        client = Client(url, analytics_enabled=False, verbose=False)
        client.predict(handle_file(image), question, api_name="/vqa")
        first = time.perf_counter() - began
        client.predict(handle_file(image), api_name="/caption")
        client.predict("a lovely day", handle_file(image), api_name="/sentiment")
        clip = tmp / "clip.mp4"
        _clip(clip)
        client.predict(handle_file(str(clip)), api_name="/video")
        return {"server_up_s": round(up, 2), "first_answer_s": round(first, 2), "rss_all_models_mb": proc_status_mb("VmRSS", proc.pid),
                **import_seconds()}
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def import_seconds() -> dict[str, float]:
    """What the start-up spends importing, in a fresh process: gradio alone, then the whole app
    (torch, transformers, mmcore, the tabs), before any model loads."""
    code = ("import time; t = time.perf_counter(); import gradio; g = time.perf_counter() - t; import app; "
            "print(round(g, 2), round(time.perf_counter() - t, 2))")
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "GRADIO_ANALYTICS_ENABLED": "False", "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, env=env, check=True)
    gradio_s, app_s = map(float, out.stdout.split()[-2:])
    return {"import_gradio_s": gradio_s, "import_app_s": app_s}


def _clip(path: Path) -> None:
    import numpy as np

    from mmcore.shapesworld.video import generate_clip, write_video

    write_video(path, generate_clip(np.random.default_rng(0), "moving right").frames(), fps=8)


def function_ms(image: str, question: str, repeats: int = 50) -> dict[str, float]:
    """The /vqa event function alone, in this process: what the studio adds to Gradio's floor."""
    from common import summary, timed
    from demos import vqa

    return summary(timed(lambda: vqa.answer(image, question), repeats, warmup=5))


def run(tmp: Path, seconds: float = SECONDS, log=print) -> dict[str, Any]:
    from PIL import Image

    (image, question), = vqa_items(1)[0]
    png = tmp / "scene.png"
    Image.fromarray(image).save(png)
    out: dict[str, Any] = {"seconds_per_level": seconds, "vqa_function_ms": function_ms(str(png), question)}
    for name, script in (("floor", "benchmarks/floor_app.py"), ("studio", "app.py")):
        proc, url, _ = start(script, tmp / f"{name}.log")
        try:
            load(url, str(png), question, 4, 3)  # warm-up: models load, connections open
            out[name] = [load(url, str(png), question, users, seconds) for users in USERS]
            if name == "studio":
                out["studio_fetching_files"] = load(url, str(png), question, 1, seconds, fetch=True)
        finally:
            proc.terminate()
            proc.wait(timeout=30)
        log(f"server {name}: {out[name]}")
    out["cold_start"] = cold_start(tmp, str(png), question)
    log(f"cold start: {out['cold_start']}")
    return out
