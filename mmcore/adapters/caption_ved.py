"""Image captioning with a VisionEncoderDecoderModel (e.g. ViT encoder + GPT-2 decoder).

The image encoder (ViT) turns the image into [CLS | patch tokens]; the text decoder
(GPT-2, or a BERT-style decoder) writes the caption with cross-attention to them. Prompts
are ignored: these models start every caption from `decoder_start_token_id` alone.

`forward` makes one `generate` call that also returns the decoder's cross-attentions
(`output_attentions=True`) and per-step logits, and reads per-token maps out of them:

- Map for a generated token: the cross-attention of the query position that predicted
  it (the last query of that generation step), averaged over every decoder layer and
  every head with equal weight (a plain mean: no rollout, no head selection), the
  encoder's prefix tokens (CLS, and DeiT's distillation token where present) dropped,
  the rest reshaped to the patch grid and min-max scaled to [0, 1] (a flat map is ones).
- Beam search keeps `num_beams` rows per image at every step and reorders them, so the
  returned caption's token t came from the row `beam_indices[item, t]` of step t (in
  transformers 5.23 that index is already flattened: batch * num_beams + beam, and -1
  past the sequence's end). Greedy and nucleus sampling keep one row per image.
- Score: the mean over generated steps (end-of-sequence token included, padding after it
  excluded) of the model's own log-probability of the chosen token, from
  `compute_transition_scores(sequences, logits, beam_indices, normalize_logits=True)` on
  the raw logits (`output_logits=True`). So temperature and top-p do not change the score
  of a caption; for beam search with length_penalty 1 it equals `sequences_scores`.
- Tokens: special tokens (pad/eos/bos/decoder start and the tokenizer's specials) are
  dropped from `tokens` and from the maps alike. Each kept id is decoded on its own and
  stripped, so GPT-2's leading-space marker and BERT's "##" continuation mark do not show.

The helpers below the adapter are shared with mmcore.adapters.caption_blip.
"""
from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator, Sequence
from typing import Any

import torch
from PIL import Image
from transformers import PreTrainedTokenizerBase

from mmcore.adapters.base import CaptionOutput, Decoding, LoadedModel

DEFAULT_CHECKPOINT = "nlpconnect/vit-gpt2-image-captioning"
METHODS = ("greedy", "beam", "nucleus")
MAX_ENCODER_PREFIX = 2  # leading non-patch encoder tokens we accept: CLS, DeiT distillation

StepAttentions = Sequence[Sequence[torch.Tensor]]  # [step][layer] -> (rows, heads, q, E)


class VisionEncoderDecoderCaptionAdapter:
    """CaptionAdapter for VisionEncoderDecoderModel (default checkpoint: DEFAULT_CHECKPOINT).

    `loaded.processor` needs `.image_processor` and `.tokenizer` (e.g. a TrOCRProcessor).
    """

    default_checkpoint: str = DEFAULT_CHECKPOINT

    def preprocess(
        self, loaded: LoadedModel, images: list[Image.Image], prompts: list[str | None]
    ) -> dict[str, torch.Tensor]:
        """Images resized to the encoder's fixed size; prompts are ignored (no text input)."""
        encoding = loaded.processor.image_processor(images, return_tensors="pt")
        return {"pixel_values": encoding["pixel_values"]}

    def forward(
        self, loaded: LoadedModel, inputs: dict[str, torch.Tensor], decoding: Decoding
    ) -> list[CaptionOutput]:
        """One `generate` call; a caption, per-token maps and a score per image."""
        check_decoding(decoding)
        model = loaded.model
        pixel_values = inputs["pixel_values"].to(loaded.device, loaded.dtype)
        with decoding_rng(decoding, loaded.device):
            generated = model.generate(pixel_values=pixel_values, **generate_options(decoding))
        config = model.config.encoder
        encoder_len = generated.cross_attentions[0][0].shape[-1]
        prefix, grid = patch_grid(encoder_len, pixel_values.shape[-2:], config.patch_size)
        return caption_outputs(
            generated,
            generated.cross_attentions,
            prefix=prefix,
            grid=grid,
            tokenizer=loaded.processor.tokenizer,
            special_ids=special_ids(loaded.processor.tokenizer, model.generation_config),
            eos_ids=eos_ids(model.generation_config.eos_token_id),
            scorer=model,
        )


# ----------------------------------------------------------------- decoding options


