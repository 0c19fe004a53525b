"""Resolving what to run (profiles, availability) and loading it, lazily and cached.

`auto` takes pretrained weights where they resolve (the local Hugging Face cache, or a
reachable Hub) and falls back to the built-in models shipped in mmcore/builtin.
Every load uses safetensors only, never remote code, and eager attention (SDPA returns
no attention weights, and every task here draws them).
"""
from __future__ import annotations

import functools
import json
import os
import socket
import threading
import logging
from pathlib import Path
from urllib.parse import urlparse

import torch

from . import precision as prec
from .adapters import ARCHS, LoadedModel, arch_for_model_type
from .errors import InputError, ModelLoadError, PrecisionError
from .registry import DEFAULTS, REGISTRY, ModelEntry, _check_choice, models_for
from .serving import backend
from .spec import DEVICES, PRECISIONS, PROFILES, ModelSpec

TRAIN_HINT = "train it with `python -m mmcore.train {task}` or restore mmcore/builtin from git"


# ----------------------------------------------------------------------------- availability

def _offline() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "").lower() in ("1", "true", "yes", "on")


@functools.lru_cache(maxsize=1)
def hub_reachable() -> bool:
    """One quick TCP connect to the Hub endpoint, remembered for the process."""
    if _offline():
        return False
    url = urlparse(os.environ.get("HF_ENDPOINT", "https://huggingface.co"))
    try:
        socket.create_connection((url.hostname, url.port or 443), timeout=2.0).close()
        return True
    except OSError:
        return False


def in_hf_cache(entry: ModelEntry) -> bool:
    from huggingface_hub import try_to_load_from_cache

    found = try_to_load_from_cache(entry.source, "config.json", revision=entry.revision)
    return isinstance(found, str)


def where(entry: ModelEntry) -> tuple[bool, str]:
    """(available, where it would load from), for `models` listings and errors."""
    if entry.profile != "pretrained":
        folder = Path(entry.location)
        ok = (folder / "config.json").is_file() and (folder / "model.safetensors").is_file()
        return ok, f"local folder {folder}" if ok else f"missing folder {folder}"
    if in_hf_cache(entry):
        return True, f"Hugging Face cache ({entry.source}@{entry.revision})"
    if hub_reachable():
        return True, f"Hugging Face Hub ({entry.source}@{entry.revision}, downloaded on first use)"
    return False, f"not in the local Hugging Face cache and the Hub is unreachable ({entry.source})"


# ----------------------------------------------------------------------------- resolution

def _device(device: str) -> str:
    _check_choice(device, DEVICES, "device")
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda" and not torch.cuda.is_available():
        raise PrecisionError("device 'cuda' was asked for but no GPU is visible to torch; use cpu or auto")
    return device


def _default_entry(task: str, profile: str) -> ModelEntry:
    order = ("pretrained", "builtin") if profile == "auto" else (profile,)
    tried = []
    for p in order:
        for name in DEFAULTS.get(task, {}).get(p, ()):
            ok, place = where(REGISTRY[name])
            if ok:
                return REGISTRY[name]
            tried.append(f"{name}: {place}")
    raise ModelLoadError(
        f"no {task!r} model is available for profile {profile!r}. Looked at: " + "; ".join(tried or ["nothing registered"])
        + f". Fix: for built-in weights, {TRAIN_HINT.format(task=task)}; for pretrained ones, "
        "run where the Hugging Face Hub is reachable once (it fills the local cache)."
    )


def _local_entry(task: str, folder: Path) -> ModelEntry:
    try:
        model_type = json.loads((folder / "config.json").read_text())["model_type"]
    except (OSError, ValueError, KeyError) as e:
        raise ModelLoadError(f"{folder} is not a model folder (no readable config.json with a model_type)") from e
    arch = arch_for_model_type(model_type, task)
    if arch is None:
        known = sorted(a.model_type for a in ARCHS.values() if a.task == task)
        raise ModelLoadError(f"{folder}: model_type {model_type!r} is not a {task} architecture; known: {', '.join(known)}")
    return ModelEntry(str(folder), task, "local", str(folder.resolve()), arch.key)


def _entry(task: str, profile: str, model: str | None) -> ModelEntry:
    if model is None:
        return _default_entry(task, profile)
    if model in REGISTRY:
        entry = REGISTRY[model]
        if entry.task != task:
            raise InputError(f"model {model!r} is a {entry.task} model, not {task}; "
                             f"{task} models: {', '.join(e.name for e in models_for(task))}")
        if profile not in ("auto", entry.profile):
            raise InputError(f"model {model!r} belongs to profile {entry.profile!r}, not {profile!r}")
        return entry
    if Path(model).is_dir():
        return _local_entry(task, Path(model))
    names = ", ".join(e.name for e in models_for(task))
    raise InputError(f"unknown model {model!r}; registered {task} models: {names}; or give a local model folder")


