"""Precisions: what `auto` means, and how each one is applied at load time.

fp32 / bf16 / fp16: the weights' dtype.
int8: torchao dynamic int8 (int8 weights, activations quantized per token at run time)
      on every eligible nn.Linear, after loading.
bnb8 / bnb4: bitsandbytes through transformers' BitsAndBytesConfig, at load time.
Layers that bitsandbytes or torchao must not touch are skipped: the Linears inside torch's
nn.MultiheadAttention and nn.TransformerEncoderLayer (read as raw weights by fused kernels), and for bnb4
any Linear outside its CPU size rule (in % 64, out % 32), such as small answer heads.
"""
from __future__ import annotations

import functools
import importlib.util
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from .errors import PrecisionError

DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}
# torch modules whose inference fast path hands their Linears' raw weights to one fused kernel,
# which cannot read quantized weights (bnb8 on the built-in VQA model failed inside
# TransformerEncoderLayer: "self and mat2 must have the same dtype, Float and Char")
FUSED_KERNEL_MODULES = (nn.MultiheadAttention, nn.TransformerEncoderLayer)


@dataclass(frozen=True)
class LoadPlan:
    """How to call from_pretrained for one precision, and what to do after."""

    dtype: torch.dtype  # weights' dtype for the non-quantized parts
    compute_dtype: torch.dtype  # dtype the inputs' pixel values must have
    quantization_config: Any = None  # a BitsAndBytesConfig, or None
    torchao_int8: bool = False  # quantize Linears with torchao after loading


BASE_SIZE_BYTES = 100 * 2**20  # weights on disk from which a model counts as base size (ViLT-B/32: 449 MB)


def auto_precision(device: str, weight_bytes: int | None = None) -> str:
    """`auto`, chosen from `make bench` (benchmarks/results/perf.md, a 2-core CPU with AMX):

    GPU: fp16 (halves memory, uses tensor cores; the GPU rows are not measured yet).
    CPU, base-size models (>= BASE_SIZE_BYTES of weights) on a CPU that computes bf16 natively
         (AMX or AVX512-BF16): bf16, the fastest precision measured for them (ViLT-B/32 153 ms
         against 271 ms in fp32, BLIP-base 1.75 s against 2.15 s; torchao int8 217 ms and 2.97 s,
         bitsandbytes no faster than fp32), with half the weights' memory.
    CPU otherwise, and the small built-in models: fp32, exact. No other precision made them
         reliably faster: the VQA, caption and video models ran slower in bf16 and int8, and the
         sentiment model ran fastest in fp32 in its last `make bench` run (40.7 ms p50 against
         44.1-71.6 ms); bf16 without native support is emulated.
    """
    if device.startswith("cuda"):
        return "fp16"
    if weight_bytes is not None and weight_bytes >= BASE_SIZE_BYTES and native_bf16():
        return "bf16"
    return "fp32"


@functools.lru_cache(maxsize=1)
def native_bf16() -> bool:
    """Whether this CPU has bf16 instructions (Linux: the amx_bf16 or avx512_bf16 flag)."""
    try:
        flags = Path("/proc/cpuinfo").read_text().split()
    except OSError:
        return False
    return "amx_bf16" in flags or "avx512_bf16" in flags


def _require(module: str, precision: str) -> None:
    if importlib.util.find_spec(module) is None:
        raise PrecisionError(
            f"precision {precision!r} needs the {module!r} package, which is not installed; "
            f"install it (pip install {module}) or choose fp32, bf16 or fp16"
        )


def skip_modules(model: nn.Module, precision: str) -> list[str]:
    """Names of nn.Linear modules quantization must leave alone (see module docstring),
    plus transformers' own defaults: tied and output embeddings, the last layer."""
    from transformers.quantizers.base import get_keys_to_not_convert

    skip = get_keys_to_not_convert(model) if hasattr(model, "all_tied_weights_keys") else []
    for name, module in model.named_modules():
        for child_name, child in module.named_children():
            if not isinstance(child, nn.Linear):
                continue
            fused = isinstance(module, FUSED_KERNEL_MODULES)
            bad_size = precision == "bnb4" and (child.in_features % 64 or child.out_features % 32)
            # bitsandbytes' 8-bit CPU matmul fails on a (B, K, N, d) input into a 1-output head
            # (the built-in VQA model's count scorer); a head that small gains nothing from 8 bits
            tiny_head = precision == "bnb8" and child.out_features < 32
            if fused or bad_size or tiny_head:
                skip.append(f"{name}.{child_name}" if name else child_name)
    return skip


def plan(precision: str, device: str, skeleton: nn.Module) -> LoadPlan:
    """skeleton: the model built on the meta device, to find layers to skip."""
    if precision in DTYPES:
        return LoadPlan(DTYPES[precision], DTYPES[precision])
    if precision == "int8":
        _require("torchao", precision)
        return LoadPlan(torch.float32, torch.float32, torchao_int8=True)
    if precision in ("bnb8", "bnb4"):
        return _bnb_plan(precision, device, skeleton)
    raise PrecisionError(f"unknown precision {precision!r}; accepted: fp32, bf16, fp16, int8, bnb8, bnb4")


def _bnb_plan(precision: str, device: str, skeleton: nn.Module) -> LoadPlan:
    _require("bitsandbytes", precision)
    from transformers import BitsAndBytesConfig

    compute = torch.float16 if device.startswith("cuda") else torch.float32
    skip = skip_modules(skeleton, precision)
    n_linear = sum(isinstance(m, nn.Linear) for m in skeleton.modules())
    if n_linear <= len(skip):
        raise PrecisionError(f"precision {precision!r}: no layer of this model fits bitsandbytes' rules "
                             "(4-bit needs in_features % 64 == 0 and out_features % 32 == 0); use int8 or fp32")
    if precision == "bnb8":
        cfg = BitsAndBytesConfig(load_in_8bit=True, llm_int8_skip_modules=skip)
    else:
        cfg = BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_compute_dtype=compute,
                                 bnb_4bit_quant_type="nf4", llm_int8_skip_modules=skip)
    return LoadPlan(compute, compute, quantization_config=cfg)


def apply_torchao_int8(model: nn.Module) -> nn.Module:
    """Dynamic int8 on every eligible Linear, in place."""
    from torchao.quantization import Int8DynamicActivationInt8WeightConfig, quantize_

    skip = set(skip_modules(model, "int8"))  # the same layers bitsandbytes would keep
    quantize_(model, Int8DynamicActivationInt8WeightConfig(),
              filter_fn=lambda m, name: isinstance(m, nn.Linear) and name not in skip)
    return model
