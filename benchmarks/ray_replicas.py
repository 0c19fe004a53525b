"""`make bench-ray`: the built-in VQA model served by the local backend, and by Ray Serve with
1 and 2 replicas, under 32 concurrent callers (threads calling `task.run`) for SECONDS each.
Ray runs on this machine (loopback), so 2 replicas share its cores with the callers and Ray's
own processes. Writes benchmarks/results/ray.{json,md}."""
from __future__ import annotations

import json
import os
import threading
import time
from typing import Any

from common import OUT, machine, pct, vqa_items

CALLERS = 32
SECONDS = float(os.environ.get("BENCH_RAY_SECONDS", "20"))


def measure(items: list, seconds: float) -> dict[str, Any]:
    import mmcore

    task = mmcore.task("vqa", profile="builtin")
    task.run_batch(items[:8])  # deploys and warms up
    times, stop, lock = [], time.perf_counter() + seconds, threading.Lock()

    def caller(k: int) -> None:
        i = k
        while time.perf_counter() < stop:
            began = time.perf_counter()
            task.run(items[i % len(items)])
            with lock:
                times.append(time.perf_counter() - began)
            i += CALLERS

    began = time.perf_counter()
    threads = [threading.Thread(target=caller, args=(k,)) for k in range(CALLERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return {"requests_per_s": round(len(times) / (time.perf_counter() - began), 1), "p50_ms": pct(times, 50),
            "p95_ms": pct(times, 95), "completed": len(times)}


def main() -> dict[str, Any]:
    items = vqa_items(64)[0]
    rows = [{"backend": "local", "replicas": None, **measure(items, SECONDS)}]
    os.environ.update(MMCORE_BACKEND="ray", MMCORE_RAY_REPLICA_CPUS="1")
    from mmcore import ray_backend

    for replicas in (1, 2):
        os.environ["MMCORE_RAY_MIN_REPLICAS"] = str(replicas)
        rows.append({"backend": "ray", "replicas": replicas, **measure(items, SECONDS)})
        ray_backend.shutdown()
        print(rows[-1])
    report = {"command": "make bench-ray (python benchmarks/ray_replicas.py)", "machine": machine(),
              "callers": CALLERS, "seconds": SECONDS, "rows": rows}
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "ray.json").write_text(json.dumps(report, indent=1))
    (OUT / "ray.md").write_text(markdown(report))
    print(markdown(report))
    return report


def markdown(r: dict[str, Any]) -> str:
    lines = [f"Measured by `{r['command']}` on {r['machine']}: built-in VQA, {r['callers']} concurrent callers, "
             f"{r['seconds']:g} s each.", "", "| backend | replicas | requests/s | p50 ms | p95 ms |", "|---|---|---|---|---|"]
    lines += [f"| {x['backend']} | {x['replicas'] or '—'} | {x['requests_per_s']} | {x['p50_ms']} | {x['p95_ms']} |"
              for x in r["rows"]]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
