"""ViLT and BLIP VQA adapters on tiny random checkpoints (offline, CPU)."""
from __future__ import annotations

import os
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np
import pytest
import torch
from PIL import Image
from transformers import (
    BlipForQuestionAnswering,
    BlipProcessor,
    ViltForQuestionAnswering,
    ViltProcessor,
)

from mmcore.adapters.base import LoadedModel, VQAOutput
from mmcore.adapters.blip import BlipVQAAdapter
from mmcore.adapters.vilt import ViltVQAAdapter
from tests.tiny_models import PATCH_SIZE, build_tiny_blip_vqa, build_tiny_vilt_vqa

QUESTIONS = ["What is the shape of the red object?", "How many objects are left of the square?"]
TOP_K = 3


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """Tiny models are all thread wake-up overhead: on a shared 2-core CPU, two intra-op
    threads made BLIP's beam search ~30x slower than one. Restored after the module."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _load(model_class, processor_class, path: Path) -> LoadedModel:
    model = model_class.from_pretrained(path, use_safetensors=True, attn_implementation="eager")
    processor = processor_class.from_pretrained(path)
    return LoadedModel(model.eval(), processor, None, torch.device("cpu"), torch.float32)


@pytest.fixture(scope="module")
def vilt(tmp_path_factory: pytest.TempPathFactory) -> LoadedModel:
    path = build_tiny_vilt_vqa(tmp_path_factory.mktemp("tiny_vilt"))
    return _load(ViltForQuestionAnswering, ViltProcessor, path)


@pytest.fixture(scope="module")
def blip(tmp_path_factory: pytest.TempPathFactory) -> LoadedModel:
    path = build_tiny_blip_vqa(tmp_path_factory.mktemp("tiny_blip"))
    return _load(BlipForQuestionAnswering, BlipProcessor, path)


@pytest.fixture(scope="module")
def images() -> list[Image.Image]:
    """Two RGB images of different sizes (75x75 and 120 wide x 90 high)."""
    rng = np.random.default_rng(0)
    square = np.zeros((75, 75, 3), dtype=np.uint8)
    square[20:50, 10:40] = (220, 30, 30)  # a red block, so the image is not pure noise
    wide = rng.integers(0, 256, size=(90, 120, 3), dtype=np.uint8)
    return [Image.fromarray(square), Image.fromarray(wide)]


def _run(adapter, loaded: LoadedModel, images: list[Image.Image], top_k: int = TOP_K):
    inputs = adapter.preprocess(loaded, images, QUESTIONS)
    with torch.inference_mode():
        return adapter.forward(loaded, inputs, top_k)


def _vilt_grid(image: Image.Image) -> tuple[int, int]:
    """Patch grid the tiny ViLT processor gives an image: short side 64, floor to patch."""
    width, height = image.size
    scale = 64 / min(width, height)
    return int(height * scale) // PATCH_SIZE, int(width * scale) // PATCH_SIZE


def _check_output(output: VQAOutput, grid: tuple[int, int]) -> None:
    assert len(output.answers) == TOP_K
    scores = [score for _, score in output.answers]
    assert all(0.0 <= score <= 1.0 for score in scores)
    assert scores == sorted(scores, reverse=True)
    attention = output.attention
    assert isinstance(attention, np.ndarray) and attention.dtype == np.float32
    assert attention.shape == grid
    assert attention.min() >= 0.0 and attention.max() == pytest.approx(1.0)


def test_vilt_outputs(vilt: LoadedModel, images: list[Image.Image]) -> None:
    outputs = _run(ViltVQAAdapter(), vilt, images)
    assert len(outputs) == len(images)
    labels = set(vilt.model.config.id2label.values())
    for output, image in zip(outputs, images):
        _check_output(output, _vilt_grid(image))
        assert {answer for answer, _ in output.answers} <= labels


def test_vilt_grids_differ_by_image(vilt: LoadedModel, images: list[Image.Image]) -> None:
    outputs = _run(ViltVQAAdapter(), vilt, images)
    assert outputs[0].attention.shape == (4, 4)
    assert outputs[1].attention.shape == (4, 5)


def test_vilt_matches_plain_model_call(vilt: LoadedModel, images: list[Image.Image]) -> None:
    """Splitting out the patch embedding must not change the answer scores."""
    adapter = ViltVQAAdapter()
    inputs = adapter.preprocess(vilt, images, QUESTIONS)
    with torch.inference_mode():
        outputs = adapter.forward(vilt, inputs, TOP_K)
        probs = torch.sigmoid(vilt.model(**inputs).logits)
    for output, row in zip(outputs, probs):
        expected = row.topk(TOP_K).values.tolist()
        assert [score for _, score in output.answers] == pytest.approx(expected, abs=1e-5)


def test_vilt_patch_sampling_scatters_into_grid(
    vilt: LoadedModel, images: list[Image.Image], monkeypatch: pytest.MonkeyPatch
) -> None:
    """With max_image_length sampling, kept patches land in the item's own full grid."""
    monkeypatch.setattr(vilt.model.config, "max_image_length", 6)
    outputs = _run(ViltVQAAdapter(), vilt, images)
    for output, image in zip(outputs, images):
        _check_output(output, _vilt_grid(image))
        assert np.count_nonzero(output.attention) <= 6


def test_blip_outputs(blip: LoadedModel, images: list[Image.Image]) -> None:
    outputs = _run(BlipVQAAdapter(), blip, images)
    assert len(outputs) == len(images)
    grid = (64 // PATCH_SIZE, 64 // PATCH_SIZE)  # BLIP resizes every image to 64x64
    for output in outputs:
        _check_output(output, grid)
        assert all(isinstance(answer, str) for answer, _ in output.answers)
        assert sum(score for _, score in output.answers) == pytest.approx(1.0, abs=1e-5)


def test_blip_answers_match_generate(blip: LoadedModel, images: list[Image.Image]) -> None:
    """The step-by-step forward decodes what BlipForQuestionAnswering.generate does."""
    adapter = BlipVQAAdapter()
    inputs = adapter.preprocess(blip, images, QUESTIONS)
    with torch.inference_mode():
        outputs = adapter.forward(blip, inputs, 1)
        generated = blip.model.generate(**inputs)
    texts = blip.processor.tokenizer.batch_decode(generated, skip_special_tokens=True)
    assert [output.answers[0][0] for output in outputs] == [text.strip() for text in texts]


@pytest.mark.parametrize("name", ["vilt", "blip"])
def test_deterministic(name: str, request: pytest.FixtureRequest, images) -> None:
    loaded = request.getfixturevalue(name)
    adapter = ViltVQAAdapter() if name == "vilt" else BlipVQAAdapter()
    first, second = _run(adapter, loaded, images), _run(adapter, loaded, images)
    for a, b in zip(first, second):
        assert a.answers == b.answers
        np.testing.assert_array_equal(a.attention, b.attention)
