"""The VQA engine end to end on tiny random models: resolve -> load -> preprocess ->
forward -> postprocess, precisions, the cache, batches and profiles."""
from __future__ import annotations

import json
import threading

import numpy as np
import pytest
import torch

import mmcore
from mmcore import InputError, ModelLoadError, PrecisionError, loading, registry
from mmcore.api import vqa_task

QUESTION = "What is the shape of the red object?"


def _image(h: int = 80, w: int = 120) -> np.ndarray:
    return (np.random.default_rng(0).random((h, w, 3)) * 255).astype(np.uint8)


@pytest.mark.parametrize("fixture", ["tiny_vilt", "tiny_blip"])
def test_real_path_returns_result_with_map(request, fixture):
    folder = request.getfixturevalue(fixture)
    result = mmcore.vqa(_image(), QUESTION, model=str(folder), precision="fp32", top_k=3)
    assert isinstance(result, mmcore.VQAResult)
    assert result.attention.shape == (80, 120) and result.attention.dtype == np.float32
    assert 0.0 <= result.attention.min() and result.attention.max() <= 1.0
    assert result.attention.max() > 0.9 and result.attention.std() > 0  # a map, not a constant
    scores = [s for _, s in result.top_k]
    assert len(scores) == 3 and scores == sorted(scores, reverse=True)
    assert result.answer == result.top_k[0][0] and result.profile == "local"
    json.dumps(result.to_dict())  # plain values only


def test_builtin_model_maps_and_answers(builtin_dir, scene_png):
    result = mmcore.vqa(scene_png, QUESTION, profile="builtin")
    assert result.model == "shapesworld-vqa" and result.profile == "builtin"
    assert result.answer in {"square", "circle", "left", "right", "top", "bottom", "1", "2", "3", "4", "5", "6"}
    assert abs(sum(s for _, s in mmcore.vqa(scene_png, QUESTION, profile="builtin", top_k=12).top_k) - 1) < 1e-4
    names = [n for n, _ in result.maps]
    assert len(names) == 3 and all(m.shape == (150, 150) for _, m in result.maps)


def test_auto_profile_falls_back_to_builtin_offline(builtin_dir):
    spec = mmcore.resolve("vqa", "auto")
    assert spec.name == "shapesworld-vqa" and spec.profile == "builtin" and spec.precision == "fp32"


def test_no_model_available_says_how_to_get_one(tmp_path, monkeypatch):
    monkeypatch.setattr(registry, "BUILTIN_DIR", tmp_path)
    with pytest.raises(ModelLoadError) as e:
        mmcore.resolve("vqa", "auto")
    msg = str(e.value)
    assert "python -m mmcore.train vqa" in msg and "vilt-vqa" in msg and str(tmp_path) in msg


def test_bad_choices_are_input_errors(tiny_vilt):
    with pytest.raises(InputError, match="accepted: auto, builtin, pretrained"):
        mmcore.resolve("vqa", "fancy")
    with pytest.raises(InputError, match="registered vqa models: vilt-vqa"):
        mmcore.resolve("vqa", model="no-such-model")
    with pytest.raises(InputError, match="accepted: auto, fp32"):
        mmcore.resolve("vqa", model=str(tiny_vilt), precision="int3")
    with pytest.raises(InputError, match="profile 'pretrained'"):
        mmcore.resolve("vqa", "builtin", model="vilt-vqa")
    if not torch.cuda.is_available():
        with pytest.raises(PrecisionError, match="no GPU"):
            mmcore.resolve("vqa", model=str(tiny_vilt), device="cuda")


def test_local_folder_of_wrong_kind(tmp_path):
    (tmp_path / "config.json").write_text('{"model_type": "gpt2"}')
    with pytest.raises(ModelLoadError, match="not a vqa architecture"):
        mmcore.resolve("vqa", model=str(tmp_path))


def _scores(folder, precision: str) -> dict[str, float]:
    return dict(mmcore.vqa(_image(), QUESTION, model=str(folder), precision=precision, top_k=12).top_k)


def _has_layer(folder, precision: str, type_name: str) -> bool:
    model = loading.load(mmcore.resolve("vqa", model=str(folder), precision=precision)).model
    names = {type(m).__name__ for m in model.modules()} | {type(p).__name__ for p in model.parameters()}
    names |= {type(getattr(m, "weight", None)).__name__ for m in model.modules()}
    return any(type_name in n for n in names)


# Tolerances on the 12 answer probabilities of a random tiny ViLT vs fp32: measured
# max |diff| here 0.002 (bnb8, int8, bf16) and 0.005 (bnb4); allowed a few times that.
@pytest.mark.parametrize("precision,layer,tol", [
    ("bnb8", "Linear8bitLt", 0.02), ("bnb4", "Linear4bit", 0.03),
    ("int8", "Int8Tensor", 0.02), ("bf16", "Linear", 0.02),
])
def test_quantized_precisions_match_fp32(tiny_vilt, precision, layer, tol):
    ref, got = _scores(tiny_vilt, "fp32"), _scores(tiny_vilt, precision)
    assert ref.keys() == got.keys()
    assert max(abs(ref[k] - got[k]) for k in ref) < tol
    assert _has_layer(tiny_vilt, precision, layer)  # the quantization really applied


def test_bnb_keeps_tied_output_head_of_blip(tiny_blip):
    result = mmcore.vqa(_image(), QUESTION, model=str(tiny_blip), precision="bnb8", top_k=2)
    assert isinstance(result.answer, str) and result.attention.shape == (80, 120)


def test_cache_loads_each_spec_once_even_concurrently(tiny_vilt):
    loading.clear_cache()
    spec = mmcore.resolve("vqa", model=str(tiny_vilt), precision="fp32")
    seen = []
    threads = [threading.Thread(target=lambda: seen.append(loading.load(spec))) for _ in range(4)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    assert len(seen) == 4 and all(s is seen[0] for s in seen)
    other = loading.load(mmcore.resolve("vqa", model=str(tiny_vilt), precision="bf16"))
    assert other is not seen[0]


def test_batch_keeps_each_error_and_matches_single_runs(tiny_vilt, tmp_path):
    empty = tmp_path / "empty.png"
    empty.write_bytes(b"")
    items = [(_image(), QUESTION), (empty, QUESTION), (_image(), "   "), (_image(60, 60), "How many?")]
    out = mmcore.vqa_batch(items, model=str(tiny_vilt), precision="fp32")
    assert isinstance(out[1], InputError) and "empty" in str(out[1])
    assert isinstance(out[2], InputError) and "question is empty" in str(out[2])
    single = mmcore.vqa(_image(60, 60), "How many?", model=str(tiny_vilt), precision="fp32")
    assert out[3].answer == single.answer and abs(out[3].score - single.score) < 1e-5
    assert out[0].attention.shape == (80, 120) and out[3].attention.shape == (60, 60)


def test_task_reports_active_model(tiny_vilt):
    task = vqa_task(model=str(tiny_vilt), precision="int8")
    assert "int8 on cpu" in task.spec.describe() and str(tiny_vilt) in task.spec.describe()
