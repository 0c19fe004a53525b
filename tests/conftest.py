"""Shared fixtures: tiny random models saved to temp folders and loaded through the real
from_pretrained path, and the built-in profile pointed at a tiny model of its own."""
from __future__ import annotations

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # tests never reach for the Hub
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")

import contextlib
import socket
from pathlib import Path

import numpy as np
import pytest
import torch

from mmcore import loading, registry
from tests.tiny_models import (
    build_tiny_blip_captioner,
    build_tiny_blip_vqa,
    build_tiny_fusion_vqa,
    build_tiny_shapes_captioner,
    build_tiny_shapes_sentiment,
    build_tiny_shapes_video,
    build_tiny_shapes_vqa,
    build_tiny_vilt_vqa,
    build_tiny_vit_gpt2_captioner,
)

torch.set_num_threads(1)  # tiny models: a second intra-op thread only adds wake-up cost here


@pytest.fixture(scope="session")
def tiny_vilt(tmp_path_factory) -> Path:
    return build_tiny_vilt_vqa(tmp_path_factory.mktemp("vilt"))


@pytest.fixture(scope="session")
def tiny_blip(tmp_path_factory) -> Path:
    return build_tiny_blip_vqa(tmp_path_factory.mktemp("blip"))


@pytest.fixture(scope="session")
def tiny_builtin_dir(tmp_path_factory) -> Path:
    """A stand-in for mmcore/builtin holding a tiny random built-in VQA model."""
    root = tmp_path_factory.mktemp("builtin")
    build_tiny_shapes_vqa(root / "vqa")
    build_tiny_shapes_captioner(root / "caption")
    build_tiny_shapes_sentiment(root / "sentiment")
    build_tiny_shapes_video(root / "video")
    for fusion in ("early", "late", "hybrid"):
        build_tiny_fusion_vqa(root / f"fusion-{fusion}", fusion)
    return root


@pytest.fixture(scope="session")
def tiny_vit_gpt2(tmp_path_factory) -> Path:
    return build_tiny_vit_gpt2_captioner(tmp_path_factory.mktemp("vitgpt2"))


@pytest.fixture(scope="session")
def tiny_blip_captioner(tmp_path_factory) -> Path:
    return build_tiny_blip_captioner(tmp_path_factory.mktemp("blipcap"))


@pytest.fixture
def builtin_dir(tiny_builtin_dir, monkeypatch) -> Path:
    """Point the built-in profile at the tiny model for one test."""
    monkeypatch.setattr(registry, "BUILTIN_DIR", tiny_builtin_dir)
    loading.clear_cache()
    yield tiny_builtin_dir
    loading.clear_cache()


@pytest.fixture
def scene_png(tmp_path) -> Path:
    from PIL import Image

    from mmcore.shapesworld.vqa import generate_scene

    path = tmp_path / "scene.png"
    Image.fromarray(generate_scene(np.random.default_rng(5)).image(size=150, antialias=True)).save(path)
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def serving(builtin: Path):
    """The app, launched in this process on a free loopback port with `builtin` as its
    built-in models (offline: auto -> those); yields the launched Blocks."""
    import app

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(registry, "BUILTIN_DIR", builtin)
        mp.setenv("GRADIO_SERVER_PORT", str(free_port()))
        loading.clear_cache()
        demo = app.build_app()
        app.launch(demo, prevent_thread_lock=True, quiet=True)
        try:
            yield demo
        finally:
            demo.close()
            loading.clear_cache()
