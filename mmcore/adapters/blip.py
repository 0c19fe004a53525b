"""BLIP visual question answering (BlipForQuestionAnswering).

BLIP VQA is generative: the vision encoder embeds the image, a text encoder reads the
question with cross-attention to the image patches, and a text decoder writes the answer
conditioned on the encoded question. `forward` repeats `BlipForQuestionAnswering.generate`
(transformers 5.23) step by step, so that the question encoder's cross-attentions
(question tokens -> image patches) can be kept as the attention map.
"""
from __future__ import annotations

import numpy as np
import torch
from PIL import Image
from transformers import PreTrainedTokenizerBase
from transformers.generation.utils import GenerateOutput
from transformers.modeling_outputs import BaseModelOutputWithPoolingAndCrossAttentions

from mmcore.adapters.base import LoadedModel, VQAOutput

DEFAULT_CHECKPOINT = "Salesforce/blip-vqa-base"
MODEL_KEYS = ("pixel_values", "input_ids", "attention_mask")


class BlipVQAAdapter:
    """VQAAdapter for BlipForQuestionAnswering (default checkpoint: DEFAULT_CHECKPOINT).

    Answer scores: the decoder's beam search returns top_k beams with length-normalised
    log-likelihoods; each score is exp(that) divided by the sum over the returned beams.
    They are relative confidences among the returned answers (they sum to 1; with
    top_k == 1 the single answer scores 1.0), not probabilities over all answers.
    """

    default_checkpoint: str = DEFAULT_CHECKPOINT

    def preprocess(
        self, loaded: LoadedModel, images: list[Image.Image], questions: list[str]
    ) -> dict[str, torch.Tensor]:
        """Images are resized to the model's fixed size; questions padded to one length."""
        encoding = loaded.processor(
            images=images, text=questions, padding=True, return_tensors="pt"
        )
        return {key: encoding[key] for key in MODEL_KEYS}

    def forward(
        self, loaded: LoadedModel, inputs: dict[str, torch.Tensor], top_k: int
    ) -> list[VQAOutput]:
        """Encode image and question once (keeping cross-attentions), then beam-decode."""
        if top_k < 1:
            raise ValueError(f"top_k must be >= 1, got {top_k}")
        model = loaded.model
        batch = _to_device(inputs, loaded)
        tokenizer = loaded.processor.tokenizer
        question = _encode(model, batch)
        content = _content_tokens(batch, tokenizer)
        grid = _patch_grid(model, batch["pixel_values"])
        maps = _cross_attention_maps(question.cross_attentions, content, grid)
        answers = _generate_answers(model, tokenizer, question, top_k)
        return [VQAOutput(answers=a, attention=m) for a, m in zip(answers, maps)]


def _to_device(inputs: dict[str, torch.Tensor], loaded: LoadedModel) -> dict[str, torch.Tensor]:
    batch = {key: inputs[key].to(loaded.device) for key in MODEL_KEYS if key in inputs}
    batch["pixel_values"] = batch["pixel_values"].to(loaded.dtype)
    if "attention_mask" not in batch:
        batch["attention_mask"] = torch.ones_like(batch["input_ids"])
    return batch


def _encode(
    model: torch.nn.Module, batch: dict[str, torch.Tensor]
) -> BaseModelOutputWithPoolingAndCrossAttentions:
    """Vision encoder, then the question encoder with cross-attention to the image.

    Same calls as BlipForQuestionAnswering.generate, plus output_attentions=True on the
    question encoder; returns its output (last_hidden_state, cross_attentions).
    """
    image_embeds = model.vision_model(pixel_values=batch["pixel_values"]).last_hidden_state
    image_mask = torch.ones(image_embeds.shape[:-1], dtype=torch.long, device=image_embeds.device)
    return model.text_encoder(
        input_ids=batch["input_ids"],
        attention_mask=batch["attention_mask"],
        encoder_hidden_states=image_embeds,  # (B, 1 + P, D): image CLS then P patches
        encoder_attention_mask=image_mask,
        output_attentions=True,
        return_dict=True,
    )


