"""python -m mmcore, run as a real subprocess, against the interfaces spec."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
QUESTION = "What is the shape of the red object?"


def _run(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    full_env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(ROOT), **(env or {})}
    return subprocess.run([sys.executable, "-m", "mmcore", *args], capture_output=True, text=True,
                          cwd=ROOT, env=full_env, timeout=240)


def test_batch_mode_answers_in_order_with_errors_per_line(tiny_vilt, scene_png, tmp_path):
    text_png = tmp_path / "notes.png"
    text_png.write_text("not really a picture")
    lines = [
        json.dumps({"id": "a", "image": str(scene_png), "question": QUESTION}),
        json.dumps({"id": "b", "image": str(tmp_path / "missing.png"), "question": QUESTION}),
        "{not json",
        json.dumps({"id": 4, "image": str(text_png), "question": QUESTION}),
        json.dumps({"id": "e", "image": scene_png.name, "question": "   "}),
        json.dumps({"id": "f", "image": scene_png.name, "question": "How many circles?"}),
        json.dumps({"id": "g", "question": QUESTION}),
    ]
    batch = tmp_path / "in.jsonl"
    batch.write_text("\n".join(lines) + "\n")
    proc = _run("vqa", "--batch", str(batch), "--model", str(tiny_vilt), "--precision", "fp32")
    assert proc.returncode == 1, proc.stderr
    rows = [json.loads(line) for line in proc.stdout.splitlines()]
    assert [r["id"] for r in rows] == ["a", "b", None, 4, "e", "f", "g"]
    ok = {r["id"]: r for r in rows if "answer" in r}
    assert set(ok) == {"a", "f"}  # f's image is found relative to the batch file
    assert 0 <= ok["a"]["score"] <= 1 and ok["a"]["model"] == str(tiny_vilt)
    errors = {r["id"]: r["error"] for r in rows if "error" in r}
    assert "not found" in errors["b"] and "not valid JSON" in errors[None]
    assert "not an image" in errors[4] and "question is empty" in errors["e"] and "image" in errors["g"]
    assert "done: 2 answered, 5 failed" in proc.stderr


def test_batch_all_good_exits_zero(tiny_vilt, scene_png, tmp_path):
    batch = tmp_path / "in.jsonl"
    batch.write_text(json.dumps({"id": 1, "image": str(scene_png), "question": QUESTION}) + "\n")
    proc = _run("vqa", "--batch", str(batch), "--model", str(tiny_vilt))
    assert proc.returncode == 0 and json.loads(proc.stdout)["id"] == 1


def test_single_item_json_and_human(tiny_vilt, scene_png):
    proc = _run("vqa", str(scene_png), QUESTION, "--json", "--model", str(tiny_vilt), "--top-k", "2")
    assert proc.returncode == 0, proc.stderr
    obj = json.loads(proc.stdout)
    assert {"answer", "score", "top_k", "model", "profile", "precision"} <= obj.keys()
    assert len(obj["top_k"]) == 2
    human = _run("vqa", str(scene_png), QUESTION, "--model", str(tiny_vilt))
    assert human.returncode == 0 and human.stdout.startswith("answer: ") and "model:" in human.stdout


def test_bad_arguments_exit_2():
    assert _run("vqa").returncode == 2
    assert _run("vqa", "img.png", "q?", "--precision", "int3").returncode == 2
    assert _run("dance").returncode == 2


def test_single_item_error_exits_1(tiny_vilt, tmp_path):
    proc = _run("vqa", str(tmp_path / "nope.png"), QUESTION, "--model", str(tiny_vilt))
    assert proc.returncode == 1 and "not found" in proc.stderr and "Traceback" not in proc.stderr


def test_models_lists_every_registered_model():
    proc = _run("models", "--json")
    rows = json.loads(proc.stdout)
    names = {r["name"]: r for r in rows}
    assert {"vilt-vqa", "blip-vqa", "shapesworld-vqa"} <= names.keys()
    assert names["vilt-vqa"]["profile"] == "pretrained" and "Hub is unreachable" in names["vilt-vqa"]["loads_from"]
    assert names["shapesworld-vqa"]["profile"] == "builtin"
