"""Randomly initialised models of the pretrained architectures at their real size, built from
configs offline (this machine has no Hub): ViLT-B/32 VQA (dandelin/vilt-b32-finetuned-vqa's
shape) and BLIP-base captioning (Salesforce/blip-image-captioning-base's shape).

Weights are random, so answers mean nothing, but every matrix has its real size and every
layer its real count: latency, memory and the precisions' effects are the real ones. Each
folder is written once under runs/bench-models/ and loaded through mmcore's own path.
"""
from __future__ import annotations

from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
CACHE = ROOT / "runs" / "bench-models"
SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
WORDS = ("what is the shape color of red green blue object left right top bottom how many a an are there "
         "square circle yes no picture photo dog cat man woman sitting on with").split()


def _tokenizer(size: int, after: tuple[str, ...] = ()):
    """A BERT-sized vocabulary (`size` entries), then `after` (BLIP's [DEC] is id 30522)."""
    from transformers import BertTokenizerFast

    tokens = list(dict.fromkeys(SPECIALS + WORDS))
    tokens += [f"[unused{i}]" for i in range(size - len(tokens))] + list(after)
    bos = {"bos_token": after[0]} if after else {}
    return BertTokenizerFast(vocab={t: i for i, t in enumerate(tokens)}, do_lower_case=True, **bos)


def vilt_b32(folder: Path = CACHE / "vilt-b32-vqa") -> Path:
    """ViltForQuestionAnswering at ViLT-B/32 size: 12 layers of 768, 3,129 answers (87 M parameters)."""
    from transformers import ViltConfig, ViltForQuestionAnswering, ViltImageProcessorPil, ViltProcessor

    if (folder / "model.safetensors").exists():
        return folder
    labels = {i: f"answer {i}" for i in range(3129)}
    config = ViltConfig(num_labels=len(labels), id2label=labels, label2id={v: k for k, v in labels.items()},
                        attn_implementation="eager")
    torch.manual_seed(0)
    model = ViltForQuestionAnswering(config).eval()
    # The PIL image processor: the default one needs torchvision. 384 px shortest edge, as the real one.
    processor = ViltProcessor(image_processor=ViltImageProcessorPil(), tokenizer=_tokenizer(config.vocab_size))
    return _save(folder, model, processor)


def blip_base_caption(folder: Path = CACHE / "blip-base-caption") -> Path:
    """BlipForConditionalGeneration at BLIP-base size: ViT-B/16 at 384 px and a 12-layer text decoder (247 M)."""
    from transformers import BlipConfig, BlipForConditionalGeneration, BlipImageProcessorPil, BlipProcessor

    if (folder / "model.safetensors").exists():
        return folder
    text = {"vocab_size": 30524, "bos_token_id": 30522, "sep_token_id": 102, "eos_token_id": 102, "pad_token_id": 0}
    config = BlipConfig(text_config=text, vision_config={"image_size": 384}, attn_implementation="eager")
    torch.manual_seed(0)
    model = BlipForConditionalGeneration(config).eval()
    tokenizer = _tokenizer(30522, after=("[DEC]", "[unused-last]"))
    processor = BlipProcessor(image_processor=BlipImageProcessorPil(size={"height": 384, "width": 384}),
                              tokenizer=tokenizer)
    return _save(folder, model, processor)


def _save(folder: Path, model: torch.nn.Module, processor) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(folder, safe_serialization=True)
    processor.save_pretrained(folder)
    return folder


# name -> (mmcore task, folder builder); the precision matrix and the engine section read it
REAL_SIZE = {"vilt-b32 (random)": ("vqa", vilt_b32), "blip-base caption (random)": ("caption", blip_base_caption)}
