"""Backends: where a model's forward passes run, chosen by MMCORE_BACKEND.

  local (default): in this process, through the model's dynamic batcher (mmcore.batching);
                   what Spaces, `make run` and the tests use.
  ray:             each model spec is a Ray Serve deployment (mmcore.ray_backend) with
                   replicas, `@serve.batch` and autoscaling, on the cluster at RAY_ADDRESS
                   (or a local one). Inputs are read and checked here; only the passes go out.
Task functions and results are the same whichever backend runs them.
"""
from __future__ import annotations

import os
from typing import Any

from .batching import batcher_for
from .errors import ModelLoadError

BACKENDS = ("local", "ray")


def backend() -> str:
    name = os.environ.get("MMCORE_BACKEND", "local").strip().lower() or "local"
    if name not in BACKENDS:
        raise ModelLoadError(f"MMCORE_BACKEND={name!r} is not a backend; accepted: {', '.join(BACKENDS)}")
    return name


def submitter(task: Any) -> Any:
    """What takes this task's items: `.submit(item, **options)` returns a future of a Done."""
    if backend() == "ray":
        from .ray_backend import deployment_for

        return deployment_for(task)
    return batcher_for(task.batch_key(), task._forward, task.pass_policy)
