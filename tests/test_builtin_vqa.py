"""The built-in VQA model: the recipe runs, and the shipped weights meet their bars on
freshly generated scenes (a seed used by neither training nor the model card)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from safetensors import safe_open

import mmcore
from mmcore.registry import BUILTIN_DIR
from mmcore.shapesworld.vqa import CANONICAL, generate_scene
from mmcore.train.vqa_card import TARGETS, evaluate_folder

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = BUILTIN_DIR / "vqa"
TEST_SEED = 4242  # not training (0), validation (1) or the model card (2026)


def test_smoke_training_run_writes_a_loadable_model_folder(tmp_path):
    out = tmp_path / "vqa"
    proc = subprocess.run([sys.executable, "-m", "mmcore.train", "vqa", "--smoke", "--out", str(out)],
                          cwd=ROOT, capture_output=True, text=True, timeout=900,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert '"step": 30' in proc.stderr  # the per-epoch accuracy log line
    for name in ("config.json", "model.safetensors", "tokenizer.json", "processor_config.json", "training_log.json"):
        assert (out / name).is_file(), name
    with safe_open(out / "model.safetensors", "pt") as f:
        assert all(f.get_slice(k).get_dtype() == "F16" for k in f.keys())
    result = mmcore.vqa(np.full((75, 75, 3), 255, np.uint8), CANONICAL["shape"].format(c="red"), model=str(out))
    assert result.answer in {"square", "circle", "left", "right", "top", "bottom", "1", "2", "3", "4", "5", "6"}


@pytest.fixture(scope="module")
def heldout() -> dict:
    assert (SHIPPED / "model.safetensors").is_file(), "the built-in VQA model is not shipped"
    return evaluate_folder(SHIPPED, scenes=200, seed=TEST_SEED)


@pytest.mark.parametrize("condition", list(TARGETS))
def test_shipped_model_meets_its_bar(heldout, condition):
    non_relational, relational = TARGETS[condition]
    acc = heldout["conditions"][condition]
    assert acc["non-relational"] >= non_relational, acc
    assert acc["relational"] >= relational, acc


def test_shipped_model_is_small_and_documented():
    assert (SHIPPED / "model.safetensors").stat().st_size <= 15_000_000
    card = (SHIPPED / "README.md").read_text()
    assert "python -m mmcore.train vqa --evaluate" in card and "| canonical 75x75 |" in card
    json.loads((SHIPPED / "eval.json").read_text())


def _object_mask(scene, color: str, size: int) -> np.ndarray:
    from mmcore.shapesworld.render import render

    obj = scene.by_color(color)
    return render([obj], size=size, antialias=True).min(axis=-1) < 250


def test_attention_lands_on_the_named_object():
    """Over many scenes and colours, hop 1's peak lies on the object the question names."""
    rng = np.random.default_rng(TEST_SEED + 1)
    hits = total = 0
    for _ in range(10):
        scene = generate_scene(rng)
        for color in ("red", "green", "blue", "orange", "gray", "yellow"):
            result = mmcore.vqa(scene.image(300, True), CANONICAL["shape"].format(c=color), profile="builtin")
            hop1 = dict(result.maps)["hop 1: the named object"]
            peak = np.unravel_index(hop1.argmax(), hop1.shape)
            hits += bool(_object_mask(scene, color, 300)[peak])
            total += 1
    assert hits / total >= 0.95, f"{hits}/{total}"
