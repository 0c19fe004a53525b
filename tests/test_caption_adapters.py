"""Captioning adapters (VisionEncoderDecoder ViT+GPT-2, BLIP) on tiny random checkpoints."""
from __future__ import annotations

import os
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np
import pytest
import torch
from PIL import Image
from transformers import AutoProcessor, BlipForConditionalGeneration, VisionEncoderDecoderModel

from mmcore.adapters.base import CaptionOutput, Decoding, LoadedModel
from mmcore.adapters.caption_blip import BlipCaptionAdapter
from mmcore.adapters.caption_ved import VisionEncoderDecoderCaptionAdapter, display_token
from tests.tiny_models import (
    IMAGE_SIZE,
    PATCH_SIZE,
    build_tiny_blip_captioner,
    build_tiny_vit_gpt2_captioner,
)

GRID = (IMAGE_SIZE // PATCH_SIZE, IMAGE_SIZE // PATCH_SIZE)  # both processors resize to 64x64
NEW_TOKENS = 6
PROMPT = "a picture of"
DECODINGS = {
    "greedy": Decoding("greedy", max_new_tokens=NEW_TOKENS),
    "beam": Decoding("beam", num_beams=3, max_new_tokens=NEW_TOKENS),
    "nucleus": Decoding("nucleus", top_p=0.9, temperature=1.0, max_new_tokens=NEW_TOKENS, seed=3),
}
ADAPTERS = {"ved": VisionEncoderDecoderCaptionAdapter(), "blip": BlipCaptionAdapter()}


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _load(model_class, path: Path) -> LoadedModel:
    model = model_class.from_pretrained(path, use_safetensors=True, attn_implementation="eager")
    processor = AutoProcessor.from_pretrained(path)
    return LoadedModel(model.eval(), processor, None, torch.device("cpu"), torch.float32)


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, LoadedModel]:
    ved = build_tiny_vit_gpt2_captioner(tmp_path_factory.mktemp("tiny_vit_gpt2"))
    blip = build_tiny_blip_captioner(tmp_path_factory.mktemp("tiny_blip_caption"))
    return {"ved": _load(VisionEncoderDecoderModel, ved), "blip": _load(BlipForConditionalGeneration, blip)}


@pytest.fixture(scope="module")
def images() -> list[Image.Image]:
    """Two RGB images of different sizes (75x75 and 120 wide x 90 high)."""
    rng = np.random.default_rng(0)
    square = np.zeros((75, 75, 3), dtype=np.uint8)
    square[20:50, 10:40] = (220, 30, 30)
    wide = rng.integers(0, 256, size=(90, 120, 3), dtype=np.uint8)
    return [Image.fromarray(square), Image.fromarray(wide)]


def _caption(name: str, loaded: LoadedModel, images, decoding: Decoding, prompts=None):
    adapter = ADAPTERS[name]
    inputs = adapter.preprocess(loaded, images, prompts or [None] * len(images))
    with torch.inference_mode():
        return adapter.forward(loaded, inputs, decoding), inputs


def _plain_generate(name: str, loaded: LoadedModel, inputs: dict, **options):
    """The model's own generate on the adapter's inputs (BLIP's mutates input_ids: copy)."""
    text = {k: inputs[k].clone() for k in ("input_ids", "attention_mask") if k in inputs}
    with torch.inference_mode():
        return loaded.model.generate(pixel_values=inputs["pixel_values"], **text, **options)


def _display(loaded: LoadedModel, ids: torch.Tensor, specials: set[int]) -> tuple[str, ...]:
    """Generated ids (through the first eos) -> display tokens, specials dropped."""
    eos = loaded.processor.tokenizer.sep_token_id  # both tiny models end captions at [SEP]
    ids = ids.tolist()
    ids = ids[: ids.index(eos) + 1] if eos in ids else ids
    return tuple(display_token(loaded.processor.tokenizer, i) for i in ids if i not in specials)


def _specials(loaded: LoadedModel) -> set[int]:
    return set(loaded.processor.tokenizer.all_special_ids)


