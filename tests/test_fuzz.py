"""Property-based fuzzing of mmcore's inputs: whatever bytes or text come in, the result is
an answer or mmcore's own InputError with a message, never another exception."""
from __future__ import annotations

import io

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

import mmcore
from mmcore.inputs import load_image

FUZZ = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
QUESTION = "What is the shape of the red object?"


def _encoded(fmt: str) -> bytes:
    rng = np.random.default_rng(0)
    buf = io.BytesIO()
    Image.fromarray(rng.integers(0, 255, (24, 32, 3), dtype=np.uint8)).save(buf, format=fmt)
    return buf.getvalue()


VALID = {fmt: _encoded(fmt) for fmt in ("PNG", "JPEG", "GIF", "BMP", "TIFF", "WEBP")}


@st.composite
def damaged_images(draw) -> bytes:
    """A valid file of some format, then truncated, bytes flipped, or junk spliced in."""
    data = bytearray(VALID[draw(st.sampled_from(sorted(VALID)))])
    for _ in range(draw(st.integers(0, 6))):
        i = draw(st.integers(0, len(data) - 1))
        data[i] = draw(st.integers(0, 255))
    if draw(st.booleans()):
        data = data[: draw(st.integers(0, len(data)))]
    if draw(st.booleans()):
        at = draw(st.integers(0, len(data)))
        data[at:at] = draw(st.binary(max_size=64))
    return bytes(data)


def _check(call) -> None:
    try:
        call()
    except mmcore.InputError as e:
        assert str(e).strip(), "an InputError must say what was wrong"


@FUZZ
@given(st.one_of(st.binary(max_size=512), damaged_images()))
def test_image_bytes_decode_or_input_error(data):
    try:
        image = load_image(data)
    except mmcore.InputError as e:
        assert str(e)
    else:
        assert image.mode == "RGB" and min(image.size) >= 1


@FUZZ
@given(damaged_images(), st.text(max_size=400))
def test_vqa_answers_or_input_error(builtin_dir, data, question):
    _check(lambda: mmcore.vqa(data, question))


@FUZZ
@given(st.text(max_size=400))
def test_questions_of_any_text(builtin_dir, question):
    image = VALID["PNG"]
    try:
        result = mmcore.vqa(image, question)
    except mmcore.InputError as e:
        assert "question" in str(e)
    else:
        assert result.question and len(result.question) <= 300


@FUZZ
@given(damaged_images())
def test_caption_and_fusion_answer_or_input_error(builtin_dir, data):
    _check(lambda: mmcore.caption(data, decoding=mmcore.Decoding(max_new_tokens=4)))
    _check(lambda: mmcore.fusion(data, QUESTION))


@pytest.mark.parametrize("fmt", sorted(VALID))
def test_every_valid_format_answers(builtin_dir, fmt):
    assert mmcore.vqa(VALID[fmt], QUESTION).answer


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.one_of(st.none(), st.text(max_size=1200)), st.one_of(st.none(), damaged_images()))
def test_sentiment_of_any_text_and_image(builtin_dir, text, data):
    """Any text (emoji, control characters, 1,200 chars) with or without any image bytes."""
    try:
        result = mmcore.sentiment(text, data)
    except mmcore.InputError as e:
        assert str(e).strip()
    else:
        assert result.label in ("positive", "negative", "neutral")
        assert all(-1 <= s <= 1 for _, s in result.words)