def _generate_answers(
    model: torch.nn.Module,
    tokenizer: PreTrainedTokenizerBase,
    question: BaseModelOutputWithPoolingAndCrossAttentions,
    top_k: int,
) -> list[tuple[tuple[str, float], ...]]:
    """Beam-search the text decoder over the encoded question; top_k answers per item."""
    states = question.last_hidden_state  # (B, Tq, D)
    # As in BLIP's generate: the decoder attends to every question position, pads included.
    states_mask = torch.ones(states.shape[:-1], dtype=torch.long, device=states.device)
    text_config = model.config.text_config
    bos = torch.full((states.shape[0], 1), model.decoder_start_token_id, device=states.device)
    generated = model.text_decoder.generate(
        input_ids=bos,
        eos_token_id=text_config.sep_token_id,
        pad_token_id=text_config.pad_token_id,
        encoder_hidden_states=states,
        encoder_attention_mask=states_mask,
        num_beams=max(top_k, 1),
        num_return_sequences=top_k,
        output_scores=True,
        return_dict_in_generate=True,
    )
    texts = tokenizer.batch_decode(generated.sequences, skip_special_tokens=True)
    return _group_answers([t.strip() for t in texts], _beam_scores(generated, len(texts)), top_k)


def _beam_scores(generated: GenerateOutput, count: int) -> torch.Tensor:
    """(B * top_k,) length-normalised log-likelihoods; greedy (top_k 1) reports none."""
    scores = getattr(generated, "sequences_scores", None)
    if scores is None:
        return torch.zeros(count)
    return scores.float().cpu()


def _group_answers(
    texts: list[str], log_scores: torch.Tensor, top_k: int
) -> list[tuple[tuple[str, float], ...]]:
    """Flat beams (item-major) -> per item (answer, score) best first, scores summing to 1."""
    per_item = torch.softmax(log_scores.view(-1, top_k), dim=-1)  # = exp(s) / sum exp(s)
    grouped = []
    for item, probs in enumerate(per_item):
        pairs = zip(texts[item * top_k : (item + 1) * top_k], probs.tolist())
        grouped.append(tuple(sorted(pairs, key=lambda pair: -pair[1])))
    return grouped


def _content_tokens(
    batch: dict[str, torch.Tensor], tokenizer: PreTrainedTokenizerBase
) -> torch.Tensor:
    """(B, Tq) bool: real question words, not [CLS]/[SEP]/padding or other specials."""
    ids = batch["input_ids"]
    special = torch.tensor(tokenizer.all_special_ids, device=ids.device)
    content = batch["attention_mask"].bool() & ~torch.isin(ids, special)
    # A question with no ordinary token (e.g. empty) falls back to all attended tokens.
    empty = ~content.any(dim=1, keepdim=True)
    return torch.where(empty, batch["attention_mask"].bool(), content)


def _patch_grid(model: torch.nn.Module, pixel_values: torch.Tensor) -> tuple[int, int]:
    patch = model.config.vision_config.patch_size
    return pixel_values.shape[-2] // patch, pixel_values.shape[-1] // patch


def _cross_attention_maps(
    cross_attentions: tuple[torch.Tensor, ...], content: torch.Tensor, grid: tuple[int, int]
) -> list[np.ndarray]:
    """Per-layer (B, heads, Tq, 1 + P) cross-attentions -> one (h, w) map per item."""
    stacked = torch.stack([layer.float() for layer in cross_attentions])  # (L, B, H, Tq, 1+P)
    per_token = stacked.mean(dim=(0, 2))  # (B, Tq, 1 + P)
    weights = content.float()[..., None]  # (B, Tq, 1)
    pooled = (per_token * weights).sum(1) / weights.sum(1)  # (B, 1 + P)
    patches = pooled[:, 1:].reshape(-1, *grid)  # drop the image CLS key
    return [_min_max(item).cpu().numpy() for item in patches]


def _min_max(values: torch.Tensor) -> torch.Tensor:
    """Rescale to [0, 1] float32; a flat map is all ones."""
    low, high = values.min(), values.max()
    if high - low <= torch.finfo(values.dtype).eps * max(1.0, high.abs().item()):
        return torch.ones_like(values, dtype=torch.float32)
    return ((values - low) / (high - low)).float()
