"""Processor of the built-in ShapesWorld models: a PIL image processor plus a word tokenizer.

Both halves are stock transformers classes, saved and loaded with the model folder, so
the built-in models go through the same AutoProcessor path as Hub checkpoints.
"""
from __future__ import annotations

import re
from collections.abc import Iterable

from PIL import Image
from transformers import BertTokenizerFast, ProcessorMixin
from transformers.models.vit.image_processing_pil_vit import ViTImageProcessorPil

SPECIALS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")


class ShapesWorldProcessor(ProcessorMixin):
    """image_processor: resize to a square with a box filter (area average), then to [-1, 1]."""

    def __init__(self, image_processor=None, tokenizer=None, **kwargs) -> None:
        super().__init__(image_processor, tokenizer)


def words_of(texts: Iterable[str]) -> list[str]:
    """Lower-cased word and punctuation tokens, as BERT's basic tokenizer splits them."""
    return [w for t in texts for w in re.findall(r"[a-z0-9]+|[^\sa-z0-9]", t.lower())]


def build_tokenizer(texts: Iterable[str], max_length: int) -> BertTokenizerFast:
    """A word-level tokenizer whose vocabulary is every word of `texts`.

    Words outside it become [UNK]; the model learns to read around them.
    """
    vocab = {tok: i for i, tok in enumerate(SPECIALS)}
    for w in sorted(set(words_of(texts))):
        vocab.setdefault(w, len(vocab))
    return BertTokenizerFast(vocab=vocab, do_lower_case=True, model_max_length=max_length)


def build_image_processor(size: int) -> ViTImageProcessorPil:
    return ViTImageProcessorPil(
        size={"height": size, "width": size},
        resample=Image.Resampling.BOX,
        image_mean=[0.5, 0.5, 0.5],
        image_std=[0.5, 0.5, 0.5],
    )


def build_processor(texts: Iterable[str], image_size: int, max_length: int) -> ShapesWorldProcessor:
    return ShapesWorldProcessor(build_image_processor(image_size), build_tokenizer(texts, max_length))
