"""The fusion comparison through the real path: three tiny random strategy models saved
to a folder and loaded with from_pretrained, the task, the CLI and the training recipe."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch

import mmcore
from mmcore.models import ShapesFusionConfig, ShapesFusionForQuestionAnswering
from mmcore.shapesworld.vqa import ANSWERS
from tests.test_cli import ROOT, _run

QUESTION = "What is the shape of the red object?"
OTHER = "What is the shape of the object furthest from the blue object?"


def test_each_strategy_answers_with_its_maps(builtin_dir, scene_png):
    result = mmcore.fusion(scene_png, QUESTION, top_k=2)
    assert [row.strategy for row in result.rows] == ["early", "late", "hybrid"]
    for row in result.rows:
        r = row.result
        assert r.model == f"fusion-{row.strategy}" and r.answer in ANSWERS and 0 <= r.score <= 1
        assert len(r.top_k) == 2 and r.latency_ms > 0
        assert r.attention.shape == (150, 150) and 0 <= r.attention.min() and r.attention.max() <= 1
    names = {row.strategy: [n for n, _ in row.result.maps] for row in result.rows}
    assert len(names["early"]) == 2 and len(names["hybrid"]) == 1  # tiny models: 2 layers per stream
    assert all("question [CLS] -> image" in n for n in names["early"] + names["hybrid"])
    assert names["late"] == ["pooled image vector: share of channels each cell supplies (same for every question)"]
    row = result.to_dict()["results"][0]
    assert set(row) == {"strategy", "answer", "score", "latency_ms", "model"}


def test_only_late_fusion_ignores_the_question_when_it_looks(builtin_dir, scene_png):
    """Late fusion's map is the same whatever is asked; early and hybrid look per question."""
    a, b = mmcore.fusion(scene_png, QUESTION), mmcore.fusion(scene_png, OTHER)
    for ra, rb in zip(a.rows, b.rows):
        same = np.allclose(ra.result.attention, rb.result.attention)
        assert same == (ra.strategy == "late"), ra.strategy


def test_one_strategy_and_vqa_with_fusion(builtin_dir, scene_png):
    only = mmcore.fusion(scene_png, QUESTION, strategies="late")
    assert [r.strategy for r in only.rows] == ["late"]
    assert mmcore.task("vqa", fusion="hybrid").spec.name == "fusion-hybrid"
    assert mmcore.vqa(scene_png, QUESTION, fusion="early").model == "fusion-early"


def test_bad_choices_and_inputs_are_clear(builtin_dir, scene_png, tmp_path):
    with pytest.raises(mmcore.InputError, match="accepted: early, late, hybrid"):
        mmcore.fusion(scene_png, QUESTION, strategies="middle")
    with pytest.raises(mmcore.InputError, match="built-in early / late / hybrid models only"):
        mmcore.fusion(scene_png, QUESTION, profile="pretrained")
    with pytest.raises(mmcore.InputError, match="question is empty"):
        mmcore.fusion(scene_png, "  ")
    with pytest.raises(mmcore.InputError, match="not both"):
        mmcore.task("vqa", model="shapesworld-vqa", fusion="late")
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"GIF89a truncated")
    out = mmcore.fusion_batch([(scene_png, QUESTION), (bad, QUESTION), (scene_png, "")])
    assert isinstance(out[0], mmcore.FusionResult) and len(out[0].rows) == 3
    assert isinstance(out[1], mmcore.InputError) and isinstance(out[2], mmcore.InputError)


@pytest.mark.parametrize("fusion", ["early", "late", "hybrid"])
def test_many_questions_per_image_match_one_at_a_time(fusion):
    """The model reads K consecutive questions per image; each must equal asking it alone."""
    torch.manual_seed(0)
    model = ShapesFusionForQuestionAnswering(ShapesFusionConfig(
        fusion=fusion, vocab_size=30, hidden_size=32, cnn_channels=16, num_attention_heads=2, layers=2,
        num_labels=12)).eval()
    pixels = torch.randn(2, 3, 75, 75)
    ids = torch.randint(5, 30, (6, 7))
    mask = torch.ones_like(ids)
    mask[1, 5:] = 0
    with torch.no_grad():
        together = model(pixels, ids, mask).logits
        alone = torch.cat([model(pixels[i // 3:i // 3 + 1], ids[i:i + 1], mask[i:i + 1]).logits for i in range(6)])
    torch.testing.assert_close(together, alone, atol=1e-5, rtol=1e-4)


def test_cli_fusion_rows(tiny_builtin_dir, scene_png, tmp_path):
    env = {"MMCORE_BUILTIN_DIR": str(tiny_builtin_dir)}
    proc = _run("fusion", str(scene_png), QUESTION, "--json", env=env)
    assert proc.returncode == 0, proc.stderr
    rows = json.loads(proc.stdout)["results"]
    assert [r["strategy"] for r in rows] == ["early", "late", "hybrid"]
    assert all(r["answer"] in ANSWERS and r["latency_ms"] > 0 for r in rows)
    one = _run("fusion", str(scene_png), QUESTION, "--fusion", "late", env=env)
    assert one.returncode == 0 and "late" in one.stdout and "hybrid" not in one.stdout
    vqa = _run("vqa", str(scene_png), QUESTION, "--fusion", "hybrid", "--json", env=env)
    assert json.loads(vqa.stdout)["model"] == "fusion-hybrid"
    batch = tmp_path / "in.jsonl"
    batch.write_text(json.dumps({"id": 1, "image": str(scene_png), "question": QUESTION}) + "\n"
                     + json.dumps({"id": 2, "image": str(scene_png), "question": ""}) + "\n")
    out = _run("fusion", "--batch", str(batch), env=env)
    lines = [json.loads(x) for x in out.stdout.splitlines()]
    assert out.returncode == 1 and len(lines[0]["results"]) == 3 and "question is empty" in lines[1]["error"]
    assert _run("fusion", str(scene_png), QUESTION, "--fusion", "middle", env=env).returncode == 2


def test_training_recipe_runs(tmp_path):
    import os
    import subprocess
    import sys

    out = tmp_path / "fusion"
    proc = subprocess.run([sys.executable, "-m", "mmcore.train", "fusion", "--smoke", "--fusion", "hybrid",
                           "--out", str(out)], cwd=ROOT, capture_output=True, text=True, timeout=600,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert proc.returncode == 0, proc.stderr[-2000:]
    log = json.loads((out / "training_log.json").read_text())
    assert log["config"]["fusion"] == "hybrid" and log["curve"][-1]["step"] == 20
    assert "loss_attention" in log["curve"][-1] and "relational" in log["curve"][-1]
    assert mmcore.vqa(np.full((75, 75, 3), 255, np.uint8), QUESTION, model=str(out)).answer in ANSWERS


def test_the_fusion_tab_shows_only_with_all_three_models(builtin_dir, tmp_path, monkeypatch):
    import shutil

    from demos import fusion as tab
    from mmcore import registry

    assert tab.available()
    partial = tmp_path / "builtin"
    shutil.copytree(builtin_dir, partial)
    shutil.rmtree(partial / "fusion-late")
    monkeypatch.setattr(registry, "BUILTIN_DIR", partial)
    assert not tab.available()
