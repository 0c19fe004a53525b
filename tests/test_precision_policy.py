"""The `auto` precision policy (mmcore.precision.auto_precision), as measured by `make bench`."""
from __future__ import annotations

import mmcore
from mmcore import precision as prec


def test_auto_on_a_gpu_is_fp16():
    assert prec.auto_precision("cuda", None) == "fp16"
    assert prec.auto_precision("cuda:1", 10**9) == "fp16"


def test_auto_on_a_cpu_is_fp32_for_small_models_and_bf16_for_base_size_ones_with_native_bf16():
    assert prec.auto_precision("cpu", None) == "fp32"
    assert prec.auto_precision("cpu", prec.BASE_SIZE_BYTES - 1) == "fp32"
    assert prec.auto_precision("cpu", prec.BASE_SIZE_BYTES) == ("bf16" if prec.native_bf16() else "fp32")


def test_the_built_in_models_resolve_to_fp32_on_a_cpu():
    for task in ("vqa", "caption", "video"):
        assert mmcore.resolve(task, "builtin", device="cpu").precision == "fp32"


def test_a_large_local_folder_is_sized_from_its_weights(tmp_path):
    from mmcore.loading import weight_bytes
    from mmcore.registry import ModelEntry

    (tmp_path / "model.safetensors").write_bytes(b"\0" * 4096)
    entry = ModelEntry(str(tmp_path), "vqa", "local", str(tmp_path), "vilt")
    assert weight_bytes(entry) == 4096