def _check(output: CaptionOutput) -> None:
    assert isinstance(output.text, str)
    assert len(output.tokens) == len(output.token_maps) >= 1
    assert all(isinstance(token, str) and token for token in output.tokens)
    for token_map in output.token_maps:
        assert token_map.shape == GRID and token_map.dtype == np.float32
        assert token_map.min() >= 0.0 and token_map.max() == pytest.approx(1.0)
        assert token_map.min() == 0.0 or np.all(token_map == 1.0)  # min-max, or flat
    assert np.isfinite(output.score) and output.score <= 0.0


@pytest.mark.parametrize("method", list(DECODINGS))
@pytest.mark.parametrize("name", list(ADAPTERS))
def test_one_generate_call_and_aligned_maps(name, method, models, images, monkeypatch):
    loaded = models[name]
    calls = []
    original = loaded.model.generate

    def counting(*args, **kwargs):
        calls.append(kwargs)
        return original(*args, **kwargs)

    monkeypatch.setattr(loaded.model, "generate", counting)
    outputs, _ = _caption(name, loaded, images, DECODINGS[method])
    assert len(calls) == 1
    assert calls[0]["output_attentions"] and calls[0]["return_dict_in_generate"]
    assert calls[0]["output_scores"]
    assert len(outputs) == len(images)
    for output in outputs:
        _check(output)


@pytest.mark.parametrize("name", list(ADAPTERS))
def test_beam_matches_plain_generate(name, models, images):
    loaded = models[name]
    outputs, inputs = _caption(name, loaded, images, DECODINGS["beam"])
    plain = _plain_generate(
        name, loaded, inputs, num_beams=3, max_new_tokens=NEW_TOKENS,
        output_scores=True, return_dict_in_generate=True,
    )
    start = plain.sequences.shape[1] - plain.beam_indices.shape[1]
    for item, output in enumerate(outputs):
        assert output.tokens == _display(loaded, plain.sequences[item, start:], _specials(loaded))
        # length_penalty 1: beam's own score is the same mean log-probability
        assert output.score == pytest.approx(float(plain.sequences_scores[item]), abs=1e-4)


def _teacher_forced_maps(name: str, loaded: LoadedModel, inputs: dict, sequences: torch.Tensor,
                         start: int) -> torch.Tensor:
    """Cross-attention maps recomputed by one full forward over the finished sequences:
    (B, T, h, w) for the generated tokens (query position start - 1 + t predicts token t)."""
    model = loaded.model
    with torch.inference_mode():
        if name == "ved":
            out = model(pixel_values=inputs["pixel_values"], decoder_input_ids=sequences[:, :-1],
                        output_attentions=True)
        else:
            image = model.vision_model(pixel_values=inputs["pixel_values"]).last_hidden_state
            out = model.text_decoder(input_ids=sequences[:, :-1], encoder_hidden_states=image,
                                     output_attentions=True)
    mean = torch.stack(out.cross_attentions).float().mean(dim=(0, 2))  # (B, S - 1, 1 + P)
    return mean[:, start - 1 :, 1:].reshape(mean.shape[0], -1, *GRID)


@pytest.mark.parametrize("method", ["greedy", "beam"])
@pytest.mark.parametrize("name", list(ADAPTERS))
def test_maps_match_teacher_forcing(name, method, models, images):
    """Beam rows picked through beam_indices give the same maps as re-running the caption."""
    loaded = models[name]
    prompts = [PROMPT, PROMPT] if name == "blip" else None  # same length: no padding here
    outputs, inputs = _caption(name, loaded, images, DECODINGS[method], prompts)
    beams = DECODINGS[method].num_beams if method == "beam" else 1
    plain = _plain_generate(name, loaded, inputs, num_beams=beams, do_sample=False,
                            max_new_tokens=NEW_TOKENS, return_dict_in_generate=True, output_logits=True)
    start = plain.sequences.shape[1] - len(plain.logits) if beams == 1 else (
        plain.sequences.shape[1] - plain.beam_indices.shape[1])
    maps = _teacher_forced_maps(name, loaded, inputs, plain.sequences, start)
    specials = _specials(loaded)
    for item, output in enumerate(outputs):
        generated = plain.sequences[item, start:].tolist()
        eos = loaded.processor.tokenizer.sep_token_id
        generated = generated[: generated.index(eos) + 1] if eos in generated else generated
        kept = [t for t, token in enumerate(generated) if token not in specials]
        assert len(kept) == len(output.token_maps)
        for t, token_map in zip(kept, output.token_maps):
            expected = maps[item, t]
            expected = (expected - expected.min()) / (expected.max() - expected.min())
            np.testing.assert_allclose(token_map, expected.numpy(), atol=1e-3)


