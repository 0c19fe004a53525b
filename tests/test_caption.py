"""Captioning through the whole engine (tiny random models, real from_pretrained path),
the CLI and the /caption endpoint."""
from __future__ import annotations

import json

import numpy as np
import pytest

import mmcore
from mmcore import Decoding, InputError

from .test_cli import _run


def _image(h: int = 70, w: int = 90) -> np.ndarray:
    return (np.random.default_rng(1).random((h, w, 3)) * 255).astype(np.uint8)


@pytest.mark.parametrize("fixture", ["tiny_vit_gpt2", "tiny_blip_captioner"])
@pytest.mark.parametrize("method", ["greedy", "beam", "nucleus"])
def test_caption_has_one_map_per_word(request, fixture, method):
    folder = request.getfixturevalue(fixture)
    result = mmcore.caption(_image(), model=str(folder), decoding=Decoding(method, max_new_tokens=6))
    assert isinstance(result, mmcore.CaptionResult)
    assert len(result.tokens) == len(result.token_maps) >= 1
    for m in result.token_maps:
        assert m.shape == (70, 90) and m.dtype == np.float32 and 0 <= m.min() and m.max() <= 1
    assert result.attention.shape == (70, 90) and result.score <= 0
    json.dumps(result.to_dict())


def test_blip_prompt_is_used_and_not_mapped(tiny_blip_captioner):
    result = mmcore.caption(_image(), "a picture of", model=str(tiny_blip_captioner),
                            decoding=Decoding(max_new_tokens=4))
    assert result.caption.startswith("a picture of")
    assert len(result.tokens) == len(result.token_maps) <= 4


def test_builtin_caption_profile(builtin_dir, scene_png):
    result = mmcore.caption(scene_png, profile="builtin")
    assert result.model == "shapesworld-caption" and result.profile == "builtin"
    assert result.token_maps and result.token_maps[0].shape == (150, 150)


@pytest.mark.parametrize("decoding,needle", [
    (Decoding("sideways"), "accepted: greedy, beam, nucleus"), (Decoding("beam", num_beams=20), "1..8"),
    (Decoding("nucleus", top_p=0), "top-p"), (Decoding(max_new_tokens=500), "1..64"),
])
def test_bad_decoding_is_an_input_error(tiny_vit_gpt2, decoding, needle):
    with pytest.raises(InputError, match=needle):
        mmcore.caption(_image(), model=str(tiny_vit_gpt2), decoding=decoding)


def test_caption_batch_errors_per_item(tiny_vit_gpt2, tmp_path):
    bad = tmp_path / "bad.png"
    bad.write_text("nope")
    out = mmcore.caption_batch([_image(), bad, (_image(40, 40), None)], model=str(tiny_vit_gpt2))
    assert isinstance(out[1], InputError) and out[0].token_maps and out[2].attention.shape == (40, 40)


def test_cli_caption_single_and_batch(tiny_vit_gpt2, scene_png, tmp_path):
    proc = _run("caption", str(scene_png), "--json", "--model", str(tiny_vit_gpt2), "--decoding", "beam",
                "--beams", "2", "--max-new-tokens", "5")
    assert proc.returncode == 0, proc.stderr
    obj = json.loads(proc.stdout)
    assert isinstance(obj["caption"], str) and obj["decoding"]["method"] == "beam" and obj["tokens"]
    batch = tmp_path / "in.jsonl"
    batch.write_text(json.dumps({"id": 1, "image": str(scene_png)}) + "\n"
                     + json.dumps({"id": 2, "image": "missing.png"}) + "\n")
    proc = _run("caption", "--batch", str(batch), "--model", str(tiny_vit_gpt2), "--max-new-tokens", "4")
    rows = [json.loads(line) for line in proc.stdout.splitlines()]
    assert proc.returncode == 1 and rows[0]["id"] == 1 and "caption" in rows[0] and "not found" in rows[1]["error"]