def check_decoding(decoding: Decoding) -> None:
    if decoding.method not in METHODS:
        raise ValueError(f"decoding method must be one of {METHODS}, got {decoding.method!r}")
    if decoding.method == "beam" and decoding.num_beams < 1:
        raise ValueError(f"num_beams must be >= 1, got {decoding.num_beams}")
    if decoding.method == "nucleus" and not 0.0 < decoding.top_p <= 1.0:
        raise ValueError(f"top_p must be in (0, 1], got {decoding.top_p}")
    if decoding.method == "nucleus" and decoding.temperature <= 0.0:
        raise ValueError(f"temperature must be > 0, got {decoding.temperature}")
    if decoding.max_new_tokens < 1:
        raise ValueError(f"max_new_tokens must be >= 1, got {decoding.max_new_tokens}")


def generate_options(decoding: Decoding) -> dict[str, Any]:
    """`generate` keyword arguments for a Decoding, with the outputs the maps need."""
    options: dict[str, Any] = dict(
        max_new_tokens=decoding.max_new_tokens,
        num_return_sequences=1,
        return_dict_in_generate=True,
        output_attentions=True,
        output_scores=True,  # beam search also returns beam_indices
        output_logits=True,  # raw logits: the score is the model's own log-probability
    )
    if decoding.method == "greedy":
        return options | dict(do_sample=False, num_beams=1)
    if decoding.method == "beam":
        return options | dict(do_sample=False, num_beams=decoding.num_beams)
    # top_k=0 switches off the top-k filter a generation_config may carry (often 50).
    return options | dict(
        do_sample=True, num_beams=1, top_p=decoding.top_p, temperature=decoding.temperature, top_k=0
    )


@contextlib.contextmanager
def decoding_rng(decoding: Decoding, device: torch.device) -> Iterator[None]:
    """Seed sampling on a forked RNG, so nucleus repeats and the caller's RNG is untouched.

    Only the generators of `device` (and the CPU one) are forked and seeded; we avoid
    torch.manual_seed, which would also (lazily) reseed every CUDA device.
    """
    if decoding.method != "nucleus":
        yield
        return
    cuda = []
    if device.type == "cuda":
        cuda = [device.index if device.index is not None else torch.cuda.current_device()]
    with torch.random.fork_rng(devices=cuda):
        torch.default_generator.manual_seed(decoding.seed)
        for index in cuda:
            torch.cuda.default_generators[index].manual_seed(decoding.seed)
        yield


# ----------------------------------------------------------------- special tokens


def eos_ids(eos: int | list[int] | None) -> set[int]:
    if eos is None:
        return set()
    return {int(eos)} if isinstance(eos, int) else {int(e) for e in eos}


def special_ids(tokenizer: PreTrainedTokenizerBase, generation_config: Any) -> set[int]:
    """The tokenizer's special ids plus the ids generate uses for start/end/padding."""
    ids = set(tokenizer.all_special_ids)
    for name in ("pad_token_id", "bos_token_id", "decoder_start_token_id"):
        value = getattr(generation_config, name, None)
        if value is not None:
            ids |= eos_ids(value)
    return ids | eos_ids(generation_config.eos_token_id)


def display_token(tokenizer: PreTrainedTokenizerBase, token_id: int) -> str:
    """One id -> a display string: decoded alone (GPT-2 byte-level pieces included),
    whitespace and BERT's "##" continuation mark stripped. Falls back to the raw piece
    (e.g. GPT-2's lone "Ġ"), then to "<id>" for ids past the tokenizer's vocabulary
    (models often pad their embedding matrix beyond it)."""
    text = tokenizer.decode([token_id], clean_up_tokenization_spaces=False).strip()
    if text.startswith("##") and len(text) > 2:
        text = text[2:]
    return text or tokenizer.convert_ids_to_tokens(token_id) or f"<{token_id}>"


# ----------------------------------------------------------------- maps and outputs


def patch_grid(
    encoder_len: int, pixel_hw: Sequence[int], patch_size: int | Sequence[int] | None
) -> tuple[int, tuple[int, int]]:
    """(number of leading non-patch encoder tokens, (rows, cols) of the patch grid).

    From the patch size when the encoder keeps one token per patch (ViT, DeiT, BLIP);
    otherwise a square grid, with or without one CLS token (e.g. Swin's pooled grid).
    """
    if patch_size:
        ph, pw = (patch_size, patch_size) if isinstance(patch_size, int) else patch_size
        h, w = int(pixel_hw[0]) // ph, int(pixel_hw[1]) // pw
        if 0 <= encoder_len - h * w <= MAX_ENCODER_PREFIX:
            return encoder_len - h * w, (h, w)
    for prefix in (0, 1):
        side = math.isqrt(encoder_len - prefix)
        if side * side == encoder_len - prefix:
            return prefix, (side, side)
    raise ValueError(f"cannot lay {encoder_len} encoder tokens out as a patch grid")


def _generated_steps(generated: Any) -> int:
    """T, the generated length of `sequences` (beam search crops it to its longest beam)."""
    beams = getattr(generated, "beam_indices", None)
    return beams.shape[1] if beams is not None else len(generated.logits)


