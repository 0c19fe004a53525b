"""The `ray` backend (MMCORE_BACKEND=ray): each model spec is a Ray Serve deployment.

A task's key (its model spec(s) and fixed choices) names one Serve application of one
deployment, `ModelReplica`. Each replica builds the same task from the task's recipe (its
class and arguments, all picklable) and loads the model itself; requests reach it through a
DeploymentHandle, and `@serve.batch` merges the requests a replica receives into passes
(grouped by options; a failing pass is retried item by item, so errors stay per request, as
in mmcore.batching). Replicas autoscale between MMCORE_RAY_MIN_REPLICAS and
MMCORE_RAY_MAX_REPLICAS on ongoing requests.

The caller keeps reading and checking inputs in its own process, so a bad input never
travels. A request whose replica dies is sent again (RETRIES times): Serve replaces the
replica, and another one (or the new one) answers.

Connects to RAY_ADDRESS when set (e.g. "auto" for a cluster started with `ray start`),
else starts a local Ray on this machine (loopback only).
"""
from __future__ import annotations

import hashlib
import os
import threading
import time
from concurrent.futures import TimeoutError as FutureTimeout
from pathlib import Path
from typing import Any

from .batching import Done, run_pass
from .errors import ModelLoadError

try:
    import ray
    from ray import serve
    from ray.exceptions import RayActorError, RayTaskError
    from ray.serve.exceptions import RayServeException
except ImportError as e:  # optional dependency
    raise ModelLoadError("MMCORE_BACKEND=ray needs Ray Serve, which is not installed: "
                         "pip install -r requirements-ray.txt (or unset MMCORE_BACKEND for the local backend)") from e

ROOT = Path(__file__).resolve().parents[1]
RETRIES = 3  # sends of one request after its replica died
_LOCK = threading.Lock()
_SUBMITTERS: dict[Any, "RaySubmitter"] = {}


@serve.deployment(max_ongoing_requests=64)
class ModelReplica:
    """One replica: the task built from its recipe, its model loaded here, passes batched."""

    def __init__(self, recipe: tuple[type, tuple], max_batch: int) -> None:
        os.environ["MMCORE_BACKEND"] = "local"  # tasks a replica's task runs itself stay in it
        task_class, args = recipe
        self.task = task_class(*args)
        self.forward.set_max_batch_size(max_batch)

    @serve.batch(max_batch_size=32, batch_wait_timeout_s=0.002)
    async def forward(self, requests: list[tuple[Any, tuple]]) -> list[Done | Exception]:
        outcomes: list[Done | Exception | None] = [None] * len(requests)
        groups: dict[tuple, list[int]] = {}
        for i, (_, options) in enumerate(requests):  # only equal options share a pass
            groups.setdefault(options, []).append(i)
        for options, index in groups.items():
            done = run_pass(self.task._forward, [requests[i][0] for i in index], dict(options))
            for i, outcome in zip(index, done):
                outcomes[i] = outcome
        return outcomes

    async def __call__(self, item: Any, options: tuple) -> Done | Exception:
        return await self.forward((item, options))

    def pid(self) -> int:
        return os.getpid()


class RayFuture:
    """The face of a concurrent.futures.Future that mmcore.batching.wait uses."""

    def __init__(self, handle: Any, item: Any, options: tuple) -> None:
        self.handle, self.args = handle, (item, options)
        self.response = handle.remote(*self.args)

    def result(self, timeout: float | None = None) -> Done:
        deadline = None if timeout is None else time.monotonic() + timeout
        for attempt in range(RETRIES + 1):
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            try:
                outcome = self.response.result(timeout_s=left)
            except TimeoutError as e:
                raise FutureTimeout from e
            except (RayActorError, RayServeException) as e:  # the replica died: send it again
                if attempt == RETRIES:
                    raise ModelLoadError(f"the model's replicas kept failing ({e}); try again later") from e
                self.response = self.handle.remote(*self.args)
                continue
            except RayTaskError as e:
                raise e.cause if isinstance(e.cause, Exception) else e
            if isinstance(outcome, Exception):
                raise outcome
            return outcome
        raise AssertionError("unreachable")

    def cancel(self) -> bool:
        self.response.cancel()
        return True


class RaySubmitter:
    def __init__(self, handle: Any, app_name: str) -> None:
        self.handle, self.app_name = handle, app_name

    def try_inline(self, item: Any, **options: Any) -> None:
        return None  # the model is in the replicas

    def submit(self, item: Any, **options: Any) -> RayFuture:
        return RayFuture(self.handle, item, tuple(sorted(options.items())))


def connect() -> None:
    """Ray and Serve, once per process: the cluster at RAY_ADDRESS, else a local one."""
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")  # no usage reports leave the machine
    if not ray.is_initialized():
        address = os.environ.get("RAY_ADDRESS") or None
        local = {} if address else {"include_dashboard": False, "_node_ip_address": "127.0.0.1",
                                    "num_cpus": int(os.environ.get("MMCORE_RAY_CPUS", os.cpu_count() or 1))}
        ray.init(address=address, ignore_reinit_error=True, log_to_driver=False,
                 runtime_env={"env_vars": _worker_env()}, **local)
    serve.start(proxy_location="Disabled")  # callers hold handles: no HTTP ingress, no open port


def _worker_env() -> dict[str, str]:
    keep = ("HF_HUB_OFFLINE", "MMCORE_BUILTIN_DIR", "HF_HOME", "OMP_NUM_THREADS")
    return {"PYTHONPATH": str(ROOT), "MMCORE_BACKEND": "local",
            **{k: os.environ[k] for k in keep if k in os.environ}}


def app_name(key: Any) -> str:
    return "mmcore-" + hashlib.sha1(repr(key).encode()).hexdigest()[:12]


def deployment_options(task: Any) -> dict[str, Any]:
    """Replicas, autoscaling and resources per replica (environment variables override)."""
    low = int(os.environ.get("MMCORE_RAY_MIN_REPLICAS", "1"))
    high = int(os.environ.get("MMCORE_RAY_MAX_REPLICAS", str(low)))
    options: dict[str, Any] = {"ray_actor_options": {"num_cpus": float(os.environ.get("MMCORE_RAY_REPLICA_CPUS", "1")),
                                                     "num_gpus": 1 if task.spec.device.startswith("cuda") else 0}}
    if high > low:
        options["autoscaling_config"] = {"min_replicas": low, "max_replicas": high,
                                         "target_ongoing_requests": task.pass_policy().max_batch // 2 or 1}
    else:
        options["num_replicas"] = low
    return options


def deployment_for(task: Any) -> RaySubmitter:
    """The submitter of this task's deployment, deployed on first use."""
    key = task.batch_key()
    with _LOCK:
        if key not in _SUBMITTERS:
            connect()
            name = app_name(key)
            app = ModelReplica.options(name=name, **deployment_options(task)).bind(
                task.recipe(), task.pass_policy().max_batch)
            handle = serve.run(app, name=name, route_prefix=None)
            _SUBMITTERS[key] = RaySubmitter(handle, name)
    return _SUBMITTERS[key]


def shutdown() -> None:
    """Every mmcore deployment and Serve itself (tests, and `make serve-ray`'s exit)."""
    with _LOCK:
        _SUBMITTERS.clear()
        if ray.is_initialized():
            serve.shutdown()


__all__ = ["ModelReplica", "RayFuture", "connect", "deployment_for", "shutdown"]