def resolve(task: str, profile: str = "auto", model: str | None = None,
            precision: str = "auto", device: str = "auto") -> ModelSpec:
    """Turn user choices into a concrete ModelSpec (no 'auto' left)."""
    _check_choice(profile, PROFILES, "profile")
    _check_choice(precision, PRECISIONS, "precision")
    dev = _device(device)
    entry = _entry(task, profile, model)
    source = entry.location if entry.profile != "local" else entry.source
    revision = entry.revision if entry.profile == "pretrained" else None
    chosen = prec.auto_precision(dev, weight_bytes(entry)) if precision == "auto" else precision
    return ModelSpec(entry.name, source, entry.arch, revision, entry.profile, chosen, dev)


def weight_bytes(entry: ModelEntry) -> int | None:
    """Size of the entry's weights on disk (its folder, or the Hugging Face cache); None when
    not on disk (a Hub model not downloaded yet)."""
    if entry.profile != "pretrained":
        return sum(f.stat().st_size for f in Path(entry.location).glob("*.safetensors")) or None
    from huggingface_hub import try_to_load_from_cache

    found = try_to_load_from_cache(entry.source, "model.safetensors", revision=entry.revision)
    return Path(found).stat().st_size if isinstance(found, str) else None


# ----------------------------------------------------------------------------- loading

# bitsandbytes logs "inputs will be cast to float16" on every 8-bit matmul: expected, not actionable
logging.getLogger("bitsandbytes.autograd._functions").setLevel(logging.ERROR)

_CACHE: dict[ModelSpec, LoadedModel] = {}
# One lock for every load, not one per spec: from_pretrained builds models under process-wide
# patches (meta-device init), so two different models loading in two threads at once can
# leave one with meta tensors ("Cannot copy out of meta tensor"; tests/test_soak.py saw it).
_LOAD_LOCK = threading.Lock()
_OUTLINES: dict[ModelSpec, LoadedModel] = {}  # the ray backend's meta-device stand-ins


def load(spec: ModelSpec) -> LoadedModel:
    """The model for spec, loaded once per process (thread-safe; loads run one at a time)."""
    if backend() == "ray":
        return _outline(spec)
    if spec in _CACHE:
        return _CACHE[spec]
    with _LOAD_LOCK:
        if spec not in _CACHE:
            _CACHE[spec] = _load(spec)
    return _CACHE[spec]


def _outline(spec: ModelSpec) -> LoadedModel:
    """Under the ray backend the weights live in the replicas: this process keeps only the
    architecture on the meta device, for its config (no memory, no weights, no processor)."""
    with _LOAD_LOCK:
        if spec not in _OUTLINES:
            try:
                skeleton = _skeleton(ARCHS[spec.arch].model_cls(), spec, _hub_kwargs(spec))
            except Exception as e:
                raise ModelLoadError(_load_message(spec, e)) from e
            _OUTLINES[spec] = LoadedModel(skeleton, None, spec, torch.device(spec.device), torch.float32)
    return _OUTLINES[spec]


def clear_cache() -> None:
    with _LOAD_LOCK:
        _CACHE.clear()


def _hub_kwargs(spec: ModelSpec) -> dict:
    if spec.is_local:
        return {"local_files_only": True}
    return {"revision": spec.revision, "local_files_only": _offline() or not hub_reachable()}


def _skeleton(model_class, spec: ModelSpec, kwargs: dict) -> torch.nn.Module:
    """The architecture on the meta device (no memory, no weights): to plan quantization."""
    config = model_class.config_class.from_pretrained(spec.source, **kwargs)
    with torch.device("meta"):
        return model_class(config)


def _load(spec: ModelSpec) -> LoadedModel:
    from transformers import AutoProcessor

    arch = ARCHS[spec.arch]
    kwargs = _hub_kwargs(spec)
    try:
        plan = prec.plan(spec.precision, spec.device, _skeleton(arch.model_cls(), spec, kwargs))
        model = arch.model_cls().from_pretrained(
            spec.source, use_safetensors=True, trust_remote_code=False, attn_implementation="eager",
            dtype=plan.dtype, quantization_config=plan.quantization_config,
            device_map={"": spec.device} if plan.quantization_config else None, **kwargs)
        load_processor = arch.load_processor or AutoProcessor.from_pretrained
        processor = load_processor(spec.source, trust_remote_code=False, **kwargs)
    except PrecisionError:
        raise
    except Exception as e:
        raise ModelLoadError(_load_message(spec, e)) from e
    return _finish(model, processor, spec, plan)


def _finish(model, processor, spec: ModelSpec, plan: prec.LoadPlan) -> LoadedModel:
    if not plan.quantization_config:
        model = model.to(spec.device)
    if plan.torchao_int8:
        prec.apply_torchao_int8(model)
    model.eval()
    return LoadedModel(model, processor, spec, torch.device(spec.device), plan.compute_dtype)


def _load_message(spec: ModelSpec, e: Exception) -> str:
    first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
    if spec.is_local:
        fix = f"check the folder; for the built-in models, {TRAIN_HINT.format(task=ARCHS[spec.arch].task)}"
    else:
        fix = "run once where the Hugging Face Hub is reachable to fill the local cache, or use --profile builtin"
    return f"could not load model {spec.name!r} from {spec.source} ({spec.precision} on {spec.device}): {first}. Fix: {fix}"