def source_rows(generated: Any, batch: int, steps: int) -> torch.Tensor:
    """(batch, steps) long: the row of each step's tensors that made each returned token.

    Beam search: `beam_indices` (flat batch * num_beams + beam; -1 past the end).
    Greedy / sampling with one sequence per image: row i is image i at every step.
    """
    beams = getattr(generated, "beam_indices", None)
    if beams is not None:
        return beams[:, :steps].long()
    device = generated.sequences.device
    return torch.arange(batch, device=device)[:, None].expand(batch, steps)


def token_maps(
    step_attentions: StepAttentions,
    rows: torch.Tensor,
    prefix: int,
    grid: tuple[int, int],
) -> torch.Tensor:
    """Per-step cross-attentions -> (batch, steps, h, w) raw maps of the returned tokens.

    Each step: layers and heads averaged, last query position (the one that predicted
    this step's token), then the returned sequence's row picked with `rows`.
    """
    picked = []
    for step, layers in enumerate(step_attentions[: rows.shape[1]]):
        last = torch.stack([layer[:, :, -1, :].float() for layer in layers])  # (L, R, H, E)
        mean = last.mean(dim=(0, 2))  # (R, E)
        picked.append(mean[rows[:, step].clamp(min=0).to(mean.device)])  # (B, E)
    stacked = torch.stack(picked, dim=1)  # (B, T, E)
    return stacked[..., prefix:].reshape(*stacked.shape[:2], *grid)  # drop CLS, to the grid


def valid_steps(tokens: torch.Tensor, rows: torch.Tensor, eos: set[int]) -> torch.Tensor:
    """(B, T) bool: steps the sequence really generated (through its first eos)."""
    valid = rows >= 0  # beam search marks steps past the end with -1
    if eos:
        is_eos = torch.isin(tokens, torch.tensor(sorted(eos), device=tokens.device))
        ended_before = (is_eos.long().cumsum(dim=1) - is_eos.long()) > 0  # eos strictly earlier
        valid &= ~ended_before.to(valid.device)
    return valid


def caption_outputs(
    generated: Any,
    step_attentions: StepAttentions,
    *,
    prefix: int,
    grid: tuple[int, int],
    tokenizer: PreTrainedTokenizerBase,
    special_ids: set[int],
    eos_ids: set[int],
    scorer: Any,
    prompt_ids: Sequence[list[int]] | None = None,
) -> list[CaptionOutput]:
    """`generate` output -> one CaptionOutput per image (one returned sequence each).

    `step_attentions` holds the cross-attentions of every generation step; `prompt_ids`
    (per image, specials already removed) go in front of the caption's text, not its tokens.
    """
    sequences = generated.sequences  # (B, decoder prompt + T)
    steps = _generated_steps(generated)
    tokens = sequences[:, sequences.shape[1] - steps :]  # (B, T) generated ids
    batch = tokens.shape[0]
    if len(step_attentions) < steps:
        raise RuntimeError(f"{len(step_attentions)} attention steps for {steps} tokens")
    rows = source_rows(generated, batch, steps)
    maps = token_maps(step_attentions, rows, prefix, grid).cpu()
    log_probs = scorer.compute_transition_scores(
        sequences, generated.logits, getattr(generated, "beam_indices", None), normalize_logits=True
    ).cpu()  # (B, T): the chosen tokens' log-probabilities
    valid = valid_steps(tokens, rows, eos_ids).cpu()
    keep = valid & ~torch.isin(tokens.cpu(), torch.tensor(sorted(special_ids), dtype=torch.long))
    tokens = tokens.cpu()
    outputs = []
    for item in range(batch):
        kept = keep[item].nonzero().flatten().tolist()  # steps shown: real, non-special tokens
        ids = [int(tokens[item, t]) for t in kept]
        words = list(prompt_ids[item]) if prompt_ids is not None else []
        outputs.append(
            CaptionOutput(
                text=tokenizer.decode(words + ids, skip_special_tokens=True).strip(),
                tokens=tuple(display_token(tokenizer, i) for i in ids),
                token_maps=tuple(min_max(maps[item, t]).numpy() for t in kept),
                score=float(log_probs[item][valid[item]].mean()) if valid[item].any() else 0.0,
            )
        )
    return outputs


def min_max(values: torch.Tensor) -> torch.Tensor:
    """Rescale to [0, 1] float32; a flat map is all ones."""
    values = values.float()
    low, high = values.min(), values.max()
    if high - low <= torch.finfo(values.dtype).eps * max(1.0, high.abs().item()):
        return torch.ones_like(values)
    return (values - low) / (high - low)