@pytest.mark.parametrize("name", list(ADAPTERS))
def test_nucleus_is_seeded_and_leaves_global_rng_alone(name, models, images):
    loaded = models[name]
    before = torch.get_rng_state()
    first, _ = _caption(name, loaded, images, DECODINGS["nucleus"])
    second, _ = _caption(name, loaded, images, DECODINGS["nucleus"])
    assert torch.equal(before, torch.get_rng_state())
    for a, b in zip(first, second):
        assert a.tokens == b.tokens and a.score == b.score
        for map_a, map_b in zip(a.token_maps, b.token_maps):
            np.testing.assert_array_equal(map_a, map_b)
    seeds = [_caption(name, loaded, images, Decoding("nucleus", max_new_tokens=NEW_TOKENS, seed=s))[0]
             for s in (11, 12)]
    assert any(x.tokens != y.tokens for x, y in zip(*seeds))


@pytest.mark.parametrize("name", list(ADAPTERS))
def test_batch_matches_single_images(name, models, images):
    """Two images of different sizes in one batch caption as they do alone; for BLIP one
    prompted and one plain row (left padding, positions from the attention mask)."""
    loaded = models[name]
    prompts = [PROMPT, None] if name == "blip" else [None, None]
    batch, _ = _caption(name, loaded, images, DECODINGS["greedy"], prompts)
    for image, prompt, together in zip(images, prompts, batch):
        [alone], _ = _caption(name, loaded, [image], DECODINGS["greedy"], [prompt])
        assert alone.tokens == together.tokens and alone.text == together.text
        assert alone.score == pytest.approx(together.score, abs=1e-4)
        for map_a, map_b in zip(alone.token_maps, together.token_maps):
            np.testing.assert_allclose(map_a, map_b, atol=1e-3)


def test_blip_prompt_is_in_text_not_in_tokens(models, images):
    loaded = models["blip"]
    outputs, inputs = _caption("blip", loaded, images, DECODINGS["greedy"], [PROMPT, PROMPT])
    plain = _plain_generate("blip", loaded, inputs, max_new_tokens=NEW_TOKENS)
    start = inputs["input_ids"].shape[1] - 1  # generate drops the trailing [SEP] column
    plain_text = loaded.processor.tokenizer.batch_decode(plain, skip_special_tokens=True)
    for item, output in enumerate(outputs):
        assert output.text.startswith(PROMPT)
        assert output.text == plain_text[item].strip()  # what BLIP's own decoding shows
        assert output.tokens == _display(loaded, plain[item, start:], _specials(loaded))
    unprompted, _ = _caption("blip", loaded, images, DECODINGS["greedy"])
    assert [o.tokens for o in outputs] != [o.tokens for o in unprompted]


def test_prompts_are_ignored_by_vision_encoder_decoder(models, images):
    loaded = models["ved"]
    plain, _ = _caption("ved", loaded, images, DECODINGS["greedy"])
    prompted, _ = _caption("ved", loaded, images, DECODINGS["greedy"], [PROMPT, PROMPT])
    assert [o.tokens for o in plain] == [o.tokens for o in prompted]


@pytest.mark.parametrize(
    "decoding",
    [Decoding("topk"), Decoding("nucleus", top_p=0.0), Decoding("nucleus", temperature=0.0),
     Decoding("greedy", max_new_tokens=0)],
)
def test_bad_decoding_is_rejected(decoding, models, images):
    adapter = ADAPTERS["ved"]
    inputs = adapter.preprocess(models["ved"], images[:1], [None])
    with pytest.raises(ValueError):
        adapter.forward(models["ved"], inputs, decoding)
