"""Image captioning with BLIP (BlipForConditionalGeneration), optionally prompted.

BLIP's vision encoder turns the image into [CLS | patch tokens]; its text decoder writes
the caption from [BOS] (BLIP's "[DEC]") plus an optional prompt such as "a picture of",
with cross-attention to the image tokens.

`forward` makes one `model.generate` call. BLIP's text decoder is a decoder-only model
with cross-attention, and `generate` keeps cross-attentions only for encoder-decoder
models, so a forward hook on `model.text_decoder` records each step's
`cross_attentions` while that one call runs (one decoder forward per generation step:
the prompt prefill, then one per token). From there maps, beam rows, tokens and score are
read exactly as in mmcore.adapters.caption_ved (see its docstring): per token, the last
query position's cross-attention averaged over all decoder layers and heads, image CLS
dropped, reshaped to the patch grid, min-max scaled to [0, 1]; the score is the mean
model log-probability of the generated tokens (eos included).

Prompts: tokenised without special tokens and laid out as [BOS] prompt [SEP] (BLIP's
`generate` drops the last column and writes BOS into the first), left-padded to a
common length so that every row ends where generation starts; `generate` derives
position ids from the attention mask, so a padded row decodes as it would alone.
`text` includes the prompt, as BLIP's own decoding does ("a picture of a dog"), while
`tokens` and `token_maps` cover only the generated tokens. An empty or None prompt is
plain captioning.
"""
from __future__ import annotations

from typing import Any

import torch
from PIL import Image

from mmcore.adapters.base import CaptionOutput, Decoding, LoadedModel
from mmcore.adapters.caption_ved import (
    caption_outputs,
    check_decoding,
    decoding_rng,
    generate_options,
    patch_grid,
)

DEFAULT_CHECKPOINT = "Salesforce/blip-image-captioning-base"
PROMPT_MAX_TOKENS = 32  # longer prompts are cut; BLIP's positions run out at 512 in all


class BlipCaptionAdapter:
    """CaptionAdapter for BlipForConditionalGeneration (default: DEFAULT_CHECKPOINT)."""

    default_checkpoint: str = DEFAULT_CHECKPOINT

    def preprocess(
        self, loaded: LoadedModel, images: list[Image.Image], prompts: list[str | None]
    ) -> dict[str, torch.Tensor]:
        """Images resized to the model's fixed size; prompts as left-padded decoder input."""
        if len(prompts) != len(images):
            raise ValueError(f"{len(images)} images but {len(prompts)} prompts")
        pixels = loaded.processor.image_processor(images, return_tensors="pt")["pixel_values"]
        input_ids, attention_mask = _prompt_ids(loaded, prompts)
        return {"pixel_values": pixels, "input_ids": input_ids, "attention_mask": attention_mask}

    def forward(
        self, loaded: LoadedModel, inputs: dict[str, torch.Tensor], decoding: Decoding
    ) -> list[CaptionOutput]:
        """One `generate` call with a hook keeping the text decoder's cross-attentions."""
        check_decoding(decoding)
        model = loaded.model
        pixel_values = inputs["pixel_values"].to(loaded.device, loaded.dtype)
        # BLIP's generate writes BOS into column 0 in place: give it a copy.
        input_ids = inputs["input_ids"].to(loaded.device).clone()
        attention_mask = inputs["attention_mask"].to(loaded.device)
        steps: list[tuple[torch.Tensor, ...]] = []
        hook = model.text_decoder.register_forward_hook(_keep_cross_attentions(steps))
        try:
            with decoding_rng(decoding, loaded.device):
                generated = model.generate(
                    pixel_values=pixel_values,
                    input_ids=input_ids,
                    attention_mask=attention_mask,
                    **generate_options(decoding),
                )
        finally:
            hook.remove()
        made = len(generated.logits)  # one decoder forward per generation step
        if len(steps) != made:
            raise RuntimeError(f"hooked {len(steps)} decoder forwards for {made} generation steps")
        return _outputs(loaded, generated, steps, inputs, pixel_values.shape[-2:])


def _prompt_ids(
    loaded: LoadedModel, prompts: list[str | None]
) -> tuple[torch.Tensor, torch.Tensor]:
    """Per prompt [BOS] words [SEP], left-padded -> (B, S) input_ids and attention_mask."""
    text = loaded.model.config.text_config
    tokenizer = loaded.processor.tokenizer
    rows = []
    for prompt in prompts:
        words = (prompt or "").strip()
        ids = tokenizer(words, add_special_tokens=False)["input_ids"] if words else []
        # generate drops the last column (SEP here) and writes BOS into the first
        rows.append([text.bos_token_id, *ids[:PROMPT_MAX_TOKENS], text.sep_token_id])
    width = max(len(row) for row in rows)
    input_ids = torch.full((len(rows), width), text.pad_token_id, dtype=torch.long)
    attention_mask = torch.zeros((len(rows), width), dtype=torch.long)
    for index, row in enumerate(rows):
        input_ids[index, width - len(row) :] = torch.tensor(row)
        attention_mask[index, width - len(row) :] = 1
    return input_ids, attention_mask


def _keep_cross_attentions(steps: list[tuple[torch.Tensor, ...]]) -> Any:
    def hook(module: torch.nn.Module, args: Any, output: Any) -> None:
        # per layer (rows, heads, q_len, 1 + P); q_len is the prompt length at prefill, then 1
        steps.append(tuple(output.cross_attentions))

    return hook


def _outputs(
    loaded: LoadedModel,
    generated: Any,
    steps: list[tuple[torch.Tensor, ...]],
    inputs: dict[str, torch.Tensor],
    pixel_hw: torch.Size,
) -> list[CaptionOutput]:
    model = loaded.model
    text = model.config.text_config
    tokenizer = loaded.processor.tokenizer
    ids = (text.bos_token_id, text.sep_token_id, text.eos_token_id, text.pad_token_id)
    specials = set(tokenizer.all_special_ids) | {i for i in ids if i is not None}
    prompt_ids = [  # the prompt words, for `text` only (BOS, SEP and padding dropped)
        [int(i) for i, keep in zip(ids, mask) if keep and int(i) not in specials]
        for ids, mask in zip(inputs["input_ids"].tolist(), inputs["attention_mask"].tolist())
    ]
    encoder_len = steps[0][0].shape[-1]  # 1 + P: image CLS then patches
    prefix, grid = patch_grid(encoder_len, pixel_hw, model.config.vision_config.patch_size)
    return caption_outputs(
        generated,
        steps,
        prefix=prefix,
        grid=grid,
        tokenizer=tokenizer,
        special_ids=specials,
        eos_ids={text.sep_token_id},  # BLIP's generate ends captions at SEP
        scorer=model.text_decoder,
        prompt_ids=prompt_ids,
    )
